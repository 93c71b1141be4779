package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

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

// start forks the helper from the tracer thread with PTRACE_TRACEME (the
// kernel makes the forking thread the tracer), reads the helper's status on
// this goroutine while the tracer thread takes the helper through its stops
// to the target's exec stop. closeChild closes the parent's copies of the
// helper's fds once it runs.
func (ts *traceStart) start(cmd *exec.Cmd, status int, hc *helperConfig, onListener func(*os.File), closeChild func()) (*os.File, error) {
	attr := cmd.SysProcAttr
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	// PTRACE_TRACEME comes after the child joined its namespaces (os/exec
	// does it last before execve); a tracer in the parent user namespace
	// has every capability over the new one.
	attr.Ptrace = true
	cmd.SysProcAttr = attr
	if err := ts.tracer.Do(cmd.Start); err != nil {
		return nil, startError(attr, err)
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
		err := ts.toExec(pid)
		if err != nil && !errors.Is(err, ptrace.ErrTraceeExited) {
			unix.Kill(pid, unix.SIGKILL)
			reap(pid)
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
			unix.Kill(pid, unix.SIGKILL)
			reap(pid)
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

// toExec runs on the tracer thread: it resumes the helper from each of its
// stops, passing signals on, until the target's PTRACE_EVENT_EXEC stop,
// where it sets the target's options.
func (ts *traceStart) toExec(pid int) error {
	first := true
	for {
		_, ws, err := ptrace.Wait(pid)
		if err != nil {
			return err
		}
		if ws.Exited() || ws.Signaled() {
			return &ptrace.ExitError{Pid: pid, Status: ws}
		}
		if !ws.Stopped() {
			continue
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
		case first && ws.StopSignal() == unix.SIGTRAP:
			// PTRACE_TRACEME's SIGTRAP after the helper's own execve.
			if err := unix.PtraceSetOptions(pid, helperOptions); err != nil {
				return fmt.Errorf("set ptrace options on the helper: %w", err)
			}
		default:
			sig = int(ws.StopSignal()) // a signal for the helper: deliver it
		}
		first = false
		if err := unix.PtraceCont(pid, sig); err != nil {
			return fmt.Errorf("resume the helper: %w", err)
		}
	}
}

// reap waits for pid's end, taking every stop on the way (it was killed).
func reap(pid int) {
	for {
		_, ws, err := ptrace.Wait(pid)
		if err != nil || ws.Exited() || ws.Signaled() {
			return
		}
	}
}
