package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/seccomp"
)

// DefaultWorkers is the number of workers Serve runs when
// [Supervisor.Workers] is 0.
const DefaultWorkers = 4

// Supervisor answers the notifications of one seccomp listener.
//
// Set the fields, then call [Supervisor.Serve]; do not change them while it
// runs. The Supervisor does not own the listener: close it after Serve
// returns (closing it is what turns the target's pending and future notified
// calls into ENOSYS).
type Supervisor struct {
	// Listener is the notification fd returned by seccomp(2) with
	// SECCOMP_FILTER_FLAG_NEW_LISTENER (Linux 5.0), possibly received from
	// the target over a unix socket or with pidfd_getfd(2).
	Listener *os.File

	// Handler decides every call; a [*Mux] dispatches by syscall.
	Handler Handler

	// Workers is how many calls may be handled at the same time; a call
	// arriving while all workers are busy waits in the kernel. 0 means
	// [DefaultWorkers]. With 1, one slow handler stalls every other call;
	// with more, a handler slower than about 50 µs hands reception to an
	// idle worker (see the package documentation).
	Workers int

	// NoSyncWakeUp leaves SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6)
	// unset. Serve sets it by default wherever the kernel has it; this
	// switch exists to measure the difference.
	NoSyncWakeUp bool

	// ErrorLog receives what goes wrong with single calls: handler panics
	// ([*PanicError]), invalid responses, answers the kernel refused for
	// reasons other than the target being gone. Calls may come from several
	// workers at once. If nil, these errors are dropped (they are still
	// counted in [Stats]).
	ErrorLog func(error)

	serving atomic.Bool
	stats   counters
}

// Stats counts what a Supervisor has done, over all its Serve calls.
type Stats struct {
	Received   uint64 // notifications received
	Answered   uint64 // answers the kernel accepted
	Gone       uint64 // calls that vanished before their answer (target died or was interrupted)
	Withdrawn  uint64 // notifications withdrawn before they were received (a signal interrupted the call, which restarts, or the caller died)
	Panics     uint64 // handler panics (each answered with EPERM)
	Failed     uint64 // answers the kernel refused for another reason, invalid responses
	SyncWakeUp bool   // the listener has SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP set by Serve
}

type counters struct {
	received, answered, gone, withdrawn, panics, failed atomic.Uint64
	syncWakeUp                                          atomic.Bool
}

// Stats returns the counters. It is safe to call while Serve runs.
func (s *Supervisor) Stats() Stats {
	return Stats{
		Received:   s.stats.received.Load(),
		Answered:   s.stats.answered.Load(),
		Gone:       s.stats.gone.Load(),
		Withdrawn:  s.stats.withdrawn.Load(),
		Panics:     s.stats.panics.Load(),
		Failed:     s.stats.failed.Load(),
		SyncWakeUp: s.stats.syncWakeUp.Load(),
	}
}

// errHangup ends Serve without error: no task uses the filter any more.
var errHangup = errors.New("listener hung up")

