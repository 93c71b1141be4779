//go:build linux

package inspect

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
)

// The test binary re-executed with victimEnv set becomes a victim: it
// puts itself under what the test asks for, prints "ready ..." on stdout,
// and waits for SIGUSR1, after which it prints "bye" and exits 0. It never
// returns into the tests, so no filter is ever installed in the test
// process itself.
const victimEnv = "SYSGATE_INSPECT_VICTIM"

func init() {
	if os.Getenv(victimEnv) != "" {
		// Keep main on the main thread (tid == pid), whose state
		// Inspect reads: Syscall User Dispatch is per thread.
		runtime.LockOSThread()
	}
}

// selector is the Syscall User Dispatch selector byte of the "sud" victim;
// 0 is SYSCALL_DISPATCH_FILTER_ALLOW, so the Go runtime's syscalls pass.
var selector byte

func victimMain(mode string) {
	extra, err := victimSetup(mode)
	if err != nil {
		fmt.Printf("%v\n", err)
		os.Exit(3)
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, unix.SIGUSR1)
	fmt.Printf("ready%s\n", extra)
	<-usr1
	fmt.Printf("bye\n")
	os.Exit(0)
}

func victimSetup(mode string) (string, error) {
	switch mode {
	case "one-filter":
		return "", installFilters(programA)
	case "two-filters":
		return "", installFilters(programA, programB)
	case "main-thread-only":
		// Without TSYNC the filter holds for the calling thread, the
		// main one, and not for the runtime's other threads.
		tsync = 0
		return "", installFilters(programB)
	case "mseal":
		b, err := unix.Mmap(-1, 0, 2*os.Getpagesize(), unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return "", fmt.Errorf("error mmap: %v", err)
		}
		// Seal only the first page, so the mapping splits and the
		// unsealed half must not be reported.
		if err := unix.Mseal(b[:os.Getpagesize()], 0); err != nil {
			return "", fmt.Errorf("unsupported mseal %v", err)
		}
		return fmt.Sprintf(" %#x", uintptr(unsafe.Pointer(&b[0]))), nil
	case "sud":
		_, _, e := unix.Syscall6(unix.SYS_PRCTL, unix.PR_SET_SYSCALL_USER_DISPATCH, unix.PR_SYS_DISPATCH_ON,
			sudExemptOff, sudExemptLen, uintptr(unsafe.Pointer(&selector)), 0)
		if e != 0 {
			return "", fmt.Errorf("unsupported syscall-user-dispatch %v", e)
		}
		return fmt.Sprintf(" %#x", uintptr(unsafe.Pointer(&selector))), nil
	case "idle":
		return "", nil
	}
	return "", fmt.Errorf("error unknown victim mode %q", mode)
}

// tsync is the flag installFilters passes: SECCOMP_FILTER_FLAG_TSYNC
// unless a victim mode clears it.
var tsync uintptr = unix.SECCOMP_FILTER_FLAG_TSYNC

// installFilters installs the programs in order (the last becomes the
// newest, the kernel's last index) on every thread, and checks that mount is refused.
func installFilters(progs ...[]bpf.Instruction) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("error no_new_privs: %v", err)
	}
	for _, prog := range progs {
		raw := make([]unix.SockFilter, len(prog))
		for i, ins := range prog {
			raw[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
		}
		fprog := unix.SockFprog{Len: uint16(len(raw)), Filter: &raw[0]}
		r, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, tsync,
			uintptr(unsafe.Pointer(&fprog)))
		if e != 0 || r != 0 {
			return fmt.Errorf("error seccomp: %v (thread %d)", e, r)
		}
	}
	if _, _, e := unix.Syscall(unix.SYS_CHROOT, 0, 0, 0); len(progs) > 1 && e != unix.EACCES {
		return fmt.Errorf("error chroot under the filters gave %v, want EACCES", e)
	}
	if _, _, e := unix.Syscall6(unix.SYS_MOUNT, 0, 0, 0, 0, 0, 0); slices.Equal(progs[0], programA) && e != unix.EPERM {
		return fmt.Errorf("error mount under the filter gave %v, want EPERM", e)
	}
	return nil
}
