package seccomp

import "errors"

// ErrNotSupported is wrapped by errors that mean the running kernel lacks a
// feature (a filter flag, an ioctl). Package features re-exports it.
var ErrNotSupported = errors.New("not supported by this kernel")

// ErrNotifGone is wrapped by the Notif* functions when the kernel answers
// ENOENT: the notification's syscall no longer waits, because the target was
// killed or a signal interrupted the call. Drop the notification.
var ErrNotifGone = errors.New("notification no longer valid")
