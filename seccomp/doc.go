// Package seccomp is the kernel interface of seccomp(2): installing a classic
// BPF filter and talking to the user-notification listener it can return.
//
// It holds no policy. Programs come from package filter (or are written by
// hand with package bpf), and the higher layers decide what to do with a
// notification: package notify serves a listener, package sandbox installs
// filters in a freshly started program before it execs.
//
// # Installing
//
// [SetNoNewPrivs] and then [Install] put a filter on the calling thread, or
// with [FlagTSync] on every thread of the process. A filter can never be
// removed, so call Install only in a process that is about to exec its
// target (see package sandbox), never in a long-lived Go program.
//
// # Notifications
//
// A filter installed with [FlagNewListener] returns a listener fd. A syscall
// the filter answers with SECCOMP_RET_USER_NOTIF waits until the listener's
// holder receives it with [NotifRecv] and answers with [NotifSend] (or
// [NotifAddFD] with [AddFDFlagSend]). [NotifIDValid] tells whether the
// waiting syscall is still there: check it after reading the target's memory
// and before trusting what was read (seccomp_unotify(2), "Caveats").
//
// # Errors
//
// Errors name the operation and wrap the errno, so errors.Is works with
// golang.org/x/sys/unix errnos. Callers branch on [ErrNotSupported] (the
// kernel lacks a flag or an ioctl) and [ErrNotifGone] (the notification's
// syscall no longer waits: the target died or the call was interrupted).
package seccomp
