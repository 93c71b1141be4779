package policy

import "golang.org/x/sys/unix"

// kernelRelease is the running kernel's release (uname -r), which moby
// compares with a profile's minKernel.
func kernelRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}
