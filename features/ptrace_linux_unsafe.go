//go:build linux

package features

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// probePtraceGetSyscallInfo starts /proc/self/exe with PTRACE_TRACEME, so
// the child stops with SIGTRAP right after its execve and never runs, asks
// PTRACE_GET_SYSCALL_INFO there (EIO from ptrace_request when the request is
// unknown), and kills it.
func probePtraceGetSyscallInfo() (err error) {
	// The tracer is the thread that forked (kernel/ptrace.c, ptrace_traceme
	// links to real_parent), so every ptrace call must come from it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	pid, err := syscall.ForkExec("/proc/self/exe", []string{"sysgate-ptrace-probe"}, &syscall.ProcAttr{
		Env: []string{},
		Sys: &syscall.SysProcAttr{Ptrace: true},
	})
	if err != nil {
		return fmt.Errorf("start traced child: %w", err)
	}
	defer func() {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		for {
			_, werr := unix.Wait4(pid, &ws, unix.WALL, nil)
			if werr != unix.EINTR {
				break
			}
		}
	}()

	var ws unix.WaitStatus
	for {
		_, err = unix.Wait4(pid, &ws, unix.WALL, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("wait for traced child: %w", err)
	}
	if !ws.Stopped() {
		return fmt.Errorf("traced child did not stop at exec (wait status %#x)", uint32(ws))
	}

	// struct ptrace_syscall_info is 88 bytes on 6.x; the kernel writes at
	// most the size given and returns the full size.
	var info [128]byte
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(pid),
		uintptr(len(info)), uintptr(unsafe.Pointer(&info[0])), 0, 0)
	return errnoResult(errno, unix.EIO)
}
