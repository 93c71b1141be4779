//go:build linux

package inspect

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Every ptrace(2) call below converts its pointer inside the Syscall6 call
// expression, the only place where Go keeps the object alive and unmoved
// for the call (unsafe.Pointer rule 4). All must come from the tracer thread.

func errnoErr(e unix.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

// seccompFilterLen returns the length in instructions of filter index
// (0 = oldest) of a ptrace-stopped tracee: PTRACE_SECCOMP_GET_FILTER with
// a NULL buffer (kernel/seccomp.c: seccomp_get_filter). ENOENT past the
// newest filter, EINVAL when the tracee is not in filter mode, EACCES
// without CAP_SYS_ADMIN or when the tracer is itself under seccomp.
func seccompFilterLen(pid, index int) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), uintptr(index), 0, 0, 0)
	return int(n), errnoErr(e)
}

// seccompFilter copies filter index into buf, which must hold the length
// seccompFilterLen returned times 8 bytes: the kernel copies the whole
// program without looking at the buffer's size.
func seccompFilter(pid, index int, buf []byte) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), uintptr(index), uintptr(unsafe.Pointer(&buf[0])), 0, 0)
	return int(n), errnoErr(e)
}

// seccompMetadata is struct seccomp_metadata (include/uapi/linux/ptrace.h).
type seccompMetadata struct {
	FilterOff uint64 // in: filter index
	Flags     uint64 // out: SECCOMP_FILTER_FLAG_LOG is the only one kept
}

// seccompFilterFlags returns the flags filter index was installed with
// (PTRACE_SECCOMP_GET_METADATA, Linux 4.16).
func seccompFilterFlags(pid, index int) (uint64, error) {
	md := seccompMetadata{FilterOff: uint64(index)}
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_METADATA, uintptr(pid), unsafe.Sizeof(md), uintptr(unsafe.Pointer(&md)), 0, 0)
	return md.Flags, errnoErr(e)
}

// sudConfig is struct ptrace_sud_config (include/uapi/linux/ptrace.h).
type sudConfig struct {
	Mode     uint64 // PR_SYS_DISPATCH_*
	Selector uint64 // address of the selector byte
	Offset   uint64 // start of the exempt (or, inclusive mode, dispatched) range
	Len      uint64
}

// syscallUserDispatch reads the tracee's Syscall User Dispatch settings
// (PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG, Linux 6.4; older kernels say EIO).
func syscallUserDispatch(pid int) (sudConfig, error) {
	var cfg sudConfig
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG, uintptr(pid), unsafe.Sizeof(cfg), uintptr(unsafe.Pointer(&cfg)), 0, 0)
	return cfg, errnoErr(e)
}

// detach ends tracing and resumes the tracee with sig (0 for none), the
// signal it was stopped for, so that no signal is swallowed.
func detach(pid int, sig unix.Signal) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, uintptr(sig), 0, 0)
	return errnoErr(e)
}
