package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
)

// SetNoNewPrivs sets the calling thread's no_new_privs bit, which execve
// then keeps: the program can gain no privilege by set-user-ID bits or file
// capabilities. Without it, only a CAP_SYS_ADMIN caller may install a
// filter (Documentation/userspace-api/no_new_privs.rst). The bit is
// per-thread; [FlagTSync] copies it to the other threads.
func SetNoNewPrivs() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return nil
}

// maxInstructionsPerPath is the kernel's limit on the stacked filters of a
// thread: 256 KiB of struct sock_filter, each filter counting 4 more
// instructions (kernel/seccomp.c, MAX_INSNS_PER_PATH).
const maxInstructionsPerPath = (1 << 18) / 8

// Install attaches prog to the calling thread with seccomp(2)
// SECCOMP_SET_MODE_FILTER and the given flags. With [FlagNewListener] it
// returns the listener fd (close-on-exec, as the kernel creates it),
// otherwise -1.
//
// The filter applies to the calling OS thread only unless flags has
// [FlagTSync], so call runtime.LockOSThread first and exec from the same
// thread. The thread needs no_new_privs ([SetNoNewPrivs]) or CAP_SYS_ADMIN.
// A filter cannot be removed: never call Install in a process that keeps
// running Go code of its own (see package sandbox).
//
// The kernel refuses [FlagTSync] with [FlagNewListener] unless
// [FlagTSyncESRCH] is also given, and [FlagWaitKillableRecv] without
// FlagNewListener; Install says so before asking.
func Install(prog []bpf.Instruction, flags Flag) (listener int, err error) {
	switch {
	case len(prog) == 0:
		return -1, fmt.Errorf("install seccomp filter: empty program")
	case len(prog) > bpf.MaxInstructions:
		return -1, fmt.Errorf("install seccomp filter: %d instructions, the kernel allows %d", len(prog), bpf.MaxInstructions)
	case flags&FlagTSync != 0 && flags&FlagNewListener != 0 && flags&FlagTSyncESRCH == 0:
		return -1, fmt.Errorf("install seccomp filter: flags %s: the kernel needs TSYNC_ESRCH to combine TSYNC with NEW_LISTENER", flags)
	case flags&FlagWaitKillableRecv != 0 && flags&FlagNewListener == 0:
		return -1, fmt.Errorf("install seccomp filter: flags %s: WAIT_KILLABLE_RECV needs NEW_LISTENER", flags)
	}
	r, errno := installFilter(prog, flags)
	if errno != 0 {
		return -1, fmt.Errorf("install seccomp filter: %w", explainInstall(errno, flags))
	}
	if flags&FlagNewListener != 0 {
		return int(r), nil
	}
	if flags&FlagTSync != 0 && r != 0 {
		// Without TSYNC_ESRCH a failed TSYNC returns the thread id of a
		// thread that has diverging seccomp state (seccomp(2), RETURN VALUE).
		return -1, fmt.Errorf("install seccomp filter: thread %d could not be synchronized (TSYNC): %w", r, unix.ESRCH)
	}
	return -1, nil
}

// explainInstall turns the errno of a failed SECCOMP_SET_MODE_FILTER into
// an error that says what to do (kernel/seccomp.c, seccomp_set_mode_filter
// and seccomp_prepare_filter).
func explainInstall(errno unix.Errno, flags Flag) error {
	switch errno {
	case unix.EINVAL:
		if err := CheckFlags(flags); err != nil {
			return err
		}
		return fmt.Errorf("the kernel rejected the program (bad opcode, jump target or load offset): %w", errno)
	case unix.EACCES:
		return fmt.Errorf("needs no_new_privs or CAP_SYS_ADMIN: %w", errno)
	case unix.ESRCH:
		return fmt.Errorf("another thread could not be synchronized (TSYNC): %w", errno)
	case unix.EBUSY:
		return fmt.Errorf("another filter of this thread already has a listener, the kernel allows one: %w", errno)
	case unix.ENOMEM:
		return fmt.Errorf("out of memory, or the thread's filters exceed %d instructions in all (each filter costs 4 more): %w", maxInstructionsPerPath, errno)
	case unix.ENOSYS:
		return fmt.Errorf("seccomp(2): %w (%w)", ErrNotSupported, errno)
	}
	return errno
}
