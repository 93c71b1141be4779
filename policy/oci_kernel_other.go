//go:build !linux

package policy

import "errors"

// kernelRelease has no running Linux kernel to ask on this OS.
func kernelRelease() (string, error) {
	return "", errors.New("not running on Linux: set Options.Kernel")
}
