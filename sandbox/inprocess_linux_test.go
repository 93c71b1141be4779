package sandbox_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/sandbox"
)

// launches are the two ways Start launches a target.
var launches = []struct {
	name      string
	inProcess bool
}{
	{"helper", false},
	{"in-process", true},
}

// TestLaunches runs the same starts through the helper and in process
// and wants the same from both; in process it also checks that the
// launch really happened there and left this process unfiltered.
func TestLaunches(t *testing.T) {
	requireX86_64(t)
	allow := []bpf.Instruction{bpf.Ret(unix.SECCOMP_RET_ALLOW)}
	errno := onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM))
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("\x7fELF but not really"), 0o755); err != nil {
		t.Fatal(err)
	}

	// An fd the caller holds without close-on-exec, which os/exec would
	// pass on to every child.
	inherited, inheritedW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inherited.Close()
	defer inheritedW.Close()

	tests := []struct {
		name    string
		mode    string // the victim's
		filters [][]bpf.Instruction
		setup   func(cfg *sandbox.Config)
		want    string // what the target prints
		code    int
		err     string // Start's error instead
	}{
		{name: "errno", mode: "getppid", filters: [][]bpf.Instruction{errno},
			want: fmt.Sprintf("ret=-1 errno=%d\n", unix.EPERM)},
		{name: "two filters", mode: "status", filters: [][]bpf.Instruction{allow, errno},
			want: "NoNewPrivs=1\nSeccomp=2\nSeccomp_filters=2\n"},
		{name: "no filter", mode: "status",
			want: "NoNewPrivs=1\nSeccomp=0\nSeccomp_filters=0\n"},
		{name: "killed by the filter", mode: "getppid", filters: [][]bpf.Instruction{onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_KILL_PROCESS)},
			code: 128 + int(unix.SIGSYS)},
		{name: "args env dir", filters: [][]bpf.Instruction{errno},
			setup: func(cfg *sandbox.Config) {
				cfg.Path, cfg.Args = "/bin/sh", []string{"sh", "-c", `echo "$0|$FOO|$(pwd)|${SYSGATE_SANDBOX_HELPER-unset}"`, "zero"}
				cfg.Env, cfg.Dir = []string{"FOO=bar baz"}, dir
			},
			want: "zero|bar baz|" + dir + "|unset\n"},
		{name: "only fds 0-2", filters: [][]bpf.Instruction{errno},
			setup: func(cfg *sandbox.Config) {
				unix.FcntlInt(inherited.Fd(), unix.F_SETFD, 0)
				cfg.Path, cfg.Args, cfg.Env = "/bin/sh", []string{"sh", "-c", "ls /proc/$$/fd"}, nil
			},
			want: "0\n1\n2\n"},
		{name: "missing program", filters: [][]bpf.Instruction{errno},
			setup: func(cfg *sandbox.Config) { cfg.Path = "/nope" },
			err:   "exec /nope: no such file or directory"},
		{name: "bad format with a listener", filters: [][]bpf.Instruction{errno},
			setup: func(cfg *sandbox.Config) { cfg.Path, cfg.Listener = garbage, true },
			err:   "exec " + garbage + ": exec format error"},
		{name: "missing dir", filters: [][]bpf.Instruction{errno},
			setup: func(cfg *sandbox.Config) { cfg.Dir = "/nonexistent-dir" },
			err:   "/nonexistent-dir: no such file or directory"},
		{name: "rejected program", filters: [][]bpf.Instruction{{bpf.LoadAbs(65), bpf.Ret(0)}},
			err: "start /bin/true: filter 1 of 1: install seccomp filter: the kernel rejected the program"},
	}
	for _, l := range launches {
		for _, tt := range tests {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				cfg, out := victim(t, tt.mode, tt.filters...)
				if tt.setup != nil {
					tt.setup(cfg)
				}
				if tt.name == "rejected program" {
					cfg.Path = "/bin/true"
				}
				cfg.InProcess = l.inProcess
				if err := sandbox.CheckInProcess(cfg); l.inProcess && err != nil && tt.name != "rejected program" {
					t.Fatalf("CheckInProcess: %v", err)
				}
				before := openFDs(t)
				p, err := sandbox.Start(cfg)
				if tt.err != "" {
					if err == nil {
						p.Wait()
						t.Fatal("Start succeeded")
					}
					if !strings.Contains(err.Error(), tt.err) {
						t.Errorf("Start = %q, want it to contain %q", err, tt.err)
					}
					if after := openFDs(t); after != before {
						t.Errorf("fds before Start: %s; after the error: %s", before, after)
					}
					requireUnfiltered(t)
					return
				}
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				got, code := wait(t, p, cfg, out)
				if got != tt.want || code != tt.code {
					t.Errorf("target printed %q and exited %d, want %q and %d", got, code, tt.want, tt.code)
				}
				requireUnfiltered(t)
			})
		}
	}
}

