package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/ptrace"
)

// traceStart is how Start runs the helper under Config.Tracer.
type traceStart struct {
	tracer  *ptrace.Tracer
	options int // the target's, set at its exec stop
}

// helperOptions are the helper's own ptrace options: it must stop at the
// target's execve and die with its tracer; nothing else is wanted of it.
const helperOptions = unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL

// helperStopVar=1 in its environment tells the helper to stop itself with
// SIGSTOP before it installs the filters, so that its parent can seize it
// (see helperSeizePoint in helper_linux.go).
const helperStopVar = "SYSGATE_SANDBOX_HELPER_STOP"

// start runs the helper, which stops itself (SIGSTOP) once its Go runtime
// is up and its config read; the tracer thread then seizes it
// (PTRACE_SEIZE, so that the target and its children are seized tracees,
// whose group stops a tracer can hold with PTRACE_LISTEN), wakes it with
// SIGCONT and takes it through its stops to the target's exec stop. The
// helper's status is read on this goroutine meanwhile. closeChild closes
// the parent's copies of the helper's fds once it runs.
//
// Seizing late, rather than PTRACE_TRACEME at the fork, also keeps the
// helper untraced while its runtime starts: the signals it gets then cost
// no ptrace stop.
func (ts *traceStart) start(cmd *exec.Cmd, status int, hc *helperConfig, onListener func(*os.File), closeChild func()) (*os.File, error) {
	cmd.Env = append(cmd.Env, helperStopVar+"=1")
	if err := cmd.Start(); err != nil {
		return nil, startError(cmd.SysProcAttr, err)
	}
	closeChild()
	pid := cmd.Process.Pid

	type statusResult struct {
		listener *os.File
		err      error
	}
	sr := make(chan statusResult, 1)
	go func() {
		l, err := readStatus(status, hc, onListener)
		sr <- statusResult{l, err}
	}()
	terr := ts.tracer.Do(func() error {
		// TRACESECCOMP, if asked for, already holds for the helper, so
		// that TRACE verdicts of the filters it installs stop it (as
		// seccomp stops toExec resumes) instead of failing with ENOSYS.
		err := seizeStopped(pid, helperOptions|ts.options&unix.PTRACE_O_TRACESECCOMP)
		if err == nil {
			err = ts.toExec(pid)
		}
		if err != nil && !errors.Is(err, ptrace.ErrTraceeExited) {
			ptrace.Kill(pid)
		}
		return err
	})
	// The helper exec'd (EOF) or is gone (its fds closed): either way the
	// status read ends now.
	st := <-sr
	if terr == nil && st.err == nil {
		return st.listener, nil
	}
	if terr == nil { // the target stopped at its exec, but the status was bad
		ts.tracer.Do(func() error {
			ptrace.Kill(pid)
			return nil
		})
	}
	cmd.Process.Release()
	if st.err != nil {
		return nil, st.err // the helper's own account is the better one
	}
	if st.listener != nil {
		st.listener.Close()
	}
	return nil, fmt.Errorf("sandbox helper: %w", terr)
}

// seizeStopped runs on the tracer thread: it waits for the helper's own
// SIGSTOP (wait4 with WUNTRACED: it is not traced yet), seizes it with
// options and sends SIGCONT. The seized helper then reports a
// PTRACE_EVENT_STOP, which toExec resumes. A helper that fails before its
// stop exits instead, and its status says why. startDirect uses it for a
// target it detached with SIGSTOP.
func seizeStopped(pid, options int) error {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, unix.WUNTRACED|unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for %d: %w", pid, err)
		}
		if ws.Exited() || ws.Signaled() {
			return &ptrace.ExitError{Pid: pid, Status: ws}
		}
		if ws.Stopped() && ws.StopSignal() == unix.SIGSTOP {
			break
		}
	}
	if err := ptraceSeize(pid, options); err != nil {
		return fmt.Errorf("seize %d: %w", pid, err)
	}
	if err := unix.Kill(pid, unix.SIGCONT); err != nil {
		return fmt.Errorf("continue %d: %w", pid, err)
	}
	return nil
}

// ptraceSeize is PTRACE_SEIZE (Linux 3.4) with options.
func ptraceSeize(pid, options int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, uintptr(options), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// toExec runs on the tracer thread: it resumes the seized helper from each
// of its stops (the PTRACE_EVENT_STOP of the seize, signal-delivery stops,
// whose signals it passes on), until the target's PTRACE_EVENT_EXEC stop,
// where it sets the target's options.
func (ts *traceStart) toExec(pid int) error {
	for {
		ws, err := ptrace.WaitStop(pid)
		if err != nil {
			return err
		}
		sig := 0
		switch ev := ptrace.Event(ws); {
		case ev == unix.PTRACE_EVENT_EXEC:
			// The helper execs from its main thread (see init in
			// helper_linux.go), so the tracee kept its pid.
			if err := unix.PtraceSetOptions(pid, ts.options); err != nil {
				return fmt.Errorf("set ptrace options %#x on the target: %w", ts.options, err)
			}
			return nil
		case ev != 0:
			// PTRACE_EVENT_STOP (the seize's, or a group stop: the
			// helper's own SIGSTOP was answered by SIGCONT already) or
			// PTRACE_EVENT_SECCOMP: the helper goes on.
		default:
			sig = int(ws.StopSignal()) // a signal for the helper: deliver it
		}
		if err := unix.PtraceCont(pid, sig); err != nil {
			return fmt.Errorf("resume the helper: %w", err)
		}
	}
}
