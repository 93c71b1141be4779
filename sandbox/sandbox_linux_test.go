package sandbox_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/sandbox"
	"github.com/sysgate/sysgate/seccomp"
)

func TestErrnoFilter(t *testing.T) {
	requireX86_64(t)
	cfg, out := victim(t, "getppid", onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM)))
	got, code := run(t, cfg, out)
	if want := fmt.Sprintf("ret=-1 errno=%d\n", unix.EPERM); got != want || code != 0 {
		t.Errorf("target printed %q and exited %d, want %q and 0", got, code, want)
	}
}

func TestStatus(t *testing.T) {
	requireX86_64(t)
	allow := []bpf.Instruction{bpf.Ret(unix.SECCOMP_RET_ALLOW)}
	errno := onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM))
	tests := []struct {
		name    string
		filters [][]bpf.Instruction
		flags   seccomp.Flag
		want    string
	}{
		{"no filter", nil, 0, "NoNewPrivs=1\nSeccomp=0\nSeccomp_filters=0\n"},
		{"one filter", [][]bpf.Instruction{errno}, 0, "NoNewPrivs=1\nSeccomp=2\nSeccomp_filters=1\n"},
		{"two filters", [][]bpf.Instruction{allow, errno}, 0, "NoNewPrivs=1\nSeccomp=2\nSeccomp_filters=2\n"},
		{"log and spec_allow flags", [][]bpf.Instruction{errno}, seccomp.FlagLog | seccomp.FlagSpecAllow, "NoNewPrivs=1\nSeccomp=2\nSeccomp_filters=1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, out := victim(t, "status", tt.filters...)
			cfg.Flags = tt.flags
			got, code := run(t, cfg, out)
			if got != tt.want || code != 0 {
				t.Errorf("target printed %q and exited %d, want %q and 0", got, code, tt.want)
			}
		})
	}
}

func TestListener(t *testing.T) {
	requireX86_64(t)
	allow := []bpf.Instruction{bpf.Ret(unix.SECCOMP_RET_ALLOW)}
	cfg, out := victim(t, "getppid", allow, onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_USER_NOTIF))
	cfg.Listener = true
	p, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if p.Listener == nil {
		t.Fatal("no listener")
	}
	fd := int(p.Listener.Fd())
	if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("listener fd flags %#x, %v: want close-on-exec", flags, err)
	}

	var n seccomp.Notif
	if err := seccomp.NotifRecv(fd, &n); err != nil {
		t.Fatalf("NotifRecv: %v", err)
	}
	if n.Data.Nr != unix.SYS_GETPPID || n.Data.Arch != unix.AUDIT_ARCH_X86_64 {
		t.Errorf("notification for nr %d arch %#x, want getppid on x86_64", n.Data.Nr, n.Data.Arch)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d", p.Pid, n.Pid)); err != nil {
		t.Errorf("notification pid %d is not a thread of the target %d: %v", n.Pid, p.Pid, err)
	}
	if err := seccomp.NotifIDValid(fd, n.ID); err != nil {
		t.Errorf("NotifIDValid before the answer: %v", err)
	}
	if err := seccomp.NotifSend(fd, &seccomp.NotifResp{ID: n.ID, Val: 4242}); err != nil {
		t.Fatalf("NotifSend: %v", err)
	}
	if err := seccomp.NotifIDValid(fd, n.ID); !errors.Is(err, seccomp.ErrNotifGone) {
		t.Errorf("NotifIDValid after the answer = %v, want ErrNotifGone", err)
	}
	got, code := wait(t, p, cfg, out)
	if got != "ret=4242 errno=0\n" || code != 0 {
		t.Errorf("target printed %q and exited %d, want %q and 0", got, code, "ret=4242 errno=0\n")
	}
}

func TestAddFD(t *testing.T) {
	requireX86_64(t)
	cfg, out := victim(t, "addfd", onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_USER_NOTIF))
	cfg.Listener = true
	p, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fd := int(p.Listener.Fd())
	var n seccomp.Notif
	if err := seccomp.NotifRecv(fd, &n); err != nil {
		t.Fatalf("NotifRecv: %v", err)
	}
	newFD, err := seccomp.NotifAddFD(fd, &seccomp.AddFD{ID: n.ID, Flags: seccomp.AddFDFlagSend, SrcFD: uint32(w.Fd())})
	w.Close()
	if err != nil {
		t.Fatalf("NotifAddFD: %v", err)
	}
	got, code := wait(t, p, cfg, out)
	if want := fmt.Sprintf("fd=%d\n", newFD); got != want || code != 0 {
		t.Errorf("target printed %q and exited %d, want %q and 0", got, code, want)
	}
	buf := make([]byte, 16)
	if n, _ := r.Read(buf); string(buf[:n]) != "hello" {
		t.Errorf("read %q through the injected fd, want hello", buf[:n])
	}
}

