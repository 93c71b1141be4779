//go:build linux && !amd64

package ptrace

import (
	"errors"
	"fmt"
	"runtime"
)

// Inject runs a system call in a stopped tracee; it is implemented for
// x86_64 only so far (see the amd64 version for the contract).
func Inject(pid int, nr uint64, args ...uint64) (int64, error) {
	return 0, fmt.Errorf("inject syscall %d into %d: %w", nr, pid, errors.New("syscall injection is implemented for x86_64 only, this is "+runtime.GOARCH))
}

// InjectHere is Inject from the code at the tracee's RIP; x86_64 only so
// far.
func InjectHere(pid int, nr uint64, args ...uint64) (int64, error) {
	return Inject(pid, nr, args...)
}
