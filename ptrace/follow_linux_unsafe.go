package ptrace

import (
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// getSiginfo is PTRACE_GETSIGINFO; it fails with EINVAL in a group stop
// (kernel/ptrace.c, ptrace_getsiginfo has no last_siginfo there).
func getSiginfo(tid int) (unix.Siginfo, error) {
	var si unix.Siginfo
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(tid), 0, uintptr(unsafe.Pointer(&si)), 0, 0)
	if errno != 0 {
		return si, errno
	}
	return si, nil
}

// isGroupStop tells a group stop from a signal-delivery stop.
func isGroupStop(tid int) bool {
	_, err := getSiginfo(tid)
	return err == unix.EINVAL
}

// TgidOf returns the thread group (process) of thread tid, from
// /proc/TID/status; tid itself when that cannot be read.
func TgidOf(tid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return tid
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return tid
}