func TestExecError(t *testing.T) {
	requireX86_64(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("\x7fELF but not really"), 0o755); err != nil {
		t.Fatal(err)
	}
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errno := onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM))
	tests := []struct {
		name     string
		path     string
		filters  [][]bpf.Instruction
		listener bool
		want     string
		is       error
	}{
		{"missing", "/nope", nil, false, "exec /nope: no such file or directory", fs.ErrNotExist},
		{"missing under a filter", "/nope", [][]bpf.Instruction{errno}, false, "exec /nope: no such file or directory", unix.ENOENT},
		{"directory", dir, nil, false, "exec " + dir + ": permission denied", unix.EACCES},
		{"not executable", noexec, nil, false, "exec " + noexec + ": permission denied", fs.ErrPermission},
		// These pass the helper's checks: execve itself fails, after install.
		{"bad format under a filter", garbage, [][]bpf.Instruction{errno}, false, "exec " + garbage + ": exec format error", unix.ENOEXEC},
		{"bad format with a listener", garbage, [][]bpf.Instruction{errno}, true, "exec " + garbage + ": exec format error", unix.ENOEXEC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := openFDs(t)
			p, err := sandbox.Start(&sandbox.Config{Path: tt.path, Filters: tt.filters, Listener: tt.listener})
			if err == nil {
				p.Wait()
				t.Fatalf("Start(%s) succeeded", tt.path)
			}
			if err.Error() != tt.want || !errors.Is(err, tt.is) {
				t.Errorf("Start(%s) = %q, want %q wrapping %v", tt.path, err, tt.want, tt.is)
			}
			if after := openFDs(t); after != before {
				t.Errorf("fds before Start: %s; after the error: %s", before, after)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	requireX86_64(t)
	sh := func(script string) *sandbox.Config {
		return &sandbox.Config{Path: "/bin/sh", Args: []string{"sh", "-c", script}}
	}
	kill := func() *sandbox.Config {
		cfg, _ := victim(t, "getppid", onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_KILL_PROCESS))
		cfg.Stdout = nil
		return cfg
	}
	tests := []struct {
		name string
		cfg  *sandbox.Config
		want int
	}{
		{"success", sh("exit 0"), 0},
		{"exit status", sh("exit 3"), 3},
		{"signal", sh("kill -TERM $$"), 128 + int(unix.SIGTERM)},
		{"killed by the filter", kill(), 128 + int(unix.SIGSYS)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := sandbox.Start(tt.cfg)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			ps, err := p.Wait()
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if got := sandbox.ExitCode(ps); got != tt.want {
				t.Errorf("ExitCode = %d (%v), want %d", got, ps, tt.want)
			}
		})
	}
	if got := sandbox.ExitCode(nil); got != -1 {
		t.Errorf("ExitCode(nil) = %d, want -1", got)
	}
}

// TestFDs checks that the target gets fds 0-2 only, even with a listener,
// and that Start and Wait leave no fd behind in the caller.
func TestFDs(t *testing.T) {
	requireX86_64(t)
	// An fd the caller holds without close-on-exec, which os/exec would
	// pass on to every child.
	inherited, inheritedW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inherited.Close()
	defer inheritedW.Close()
	if _, err := unix.FcntlInt(inherited.Fd(), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)

	stdin, feed, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// A Go target would show the runtime's own fds (cgroup files); sh
	// holds none once it reads.
	// (dash calls getppid at startup: notify a syscall it never makes.)
	cfg, out := victim(t, "", onSyscall(unix.SYS_VHANGUP, unix.SECCOMP_RET_USER_NOTIF))
	cfg.Path, cfg.Args, cfg.Env = "/bin/sh", []string{"sh", "-c", "echo ready; read x; exit 0"}, nil
	cfg.Stdin = stdin
	cfg.Listener = true
	p, err := sandbox.Start(cfg)
	stdin.Close()
	if err != nil {
		feed.Close()
		t.Fatalf("Start: %v", err)
	}
	line := make([]byte, 6)
	if _, err := out.Read(line); err != nil || string(line) != "ready\n" {
		t.Errorf("target said %q, %v", line, err)
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Pid))
	if err != nil {
		t.Error(err)
	}
	var fds []string
	for _, e := range ents {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.Pid, e.Name()))
		fds = append(fds, e.Name()+"->"+link)
	}
	if len(fds) != 3 || !strings.HasPrefix(fds[0], "0->") || !strings.HasPrefix(fds[1], "1->") || !strings.HasPrefix(fds[2], "2->") {
		t.Errorf("target fds: %v, want 0, 1 and 2 only", fds)
	}
	feed.Close() // EOF on the target's stdin: it exits
	got, code := wait(t, p, cfg, out)
	if got != "" || code != 0 {
		t.Errorf("target printed %q more and exited %d", got, code)
	}
	out.Close()
	if after := openFDs(t); after != before {
		t.Errorf("fds before Start: %s; after Wait: %s", before, after)
	}
}