// Serve receives and answers notifications until ctx is cancelled (it then
// returns ctx.Err()) or until the listener reports POLLHUP because every task
// using the filter has exited (it then returns nil). Calls
// already being handled are answered before Serve returns; calls not yet
// received stay pending in the kernel. A failure of the listener itself
// (EBADF, an unexpected errno from poll or receive) stops Serve with an
// error.
func (s *Supervisor) Serve(ctx context.Context) error {
	if s.Listener == nil {
		return errors.New("serve notifications: no listener")
	}
	if s.Handler == nil {
		return errors.New("serve notifications: no handler")
	}
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("serve notifications: Serve is already running")
	}
	defer s.serving.Store(false)
	defer runtime.KeepAlive(s.Listener)

	rc, err := s.Listener.SyscallConn()
	if err != nil {
		return fmt.Errorf("serve notifications: %w", err)
	}
	var listener int
	if err := rc.Control(func(fd uintptr) { listener = int(fd) }); err != nil {
		return fmt.Errorf("serve notifications: %w", err)
	}

	if !s.NoSyncWakeUp {
		err := setSyncWakeUp(listener)
		if err != nil && !errors.Is(err, seccomp.ErrNotSupported) {
			return fmt.Errorf("serve notifications: %w", err)
		}
		s.stats.syncWakeUp.Store(err == nil)
	} else {
		s.stats.syncWakeUp.Store(false)
	}

	// The eventfd wakes the leader out of poll(2) when ctx is cancelled; it
	// is never read, so it stays readable for every later leader too.
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("serve notifications: eventfd: %w", err)
	}
	defer unix.Close(efd)

	st := &serveState{s: s, ctx: ctx, listener: listener, token: make(chan struct{}, 1)}
	st.token <- struct{}{}
	st.pfd = [2]unix.PollFd{
		{Fd: int32(listener), Events: unix.POLLIN},
		{Fd: int32(efd), Events: unix.POLLIN},
	}

	finished := make(chan struct{})
	cancelled := make(chan struct{})
	go func() {
		defer close(cancelled)
		select {
		case <-ctx.Done():
			one := []byte{1, 0, 0, 0, 0, 0, 0, 0} // eventfd counters are native uint64
			unix.Write(efd, one)
		case <-finished:
		}
	}()

	var wg sync.WaitGroup
	for range s.workers() {
		wg.Go(st.work)
	}
	wg.Wait()
	close(finished)
	<-cancelled // efd must outlive the writer

	if errors.Is(st.err, errHangup) {
		return nil
	}
	if errors.Is(st.err, context.Canceled) || errors.Is(st.err, context.DeadlineExceeded) {
		return st.err
	}
	return fmt.Errorf("serve notifications: %w", st.err)
}

func (s *Supervisor) workers() int {
	if s.Workers <= 0 {
		return DefaultWorkers
	}
	return s.Workers
}

// setSyncWakeUp asks the kernel to wake supervisor and target on each
// other's CPU (SECCOMP_IOCTL_NOTIF_SET_FLAGS, Linux 6.6). Older kernels
// answer EINVAL, or ENOTTY on some backports without the ioctl; both come
// back wrapping ErrNotSupported.
func setSyncWakeUp(listener int) error {
	err := seccomp.NotifSetFlags(listener, seccomp.NotifFDSyncWakeUp)
	if errors.Is(err, unix.ENOTTY) {
		return fmt.Errorf("%w: %w", seccomp.ErrNotSupported, err)
	}
	return err
}

// serveState is one Serve call. The one value in token is the leader
// role: whoever holds it waits for, and receives, the next notification.
type serveState struct {
	s        *Supervisor
	ctx      context.Context
	listener int
	token    chan struct{} // capacity 1; the leader role when it is in there

	// Owned by the token holder.
	pfd  [2]unix.PollFd
	done bool
	err  error // why Serve stops
}

// handoffDelay is how long a leader may spend handling a call before it
// hands reception to another worker. Answering in the receiving thread is
// what SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP rewards, and a handoff costs a
// wake-up of another thread, so fast handlers never hand off; the Go timer
// behind it may fire late (up to about a millisecond on a busy machine).
const handoffDelay = 50 * time.Microsecond

// Leader role states of a worker while it handles a call.
const (
	roleHeld     = iota // the worker holds the token
	roleHanded          // the timer passed the token on
	roleReturned        // the worker finished first and keeps the token
)

