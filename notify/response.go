package notify

import (
	"fmt"
	"os"
	"syscall"
)

// Response is a handler's answer to one notified system call. Build it with
// [Continue], [Errno], [Return] or [InjectFD]. The zero Response fails the
// call with EPERM, so a handler that forgets to answer closes the gate.
type Response struct {
	kind    respKind
	val     int64
	errno   syscall.Errno
	file    *os.File
	fdFlags int
}

type respKind uint8

const (
	respDeny     respKind = iota // zero value: EPERM
	respContinue                 // SECCOMP_USER_NOTIF_FLAG_CONTINUE
	respErrno
	respReturn
	respInjectFD
)

// maxErrno is the kernel's MAX_ERRNO (include/linux/err.h): return values
// in -4095..-1 are errors.
const maxErrno = 4095

// Continue lets the kernel run the call as the target made it (Linux 5.5).
// The kernel re-reads the arguments when it runs the call, so anything the
// handler checked in target memory may have changed since: see the package
// documentation on TOCTOU.
func Continue() Response { return Response{kind: respContinue} }

// Errno fails the call: the target sees -1 and errno e. e must be in
// 1..4095; anything else is answered with EPERM and reported to
// [Supervisor.ErrorLog].
func Errno(e syscall.Errno) Response { return Response{kind: respErrno, errno: e} }

// Return skips the call and makes it return v. The raw value is what the
// target gets: a v in -4095..-1 reads as an error to libc and Go alike, so
// use [Errno] for errors.
func Return(v int64) Response { return Response{kind: respReturn, val: v} }

// InjectFD skips the call, installs a duplicate of f in the target and makes
// the call return the new descriptor's number, in one step
// (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND, Linux 5.14; older
// kernels from 5.9 get ADDFD followed by a separate answer). flags is 0 or
// O_CLOEXEC, applied to the new descriptor.
//
// The supervisor takes ownership of f: it closes f once the answer has been
// given or has failed. f is switched to blocking mode first, as
// [os.File.Fd] does, because a target expects a freshly opened file to
// block. If the target cannot take the descriptor (EMFILE, say), the call
// fails with that errno.
func InjectFD(f *os.File, flags int) Response {
	return Response{kind: respInjectFD, file: f, fdFlags: flags}
}

// String describes the response as an audit log would: "continue",
// "errno EACCES", "return 42", "inject fd /tmp/x".
func (r Response) String() string {
	switch r.kind {
	case respContinue:
		return "continue"
	case respErrno:
		return "errno " + errnoName(r.errno)
	case respReturn:
		return fmt.Sprintf("return %d", r.val)
	case respInjectFD:
		if r.file == nil {
			return "inject fd <nil>"
		}
		return "inject fd " + r.file.Name()
	default:
		return "deny (zero response: errno EPERM)"
	}
}

// errnoName is the C name of e where Go knows one ("EACCES"), else its number.
func errnoName(e syscall.Errno) string {
	if e < syscall.Errno(len(errnoNames)) && errnoNames[e] != "" {
		return errnoNames[e]
	}
	return fmt.Sprintf("%d", int(e))
}

// errnoNames covers the errors handlers commonly return, by number; the rest
// print as numbers. (An array, not a map literal: a map literal is built by
// package init at every start of sysgate.)
var errnoNames = [...]string{
	syscall.EPERM: "EPERM", syscall.ENOENT: "ENOENT", syscall.ESRCH: "ESRCH",
	syscall.EINTR: "EINTR", syscall.EIO: "EIO", syscall.EBADF: "EBADF",
	syscall.EAGAIN: "EAGAIN", syscall.ENOMEM: "ENOMEM", syscall.EACCES: "EACCES",
	syscall.EFAULT: "EFAULT", syscall.EBUSY: "EBUSY", syscall.EEXIST: "EEXIST",
	syscall.ENOTDIR: "ENOTDIR", syscall.EISDIR: "EISDIR", syscall.EINVAL: "EINVAL",
	syscall.EMFILE: "EMFILE", syscall.ENOSPC: "ENOSPC", syscall.EROFS: "EROFS",
	syscall.ENAMETOOLONG: "ENAMETOOLONG", syscall.ENOSYS: "ENOSYS",
	syscall.ELOOP: "ELOOP", syscall.EOPNOTSUPP: "EOPNOTSUPP",
	syscall.EAFNOSUPPORT: "EAFNOSUPPORT", syscall.ECONNREFUSED: "ECONNREFUSED",
}

// check reports why r cannot be sent as it is, or nil.
func (r Response) check() error {
	switch r.kind {
	case respErrno:
		if r.errno < 1 || r.errno > maxErrno {
			return fmt.Errorf("errno %d is outside 1..%d", int(r.errno), maxErrno)
		}
	case respInjectFD:
		if r.file == nil {
			return fmt.Errorf("InjectFD with a nil file")
		}
		if r.fdFlags&^syscall.O_CLOEXEC != 0 {
			return fmt.Errorf("InjectFD flags %#x: only O_CLOEXEC is allowed", r.fdFlags)
		}
	}
	return nil
}
