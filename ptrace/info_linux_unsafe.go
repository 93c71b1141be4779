//go:build linux

package ptrace

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SyscallOp says what kind of stop a [SyscallInfo] describes
// (PTRACE_SYSCALL_INFO_*, include/uapi/linux/ptrace.h).
type SyscallOp uint8

const (
	OpNone    SyscallOp = unix.PTRACE_SYSCALL_INFO_NONE    // not a syscall stop
	OpEntry   SyscallOp = unix.PTRACE_SYSCALL_INFO_ENTRY   // syscall-entry stop
	OpExit    SyscallOp = unix.PTRACE_SYSCALL_INFO_EXIT    // syscall-exit stop
	OpSeccomp SyscallOp = unix.PTRACE_SYSCALL_INFO_SECCOMP // PTRACE_EVENT_SECCOMP stop
)

func (op SyscallOp) String() string {
	switch op {
	case OpNone:
		return "none"
	case OpEntry:
		return "entry"
	case OpExit:
		return "exit"
	case OpSeccomp:
		return "seccomp"
	}
	return fmt.Sprintf("op(%d)", uint8(op))
}

// SyscallInfo is struct ptrace_syscall_info. Arch, IP and SP are filled at
// every stop; Nr and Args at entry and seccomp stops; Rval and IsError at
// exit stops; RetData (the filter's SECCOMP_RET_DATA) at seccomp stops.
// Syscall stops are recognised only for tracees with PTRACE_O_TRACESYSGOOD:
// without it they read as OpNone.
type SyscallInfo struct {
	Op      SyscallOp
	Arch    uint32 // AUDIT_ARCH_*
	IP, SP  uint64 // IP is after the syscall instruction at syscall stops
	Nr      uint64
	Args    [6]uint64
	Rval    int64 // the return value, or -errno when IsError
	IsError bool
	RetData uint32
}

// sizeofSyscallInfo is sizeof(struct ptrace_syscall_info) with the seccomp
// member, the largest (Linux 5.3 on); the kernel copies at most this much.
const sizeofSyscallInfo = 88

// GetSyscallInfo returns PTRACE_GET_SYSCALL_INFO (Linux 5.3) for a stopped
// tracee.
func GetSyscallInfo(pid int) (*SyscallInfo, error) {
	var b [sizeofSyscallInfo]byte
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(pid),
		uintptr(len(b)), uintptr(unsafe.Pointer(&b[0])), 0, 0)
	if errno != 0 {
		return nil, fmt.Errorf("PTRACE_GET_SYSCALL_INFO of %d: %w", pid, errno)
	}
	return parseSyscallInfo(b[:]), nil
}

// parseSyscallInfo decodes the struct in native byte order: op (u8),
// reserved (u8), flags (u16), arch (u32), instruction_pointer,
// stack_pointer, then the union at offset 24.
func parseSyscallInfo(b []byte) *SyscallInfo {
	ne := binary.NativeEndian
	info := &SyscallInfo{
		Op:   SyscallOp(b[0]),
		Arch: ne.Uint32(b[4:]),
		IP:   ne.Uint64(b[8:]),
		SP:   ne.Uint64(b[16:]),
	}
	switch info.Op {
	case OpEntry, OpSeccomp:
		info.Nr = ne.Uint64(b[24:])
		for i := range info.Args {
			info.Args[i] = ne.Uint64(b[32+8*i:])
		}
		if info.Op == OpSeccomp {
			info.RetData = ne.Uint32(b[80:])
		}
	case OpExit:
		info.Rval = int64(ne.Uint64(b[24:]))
		info.IsError = b[32] != 0
	}
	return info
}