func (st *serveState) work() {
	var n seccomp.Notif
	var role atomic.Uint32
	var handoff *time.Timer
	if st.s.workers() > 1 {
		handoff = time.AfterFunc(time.Hour, func() {
			if role.CompareAndSwap(roleHeld, roleHanded) {
				st.token <- struct{}{}
			}
		})
		handoff.Stop()
		defer handoff.Stop()
	}
	leader := false
	for {
		if !leader {
			<-st.token
			leader = true
		}
		if st.done {
			st.token <- struct{}{} // let the next worker see done too
			return
		}
		if err := st.receive(&n); err != nil {
			st.done, st.err = true, err
			st.token <- struct{}{}
			return
		}
		st.s.stats.received.Add(1)
		if handoff == nil {
			st.serve(&n)
			continue
		}
		// Keep the role while handling, unless this takes long. A late
		// timer from an earlier call can only hand the role on early,
		// which is harmless: role is reset only while the token is held.
		role.Store(roleHeld)
		handoff.Reset(handoffDelay)
		st.serve(&n)
		handoff.Stop()
		leader = role.CompareAndSwap(roleHeld, roleReturned)
	}
}

// receive waits in poll(2) for a notification or a reason to stop and
// receives one notification into n. Only the leader calls it, so after
// POLLIN the receive cannot block: SECCOMP_IOCTL_NOTIF_RECV only sleeps
// when no notification is queued, and then never wakes for POLLHUP
// (kernel/seccomp.c, recv_wait_event), which is why it is not called
// blindly.
func (st *serveState) receive(n *seccomp.Notif) error {
	for {
		st.pfd[0].Revents, st.pfd[1].Revents = 0, 0
		if _, err := unix.Poll(st.pfd[:], -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("poll listener: %w", err)
		}
		if st.pfd[1].Revents != 0 {
			return st.ctx.Err()
		}
		ev := st.pfd[0].Revents
		if ev&unix.POLLIN != 0 {
			*n = seccomp.Notif{} // the kernel insists on a zeroed buffer
			err := seccomp.NotifRecv(st.listener, n)
			switch {
			case err == nil:
				return nil
			case errors.Is(err, unix.EINTR):
				continue
			case isGone(err):
				// A signal reached the caller between queueing and our
				// receive (before WAIT_KILLABLE_RECV applies): the call
				// restarts and notifies again, or the caller died.
				st.s.stats.withdrawn.Add(1)
				continue
			default:
				return fmt.Errorf("receive notification: %w", err)
			}
		}
		if ev&unix.POLLHUP != 0 {
			return errHangup
		}
		if ev&unix.POLLNVAL != 0 {
			return fmt.Errorf("poll listener: %w", unix.EBADF)
		}
		if ev&unix.POLLERR != 0 {
			return fmt.Errorf("poll listener: POLLERR")
		}
	}
}

// serve handles one notification and answers it.
func (st *serveState) serve(n *seccomp.Notif) {
	r := &Request{
		ID:       n.ID,
		Pid:      int(n.Pid),
		Arch:     n.Data.Arch,
		Nr:       n.Data.Nr,
		Args:     n.Data.Args,
		IP:       n.Data.InstructionPointer,
		listener: st.listener,
	}
	resp := st.call(r)
	if resp.file != nil {
		defer resp.file.Close()
	}
	if err := resp.check(); err != nil {
		st.s.stats.failed.Add(1)
		st.report(fmt.Errorf("notification %d (syscall %d of pid %d): invalid response: %w", r.ID, r.Nr, r.Pid, err))
		resp = Response{} // EPERM
	}
	err := st.answer(r, resp)
	switch {
	case err == nil:
		st.s.stats.answered.Add(1)
	case isGone(err):
		st.s.stats.gone.Add(1)
	default:
		st.s.stats.failed.Add(1)
		st.report(fmt.Errorf("notification %d (syscall %d of pid %d): answer %v: %w", r.ID, r.Nr, r.Pid, resp, err))
	}
}

// call runs the handler, turning a panic into the zero (EPERM) Response.
func (st *serveState) call(r *Request) (resp Response) {
	defer func() {
		if v := recover(); v != nil {
			st.s.stats.panics.Add(1)
			st.report(&PanicError{ID: r.ID, Pid: r.Pid, Nr: r.Nr, Value: v, Stack: debug.Stack()})
			resp = Response{}
		}
	}()
	return st.s.Handler.Handle(st.ctx, r)
}

