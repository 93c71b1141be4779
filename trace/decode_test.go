package trace

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sysgate/sysgate/syscalls"
)

// fakeMem is tracee memory for decoding tests: regions at addresses.
type fakeMem map[uint64][]byte

func (m fakeMem) ReadMemory(pid int, addr uint64, p []byte) (int, error) {
	for base, b := range m {
		if addr >= base && addr < base+uint64(len(b)) {
			return copy(p, b[addr-base:]), nil
		}
	}
	return 0, errFault
}

func (m fakeMem) FDPath(pid, fd int) string {
	if fd == 3 {
		return "/etc/passwd"
	}
	return ""
}

type faultErr struct{}

func (faultErr) Error() string { return "bad address" }

var errFault = faultErr{}

func nr(t *testing.T, a *syscalls.Arch, name string) uint32 {
	n, ok := a.Lookup(name)
	if !ok {
		t.Fatalf("no %s on %s", name, a)
	}
	return n
}

func TestDecode(t *testing.T) {
	stat := make([]byte, 144)
	binary.LittleEndian.PutUint32(stat[24:], 0o100644)
	binary.LittleEndian.PutUint64(stat[48:], 1234)
	stat64 := make([]byte, 96)
	binary.LittleEndian.PutUint32(stat64[16:], 0o40755)
	binary.LittleEndian.PutUint64(stat64[44:], 4096)
	sin := []byte{2, 0, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	sun := append([]byte{1, 0}, "/run/x.sock\x00"...)
	argv := make([]byte, 24)
	binary.LittleEndian.PutUint64(argv[0:], 0x5000)
	binary.LittleEndian.PutUint64(argv[8:], 0x5010)
	mem := fakeMem{
		0x1000: []byte("/etc/passwd\x00"),
		0x2000: []byte("hello\n\x00\x01\"\\ world, this is long enough to be cut"),
		0x3000: stat,
		0x3400: stat64,
		0x4000: sin,
		0x4100: sun,
		0x4800: argv,
		0x5000: []byte("ls\x00"),
		0x5010: []byte("-l\x00"),
	}
	x64, x86 := syscalls.X86_64, syscalls.I386
	tests := []struct {
		name string
		arch *syscalls.Arch
		call string
		args [6]uint64
		ret  int64
		fd   bool
		want string
	}{
		{"openat", x64, "openat", [6]uint64{0xffffffffffffff9c, 0x1000, 0x80000}, 3, false, `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`},
		{"openat creat", x64, "openat", [6]uint64{5, 0x1000, 0x241, 0o644}, -2, false, `openat(5, "/etc/passwd", O_WRONLY|O_CREAT|O_TRUNC, 0644) = -1 ENOENT (No such file or directory)`},
		{"openat -y", x64, "openat", [6]uint64{0xffffffffffffff9c, 0x1000, 0}, 3, true, `openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3</etc/passwd>`},
		{"write escaped and cut", x64, "write", [6]uint64{1, 0x2000, 40}, 40, false, `write(1, "hello\n\0\1\"\\ world, this is long e"..., 40) = 40`},
		{"read", x64, "read", [6]uint64{3, 0x1000, 100}, 5, true, `read(3</etc/passwd>, "/etc/", 100) = 5`},
		{"read failed", x64, "read", [6]uint64{3, 0x1000, 100}, -9, false, `read(3, 0x1000, 100) = -1 EBADF (Bad file descriptor)`},
		{"newfstatat", x64, "newfstatat", [6]uint64{0xffffffffffffff9c, 0x1000, 0x3000, 0x100}, 0, false, `newfstatat(AT_FDCWD, "/etc/passwd", {st_mode=S_IFREG|0644, st_size=1234, ...}, AT_SYMLINK_NOFOLLOW) = 0`},
		{"i386 fstatat64", x86, "fstatat64", [6]uint64{0xffffff9c, 0x1000, 0x3400, 0}, 0, false, `fstatat64(AT_FDCWD, "/etc/passwd", {st_mode=S_IFDIR|0755, st_size=4096, ...}, 0) = 0`},
		{"i386 close", x86, "close", [6]uint64{0xffffffff}, -9, false, `close(-1) = -1 EBADF (Bad file descriptor)`},
		{"connect inet", x64, "connect", [6]uint64{3, 0x4000, 16}, -111, false, `connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)`},
		{"connect unix", x64, "connect", [6]uint64{3, 0x4100, 14}, 0, false, `connect(3, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 14) = 0`},
		{"socket", x64, "socket", [6]uint64{2, 1 | 0x80000, 0}, 3, false, `socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3`},
		{"mmap", x64, "mmap", [6]uint64{0, 8192, 3, 0x22, 0xffffffffffffffff, 0}, 0x7f0000000000, false, `mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000`},
		{"execve", x64, "execve", [6]uint64{0x1000, 0x4800, 0x4800}, 0, false, `execve("/etc/passwd", ["ls", "-l"], 0x4800 /* 2 vars */) = 0`},
		{"fcntl getfd", x64, "fcntl", [6]uint64{3, 1}, 1, false, `fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)`},
		{"fcntl setfd", x64, "fcntl", [6]uint64{3, 2, 1}, 0, false, `fcntl(3, F_SETFD, FD_CLOEXEC) = 0`},
		{"clone", x64, "clone", [6]uint64{0x1200011, 0, 0, 0x7000, 0}, 42, false, `clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7000) = 42`},
		{"kill", x64, "kill", [6]uint64{42, 15}, 0, false, `kill(42, SIGTERM) = 0`},
		{"restart", x64, "wait4", [6]uint64{0xffffffffffffffff, 0, 0, 0}, -512, false, `wait4(-1, NULL, 0, NULL) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)`},
		{"unknown args", x64, "getxattr", [6]uint64{1, 2, 3, 4}, 0, false, `getxattr(0x1, 0x2, 0x3, 0x4) = 0`},
		{"access", x64, "access", [6]uint64{0x1000, 4}, 0, false, `access("/etc/passwd", R_OK) = 0`},
		{"bad pointer", x64, "openat", [6]uint64{0xffffffffffffff9c, 0xdead0000, 0}, -14, false, `openat(AT_FDCWD, 0xdead0000, O_RDONLY) = -1 EFAULT (Bad address)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Decoder{StrSize: 32, FDPaths: tc.fd, Mem: mem}
			var c Call
			c.Reset(1, tc.arch, nr(t, tc.arch, tc.call), tc.args)
			d.Enter(&c)
			c.Ret, c.Done = tc.ret, true
			d.Leave(&c)
			var buf bytes.Buffer
			p := NewPrinter(&buf)
			p.Call(&c)
			p.Flush()
			if got := strings.TrimSuffix(buf.String(), "\n"); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestPrinterFlags(t *testing.T) {
	mem := fakeMem{0x1000: []byte("/x\x00")}
	d := &Decoder{Mem: mem}
	mk := func(ret int64) *Call {
		c := &Call{}
		c.Reset(7, syscalls.X86_64, nr(t, syscalls.X86_64, "unlink"), [6]uint64{0x1000})
		d.Enter(c)
		c.Entry = time.Date(2024, 1, 2, 3, 4, 5, 6000, time.Local)
		c.Exit = c.Entry.Add(1500 * time.Microsecond)
		c.Ret, c.Done = ret, true
		d.Leave(c)
		return c
	}
	tests := []struct {
		name string
		set  func(p *Printer)
		want string
	}{
		{"plain", func(p *Printer) {}, "unlink(\"/x\") = 0\nunlink(\"/x\") = -1 ENOENT (No such file or directory)\n"},
		{"-tt -T", func(p *Printer) { p.Timestamps, p.Durations = true, true }, "03:04:05.000006 unlink(\"/x\") = 0 <0.001500>\n03:04:05.000006 unlink(\"/x\") = -1 ENOENT (No such file or directory) <0.001500>\n"},
		{"status=failed", func(p *Printer) { p.Status, _ = ParseStatus("failed") }, "unlink(\"/x\") = -1 ENOENT (No such file or directory)\n"},
		{"status=!failed", func(p *Printer) { p.Status, _ = ParseStatus("!failed") }, "unlink(\"/x\") = 0\n"},
		{"pid prefix", func(p *Printer) { p.PidPrefix = true; p.SetFirst(1) }, "[pid 7] unlink(\"/x\") = 0\n[pid 7] unlink(\"/x\") = -1 ENOENT (No such file or directory)\n"},
		{"json", func(p *Printer) { p.JSON = true },
			`{"pid":7,"time":` + jsonTime(mk(0).Entry) + `,"arch":"x86_64","syscall":"unlink","args":["\"/x\""],"ret":0,"text":"0","duration":0.0015}` + "\n" +
				`{"pid":7,"time":` + jsonTime(mk(0).Entry) + `,"arch":"x86_64","syscall":"unlink","args":["\"/x\""],"ret":-2,"errno":"ENOENT","text":"-1 ENOENT (No such file or directory)","duration":0.0015}` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := NewPrinter(&buf)
			tc.set(p)
			p.Call(mk(0))
			p.Call(mk(-2))
			p.Flush()
			if buf.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", buf.String(), tc.want)
			}
		})
	}
	t.Run("-c", func(t *testing.T) {
		var buf bytes.Buffer
		p := NewPrinter(&buf)
		p.Count = true
		p.Call(mk(0))
		p.Call(mk(-2))
		p.Flush()
		if buf.Len() != 0 {
			t.Fatalf("-c printed calls: %q", buf.String())
		}
		p.Summary(&buf)
		want := "% time     seconds  usecs/call     calls    errors syscall\n" +
			"------ ----------- ----------- --------- --------- ----------------\n" +
			"100.00    0.003000        1500         2         1 unlink\n" +
			"------ ----------- ----------- --------- --------- ----------------\n" +
			"100.00    0.003000        1500         2         1 total\n"
		if buf.String() != want {
			t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
		}
	})
}

func jsonTime(t time.Time) string {
	b, _ := jsonMarshal(float64(t.UnixMicro()) / 1e6)
	return string(b)
}

// TestAppendIP compares the address formatting of sockaddr decoding with
// net/netip's, on the edge cases of RFC 5952 and on random addresses with
// many zero groups.
func TestAppendIP(t *testing.T) {
	var addrs [][16]byte
	for _, s := range []string{"::", "::1", "1::", "::ffff:1.2.3.4", "::ffff:0.0.0.0", "::fffe:1.2.3.4", "::1.2.3.4",
		"1:0:0:1:0:0:1:1", "1:0:1:0:0:1:0:0", "0:1:0:1:0:1:0:1", "1:0:1:1:1:1:1:1", "ff:0:0:0:abcd:0:0:0",
		"2001:db8::ff00:42:8329", "fe80::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9b::c000:221"} {
		addrs = append(addrs, netip.MustParseAddr(s).As16())
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var a [16]byte
		for g := range 8 {
			switch r.IntN(4) {
			case 0:
				a[2*g], a[2*g+1] = byte(r.Uint32()), byte(r.Uint32())
			case 1:
				a[2*g+1] = byte(r.Uint32())
			}
		}
		if r.IntN(10) == 0 {
			a = [16]byte{10: 0xff, 11: 0xff, 12: a[12], 13: a[13], 14: a[14], 15: a[15]}
		}
		addrs = append(addrs, a)
	}
	for _, a := range addrs {
		want := netip.AddrFrom16(a).String()
		if got := string(appendIPv6(nil, a[:])); got != want {
			t.Fatalf("appendIPv6(% x) = %s, want %s", a, got, want)
		}
		v4 := [4]byte(a[12:])
		if got, want := string(appendIPv4([]byte("x"), v4[:])), "x"+netip.AddrFrom4(v4).String(); got != want {
			t.Fatalf("appendIPv4(% x) = %s, want %s", v4, got, want)
		}
	}
}