func TestSignal(t *testing.T) {
	requireX86_64(t)
	stdin, feed, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	cfg, out := victim(t, "block")
	cfg.Stdin = stdin
	p, err := sandbox.Start(cfg)
	stdin.Close()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	out.Read(make([]byte, 6)) // "ready\n": the target runs
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, code := wait(t, p, cfg, out); code != 128+int(unix.SIGTERM) {
		t.Errorf("exit code %d after SIGTERM, want %d", code, 128+int(unix.SIGTERM))
	}
}

func TestArgsEnvDir(t *testing.T) {
	dir := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cfg := &sandbox.Config{
		Path:   "/bin/sh",
		Args:   []string{"sh", "-c", `echo "$0|$FOO|$(pwd)|${SYSGATE_SANDBOX_HELPER-unset}"`, "zero"},
		Env:    []string{"FOO=bar baz"},
		Dir:    dir,
		Stdout: w,
	}
	got, code := run(t, cfg, r)
	if want := "zero|bar baz|" + dir + "|unset\n"; got != want || code != 0 {
		t.Errorf("target printed %q and exited %d, want %q and 0", got, code, want)
	}
}

func TestConfigErrors(t *testing.T) {
	allow := []bpf.Instruction{bpf.Ret(unix.SECCOMP_RET_ALLOW)}
	tests := []struct {
		name string
		cfg  sandbox.Config
		want string
	}{
		{"no path", sandbox.Config{}, "no program path"},
		{"listener flag", sandbox.Config{Path: "/bin/true", Filters: [][]bpf.Instruction{allow}, Flags: seccomp.FlagNewListener}, "set Config.Listener instead"},
		{"listener without filter", sandbox.Config{Path: "/bin/true", Listener: true}, "a listener needs a filter"},
		{"flags without filter", sandbox.Config{Path: "/bin/true", Flags: seccomp.FlagLog}, "flags LOG need a filter"},
		{"empty filter", sandbox.Config{Path: "/bin/true", Filters: [][]bpf.Instruction{allow, {}}}, "filter 2 of 2 has 0 instructions"},
		{"long filter", sandbox.Config{Path: "/bin/true", Filters: [][]bpf.Instruction{make([]bpf.Instruction, bpf.MaxInstructions+1)}}, "filter 1 of 1 has 4097 instructions"},
		{"missing dir", sandbox.Config{Path: "/bin/true", Dir: "/nonexistent-dir"}, "/nonexistent-dir: no such file or directory"},
		{"rejected program", sandbox.Config{Path: "/bin/true", Filters: [][]bpf.Instruction{{bpf.LoadAbs(65), bpf.Ret(0)}}}, "start /bin/true: filter 1 of 1: install seccomp filter: the kernel rejected the program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := sandbox.Start(&tt.cfg)
			if err == nil {
				p.Wait()
				t.Fatal("Start succeeded")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestProbeFeatures(t *testing.T) {
	before := openFDs(t)
	if err := sandbox.ProbeFeatures(); err != nil {
		t.Fatalf("ProbeFeatures: %v", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("fds before: %s; after: %s", before, after)
	}
}

// TestOnListener serves a filter that notifies the target's own execve:
// only a listener served before Start returns lets it through.
func TestOnListener(t *testing.T) {
	requireX86_64(t)
	cfg, out := victim(t, "getppid", onSyscall(unix.SYS_EXECVE, unix.SECCOMP_RET_USER_NOTIF))
	cfg.Listener = true
	served := make(chan []uint32, 1)
	var handed *os.File
	cfg.OnListener = func(l *os.File) {
		handed = l
		go func() { served <- serveContinue(l) }()
	}
	p, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if p.Listener != handed || handed == nil {
		t.Errorf("Process.Listener %v is not the file given to OnListener %v", p.Listener, handed)
	}
	ps, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	nrs := <-served // the listener hangs up when the target is gone
	p.Listener.Close()
	cfg.Stdout.Close()
	got, _ := io.ReadAll(out)
	if string(got) != "ret="+fmt.Sprint(os.Getpid())+" errno=0\n" || sandbox.ExitCode(ps) != 0 {
		t.Errorf("target printed %q and exited %d", got, sandbox.ExitCode(ps))
	}
	if !slices.Equal(nrs, []uint32{unix.SYS_EXECVE}) {
		t.Errorf("notified syscalls %v, want the one execve (%d)", nrs, unix.SYS_EXECVE)
	}
}

// serveContinue lets every notified syscall run until the listener hangs
// up, and returns their numbers.
func serveContinue(l *os.File) []uint32 {
	fd := int(l.Fd())
	var nrs []uint32
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err == unix.EINTR {
			continue
		} else if err != nil {
			return append(nrs, 0xffffffff)
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			return nrs // POLLHUP: no task uses the filter any more
		}
		var n seccomp.Notif
		if err := seccomp.NotifRecv(fd, &n); err != nil {
			continue
		}
		nrs = append(nrs, n.Data.Nr)
		seccomp.NotifSend(fd, &seccomp.NotifResp{ID: n.ID, Flags: seccomp.NotifFlagContinue})
	}
}
