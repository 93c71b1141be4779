//go:build !linux

package inspect

import (
	"errors"
	"fmt"
)

// Inspect needs Linux's /proc and ptrace.
func Inspect(pid int, opts Options) (*Report, error) {
	return nil, fmt.Errorf("inspect pid %d: %w: needs Linux", pid, errors.ErrUnsupported)
}
