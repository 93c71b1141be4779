package victim

import "syscall"

// haveInt80 says whether this architecture has int $0x80 at all.
const haveInt80 = true

// int80raw issues a syscall through int 0x80, the i386 ABI, from a 64-bit
// process: the kernel sees AUDIT_ARCH_I386 and i386 numbers.
func int80raw(nr, a1, a2, a3 uintptr) uintptr

func int80(nr, a1, a2, a3 uintptr) (uintptr, syscall.Errno) {
	r := int80raw(nr, a1, a2, a3)
	if int32(r) < 0 && int32(r) > -4096 {
		return ^uintptr(0), syscall.Errno(-int32(r))
	}
	return uintptr(uint32(r)), 0
}
