package syscalls

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		name    string
		arch    *Arch
		syscall string
		nr      uint32
		ok      bool
	}{
		{"x86_64 read", X86_64, "read", 0, true},
		{"x86_64 openat", X86_64, "openat", 257, true},
		{"x86_64 execve", X86_64, "execve", 59, true},
		{"x86_64 no socketcall", X86_64, "socketcall", 0, false},
		{"i386 openat", I386, "openat", 295, true},
		{"i386 socketcall", I386, "socketcall", 102, true},
		{"x32 read", X32, "read", 0x40000000, true},
		{"x32 readv (x32-only number)", X32, "readv", 0x40000000 | 515, true},
		{"aarch64 openat", AArch64, "openat", 56, true},
		{"aarch64 no open", AArch64, "open", 0, false},
		{"arm openat", ARM, "openat", 322, true},
		{"arm private cacheflush", ARM, "cacheflush", 0x0f0002, true},
		{"riscv64 openat", RISCV64, "openat", 56, true},
		{"ppc64le openat", PPC64LE, "openat", 286, true},
		{"ppc64 shares ppc64le numbers", PPC64, "openat", 286, true},
		{"s390x openat", S390X, "openat", 288, true},
		{"mips o32 read", MIPS, "read", 4003, true},
		{"mipsel o32 read", MIPSEL, "read", 4003, true},
		{"mips n64 read", MIPS64, "read", 5000, true},
		{"mips n32 read", MIPS64N32, "read", 6000, true},
		{"loongarch64 openat", LoongArch64, "openat", 56, true},
		{"unknown syscall", X86_64, "no_such_syscall", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nr, ok := tt.arch.Lookup(tt.syscall)
			if ok != tt.ok || nr != tt.nr {
				t.Fatalf("%s.Lookup(%q) = %d, %v; want %d, %v", tt.arch, tt.syscall, nr, ok, tt.nr, tt.ok)
			}
			if !ok {
				return
			}
			name, ok := tt.arch.SyscallName(tt.nr)
			if !ok || name != tt.syscall {
				t.Fatalf("%s.SyscallName(%d) = %q, %v; want %q", tt.arch, tt.nr, name, ok, tt.syscall)
			}
		})
	}
}

func TestTablesConsistent(t *testing.T) {
	for _, a := range Arches() {
		t.Run(a.Name, func(t *testing.T) {
			list := a.Syscalls()
			if len(list) < 300 {
				t.Fatalf("only %d syscalls", len(list))
			}
			for i, s := range list {
				if i > 0 && list[i-1].Nr >= s.Nr {
					t.Fatalf("not sorted by number at %d: %v then %v", i, list[i-1], s)
				}
				if s.Nr < a.NrBase {
					t.Fatalf("%s = %d is below NrBase %#x", s.Name, s.Nr, a.NrBase)
				}
				if nr, ok := a.Lookup(s.Name); !ok || nr != s.Nr {
					t.Fatalf("Lookup(%q) = %d, %v; want %d", s.Name, nr, ok, s.Nr)
				}
				if !Exists(s.Name) {
					t.Fatalf("Exists(%q) = false", s.Name)
				}
			}
			for _, must := range []string{"read", "write", "close", "exit_group", "execve", "seccomp", "rt_sigreturn"} {
				if _, ok := a.Lookup(must); !ok {
					t.Errorf("no %s", must)
				}
			}
			list[0].Name = "mutated"
			if a.Syscalls()[0].Name == "mutated" {
				t.Fatal("Syscalls returns the shared table")
			}
		})
	}
}

