package features

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/seccomp"
)

// actions are the seccomp filter return actions and their first kernels
// (include/uapi/linux/seccomp.h, seccomp(2)).
var actions = []struct {
	ret       uint32
	name      string
	minKernel string
}{
	{unix.SECCOMP_RET_KILL_PROCESS, "kill_process", "4.14"},
	{unix.SECCOMP_RET_KILL_THREAD, "kill_thread", "3.5"},
	{unix.SECCOMP_RET_TRAP, "trap", "3.5"},
	{unix.SECCOMP_RET_ERRNO, "errno", "3.5"},
	{unix.SECCOMP_RET_USER_NOTIF, "user_notif", "5.0"},
	{unix.SECCOMP_RET_TRACE, "trace", "3.5"},
	{unix.SECCOMP_RET_LOG, "log", "4.14"},
	{unix.SECCOMP_RET_ALLOW, "allow", "3.5"},
}

// flags are the filter flags in the order Report lists them.
var flags = []seccomp.Flag{
	seccomp.FlagTSync, seccomp.FlagLog, seccomp.FlagSpecAllow,
	seccomp.FlagNewListener, seccomp.FlagTSyncESRCH, seccomp.FlagWaitKillableRecv,
}

// The probes made so far, by action and by flag. The maps are made on
// first use, not by package init, which runs at every start of sysgate.
var (
	probesMu     sync.Mutex
	actionProbes map[uint32]*probe
	flagProbes   map[seccomp.Flag]*probe
)

func actionProbe(action uint32) *probe {
	probesMu.Lock()
	defer probesMu.Unlock()
	if p := actionProbes[action]; p != nil {
		return p
	}
	name, minKernel := "", ""
	for _, a := range actions {
		if a.ret == action {
			name, minKernel = a.name, a.minKernel
		}
	}
	if name == "" {
		name = fmt.Sprintf("%#x", action)
	}
	p := &probe{
		name:      "seccomp action " + name,
		minKernel: minKernel,
		fn:        func() error { return seccomp.ActionAvailable(action) },
	}
	if actionProbes == nil {
		actionProbes = map[uint32]*probe{}
	}
	actionProbes[action] = p
	return p
}

func flagProbe(f seccomp.Flag) *probe {
	probesMu.Lock()
	defer probesMu.Unlock()
	if p := flagProbes[f]; p != nil {
		return p
	}
	p := &probe{
		name:      "seccomp filter flag " + f.String(),
		minKernel: f.MinKernel(),
		fn:        func() error { return seccomp.CheckFlags(f) },
	}
	if flagProbes == nil {
		flagProbes = map[seccomp.Flag]*probe{}
	}
	flagProbes[f] = p
	return p
}

// HaveAction reports whether the kernel knows the action of the filter
// return value ret (its SECCOMP_RET_ACTION_FULL bits; the data bits are
// ignored), asked with SECCOMP_GET_ACTION_AVAIL (Linux 4.14). KILL_PROCESS
// and LOG need 4.14, USER_NOTIF 5.0, the others 3.5.
func HaveAction(ret uint32) error {
	return actionProbe(ret & unix.SECCOMP_RET_ACTION_FULL).result()
}

// HaveFilterFlag reports whether the kernel knows every flag of f (see the
// seccomp.Flag constants for their kernels). It asks seccomp(2) with a NULL
// program, which fails with EFAULT for a known flag and EINVAL for an
// unknown one (seccomp.CheckFlags), one flag at a time.
func HaveFilterFlag(f seccomp.Flag) error {
	if f == 0 {
		return nil
	}
	for bit := seccomp.Flag(1); bit != 0 && bit <= f; bit <<= 1 {
		if f&bit == 0 {
			continue
		}
		if err := flagProbe(bit).result(); err != nil {
			return err
		}
	}
	return nil
}