func (st *serveState) report(err error) {
	if st.s.ErrorLog != nil {
		st.s.ErrorLog(err)
	}
}

// answer sends resp for r (SECCOMP_IOCTL_NOTIF_SEND, or ADDFD for InjectFD).
func (st *serveState) answer(r *Request, resp Response) error {
	msg := seccomp.NotifResp{ID: r.ID}
	switch resp.kind {
	case respContinue:
		msg.Flags = seccomp.NotifFlagContinue
	case respErrno:
		msg.Error = -int32(resp.errno)
	case respReturn:
		msg.Val = resp.val
	case respInjectFD:
		return st.inject(r, resp)
	default:
		msg.Error = -int32(unix.EPERM)
	}
	return seccomp.NotifSend(st.listener, &msg)
}

// inject installs resp.file in the target and answers with its number in one
// ioctl (SECCOMP_ADDFD_FLAG_SEND, Linux 5.14). Kernels from 5.9 to 5.13
// reject the flag with EINVAL; they get ADDFD and then a separate answer.
// If the target cannot take the fd, the kernel leaves the call pending and
// the call fails with the same errno.
func (st *serveState) inject(r *Request, resp Response) error {
	add := seccomp.AddFD{
		ID:         r.ID,
		Flags:      seccomp.AddFDFlagSend,
		SrcFD:      uint32(resp.file.Fd()), // Fd switches the file to blocking mode, as targets expect
		NewFDFlags: uint32(resp.fdFlags),
	}
	_, err := addFDSend(st.listener, &add)
	if errors.Is(err, unix.EINVAL) {
		add.Flags = 0
		var fd int
		if fd, err = seccomp.NotifAddFD(st.listener, &add); err == nil {
			return seccomp.NotifSend(st.listener, &seccomp.NotifResp{ID: r.ID, Val: int64(fd)})
		}
	}
	if err == nil || isGone(err) {
		return err
	}
	var errno unix.Errno
	if !errors.As(err, &errno) || errno < 1 || errno > maxErrno {
		errno = unix.EPERM
	}
	st.report(fmt.Errorf("notification %d (syscall %d of pid %d): inject fd %s: %w", r.ID, r.Nr, r.Pid, resp.file.Name(), err))
	return seccomp.NotifSend(st.listener, &seccomp.NotifResp{ID: r.ID, Error: -int32(errno)})
}

// addFDSend runs SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND with
// every blockable signal blocked on this (locked) thread. The kernel marks
// the call answered, with 0, before the target installs the fd, then waits
// interruptibly; a signal in that wait, before the target has taken the
// request, makes it drop the request, and the target returns 0 as if fd 0
// were its file (kernel/seccomp.c, seccomp_notify_addfd; the restarted
// ioctl then fails with EINPROGRESS or ENOENT). Go signals its threads all the
// time (preemption, SIGCHLD), so the wait must not be interruptible. Stop
// signals and the freezer cannot be blocked and still can cause this.
// Without SEND the call stays unanswered until NOTIF_SEND, so an
// interrupted ADDFD is simply retried and needs no such care.
func addFDSend(listener int, add *seccomp.AddFD) (int, error) {
	var all, old unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^all.Val[i] // all ones, whatever the word size
	}
	runtime.LockOSThread()
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &all, &old); err != nil {
		runtime.UnlockOSThread()
		return -1, fmt.Errorf("block signals for ADDFD: %w", err)
	}
	fd, err := seccomp.NotifAddFD(listener, add)
	if unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) == nil {
		// Otherwise the thread stays locked to this goroutine, so that no
		// other goroutine runs with its signals blocked.
		runtime.UnlockOSThread()
	}
	return fd, err
}
