//go:build !amd64

package victim

import "syscall"

const haveInt80 = false

func int80(nr, a1, a2, a3 uintptr) (uintptr, syscall.Errno) { return 0, syscall.ENOSYS }
