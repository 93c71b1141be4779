package features

import (
	"golang.org/x/sys/unix"
)

var msealProbe = &probe{
	name:      "mseal",
	minKernel: "6.10",
	// mseal(0, 0, 0) seals the empty range: 0 where the syscall exists
	// (mm/mseal.c returns early when end == start), ENOSYS before.
	// unix.Mseal cannot ask it: it passes a non-NULL, unaligned pointer
	// for an empty slice.
	fn: func() error {
		_, _, errno := unix.Syscall(unix.SYS_MSEAL, 0, 0, 0)
		return errnoResult(errno, unix.ENOSYS)
	},
}

// HaveMseal reports whether the kernel has mseal(2) (Linux 6.10, 64-bit
// only).
func HaveMseal() error { return msealProbe.result() }

var sudProbe = &probe{
	name:      "syscall user dispatch",
	minKernel: "5.11",
	// Switching it off for the calling thread is a no-op here (a Go
	// program never has it on) and EINVAL where the prctl is unknown.
	fn: func() error {
		_, _, errno := unix.Syscall6(unix.SYS_PRCTL, unix.PR_SET_SYSCALL_USER_DISPATCH, unix.PR_SYS_DISPATCH_OFF, 0, 0, 0, 0)
		return errnoResult(errno, unix.EINVAL)
	},
}

// HaveSyscallUserDispatch reports whether the kernel has Syscall User
// Dispatch, prctl(PR_SET_SYSCALL_USER_DISPATCH) (Linux 5.11).
func HaveSyscallUserDispatch() error { return sudProbe.result() }

var ptraceInfoProbe = &probe{
	name:      "ptrace PTRACE_GET_SYSCALL_INFO",
	minKernel: "5.3",
	fn:        probePtraceGetSyscallInfo,
}

// HavePtraceGetSyscallInfo reports whether the kernel has
// PTRACE_GET_SYSCALL_INFO (Linux 5.3). The probe starts a traced child of
// /proc/self/exe, asks at its exec stop, and kills it before it runs.
func HavePtraceGetSyscallInfo() error { return ptraceInfoProbe.result() }

// errnoResult maps errno to nil (0), ErrNotSupported (missing) or itself.
func errnoResult(errno, missing unix.Errno) error {
	switch errno {
	case 0:
		return nil
	case missing:
		return ErrNotSupported
	}
	return errno
}
