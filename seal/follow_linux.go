package seal

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/ptrace"
)

// FollowOptions are the ptrace options (sandbox.Config.PtraceOptions)
// [Follow] needs besides exec events: fork, vfork and clone events, so that
// the execs of every thread and descendant are seen. None of them makes
// syscall stops; the cost is one stop per fork, thread, exec and signal.
const FollowOptions = unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACECLONE

// Follow resumes the target pid, stopped (and sealed) at its exec, and
// seals again at every later exec of it or of a thread or process it
// creates, calling onSeal with each result; when onSeal returns an error
// that process is killed (fail closed). It returns once pid has exited,
// without reaping it (its parent's wait, e.g. sandbox.Process.Wait, does),
// after detaching every other tracee, which runs on unsealed at its next
// exec.
//
// Follow must run on the tracer thread (Tracer.Do), the target traced with
// [FollowOptions], TRACEEXEC and TRACESYSGOOD, and it waits for any child
// of the process: the caller must have no other children meanwhile. Job
// control stops (SIGTSTP, SIGSTOP) of seized tracees are kept with
// PTRACE_LISTEN until SIGCONT, as if the process were not traced.
func Follow(pid int, onSeal func(Report, error) error) error {
	f := &follower{main: pid, seen: map[int]bool{pid: false}, onSeal: onSeal}
	f.resume(pid, 0)
	for {
		wpid, exited, err := ptrace.Peek()
		if errors.Is(err, unix.ECHILD) {
			return nil
		}
		if err != nil {
			return err
		}
		if wpid == pid && exited {
			break
		}
		_, ws, err := ptrace.Wait(wpid)
		if err != nil {
			return err
		}
		f.handle(wpid, ws, false)
	}
	// Detach the rest: a SIGSTOP makes each stop, and a detach with no
	// signal from that stop drops it again.
	for len(f.seen) > 0 {
		for tid := range f.seen {
			if tid == pid {
				delete(f.seen, tid)
				continue
			}
			unix.Tgkill(tgidOf(tid), tid, unix.SIGSTOP)
			for f.known(tid) {
				_, ws, err := ptrace.Wait(tid)
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
	// seen holds every tracee; true until its first stop, the SIGSTOP
	// the kernel gives a new auto-attached tracee.
	seen   map[int]bool
	onSeal func(Report, error) error
}

func (f *follower) known(tid int) bool { _, ok := f.seen[tid]; return ok }

func (f *follower) resume(tid, sig int) { unix.PtraceCont(tid, sig) } // ESRCH: it died

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
	switch ev := ptrace.Event(ws); ev {
	case 0:
	case unix.PTRACE_EVENT_EXEC:
		// A thread other than the leader exec'd: it took the leader's
		// pid (fs/exec.c, de_thread) and its old tid is gone.
		if old, err := unix.PtraceGetEventMsg(tid); err == nil && int(old) != tid {
			delete(f.seen, int(old))
		}
		r, err := SealSystemMappings(tid)
		if f.onSeal != nil {
			if cerr := f.onSeal(r, err); cerr != nil {
				unix.Kill(tid, unix.SIGKILL)
			}
		}
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
		f.seen[tid] = false
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
	// A new tracee's first stop may come before its parent's event.
	first, ok := f.seen[tid]
	first = first || !ok
	f.seen[tid] = false
	if sig == unix.SIGSTOP && (first || detaching) {
		if detaching {
			unix.PtraceDetach(tid) // no signal: the SIGSTOP is dropped
			delete(f.seen, tid)
			return
		}
		sig = 0
	}
	if sig != 0 && isGroupStop(tid) {
		sig = 0
	}
	f.resume(tid, int(sig))
}
