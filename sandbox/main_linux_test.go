package sandbox_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/sandbox"
)

// envVictim selects what the test binary does when it is the target.
const envVictim = "SANDBOX_TEST_VICTIM"

// envMount names a mount point whose propagation the "namespaces" victim
// reports.
const envMount = "SANDBOX_TEST_MOUNT"

func TestMain(m *testing.M) {
	sandbox.RunHelper()
	if mode, ok := os.LookupEnv(envVictim); ok {
		os.Exit(runVictim(mode))
	}
	code := m.Run()
	if kids := children(); code == 0 && kids != "" {
		fmt.Fprintf(os.Stderr, "processes left behind: %s\n", kids)
		code = 1
	}
	os.Exit(code)
}

// children lists the pids of this process's children.
func children() string {
	var all []string
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		all = append(all, strings.Fields(string(b))...)
	}
	return strings.Join(all, " ")
}

// runVictim is the target's main: it makes the syscalls the tests filter
// and prints what it saw. Raw syscalls and writes keep the Go runtime out
// of the way.
func runVictim(mode string) int {
	say := func(format string, a ...any) { unix.Write(1, fmt.Appendf(nil, format, a...)) }
	switch mode {
	case "getppid":
		r, _, errno := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		say("ret=%d errno=%d\n", int(r), int(errno))
	case "status":
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			say("%v\n", err)
			return 1
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			switch k {
			case "NoNewPrivs", "Seccomp", "Seccomp_filters":
				say("%s=%s\n", k, strings.TrimSpace(v))
			}
		}
	case "addfd":
		// The supervisor answers getppid with an fd it injected.
		r, _, errno := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		if errno != 0 {
			say("errno=%d\n", int(errno))
			return 1
		}
		if _, err := unix.Write(int(r), []byte("hello")); err != nil {
			say("write fd %d: %v\n", r, err)
			return 1
		}
		say("fd=%d\n", int(r))
	case "namespaces":
		// Who the target is and where: its ids, its maps, its namespaces
		// and whether / still propagates mounts.
		say("uid=%d gid=%d\n", unix.Getuid(), unix.Getgid())
		for _, f := range []string{"uid_map", "gid_map", "setgroups"} {
			b, _ := os.ReadFile("/proc/self/" + f)
			say("%s=%q\n", f, strings.Join(strings.Fields(string(b)), " "))
		}
		for _, ns := range []string{"user", "mnt"} {
			l, _ := os.Readlink("/proc/self/ns/" + ns)
			say("%s=%s\n", ns, l)
		}
		if dir := os.Getenv(envMount); dir != "" {
			b, _ := os.ReadFile("/proc/self/mountinfo")
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) > 6 && f[4] == dir {
					say("shared=%v\n", strings.Contains(line, " shared:"))
				}
			}
		}
		r, _, errno := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		say("getppid ret=%d errno=%d\n", int(r), int(errno))
	case "unprivileged-start":
		// An unprivileged caller starts the "namespaces" victim in new
		// user and mount namespaces.
		exe, _ := os.Executable()
		p, err := sandbox.Start(&sandbox.Config{Path: exe, Args: []string{"victim"}, Env: []string{envVictim + "=namespaces"},
			Stdout: os.Stdout, Stderr: os.Stderr, UserNS: true, MountNS: true})
		if err != nil {
			say("start: %v\n", err)
			return 1
		}
		ps, err := p.Wait()
		if err != nil {
			say("wait: %v\n", err)
			return 1
		}
		return sandbox.ExitCode(ps)
	case "block":
		say("ready\n")
		buf := make([]byte, 64)
		for {
			n, err := unix.Read(0, buf)
			if n == 0 && err != unix.EINTR {
				return 0
			}
		}
	default:
		say("unknown victim mode %q\n", mode)
		return 2
	}
	return 0
}

// requireX86_64 skips where the hand-assembled test filters do not fit.
func requireX86_64(t *testing.T) {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skipf("test filters are hand-assembled for x86_64 (AUDIT_ARCH_X86_64, syscall numbers); this is %s", runtime.GOARCH)
	}
}

// onSyscall is a filter that gives nr the verdict ret and allows the rest;
// another architecture is killed.
func onSyscall(nr int, ret uint32) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbs(bpf.OffsetArch),
		bpf.JumpIf(bpf.JumpJEQ, unix.AUDIT_ARCH_X86_64, 1, 0),
		bpf.Ret(unix.SECCOMP_RET_KILL_PROCESS),
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JumpJEQ, uint32(nr), 0, 1),
		bpf.Ret(ret),
		bpf.Ret(unix.SECCOMP_RET_ALLOW),
	}
}

// victim returns a Config that runs this test binary in the given mode,
// with stdout in a pipe whose read end is returned.
func victim(t *testing.T, mode string, filters ...[]bpf.Instruction) (*sandbox.Config, *os.File) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return &sandbox.Config{
		Path:    exe,
		Args:    []string{"victim"},
		Env:     []string{envVictim + "=" + mode, "GORACE=atexit_sleep_ms=0"},
		Stdout:  w,
		Stderr:  os.Stderr,
		Filters: filters,
	}, r
}

// run starts cfg, waits, and returns stdout (cfg.Stdout must be the write
// end of out).
func run(t *testing.T, cfg *sandbox.Config, out *os.File) (string, int) {
	t.Helper()
	p, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return wait(t, p, cfg, out)
}

func wait(t *testing.T, p *sandbox.Process, cfg *sandbox.Config, out *os.File) (string, int) {
	t.Helper()
	ps, err := p.Wait()
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if p.Listener != nil {
		p.Listener.Close()
	}
	cfg.Stdout.Close()
	b, err := io.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), sandbox.ExitCode(ps)
}

// openFDs lists this process's open fds.
func openFDs(t *testing.T) string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}
