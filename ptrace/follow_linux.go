package ptrace

import (
	"errors"

	"golang.org/x/sys/unix"
)

// FollowOptions are the ptrace options a target needs, besides
// PTRACE_O_TRACEEXEC, for [Follow] to see every thread and process it
// creates: fork, vfork and clone events. None of them makes syscall stops;
// the cost is one stop per fork, thread, exec and signal.
const FollowOptions = unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACECLONE

// Hooks are what [Follow] calls, on the tracer thread, with the task
// stopped. An error kills the task's thread group (fail closed); the error
// itself is the hook's to report.
type Hooks struct {
	// Exec is called at the PTRACE_EVENT_EXEC stop of tid (the new
	// program's pid after a non-leader's exec), before the new program
	// runs. It may run tid further itself (waiting for it with [Wait]),
	// as long as it leaves it stopped.
	Exec func(tid int) error
	// NewTask is called at the first stop of a thread or process the
	// followed tasks create, before it runs an instruction of its own.
	NewTask func(tid int) error
	// KeepDescendants, when the main target has exited, leaves the other
	// tracees attached instead of detaching them: with
	// PTRACE_O_EXITKILL they die with the tracer thread. For a caller
	// whose guarantees end with the tracing.
	KeepDescendants bool
}

// Follow resumes the target pid, stopped at its exec (or any stop), and
// follows it and every thread and process it creates, calling the hooks;
// it returns once pid has exited, without reaping it (its parent's wait,
// e.g. sandbox.Process.Wait, does), after detaching every other tracee
// unless Hooks.KeepDescendants.
//
// Follow must run on the tracer thread (Tracer.Do), the target traced with
// [FollowOptions], TRACEEXEC and TRACESYSGOOD, and it waits for any child
// of the process: the caller must have no other children meanwhile. Job
// control stops (SIGTSTP, SIGSTOP) of seized tracees are kept with
// PTRACE_LISTEN until SIGCONT, as if the process were not traced.
func Follow(pid int, hooks Hooks) error {
	f := &follower{main: pid, seen: map[int]bool{pid: false}, hooks: hooks}
	f.resume(pid, 0)
	for {
		wpid, exited, err := Peek()
		if errors.Is(err, unix.ECHILD) {
			return nil
		}
		if err != nil {
			return err
		}
		if wpid == pid && exited {
			break
		}
		_, ws, err := Wait(wpid)
		if err != nil {
			return err
		}
		f.handle(wpid, ws, false)
	}
	if hooks.KeepDescendants {
		return nil
	}
	// Detach the rest: a SIGSTOP makes each stop, and a detach with no
	// signal from that stop drops it again.
	for len(f.seen) > 0 {
		for tid := range f.seen {
			if tid == pid {
				delete(f.seen, tid)
				continue
			}
			unix.Tgkill(TgidOf(tid), tid, unix.SIGSTOP)
			for f.known(tid) {
				_, ws, err := Wait(tid)
				if err != nil {
					delete(f.seen, tid)
					break
				}
				f.handle(tid, ws, true)
			}
		}
	}
	return nil
}

type follower struct {
	main int
	// seen holds every tracee; true until its first stop, the SIGSTOP (or
	// PTRACE_EVENT_STOP, seized) the kernel gives a new auto-attached
	// tracee.
	seen  map[int]bool
	hooks Hooks
}

func (f *follower) known(tid int) bool { _, ok := f.seen[tid]; return ok }

func (f *follower) resume(tid, sig int) { unix.PtraceCont(tid, sig) } // ESRCH: it died

// first records that tid stopped and reports whether this is its first
// stop: a new tracee's may come before its parent's event.
func (f *follower) first(tid int) bool {
	first, ok := f.seen[tid]
	f.seen[tid] = false
	return first || (!ok && tid != f.main)
}

// call runs a hook for tid and kills tid's thread group if it fails.
func (f *follower) call(hook func(int) error, tid int) {
	if hook == nil {
		return
	}
	if err := hook(tid); err != nil {
		unix.Kill(TgidOf(tid), unix.SIGKILL)
	}
}

// handle takes one wait status of tid; detaching says to detach it at its
// next SIGSTOP.
func (f *follower) handle(tid int, ws unix.WaitStatus, detaching bool) {
	switch {
	case ws.Exited() || ws.Signaled():
		delete(f.seen, tid)
		return
	case !ws.Stopped():
		return
	}
	switch ev := Event(ws); ev {
	case 0:
	case unix.PTRACE_EVENT_EXEC:
		// A thread other than the leader exec'd: it took the leader's
		// pid (fs/exec.c, de_thread) and its old tid is gone.
		if old, err := unix.PtraceGetEventMsg(tid); err == nil && int(old) != tid {
			delete(f.seen, int(old))
		}
		f.seen[tid] = false
		f.call(f.hooks.Exec, tid)
		f.resume(tid, 0)
		return
	case unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK, unix.PTRACE_EVENT_CLONE:
		if child, err := unix.PtraceGetEventMsg(tid); err == nil && !f.known(int(child)) {
			f.seen[int(child)] = true
		}
		f.resume(tid, 0)
		return
	case unix.PTRACE_EVENT_STOP:
		// Seized tracees (sandbox seizes the target) report their first
		// stop, and group stops, this way rather than as a SIGSTOP.
		if f.first(tid) && !detaching {
			f.call(f.hooks.NewTask, tid)
			f.resume(tid, 0)
			return
		}
		switch ws.StopSignal() {
		case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
			if !detaching {
				// A group stop: keep the tracee stopped until SIGCONT,
				// as if it were not traced (PTRACE_LISTEN, seized only).
				unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_LISTEN, uintptr(tid), 0, 0, 0, 0)
				return
			}
		}
		f.resume(tid, 0)
		return
	default:
		f.resume(tid, 0)
		return
	}
	sig := ws.StopSignal()
	first := f.first(tid)
	if sig == unix.SIGSTOP && (first || detaching) {
		if detaching {
			unix.PtraceDetach(tid) // no signal: the SIGSTOP is dropped
			delete(f.seen, tid)
			return
		}
		f.call(f.hooks.NewTask, tid)
		sig = 0
	}
	if sig != 0 && isGroupStop(tid) {
		sig = 0
	}
	f.resume(tid, int(sig))
}
