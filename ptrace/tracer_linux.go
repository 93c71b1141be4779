package ptrace

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrClosed is returned by [Tracer.Do] after [Tracer.Close].
var ErrClosed = errors.New("ptrace: tracer closed")

// ErrTraceeExited is matched (errors.Is) by the error of a helper that saw
// its tracee die; see [ExitError].
var ErrTraceeExited = errors.New("tracee exited")

// ExitError reports that a tracee ended while a helper waited for it. The
// helper reaped it with wait4, so Status is the only record of its end.
type ExitError struct {
	Pid    int
	Status unix.WaitStatus
}

func (e *ExitError) Error() string {
	if e.Status.Signaled() {
		return fmt.Sprintf("tracee %d killed by %v", e.Pid, e.Status.Signal())
	}
	return fmt.Sprintf("tracee %d exited with status %d", e.Pid, e.Status.ExitStatus())
}

func (e *ExitError) Is(target error) bool { return target == ErrTraceeExited }

// Tracer performs every ptrace request from one locked OS thread: the
// kernel ties a tracee to the thread that attached it.
type Tracer struct {
	calls     chan func()
	done      chan struct{}
	exited    chan struct{}
	closeOnce sync.Once
}

// NewTracer starts a goroutine locked to its OS thread, never unlocked: the
// thread dies with it, taking its ptrace links along (see [Tracer.Close]).
func NewTracer() *Tracer {
	t := &Tracer{calls: make(chan func()), done: make(chan struct{}), exited: make(chan struct{})}
	ready := make(chan struct{})
	go t.loop(ready)
	<-ready
	return t
}

func (t *Tracer) loop(ready chan<- struct{}) {
	// Never unlocked: a goroutine that exits locked takes its thread with
	// it, so no other goroutine ever runs on a thread that is a tracer.
	runtime.LockOSThread()
	defer close(t.exited)
	close(ready)
	for {
		select {
		case f := <-t.calls:
			f()
		case <-t.done:
			return
		}
	}
}

// Do runs f on the tracer thread and returns its error. Calls are run one at
// a time, in order; f must not call Do itself (it would deadlock). A panic
// in f is re-raised in the caller.
func (t *Tracer) Do(f func() error) error {
	type result struct {
		err   error
		panic any
	}
	res := make(chan result, 1)
	call := func() {
		defer func() {
			if p := recover(); p != nil {
				res <- result{panic: p}
			}
		}()
		res <- result{err: f()}
	}
	select {
	case t.calls <- call:
	case <-t.done:
		return ErrClosed
	}
	r := <-res
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// Close ends the tracer thread once the running Do (if any) returns, and
// waits for it. The kernel then detaches every tracee of the thread and
// kills those with PTRACE_O_EXITKILL (kernel/ptrace.c, exit_ptrace); detach
// first what should live on. Close is idempotent.
func (t *Tracer) Close() {
	t.closeOnce.Do(func() { close(t.done) })
	<-t.exited
}

// GetRegs returns the tracee's general-purpose registers (PTRACE_GETREGS).
func GetRegs(pid int) (*unix.PtraceRegs, error) {
	var r unix.PtraceRegs
	if err := unix.PtraceGetRegs(pid, &r); err != nil {
		return nil, fmt.Errorf("get registers of %d: %w", pid, err)
	}
	return &r, nil
}

// SetRegs sets the tracee's general-purpose registers (PTRACE_SETREGS).
func SetRegs(pid int, r *unix.PtraceRegs) error {
	if err := unix.PtraceSetRegs(pid, r); err != nil {
		return fmt.Errorf("set registers of %d: %w", pid, err)
	}
	return nil
}

// Wait waits for a state change of tracee pid (wait4 with __WALL, so
// threads too), retrying on EINTR. A pid of -1 waits for any child or
// tracee of the process.
func Wait(pid int) (int, unix.WaitStatus, error) {
	var ws unix.WaitStatus
	for {
		wpid, err := unix.Wait4(pid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, 0, fmt.Errorf("wait for %d: %w", pid, err)
		}
		return wpid, ws, nil
	}
}

// WaitStop waits until tracee pid stops and returns that stop's status;
// its exit or death is an [*ExitError] (errors.Is ErrTraceeExited).
func WaitStop(pid int) (unix.WaitStatus, error) {
	for {
		_, ws, err := Wait(pid)
		if err != nil {
			return 0, err
		}
		if ws.Exited() || ws.Signaled() {
			return 0, &ExitError{Pid: pid, Status: ws}
		}
		if ws.Stopped() {
			return ws, nil
		}
	}
}

// Kill kills tracee pid with SIGKILL and reaps it (or waits until it is
// gone, if it is not our child).
func Kill(pid int) {
	unix.Kill(pid, unix.SIGKILL)
	for {
		if _, ws, err := Wait(pid); err != nil || ws.Exited() || ws.Signaled() {
			return
		}
	}
}

// Event returns the PTRACE_EVENT_* of an event stop's wait status (0 for
// other stops).
func Event(ws unix.WaitStatus) int {
	if !ws.Stopped() {
		return 0
	}
	return int(ws>>16) & 0xff
}
