package notify

import "errors"

// ErrGone means the notified call no longer exists: its thread died, or
// (without SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) a signal interrupted it.
// Anything read from the target's memory since the notification arrived
// must be thrown away: the pid may already name another process.
var ErrGone = errors.New("notified call is gone (target died or was interrupted)")

// ErrTooLong is returned by [Request.ReadString] when no NUL ends the string
// within the limit.
var ErrTooLong = errors.New("string longer than the limit")

// Request is one notified system call. Its fields are copied from the
// kernel's struct seccomp_notif; a Request is only meaningful while its
// call is pending, that is until the handler returns.
type Request struct {
	ID   uint64    // the kernel's cookie for this notification, unique per filter
	Pid  int       // thread id of the caller, in the supervisor's pid namespace (0 if not visible there)
	Arch uint32    // AUDIT_ARCH_* of the call
	Nr   uint32    // syscall number in Arch's table
	Args [6]uint64 // raw arguments, zero-extended for 32-bit ABIs
	IP   uint64    // address of the syscall instruction

	listener int // the listener fd, for ID_VALID
}
