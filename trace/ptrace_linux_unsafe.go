package trace

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptraceReq issues a ptrace request x/sys/unix has no wrapper for
// (PTRACE_INTERRUPT, PTRACE_LISTEN) or one with a plain data word.
func ptraceReq(req, pid int, data uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), 0, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// seize attaches to pid with PTRACE_SEIZE and options.
func seize(pid, options int) error {
	return ptraceReq(unix.PTRACE_SEIZE, pid, uintptr(options))
}

// getSiginfo is PTRACE_GETSIGINFO; EINVAL means a group stop.
func getSiginfo(pid int, si *unix.Siginfo) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(pid), 0, uintptr(unsafe.Pointer(si)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// writeMemory writes p at addr of pid (process_vm_writev).
func writeMemory(pid int, addr uint64, p []byte) error {
	local := []unix.Iovec{{Base: &p[0]}}
	local[0].SetLen(len(p))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(p)}}
	n, err := unix.ProcessVMWritev(pid, local, remote, 0)
	if err != nil {
		return err
	}
	if n != len(p) {
		return unix.EFAULT
	}
	return nil
}

type siFieldsT struct{ pid, uid, status int32 }

// siFields reads the _sigchld/_kill members of siginfo (offsets 16, 20, 24
// on 64-bit: after signo, errno, code and padding).
func siFields(si *unix.Siginfo) siFieldsT {
	b := (*[128]byte)(unsafe.Pointer(si))
	return siFieldsT{
		pid:    *(*int32)(unsafe.Pointer(&b[16])),
		uid:    *(*int32)(unsafe.Pointer(&b[20])),
		status: *(*int32)(unsafe.Pointer(&b[24])),
	}
}

// wait4Raw is wait4(-1, ws, __WALL) without telling the Go scheduler: the
// tracer's locked thread blocks here between nearly every two stops, and
// the scheduler's hand-off of its P to another thread (and back) would cost
// more than the stop itself. Nothing else runs on this thread anyway.
func wait4Raw(ws *unix.WaitStatus) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(ws)), unix.WALL, 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func unsafePointer(p *uint32) unsafe.Pointer { return unsafe.Pointer(p) }
