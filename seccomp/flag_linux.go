package seccomp

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Flag is a set of SECCOMP_FILTER_FLAG_* bits for [Install]
// (include/uapi/linux/seccomp.h). Each constant names the first kernel that
// accepts it; older kernels fail with EINVAL, which Install reports as
// [ErrNotSupported].
type Flag uint

const (
	// FlagTSync installs the filter on every thread of the process, not
	// only the caller (Linux 3.17). Without FlagTSyncESRCH a thread that
	// cannot be synchronised makes Install fail naming its thread id.
	FlagTSync Flag = unix.SECCOMP_FILTER_FLAG_TSYNC
	// FlagLog logs every action but ALLOW to the audit log (Linux 4.14).
	FlagLog Flag = unix.SECCOMP_FILTER_FLAG_LOG
	// FlagSpecAllow keeps Speculative Store Bypass mitigation off, which
	// the kernel otherwise turns on with a filter (Linux 4.17).
	FlagSpecAllow Flag = unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
	// FlagNewListener makes Install return a user-notification listener fd
	// for this filter (Linux 5.0). Only one filter of a process's stack may
	// have a listener.
	FlagNewListener Flag = unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	// FlagTSyncESRCH makes a failed FlagTSync return ESRCH instead of a
	// thread id (Linux 5.7); the kernel requires it to combine FlagTSync
	// with FlagNewListener, whose success value is the fd.
	FlagTSyncESRCH Flag = unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	// FlagWaitKillableRecv makes a notified syscall ignore non-fatal
	// signals once the supervisor has received it (Linux 5.19); needs
	// FlagNewListener. Go targets want it: the runtime's preemption
	// signals would otherwise interrupt every notification.
	FlagWaitKillableRecv Flag = unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
)

// flagInfo is the name and first kernel of each flag, in bit order.
var flagInfo = []struct {
	flag      Flag
	name      string
	minKernel string
}{
	{FlagTSync, "TSYNC", "3.17"},
	{FlagLog, "LOG", "4.14"},
	{FlagSpecAllow, "SPEC_ALLOW", "4.17"},
	{FlagNewListener, "NEW_LISTENER", "5.0"},
	{FlagTSyncESRCH, "TSYNC_ESRCH", "5.7"},
	{FlagWaitKillableRecv, "WAIT_KILLABLE_RECV", "5.19"},
}

// knownFlags is every flag this package knows.
const knownFlags = FlagTSync | FlagLog | FlagSpecAllow | FlagNewListener | FlagTSyncESRCH | FlagWaitKillableRecv

// String returns the flags in the kernel's spelling without prefix, joined
// with "|" ("TSYNC|NEW_LISTENER"); unknown bits are printed in hex.
func (f Flag) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, fi := range flagInfo {
		if f&fi.flag != 0 {
			parts = append(parts, fi.name)
		}
	}
	if rest := f &^ knownFlags; rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint(rest)))
	}
	return strings.Join(parts, "|")
}

// MinKernel returns the first Linux version that accepts every flag of f,
// such as "5.19", or "" if f holds a bit this package does not know.
func (f Flag) MinKernel() string {
	if f&^knownFlags != 0 {
		return ""
	}
	best := "3.5" // seccomp filters themselves
	for _, fi := range flagInfo {
		if f&fi.flag != 0 && versionLess(best, fi.minKernel) {
			best = fi.minKernel
		}
	}
	return best
}

// versionLess compares "major.minor" strings. (Not fmt.Sscanf: its
// scanner is a cold path that every start of sysgate would fault in.)
func versionLess(a, b string) bool {
	am, an := version(a)
	bm, bn := version(b)
	return am < bm || am == bm && an < bn
}

// version splits "major.minor" into numbers; a part that is not a number
// reads as 0.
func version(v string) (major, minor int) {
	maj, min, _ := strings.Cut(v, ".")
	major, _ = strconv.Atoi(maj)
	minor, _ = strconv.Atoi(min)
	return major, minor
}

// CheckFlags asks the kernel whether it knows every flag of f, without
// installing anything: seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL) fails
// with EFAULT when the kernel knows the flag (it validates flags before it
// reads the program) and EINVAL when it does not; the same probe as
// libseccomp's and runc's. It returns nil, an error wrapping
// [ErrNotSupported] that names the first unknown flag, or another error
// when the answer is unclear (a seccomp(2) itself blocked by a filter). It
// does not cache; package features does.
func CheckFlags(f Flag) error {
	if rest := f &^ knownFlags; rest != 0 {
		return fmt.Errorf("seccomp filter flag %#x: unknown to this package: %w", uint(rest), ErrNotSupported)
	}
	for _, fi := range flagInfo {
		if f&fi.flag == 0 {
			continue
		}
		probe := fi.flag
		if probe == FlagWaitKillableRecv {
			// The kernel rejects WAIT_KILLABLE_RECV without NEW_LISTENER
			// before it looks at the program (kernel/seccomp.c,
			// seccomp_set_mode_filter).
			probe |= FlagNewListener
		}
		switch err := probeFilterFlags(probe); err {
		case unix.EFAULT:
		case unix.EINVAL:
			return fmt.Errorf("seccomp filter flag %s: %w (needs Linux >= %s)", fi.name, ErrNotSupported, fi.minKernel)
		case nil:
			// Impossible with a NULL program; never report a guess.
			return fmt.Errorf("probe seccomp filter flag %s: kernel accepted a NULL program", fi.name)
		default:
			return fmt.Errorf("probe seccomp filter flag %s: %w", fi.name, err)
		}
	}
	return nil
}
