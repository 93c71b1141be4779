//go:build linux

package seccomp

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
)

// The Instruction/sock_filter identity below is what lets installFilter pass
// prog to the kernel without copying.
var _ [unsafe.Sizeof(bpf.Instruction{}) - unsafe.Sizeof(unix.SockFilter{})]struct{}
var _ [unsafe.Sizeof(unix.SockFilter{}) - unsafe.Sizeof(bpf.Instruction{})]struct{}

// installFilter is seccomp(SECCOMP_SET_MODE_FILTER, flags, &sock_fprog).
// bpf.Instruction has the layout of struct sock_filter
// (include/uapi/linux/filter.h).
func installFilter(prog []bpf.Instruction, flags Flag) (uintptr, unix.Errno) {
	fprog := unix.SockFprog{
		Len:    uint16(len(prog)),
		Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0])),
	}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	return r, errno
}

// probeFilterFlags is seccomp(SECCOMP_SET_MODE_FILTER, flags, NULL): EFAULT
// when the kernel knows the flags, EINVAL when not. Nothing is installed.
func probeFilterFlags(flags Flag) error {
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// getActionAvail is seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action) (Linux
// 4.14): nil when the kernel knows the action, EOPNOTSUPP when it does not.
func getActionAvail(action uint32) error {
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&action)))
	if errno != 0 {
		return errno
	}
	return nil
}

// notifSizes is struct seccomp_notif_sizes (include/uapi/linux/seccomp.h).
type notifSizes struct {
	Notif, Resp, Data uint16
}

// getNotifSizes is seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes) (Linux 5.0).
func getNotifSizes() (notifSizes, error) {
	var s notifSizes
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_NOTIF_SIZES, 0, uintptr(unsafe.Pointer(&s)))
	if errno != 0 {
		return s, errno
	}
	return s, nil
}

// ioctlPtr is ioctl(fd, req, p) with p pointing at a kernel struct.
func ioctlPtr(fd int, req uint, p unsafe.Pointer) (uintptr, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(p))
	if errno != 0 {
		return r, errno
	}
	return r, nil
}

// ioctlValue is ioctl(fd, req, v) with the argument passed by value
// (SECCOMP_IOCTL_NOTIF_SET_FLAGS takes its flags so).
func ioctlValue(fd int, req uint, v uintptr) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), v)
	if errno != 0 {
		return errno
	}
	return nil
}

func notifRecv(fd int, n *Notif) error {
	_, err := ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(n))
	return err
}

func notifSend(fd int, r *NotifResp) error {
	_, err := ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(r))
	return err
}

func notifIDValid(fd int, id uint64) error {
	_, err := ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id))
	return err
}

func notifAddFD(fd int, a *AddFD) (int, error) {
	r, err := ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_ADDFD, unsafe.Pointer(a))
	return int(r), err
}

// Struct sizes, for the test against SECCOMP_GET_NOTIF_SIZES.
const (
	sizeofNotif      = unsafe.Sizeof(Notif{})
	sizeofNotifResp  = unsafe.Sizeof(NotifResp{})
	sizeofNotifAddFD = unsafe.Sizeof(AddFD{})
)
