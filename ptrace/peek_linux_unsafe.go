//go:build linux

package ptrace

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Peek waits for the next state change of any child or tracee of the
// process and returns its pid, and whether it is an exit, without taking it
// (waitid with WNOWAIT and __WALL): a loop can leave one pid's exit to
// whoever else waits for it (os.Process.Wait) and take the rest with Wait.
// It returns unix.ECHILD when there is nothing to wait for.
func Peek() (pid int, exited bool, err error) {
	var si unix.Siginfo
	for {
		err = unix.Waitid(unix.P_ALL, 0, &si, unix.WEXITED|unix.WSTOPPED|unix.WNOWAIT|unix.WALL, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return 0, false, fmt.Errorf("wait for any tracee: %w", err)
	}
	// si_pid opens the union after si_signo, si_errno and si_code, which
	// is aligned to 8 bytes on 64-bit (include/uapi/asm-generic/siginfo.h).
	off := 12
	if unsafe.Sizeof(uintptr(0)) == 8 {
		off = 16
	}
	b := (*[unsafe.Sizeof(si)]byte)(unsafe.Pointer(&si))
	pid = int(int32(binary.NativeEndian.Uint32(b[off:])))
	switch si.Code {
	case cldExited, cldKilled, cldDumped:
		exited = true
	}
	return pid, exited, nil
}

// si_code values of SIGCHLD (include/uapi/asm-generic/siginfo.h).
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)
