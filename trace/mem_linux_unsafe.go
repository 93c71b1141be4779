package trace

import (
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// procMem reads tracee memory with process_vm_readv(2), one syscall per
// read and no allocation, and fd paths from /proc/PID/fd.
type procMem struct {
	local  [1]unix.Iovec
	remote [1]unix.RemoteIovec
	path   []byte
}

func (m *procMem) ReadMemory(pid int, addr uint64, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	m.local[0].Base = (*byte)(unsafe.Pointer(&p[0]))
	m.local[0].SetLen(len(p))
	m.remote[0] = unix.RemoteIovec{Base: uintptr(addr), Len: len(p)}
	n, err := unix.ProcessVMReadv(pid, m.local[:], m.remote[:], 0)
	m.local[0].Base = nil
	if n <= 0 {
		if err == nil {
			err = unix.EFAULT
		}
		return 0, err
	}
	return n, nil
}

func (m *procMem) FDPath(pid, fd int) string {
	m.path = append(m.path[:0], "/proc/"...)
	m.path = strconv.AppendInt(m.path, int64(pid), 10)
	m.path = append(m.path, "/fd/"...)
	m.path = strconv.AppendInt(m.path, int64(fd), 10)
	s, err := os.Readlink(string(m.path))
	if err != nil {
		return ""
	}
	return s
}