// TestLaunchesOnListener serves a filter that notifies the target's own
// execve, by both launches: the listener is served before the execve, and
// nothing else of the launch is notified.
func TestLaunchesOnListener(t *testing.T) {
	requireX86_64(t)
	for _, l := range launches {
		t.Run(l.name, func(t *testing.T) {
			cfg, out := victim(t, "getppid", onSyscall(unix.SYS_EXECVE, unix.SECCOMP_RET_USER_NOTIF))
			cfg.Listener, cfg.InProcess = true, l.inProcess
			served := make(chan []uint32, 1)
			cfg.OnListener = func(l *os.File) { go func() { served <- serveContinue(l) }() }
			p, err := sandbox.Start(cfg)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			ps, err := p.Wait()
			if err != nil {
				t.Fatal(err)
			}
			nrs := <-served // the listener hangs up when the target (and launcher) are gone
			p.Listener.Close()
			cfg.Stdout.Close()
			got, _ := io.ReadAll(out)
			if string(got) != "ret="+fmt.Sprint(os.Getpid())+" errno=0\n" || sandbox.ExitCode(ps) != 0 {
				t.Errorf("target printed %q and exited %d", got, sandbox.ExitCode(ps))
			}
			if !slices.Equal(nrs, []uint32{unix.SYS_EXECVE}) {
				t.Errorf("notified syscalls %v, want the one execve (%d)", nrs, unix.SYS_EXECVE)
			}
		})
	}
}

// TestCheckInProcess checks which filters let the launch run in process.
func TestCheckInProcess(t *testing.T) {
	requireX86_64(t)
	allow := []bpf.Instruction{bpf.Ret(unix.SECCOMP_RET_ALLOW)}
	tests := []struct {
		name    string
		cfg     sandbox.Config
		err     error  // errors.Is; nil with msg "" means in process
		msg     string // contained in the error
		started bool   // Start still succeeds, through the helper
	}{
		{name: "no filter", cfg: sandbox.Config{}, started: true},
		{name: "allow", cfg: sandbox.Config{Filters: [][]bpf.Instruction{allow}}, started: true},
		{name: "log everything", cfg: sandbox.Config{Filters: [][]bpf.Instruction{{bpf.Ret(unix.SECCOMP_RET_LOG)}}}, started: true},
		{name: "errno on the target's call", cfg: sandbox.Config{Filters: [][]bpf.Instruction{onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_ERRNO|1)}}, started: true},
		{name: "errno on pipe2", cfg: sandbox.Config{Filters: [][]bpf.Instruction{allow, onSyscall(unix.SYS_PIPE2, unix.SECCOMP_RET_ERRNO|1)}},
			err: sandbox.ErrLauncherDenied, msg: "filter 2 of 2 returns 0x50001 for pipe2", started: true},
		{name: "notify on futex", cfg: sandbox.Config{Filters: [][]bpf.Instruction{onSyscall(unix.SYS_FUTEX, unix.SECCOMP_RET_USER_NOTIF)}, Listener: true},
			err: sandbox.ErrLauncherDenied, msg: "futex"},
		{name: "trap on sigaltstack", cfg: sandbox.Config{Filters: [][]bpf.Instruction{onSyscall(unix.SYS_SIGALTSTACK, unix.SECCOMP_RET_TRAP)}},
			err: sandbox.ErrLauncherDenied, msg: "sigaltstack"},
		{name: "kill on clone", cfg: sandbox.Config{Filters: [][]bpf.Instruction{onSyscall(unix.SYS_CLONE, unix.SECCOMP_RET_KILL_PROCESS)}},
			err: sandbox.ErrLauncherDenied, msg: "clone"},
		{name: "namespaces", cfg: sandbox.Config{MountNS: true}, msg: "need the helper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Path, cfg.InProcess = "/bin/true", true
			err := sandbox.CheckInProcess(&cfg)
			switch {
			case tt.err == nil && tt.msg == "" && err != nil:
				t.Errorf("CheckInProcess = %v, want nil", err)
			case tt.err != nil && !errors.Is(err, tt.err), tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg)):
				t.Errorf("CheckInProcess = %v, want %v containing %q", err, tt.err, tt.msg)
			}
			if !tt.started {
				return
			}
			// Denied in process, the start falls back to the helper.
			p, err := sandbox.Start(&cfg)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if ps, err := p.Wait(); err != nil || sandbox.ExitCode(ps) != 0 {
				t.Errorf("Wait = %v, %v; want exit 0", ps, err)
			}
			requireUnfiltered(t)
		})
	}
	if err := sandbox.CheckInProcess(&sandbox.Config{Path: "/bin/true"}); err == nil {
		t.Error("CheckInProcess without InProcess = nil, want an error")
	}
}

func TestIsLauncher(t *testing.T) {
	cmd := exec.Command("/bin/sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	tests := []struct {
		name string
		tid  int
		want bool
	}{
		{"this thread", unix.Gettid(), true},
		{"the main thread", os.Getpid(), true},
		{"a child", cmd.Process.Pid, false},
		{"init", 1, false},
		{"zero", 0, false},
		{"negative", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sandbox.IsLauncher(tt.tid); got != tt.want {
				t.Errorf("IsLauncher(%d) = %v, want %v", tt.tid, got, tt.want)
			}
		})
	}
}

// requireUnfiltered waits for every thread of this process to be without
// seccomp filters: an in-process launcher thread must end, and no other
// thread may ever get a filter.
func requireUnfiltered(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		filtered := filteredThreads()
		if len(filtered) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads of the test process still under seccomp after 5s: %v", filtered)
		}
		time.Sleep(time.Millisecond)
	}
}

// filteredThreads lists this process's threads whose Seccomp mode is not 0.
func filteredThreads() []string {
	var out []string
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Seccomp:"); ok && strings.TrimSpace(v) != "0" {
				out = append(out, filepath.Base(filepath.Dir(f)))
			}
		}
	}
	return out
}
