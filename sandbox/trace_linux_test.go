package sandbox_test

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/ptrace"
	"github.com/sysgate/sysgate/sandbox"
)

// TestTracedStart: with a Tracer, Start returns with the target stopped at
// its exec stop, seized by the tracer thread, with the options asked for;
// after a detach Wait works as usual.
func TestTracedStart(t *testing.T) {
	requireX86_64(t)
	tr := ptrace.NewTracer()
	defer tr.Close()
	cfg, out := victim(t, "status", onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM)))
	cfg.Tracer = tr
	cfg.PtraceOptions = unix.PTRACE_O_TRACECLONE
	p, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !p.Traced {
		t.Error("Process.Traced is false")
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var tracerTid int
	tr.Do(func() error { tracerTid = unix.Gettid(); return nil })
	// TracerPid is the tracer thread's id.
	for _, want := range []string{"State:\tt (tracing stop)", "TracerPid:\t" + strconv.Itoa(tracerTid) + "\n", "Seccomp_filters:\t1"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("target status lacks %q:\n%s", want, status)
		}
	}
	if cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/cmdline"); string(cmdline) != "victim\x00" {
		t.Errorf("stopped in %q, want the target's exec", cmdline)
	}
	err = tr.Do(func() error {
		msg, err := unix.PtraceGetEventMsg(p.Pid)
		if err != nil {
			return err
		}
		if int(msg) != p.Pid {
			t.Errorf("exec event message %d, want the pid %d", msg, p.Pid)
		}
		// PTRACE_INTERRUPT works on seized tracees only (EIO otherwise):
		// the target is seized, so a tracer can hold its group stops.
		if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_INTERRUPT, uintptr(p.Pid), 0, 0, 0, 0); e != 0 {
			t.Errorf("PTRACE_INTERRUPT: %v, want the target seized", e)
		}
		return unix.PtraceDetach(p.Pid)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, code := wait(t, p, cfg, out)
	if want := "NoNewPrivs=1\nSeccomp=2\nSeccomp_filters=1\n"; got != want || code != 0 {
		t.Errorf("target printed %q and exited %d, want %q and 0", got, code, want)
	}
}

// TestTracedStartWaitLoop: a tracer that waits for the target itself.
func TestTracedStartWaitLoop(t *testing.T) {
	requireX86_64(t)
	tr := ptrace.NewTracer()
	defer tr.Close()
	cfg, out := victim(t, "getppid")
	cfg.Tracer = tr
	p, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	var ws unix.WaitStatus
	err = tr.Do(func() error {
		for sig := 0; ; {
			if err := unix.PtraceCont(p.Pid, sig); err != nil {
				return err
			}
			var err error
			if _, ws, err = ptrace.Wait(p.Pid); err != nil {
				return err
			}
			if ws.Exited() || ws.Signaled() {
				return nil
			}
			sig = int(ws.StopSignal())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Release()
	cfg.Stdout.Close()
	b := make([]byte, 100)
	n, _ := out.Read(b)
	if !ws.Exited() || ws.ExitStatus() != 0 || !strings.HasPrefix(string(b[:n]), "ret=") {
		t.Errorf("status %#x, output %q", ws, b[:n])
	}
}

func TestTracedStartErrors(t *testing.T) {
	tr := ptrace.NewTracer()
	defer tr.Close()
	before := openFDs(t)
	_, err := sandbox.Start(&sandbox.Config{Path: "/nonexistent", Tracer: tr})
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "exec /nonexistent: ") {
		t.Errorf("Start(/nonexistent) traced: %v", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("fds before %s, after %s", before, after)
	}
	_, err = sandbox.Start(&sandbox.Config{Path: "/bin/true", PtraceOptions: unix.PTRACE_O_TRACEFORK})
	if err == nil || !strings.Contains(err.Error(), "without a tracer") {
		t.Errorf("PtraceOptions without Tracer: %v", err)
	}
}

// TestTracedStartTraceVerdict: with PTRACE_O_TRACESECCOMP asked for, a
// filter's TRACE verdict on the helper's own execve stops it for the
// tracer (Start resumes it) instead of failing the exec with ENOSYS, as it
// would for a tracee without the option.
func TestTracedStartTraceVerdict(t *testing.T) {
	requireX86_64(t)
	tr := ptrace.NewTracer()
	defer tr.Close()
	cfg, out := victim(t, "getppid", onSyscall(unix.SYS_EXECVE, unix.SECCOMP_RET_TRACE))
	cfg.Tracer = tr
	cfg.PtraceOptions = unix.PTRACE_O_TRACESECCOMP
	p, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := tr.Do(func() error { return unix.PtraceDetach(p.Pid) }); err != nil {
		t.Fatal(err)
	}
	if _, code := wait(t, p, cfg, out); code != 0 {
		t.Errorf("target exited %d, want 0", code)
	}
}
