package seccomp

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
)

// Notif is struct seccomp_notif (include/uapi/linux/seccomp.h), one
// syscall waiting for the supervisor, 80 bytes.
type Notif struct {
	ID    uint64          // cookie for NotifSend, NotifIDValid, NotifAddFD
	Pid   uint32          // thread id of the caller in the listener's pid namespace, 0 if not visible there
	Flags uint32          // none defined yet
	Data  bpf.SeccompData // what the filter saw
}

// NotifResp is struct seccomp_notif_resp, the answer to a [Notif], 24 bytes.
// Error is a negated errno (-EPERM) or 0; with Error 0 the syscall returns
// Val without running, unless Flags has [NotifFlagContinue].
type NotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// AddFD is struct seccomp_notif_addfd, the argument of [NotifAddFD], which
// copies a supervisor fd into the target (Linux 5.9), 24 bytes.
type AddFD struct {
	ID         uint64 // the notification
	Flags      uint32 // AddFDFlagSetFD, AddFDFlagSend
	SrcFD      uint32 // the supervisor's fd
	NewFD      uint32 // the number in the target, with AddFDFlagSetFD; else 0
	NewFDFlags uint32 // O_CLOEXEC or 0
}

const (
	// NotifFlagContinue lets the syscall run as if it had been allowed
	// (Linux 5.5); Val and Error must be 0. The kernel re-reads the
	// arguments, so a decision made on target memory is only advice.
	NotifFlagContinue = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE

	// AddFDFlagSetFD puts the fd at NewFD, replacing what is there (dup2).
	AddFDFlagSetFD = unix.SECCOMP_ADDFD_FLAG_SETFD
	// AddFDFlagSend also answers the notification with the new fd number
	// as the syscall's result, atomically (Linux 5.14).
	AddFDFlagSend = unix.SECCOMP_ADDFD_FLAG_SEND

	// NotifFDSyncWakeUp, for NotifSetFlags, wakes supervisor and target on
	// each other's CPU, which makes a round trip much cheaper (Linux 6.6).
	NotifFDSyncWakeUp = unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
)

// NotifRecv waits for the next notification on listener fd and stores it in
// n, which it zeroes first (the kernel rejects a dirty buffer with EINVAL).
// It retries EINTR. ENOENT, a notification withdrawn between its wake-up and
// the receive because its caller died, comes back as [ErrNotifGone]: call
// again. The ioctl blocks until a notification comes, and does not wake when
// the last target exits: poll the fd for POLLIN and POLLHUP first.
func NotifRecv(fd int, n *Notif) error {
	for {
		*n = Notif{}
		err := notifRecv(fd, n)
		if err == unix.EINTR {
			continue
		}
		return notifError("receive seccomp notification", err)
	}
}

// NotifSend answers a notification (SECCOMP_IOCTL_NOTIF_SEND). It returns
// [ErrNotifGone] when the syscall no longer waits (the target died or a
// signal interrupted the call), which is not a supervisor error.
func NotifSend(fd int, r *NotifResp) error {
	for {
		err := notifSend(fd, r)
		if err == unix.EINTR {
			continue
		}
		return notifError(fmt.Sprintf("answer seccomp notification %#x", r.ID), err)
	}
}

// NotifIDValid checks that notification id still waits
// (SECCOMP_IOCTL_NOTIF_ID_VALID): nil if so, [ErrNotifGone] if not. Check it
// after reading the target's memory: a recycled pid could otherwise make the
// supervisor read another process.
func NotifIDValid(fd int, id uint64) error {
	return notifError(fmt.Sprintf("check seccomp notification %#x", id), notifIDValid(fd, id))
}

// NotifAddFD copies a supervisor fd into the target of a notification
// (SECCOMP_IOCTL_NOTIF_ADDFD, Linux 5.9; AddFDFlagSend 5.14) and returns its
// number in the target. With [AddFDFlagSend] that number is also the
// syscall's result and the notification is answered. An old kernel gives an
// error wrapping [ErrNotSupported].
func NotifAddFD(fd int, a *AddFD) (int, error) {
	what := fmt.Sprintf("add fd %d to seccomp notification %#x", a.SrcFD, a.ID)
	for {
		n, err := notifAddFD(fd, a)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EINVAL && a.Flags&AddFDFlagSend != 0:
			return -1, fmt.Errorf("%s: %w (or bad flags; SEND needs Linux >= 5.14) (%w)", what, ErrNotSupported, err)
		case err == unix.EINVAL:
			return -1, fmt.Errorf("%s: %w (or bad flags; needs Linux >= 5.9) (%w)", what, ErrNotSupported, err)
		case err == unix.EINPROGRESS:
			return -1, fmt.Errorf("%s: notification not received yet: %w", what, err)
		case err != nil:
			return -1, notifError(what, err)
		}
		return n, nil
	}
}

// NotifSetFlags sets flags of the listener (SECCOMP_IOCTL_NOTIF_SET_FLAGS,
// Linux 6.6); the only flag is [NotifFDSyncWakeUp]. Flags 0 is a harmless
// probe. Kernels before 6.6 answer EINVAL, returned wrapping both
// [ErrNotSupported] and the errno.
func NotifSetFlags(fd int, flags uint64) error {
	err := ioctlValue(fd, unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS, uintptr(flags))
	if err == unix.EINVAL {
		return fmt.Errorf("set seccomp listener flags %#x: %w (needs Linux >= 6.6 and flags 0 or %#x) (%w)",
			flags, ErrNotSupported, NotifFDSyncWakeUp, err)
	}
	if err != nil {
		return fmt.Errorf("set seccomp listener flags %#x: %w", flags, err)
	}
	return nil
}

// NotifSizes returns the kernel's sizes of struct seccomp_notif,
// seccomp_notif_resp and seccomp_data (SECCOMP_GET_NOTIF_SIZES, Linux 5.0).
// A newer kernel may grow them; this package's structs are the 5.0 layout,
// which the kernel keeps accepting.
func NotifSizes() (notif, resp, data uint16, err error) {
	s, err := getNotifSizes()
	if err == unix.EINVAL {
		return 0, 0, 0, fmt.Errorf("get seccomp notification sizes: %w (needs Linux >= 5.0) (%w)", ErrNotSupported, err)
	}
	if err != nil {
		return 0, 0, 0, fmt.Errorf("get seccomp notification sizes: %w", err)
	}
	return s.Notif, s.Resp, s.Data, nil
}

// ActionAvailable asks the kernel whether it knows the action of a filter
// return value ret (its SECCOMP_RET_ACTION_FULL bits), with
// SECCOMP_GET_ACTION_AVAIL (Linux 4.14). It returns nil, or an error
// wrapping [ErrNotSupported]. Package features caches it.
func ActionAvailable(ret uint32) error {
	action := ret & unix.SECCOMP_RET_ACTION_FULL
	switch err := getActionAvail(action); err {
	case nil:
		return nil
	case unix.EOPNOTSUPP:
		return fmt.Errorf("seccomp action %#x: %w", action, ErrNotSupported)
	case unix.EINVAL:
		// The operation itself is unknown: a kernel before 4.14.
		return fmt.Errorf("seccomp action %#x: SECCOMP_GET_ACTION_AVAIL %w (needs Linux >= 4.14)", action, ErrNotSupported)
	default:
		return fmt.Errorf("seccomp action %#x: %w", action, err)
	}
}

// notifError wraps err with what, turning ENOENT into ErrNotifGone (keeping
// the errno in the chain).
func notifError(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%s: %w (%w)", what, ErrNotifGone, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
