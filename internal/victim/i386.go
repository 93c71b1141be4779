package victim

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
)

// ErrNoI386 reports that this process cannot make i386-ABI syscalls: the
// CPU or kernel refuses every way into the compat syscall path.
var ErrNoI386 = errors.New("i386 syscall ABI unavailable (needs x86_64 with CONFIG_IA32_EMULATION and ia32_emulation on; PVM guests turn it off)")

// I386Syscall makes syscall nr with up to three arguments through the i386
// ABI, so seccomp sees AUDIT_ARCH_I386 and i386 numbers (getpid is 20). It
// uses int $0x80 from 64-bit mode. When the machine has no i386 path (see
// [HaveI386]) it returns ENOSYS without entering the kernel.
//
// Why not a far return to the 32-bit code segment (0x23), then SYSCALL or
// SYSENTER? Since Linux 6.7 the int $0x80 gate (arch/x86/kernel/idt.c) and
// compat SYSCALL (syscall_init in arch/x86/kernel/cpu/common.c, which points
// MSR_CSTAR at entry_SYSCALL32_ignore) both depend on ia32_enabled(), so
// compat mode reaches the kernel only where int $0x80 does too. It would also
// run with a 32-bit stack, where the Go runtime cannot handle a signal.
func I386Syscall(nr, a1, a2, a3 uintptr) (uintptr, syscall.Errno) {
	r, e, err := i386(nr, a1, a2, a3)
	if err != nil {
		return ^uintptr(0), syscall.ENOSYS
	}
	return r, e
}

// HaveI386 reports whether int $0x80 reaches the kernel: nil, or an error
// wrapping [ErrNoI386] that says how the CPU refused. It probes with i386
// getpid, so call it in a process whose seccomp filter allows that.
func HaveI386() error {
	i386Once.Do(func() { _, _, i386Err = i386(20, 0, 0, 0) })
	return i386Err
}

var (
	i386Once sync.Once
	i386Err  error
)

// i386 issues int $0x80 and turns the fault a kernel without IA-32
// emulation raises (SIGSEGV, si_code SI_KERNEL: #GP on the IDT gate, error
// code 0x402) into ErrNoI386. The fault comes before the kernel is entered,
// so no syscall happened. SetPanicOnFault makes the runtime panic instead
// of crashing, because the faulting PC is in this package's assembly.
func i386(nr, a1, a2, a3 uintptr) (r uintptr, e syscall.Errno, err error) {
	if !haveInt80 {
		return 0, 0, fmt.Errorf("%w: not an x86_64 process", ErrNoI386)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(runtime.Error); !ok {
				panic(p)
			}
			err = fmt.Errorf("%w: int $0x80 raised SIGSEGV before entering the kernel", ErrNoI386)
		}
	}()
	r, e = int80(nr, a1, a2, a3)
	return r, e, nil
}