func TestArchByName(t *testing.T) {
	tests := []struct {
		in   string
		want *Arch
	}{
		{"x86_64", X86_64},
		{"SCMP_ARCH_X86_64", X86_64},
		{"amd64", X86_64},
		{"x86", I386},
		{"386", I386},
		{"i386", I386},
		{"SCMP_ARCH_X86", I386},
		{"x32", X32},
		{"SCMP_ARCH_X32", X32},
		{"arm64", AArch64},
		{"scmp_arch_aarch64", AArch64},
		{" AArch64 ", AArch64},
		{"arm", ARM},
		{"ppc64le", PPC64LE},
		{"mipsle", MIPSEL},
		{"mips64le", MIPSEL64},
		{"SCMP_ARCH_MIPSEL64N32", MIPSEL64N32},
		{"loong64", LoongArch64},
		{"SCMP_ARCH_SH", SH},
		{"SCMP_ARCH_SHEB", SHEB},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ArchByName(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ArchByName(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		_, err := ArchByName("vax")
		if !errors.Is(err, ErrUnknownArch) {
			t.Fatalf("err = %v; want ErrUnknownArch", err)
		}
		if msg := err.Error(); !strings.Contains(msg, `"vax"`) || !strings.Contains(msg, "x86_64") || !strings.Contains(msg, "sheb") {
			t.Fatalf("error %q should name the input and list valid names", msg)
		}
	})
	t.Run("every arch by its names", func(t *testing.T) {
		for _, a := range Arches() {
			for _, n := range []string{a.Name, a.DockerName(), a.GOARCH} {
				if n == "" {
					continue
				}
				if got, err := ArchByName(n); got != a {
					t.Errorf("ArchByName(%q) = %v, %v; want %s", n, got, err, a)
				}
			}
		}
	})
}

// Every architecture an OCI/Docker profile can name resolves.
func TestOCIArches(t *testing.T) {
	oci := []specs.Arch{
		specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
		specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPSEL, specs.ArchMIPSEL64,
		specs.ArchMIPSEL64N32, specs.ArchPPC, specs.ArchPPC64, specs.ArchPPC64LE, specs.ArchS390,
		specs.ArchS390X, specs.ArchPARISC, specs.ArchPARISC64, specs.ArchRISCV64, specs.ArchLOONGARCH64,
		specs.ArchM68K, specs.ArchSH, specs.ArchSHEB,
	}
	seen := map[*Arch]bool{}
	for _, name := range oci {
		a, err := ArchByName(string(name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if a.DockerName() != string(name) {
			t.Errorf("%s resolves to %s whose DockerName is %s", name, a, a.DockerName())
		}
		seen[a] = true
	}
	if len(seen) != len(Arches()) {
		t.Errorf("OCI names cover %d arches, Arches has %d", len(seen), len(Arches()))
	}
}

func TestFamily(t *testing.T) {
	tests := []struct {
		arch   *Arch
		family *Arch
	}{
		{X86_64, X86_64}, {I386, X86_64}, {X32, X86_64},
		{AArch64, AArch64}, {ARM, AArch64},
		{S390, S390X}, {PPC, PPC64}, {PPC64LE, PPC64LE},
		{MIPS, MIPS64}, {MIPSEL, MIPSEL64}, {MIPS64N32, MIPS64}, {MIPSEL64N32, MIPSEL64},
		{PARISC, PARISC64}, {RISCV64, RISCV64}, {SHEB, SHEB},
	}
	for _, tt := range tests {
		t.Run(tt.arch.Name, func(t *testing.T) {
			if got := tt.arch.Family(); got != tt.family {
				t.Fatalf("Family() = %s; want %s", got, tt.family)
			}
			f := tt.arch.Family()
			if f != tt.arch && !slices.Contains(f.SubArches(), tt.arch) {
				t.Fatalf("%s.SubArches() = %v, lacks %s", f, f.SubArches(), tt.arch)
			}
		})
	}
	if got := fmt.Sprint(X86_64.SubArches()); got != "[i386 x32]" {
		t.Errorf("x86_64 SubArches = %s; want [i386 x32]", got)
	}
	if got := fmt.Sprint(MIPS64.SubArches()); got != "[mips mips64n32]" {
		t.Errorf("mips64 SubArches = %s", got)
	}
	if got := I386.SubArches(); len(got) != 0 {
		t.Errorf("i386 SubArches = %v; want none", got)
	}
	if got := RISCV64.SubArches(); len(got) != 0 {
		t.Errorf("riscv64 SubArches = %v; want none", got)
	}
}

func TestArchFields(t *testing.T) {
	for _, a := range Arches() {
		t.Run(a.Name, func(t *testing.T) {
			if a.Bits != 32 && a.Bits != 64 {
				t.Errorf("Bits = %d", a.Bits)
			}
			want := binary.ByteOrder(binary.LittleEndian)
			if a.BigEndian {
				want = binary.BigEndian
			}
			if a.ByteOrder() != want {
				t.Errorf("ByteOrder = %v; want %v", a.ByteOrder(), want)
			}
			// __AUDIT_ARCH_LE (0x40000000) is set exactly for little-endian ABIs.
			if le := a.Audit&0x40000000 != 0; le == a.BigEndian {
				t.Errorf("Audit %#x disagrees with BigEndian=%v", a.Audit, a.BigEndian)
			}
		})
	}
	if PPC64.ByteOrder().Uint32([]byte{0, 0, 0, 1}) != 1 {
		t.Error("ppc64 is not big-endian")
	}
}

func TestNative(t *testing.T) {
	a := Native()
	if a == nil {
		t.Fatalf("Native() = nil on GOARCH %s", runtime.GOARCH)
	}
	if a.GOARCH != runtime.GOARCH {
		t.Fatalf("Native() = %s with GOARCH %s; running %s", a, a.GOARCH, runtime.GOARCH)
	}
	if a.Family() != a {
		t.Fatalf("native %s is not its own family", a)
	}
}

func TestNames(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Fatal("Names not sorted")
	}
	if len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Fatal("Names has duplicates")
	}
	for _, n := range []string{"read", "openat", "socketcall", "cacheflush", "mseal"} {
		if !Exists(n) || !slices.Contains(names, n) {
			t.Errorf("%s missing", n)
		}
	}
	for _, n := range []string{"", "no_such_syscall", "READ"} {
		if Exists(n) {
			t.Errorf("Exists(%q) = true", n)
		}
	}
}

func TestClass(t *testing.T) {
	tests := []struct {
		class   string
		has     []string
		hasNot  []string
		wantErr bool
	}{
		{class: "%file", has: []string{"openat", "open", "execve", "stat", "chdir", "openat2"}, hasNot: []string{"read", "write", "close"}},
		{class: "file", has: []string{"openat"}},
		{class: "%network", has: []string{"socket", "connect", "accept4", "sendmsg"}, hasNot: []string{"read", "socketcall"}},
		{class: "%net", has: []string{"socket", "bind"}},
		{class: "%process", has: []string{"clone", "clone3", "fork", "execve", "exit_group", "wait4", "kill"}, hasNot: []string{"getpid"}},
		{class: "%signal", has: []string{"kill", "rt_sigaction", "rt_sigreturn", "sigaltstack"}},
		{class: "%ipc", has: []string{"shmget", "semop", "msgsnd", "ipc"}},
		{class: "%desc", has: []string{"read", "write", "close", "openat", "dup3"}, hasNot: []string{"open_tree_attr"}},
		{class: "%memory", has: []string{"mmap", "mprotect", "brk", "munmap", "mseal"}},
		{class: "%creds", has: []string{"setuid", "capset", "getresuid", "prctl"}},
		{class: "%clock", has: []string{"clock_gettime", "gettimeofday", "time"}},
		{class: "%pure", has: []string{"getpid", "gettid", "getuid"}, hasNot: []string{"read"}},
		{class: "%stat", has: []string{"stat", "stat64"}, hasNot: []string{"fstat", "lstat"}},
		{class: "%lstat", has: []string{"lstat", "lstat64"}},
		{class: "%fstat", has: []string{"fstat", "newfstatat", "statx"}},
		{class: "%%stat", has: []string{"stat", "lstat", "fstat", "newfstatat", "statx", "oldstat"}},
		{class: "%statfs", has: []string{"statfs", "statfs64"}, hasNot: []string{"fstatfs"}},
		{class: "%fstatfs", has: []string{"fstatfs", "fstatfs64"}},
		{class: "%%statfs", has: []string{"statfs", "fstatfs", "ustat"}},
		{class: "%nosuch", wantErr: true},
		{class: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			members, ok := Class(tt.class)
			if ok == tt.wantErr {
				t.Fatalf("Class(%q) ok = %v", tt.class, ok)
			}
			if !ok {
				return
			}
			if !slices.IsSorted(members) {
				t.Error("members not sorted")
			}
			for _, m := range members {
				if !Exists(m) {
					t.Errorf("member %q is no syscall", m)
				}
			}
			for _, h := range tt.has {
				if !slices.Contains(members, h) {
					t.Errorf("%s lacks %s", tt.class, h)
				}
			}
			for _, h := range tt.hasNot {
				if slices.Contains(members, h) {
					t.Errorf("%s has %s", tt.class, h)
				}
			}
		})
	}
	classes := Classes()
	if !slices.IsSorted(classes) {
		t.Error("Classes not sorted")
	}
	for _, c := range []string{"%file", "%network", "%net", "%process", "%signal", "%ipc", "%desc", "%memory", "%creds", "%clock", "%stat", "%lstat", "%fstat", "%statfs", "%fstatfs", "%pure", "%%stat", "%%statfs"} {
		if !slices.Contains(classes, c) {
			t.Errorf("Classes lacks %s", c)
		}
		if m, ok := Class(c); !ok || len(m) == 0 {
			t.Errorf("Class(%q) is empty", c)
		}
	}
	m, _ := Class("%file")
	m[0] = "mutated"
	if again, _ := Class("%file"); again[0] == "mutated" {
		t.Error("Class returns the shared slice")
	}
}

