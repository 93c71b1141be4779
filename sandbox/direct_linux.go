package sandbox

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/ptrace"
)

// directTrace says whether Start launches cfg straight from the tracer
// thread (see Config.DirectTrace): only a traced start with nothing for a
// helper to do before the execve.
func (cfg *Config) directTrace() bool {
	return cfg.DirectTrace && cfg.Tracer != nil && len(cfg.Filters) == 0 && !cfg.Listener && !cfg.UserNS && !cfg.MountNS
}

// startDirect launches the target from the tracer thread with ForkExec and
// PTRACE_TRACEME (SysProcAttr.Ptrace), so that no second Go program
// starts, and then makes it a seized tracee stopped before its first
// instruction; see stopSeized.
func startDirect(cfg *Config, hc *helperConfig) (*Process, error) {
	attr, closeNull, err := prepareFork(cfg, hc)
	if err != nil {
		return nil, err
	}
	defer closeNull()
	attr.Sys.Ptrace = true
	options := tracedOptions | cfg.PtraceOptions
	pid := 0
	cfg.ready()
	err = cfg.Tracer.Do(func() error {
		// no_new_privs is a thread's, inherited at fork: set on the tracer
		// thread, it reaches the target before its execve, as the helper
		// sets it, so that a filter can later be put into an unprivileged
		// target (by injection) and set-user-ID bits are ignored.
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
		// ForkExec forks from this goroutine's thread, the tracer's, which
		// PTRACE_TRACEME in the child makes its tracer.
		var err error
		if pid, err = syscall.ForkExec(hc.Path, hc.Args, attr); err != nil {
			return &os.PathError{Op: "exec", Path: hc.Path, Err: err}
		}
		if err := stopSeized(pid, options); err != nil {
			if !errors.Is(err, ptrace.ErrTraceeExited) {
				ptrace.Kill(pid)
			}
			return err
		}
		return nil
	})
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Op == "exec" {
			return nil, err
		}
		return nil, fmt.Errorf("start %s: %w", cfg.Path, err)
	}
	return &Process{Pid: pid, Traced: true}, nil
}

// stopSeized runs on the tracer thread, with pid a PTRACE_TRACEME tracee
// that has just exec'd the target. A tracee that is not seized cannot be
// held in a group stop (PTRACE_LISTEN) and passes that on to the children
// it auto-attaches, so it is turned into a seized one without ever
// returning to user mode:
//
//  1. the exec's SIGTRAP (sent to a traced task without
//     PTRACE_O_TRACEEXEC, kernel/ptrace.c ptrace_event) is taken;
//  2. PTRACE_DETACH replaces it with SIGSTOP, so the target, no longer
//     traced, enters a group stop on its way out of execve;
//  3. seizeStopped waits for that stop, seizes it with options and sends
//     SIGCONT;
//  4. its PTRACE_EVENT_STOPs (of the seize and of the SIGCONT) are resumed
//     until it stops to take the SIGCONT, which is where it is left: a
//     signal-delivery stop, resumed with signal 0.
//
// Other signals that come meanwhile are held back and queued again at the
// end, so that the caller sees them.
func stopSeized(pid, options int) error {
	var held []unix.Signal
	defer func() {
		for _, sig := range held {
			unix.Kill(pid, sig)
		}
	}()
	for {
		ws, err := ptrace.WaitStop(pid)
		if err != nil {
			return err
		}
		if sig := ws.StopSignal(); sig != unix.SIGTRAP {
			held = append(held, sig) // before the execve's end
			if err := unix.PtraceCont(pid, 0); err != nil {
				return fmt.Errorf("resume the target: %w", err)
			}
			continue
		}
		break
	}
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, uintptr(unix.SIGSTOP), 0, 0)
	if e != 0 {
		return fmt.Errorf("detach the target with SIGSTOP: %w", e)
	}
	if err := seizeStopped(pid, options); err != nil {
		return err
	}
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
		if ptrace.Event(ws) == 0 {
			sig := ws.StopSignal()
			if sig == unix.SIGCONT {
				return nil
			}
			held = append(held, sig)
		}
		if err := unix.PtraceCont(pid, 0); err != nil {
			return fmt.Errorf("resume the target: %w", err)
		}
	}
}
