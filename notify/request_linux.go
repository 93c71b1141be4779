package notify

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/seccomp"
)

// Valid reports whether the call is still pending: nil, or [ErrGone]
// (SECCOMP_IOCTL_NOTIF_ID_VALID, Linux 5.0).
func (r *Request) Valid() error {
	err := seccomp.NotifIDValid(r.listener, r.ID)
	if err == nil {
		return nil
	}
	if isGone(err) {
		return ErrGone
	}
	return fmt.Errorf("check notification %d: %w", r.ID, err)
}

// Read fills buf from the target's memory at addr, then checks that the call
// is still pending, so that buf really is the caller's memory (see the
// package documentation on TOCTOU). A range the target has not mapped gives
// an error wrapping EFAULT; a call that is gone gives [ErrGone].
func (r *Request) Read(addr uint64, buf []byte) error {
	if err := r.readMem(addr, buf); err != nil {
		if vErr := r.Valid(); vErr != nil {
			return vErr
		}
		return err
	}
	return r.Valid()
}

// ReadString reads a NUL-terminated string of at most max bytes (not
// counting the NUL) from the target's memory at addr, then checks that the
// call is still pending. It reads page by page, so a string that ends just
// before an unmapped page is read correctly. Without a NUL within max+1
// bytes it fails with [ErrTooLong]; pass 4095 for a path (PATH_MAX less
// the NUL).
func (r *Request) ReadString(addr uint64, max int) (string, error) {
	if max < 0 {
		return "", fmt.Errorf("read string: negative limit %d", max)
	}
	s, err := r.readString(addr, max)
	if err != nil {
		if vErr := r.Valid(); vErr != nil {
			return "", vErr
		}
		return "", err
	}
	if err := r.Valid(); err != nil {
		return "", err
	}
	return s, nil
}

func (r *Request) readString(addr uint64, max int) (string, error) {
	page := uint64(os.Getpagesize())
	out := make([]byte, 0, min(max+1, 256))
	chunk := make([]byte, page)
	for len(out) <= max {
		n := page - addr%page // stay inside one page: all or nothing
		if left := uint64(max + 1 - len(out)); n > left {
			n = left
		}
		b := chunk[:n]
		if err := r.readMem(addr, b); err != nil {
			return "", err
		}
		for i, c := range b {
			if c == 0 {
				return string(append(out, b[:i]...)), nil
			}
		}
		out = append(out, b...)
		if addr+n < addr { // the string runs off the end of the address space
			return "", fmt.Errorf("read string of pid %d at %#x: %w", r.Pid, addr, unix.EFAULT)
		}
		addr += n
	}
	return "", fmt.Errorf("read string of pid %d: %w (%d bytes)", r.Pid, ErrTooLong, max)
}

// readMem copies target memory with process_vm_readv(2) (Linux 3.2), which
// needs ptrace-attach rights over the target (PTRACE_MODE_ATTACH_REALCREDS)
// and falls back to /proc/PID/mem where the kernel lacks
// CONFIG_CROSS_MEMORY_ATTACH. Either can return a short count at an
// unmapped page; that is reported as EFAULT.
func (r *Request) readMem(addr uint64, buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	if r.Pid <= 0 {
		return fmt.Errorf("read target memory: the caller is not visible in this pid namespace: %w", unix.ESRCH)
	}
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(len(buf))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(buf)}}
	n, err := unix.ProcessVMReadv(r.Pid, local, remote, 0)
	if errors.Is(err, unix.ENOSYS) {
		n, err = r.readProcMem(addr, buf)
	}
	if err != nil {
		return fmt.Errorf("read %d bytes at %#x of pid %d: %w", len(buf), addr, r.Pid, err)
	}
	if n != len(buf) {
		return fmt.Errorf("read %d bytes at %#x of pid %d: got %d: %w", len(buf), addr, r.Pid, n, unix.EFAULT)
	}
	return nil
}

func (r *Request) readProcMem(addr uint64, buf []byte) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mem", r.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := unix.Pread(int(f.Fd()), buf, int64(addr))
	if err == unix.EIO { // an unmapped page reads as EIO from /proc/PID/mem
		err = unix.EFAULT
	}
	return n, err
}

// isGone reports whether err is the kernel's ENOENT for a notification
// that no longer exists.
func isGone(err error) bool {
	return errors.Is(err, seccomp.ErrNotifGone) || errors.Is(err, unix.ENOENT)
}