func TestConst(t *testing.T) {
	tests := []struct {
		arch *Arch
		name string
		want uint64
	}{
		{X86_64, "O_RDONLY", 0},
		{X86_64, "O_ACCMODE", 3},
		{X86_64, "O_DIRECTORY", 0x10000},
		{ARM, "O_DIRECTORY", 0x4000},
		{AArch64, "O_DIRECTORY", 0x4000},
		{X86_64, "O_CLOEXEC", 0x80000},
		{X86_64, "AT_FDCWD", 0xffffffffffffff9c},
		{X86_64, "AT_EMPTY_PATH", 0x1000},
		{X86_64, "CLONE_NEWUSER", 0x10000000},
		{X86_64, "CLONE_THREAD", 0x10000},
		{X86_64, "AF_UNIX", 1},
		{X86_64, "AF_INET6", 10},
		{X86_64, "SOCK_STREAM", 1},
		{MIPS, "SOCK_STREAM", 2},
		{X86_64, "SOCK_NONBLOCK", 0x800},
		{X86_64, "PROT_EXEC", 4},
		{X86_64, "MAP_SHARED", 1},
		{X86_64, "MAP_ANONYMOUS", 0x20},
		{MIPS, "MAP_ANONYMOUS", 0x800},
		{X86_64, "MS_BIND", 0x1000},
		{X86_64, "PR_SET_NO_NEW_PRIVS", 38},
		{X86_64, "TIOCSTI", 0x5412},
		{MIPS, "TIOCSTI", 0x5472},
		{PPC64LE, "TCGETS", 0x402c7413},
		{X86_64, "FIONREAD", 0x541b},
		{X86_64, "FIOCLEX", 0x5451},
		{PPC64LE, "FIOCLEX", 0x20006601},
		{MIPS, "FIONBIO", 0x667e},
		{X86_64, "EPERM", 1},
		{X86_64, "SIGKILL", 9},
		{X86_64, "SIGSYS", 31},
		{MIPS, "SIGSYS", 12},
		{X86_64, "FUTEX_WAIT", 0},
		{X86_64, "FUTEX_WAKE_PRIVATE", 129},
		{X86_64, "FUTEX_CMD_MASK", 0xfffffffffffffe7f},
		{X86_64, "PER_LINUX", 0},
		{X86_64, "PER_LINUX32", 8},
		{X86_64, "ADDR_NO_RANDOMIZE", 0x40000},
		{X32, "O_DIRECTORY", 0x10000},
		{I386, "O_LARGEFILE", 0x8000},
		{X86_64, "SECCOMP_RET_KILL_PROCESS", 0x80000000},
		{X86_64, "AUDIT_ARCH_X86_64", 0xc000003e},
	}
	for _, tt := range tests {
		t.Run(tt.arch.Name+"/"+tt.name, func(t *testing.T) {
			got, ok := Const(tt.arch, tt.name)
			if !ok || got != tt.want {
				t.Fatalf("Const(%s, %s) = %#x, %v; want %#x", tt.arch, tt.name, got, ok, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "NO_SUCH_CONST", "o_rdonly", "AAFS_MAGIC_TYPO"} {
		if v, ok := Const(X86_64, bad); ok {
			t.Errorf("Const(%q) = %#x, true", bad, v)
		}
	}
}

func TestConstNames(t *testing.T) {
	for _, a := range Arches() {
		t.Run(a.Name, func(t *testing.T) {
			names := ConstNames(a)
			if !slices.IsSorted(names) {
				t.Fatal("not sorted")
			}
			if len(slices.Compact(slices.Clone(names))) != len(names) {
				t.Fatal("duplicates: a GOARCH constant shadows a common one")
			}
			for _, n := range names {
				if _, ok := Const(a, n); !ok {
					t.Fatalf("Const(%s) not found", n)
				}
			}
			for _, family := range []string{"O_RDONLY", "AT_FDCWD", "CLONE_NEWNS", "AF_INET", "SOCK_DGRAM", "PROT_READ", "MAP_PRIVATE", "MS_RDONLY", "PR_GET_DUMPABLE", "FUTEX_WAKE", "TCSETS", "TIOCSCTTY", "FIOCLEX", "EACCES", "SIGTERM", "PER_BSD"} {
				if !slices.Contains(names, family) {
					t.Errorf("lacks %s", family)
				}
			}
			fionread, _ := Const(a, "FIONREAD")
			if tiocinq, _ := Const(a, "TIOCINQ"); fionread != tiocinq || fionread == 0 {
				t.Errorf("FIONREAD = %#x, TIOCINQ = %#x; the kernel defines one as the other", fionread, tiocinq)
			}
			g, exact := a.ConstSource()
			if g == "" || (a.GOARCH != "" && exact != (a.GOARCH == g)) {
				t.Errorf("ConstSource = %q, %v with GOARCH %q", g, exact, a.GOARCH)
			}
		})
	}
}

func TestErrno(t *testing.T) {
	tests := []struct {
		arch *Arch
		name string
		want int
		ok   bool
	}{
		{X86_64, "EPERM", 1, true},
		{X86_64, "ENOSYS", 38, true},
		{MIPS, "ENOSYS", 89, true},
		{MIPSEL64, "ENOSYS", 89, true},
		{X86_64, "EWOULDBLOCK", 11, true},
		{X86_64, "EDEADLOCK", 35, true},
		{MIPS, "EDEADLOCK", 56, true},
		{X86_64, "O_RDONLY", 0, false},
		{X86_64, "SIGKILL", 0, false},
		{X86_64, "ENOPE", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.arch.Name+"/"+tt.name, func(t *testing.T) {
			got, ok := Errno(tt.arch, tt.name)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("Errno(%s, %s) = %d, %v; want %d, %v", tt.arch, tt.name, got, ok, tt.want, tt.ok)
			}
		})
	}
	if n, ok := Signal(X86_64, "SIGSYS"); !ok || n != 31 {
		t.Errorf("Signal(SIGSYS) = %d, %v", n, ok)
	}
	if _, ok := Signal(X86_64, "EPERM"); ok {
		t.Error("Signal(EPERM) ok")
	}

	names := []struct {
		e          int
		name, text string
	}{
		{1, "EPERM", "Operation not permitted"},
		{2, "ENOENT", "No such file or directory"},
		{11, "EAGAIN", "Resource temporarily unavailable"},
		{38, "ENOSYS", "Function not implemented"},
		{0, "", ""},
		{-1, "", ""},
		{100000, "", ""},
	}
	for _, tt := range names {
		if got := ErrnoName(tt.e); got != tt.name {
			t.Errorf("ErrnoName(%d) = %q; want %q", tt.e, got, tt.name)
		}
		if got := ErrnoString(tt.e); got != tt.text {
			t.Errorf("ErrnoString(%d) = %q; want %q", tt.e, got, tt.text)
		}
	}
	if got := ErrnoNameFor(MIPS, 89); got != "ENOSYS" {
		t.Errorf("ErrnoNameFor(mips, 89) = %q", got)
	}
	// Every errno name round-trips on every ABI.
	for _, a := range Arches() {
		for e := 1; e < 1200; e++ {
			if name := ErrnoNameFor(a, e); name != "" {
				if n, ok := Errno(a, name); !ok || n != e {
					t.Errorf("%s: Errno(%s) = %d, %v; want %d", a, name, n, ok, e)
				}
			}
		}
	}
}

func ExampleArch_Lookup() {
	for _, a := range []*Arch{X86_64, I386, X32, AArch64, MIPS} {
		nr, _ := a.Lookup("read")
		fmt.Printf("%s read=%#x audit=%#x\n", a, nr, a.Audit)
	}
	// Output:
	// x86_64 read=0x0 audit=0xc000003e
	// i386 read=0x3 audit=0x40000003
	// x32 read=0x40000000 audit=0xc000003e
	// aarch64 read=0x3f audit=0xc00000b7
	// mips read=0xfa3 audit=0x8
}

func ExampleClass() {
	file, _ := Class("%file")
	fmt.Println(slices.Contains(file, "openat"), slices.Contains(file, "read"))
	// Output: true false
}

func ExampleConst() {
	a, _ := ArchByName("SCMP_ARCH_X86_64")
	v, _ := Const(a, "CLONE_NEWUSER")
	fmt.Printf("%#x %s\n", v, ErrnoString(1))
	// Output: 0x10000000 Operation not permitted
}