var userNotifProbe = &probe{
	name:      "seccomp user notification",
	minKernel: "5.0",
	fn: func() error {
		if err := HaveAction(unix.SECCOMP_RET_USER_NOTIF); err != nil {
			return err
		}
		if err := HaveFilterFlag(seccomp.FlagNewListener); err != nil {
			return err
		}
		_, _, _, err := seccomp.NotifSizes()
		return err
	},
}

// HaveUserNotif reports whether the kernel has seccomp user notification
// (Linux 5.0): the USER_NOTIF action, the NEW_LISTENER flag and
// SECCOMP_GET_NOTIF_SIZES.
func HaveUserNotif() error { return userNotifProbe.result() }

// HaveWaitKillableRecv reports whether the kernel has
// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19), which a listener for
// a Go target wants: without it the runtime's preemption signals interrupt
// notified syscalls.
func HaveWaitKillableRecv() error { return HaveFilterFlag(seccomp.FlagWaitKillableRecv) }

// errNeedsListener is the inconclusive answer of the listener probes before
// ProbeListener has been given a listener.
var errNeedsListener = errors.New("not probed yet: needs a seccomp listener fd (features.ProbeListener, sandbox.ProbeFeatures)")

var (
	syncWakeUpProbe = &probe{name: "seccomp listener flag SYNC_WAKE_UP", minKernel: "6.6", fn: needsListener}
	addFDProbe      = &probe{name: "seccomp notification ADDFD", minKernel: "5.9", fn: needsListener}
	addFDSendProbe  = &probe{name: "seccomp notification ADDFD_FLAG_SEND", minKernel: "5.14", fn: needsListener}
)

func needsListener() error { return errNeedsListener }

// HaveNotifSyncWakeUp reports whether listeners accept
// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP through SECCOMP_IOCTL_NOTIF_SET_FLAGS
// (Linux 6.6). Known only once [ProbeListener] has seen a listener.
func HaveNotifSyncWakeUp() error { return syncWakeUpProbe.result() }

// HaveNotifAddFD reports whether listeners have SECCOMP_IOCTL_NOTIF_ADDFD
// (Linux 5.9). Known only once [ProbeListener] has seen a listener.
func HaveNotifAddFD() error { return addFDProbe.result() }

// HaveNotifAddFDSend reports whether SECCOMP_IOCTL_NOTIF_ADDFD takes
// SECCOMP_ADDFD_FLAG_SEND (Linux 5.14). Known only once [ProbeListener] has
// seen a listener.
func HaveNotifAddFDSend() error { return addFDSendProbe.result() }

// ProbeListener asks the kernel, through the listener fd of any filter,
// which listener ioctls it has, and records the answers for
// [HaveNotifSyncWakeUp], [HaveNotifAddFD] and [HaveNotifAddFDSend]. The
// probes change nothing: SET_FLAGS with 0 sets the default, and ADDFD with
// source fd -1 fails with EBADF once the kernel knows the request (EINVAL
// before). The fd stays open.
func ProbeListener(fd int) error {
	err := seccomp.NotifSetFlags(fd, 0)
	switch {
	case err == nil:
		syncWakeUpProbe.record(true)
	case errors.Is(err, unix.ENOTTY):
		return fmt.Errorf("probe listener: fd %d is not a seccomp listener", fd)
	case errors.Is(err, ErrNotSupported):
		syncWakeUpProbe.record(false)
	default:
		return fmt.Errorf("probe listener: %w", err)
	}
	for _, c := range []struct {
		p     *probe
		flags uint32
	}{{addFDProbe, 0}, {addFDSendProbe, seccomp.AddFDFlagSend}} {
		_, err := seccomp.NotifAddFD(fd, &seccomp.AddFD{Flags: c.flags, SrcFD: ^uint32(0)})
		switch {
		case errors.Is(err, unix.EBADF):
			c.p.record(true)
		case errors.Is(err, ErrNotSupported):
			c.p.record(false)
		case err == nil:
			return fmt.Errorf("probe listener: ADDFD accepted fd -1")
		default:
			return fmt.Errorf("probe listener: %w", err)
		}
	}
	return nil
}
