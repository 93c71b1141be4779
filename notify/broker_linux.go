package notify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/policy"
)

// openBroker performs open, openat, openat2 and creat in the supervisor and
// injects the file: the path is read once, so a target rewriting it from
// another thread cannot change what is opened.
type openBroker struct{ builtin }

// sizeofOpenHow is sizeof(struct open_how) (include/uapi/linux/openat2.h).
const sizeofOpenHow = 24

func (b *openBroker) Handle(_ context.Context, r *Request) Response {
	_, name := callOf(r)
	l, ok := layoutOf(name)
	if !ok || !isOpen(name) {
		b.logf("sysgate: open-broker: pid %d: cannot serve %s (%d): errno %s", r.Pid, name, r.Nr, errnoName(b.deny))
		return Errno(b.deny)
	}
	var how unix.OpenHow
	switch name {
	case "creat":
		how.Flags = unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC
		how.Mode = r.Args[l.mode]
	case "openat2":
		// copy_struct_from_user semantics (include/linux/uaccess.h): a
		// smaller struct is invalid, a larger one must be zero beyond ours.
		size := r.Args[3]
		if size < sizeofOpenHow {
			return Errno(syscall.EINVAL)
		}
		if size > uint64(os.Getpagesize()) {
			return Errno(syscall.E2BIG)
		}
		buf := make([]byte, size)
		if err := r.Read(r.Args[2], buf); err != nil {
			return Errno(errnoOf(err))
		}
		for _, c := range buf[sizeofOpenHow:] {
			if c != 0 {
				return Errno(syscall.E2BIG)
			}
		}
		how.Flags = binary.NativeEndian.Uint64(buf[0:])
		how.Mode = binary.NativeEndian.Uint64(buf[8:])
		how.Resolve = binary.NativeEndian.Uint64(buf[16:])
		if how.Resolve&unix.RESOLVE_IN_ROOT != 0 {
			// The supervisor resolves from the caller's root, not from a
			// dirfd: say so, rather than resolve differently.
			b.logf("sysgate: open-broker: pid %d: openat2 with RESOLVE_IN_ROOT is not brokered: errno ENOSYS", r.Pid)
			return Errno(syscall.ENOSYS)
		}
	default:
		how.Flags = r.Args[l.flags] & 0xffffffff
		if how.Flags&(unix.O_CREAT|unix.O_TMPFILE&^unix.O_DIRECTORY) != 0 {
			how.Mode = r.Args[l.mode] & 0o7777
		}
	}
	raw, abs, err := targetPath(r, l)
	if err != nil {
		return Errno(errnoOf(err))
	}
	if how.Resolve&unix.RESOLVE_BENEATH != 0 && (strings.HasPrefix(raw, "/") || path.Clean(raw) == ".." || strings.HasPrefix(path.Clean(raw), "../")) {
		return Errno(syscall.EXDEV)
	}
	if how.Flags&unix.O_PATH != 0 {
		// SECCOMP_IOCTL_NOTIF_ADDFD takes its file with fget(), which
		// refuses O_PATH files (EBADF), and continuing would reopen the
		// TOCTOU hole.
		b.logf("sysgate: open-broker: pid %d: %s %q with O_PATH cannot be brokered (ADDFD refuses O_PATH files): errno %s", r.Pid, name, abs, errnoName(b.deny))
		return Errno(b.deny)
	}
	writes := how.Flags&unix.O_ACCMODE != unix.O_RDONLY || how.Flags&(unix.O_CREAT|unix.O_TRUNC|unix.O_TMPFILE&^unix.O_DIRECTORY) != 0
	if b.spec.ReadOnly && writes {
		b.logf("sysgate: open-broker: pid %d: %s %q for writing refused (read-only): errno %s", r.Pid, name, abs, errnoName(b.deny))
		return Errno(b.deny)
	}
	glob := matchAny(b.spec.Paths, abs)
	if glob == "" {
		b.logf("sysgate: open-broker: pid %d: %s %q refused: errno %s", r.Pid, name, abs, errnoName(b.deny))
		return Errno(b.deny)
	}
	f, err := b.open(r, glob, abs, how)
	if err != nil {
		e := errnoOf(err)
		if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ELOOP) && how.Flags&unix.O_NOFOLLOW == 0 {
			// A symlink (or "..") that leaves the matched tree.
			b.logf("sysgate: open-broker: pid %d: %s %q leaves %s through a symlink: errno %s", r.Pid, name, abs, glob, errnoName(b.deny))
			e = b.deny
		}
		return Errno(e)
	}
	return InjectFD(f, int(how.Flags&unix.O_CLOEXEC))
}

func isOpen(name string) bool {
	for _, n := range policy.OpenSyscalls {
		if n == name {
			return true
		}
	}
	return false
}

// open opens abs, which matched glob, beneath the glob's root directory in
// the caller's root (/proc/TID/root), with the caller's file-system
// credentials. The root is opened with RESOLVE_IN_ROOT (the policy's own
// path, symlinks resolved as the caller would); the rest with
// RESOLVE_BENEATH and RESOLVE_NO_MAGICLINKS (Linux 5.6), so no symlink or
// ".." leads out of it, and with RESOLVE_NO_SYMLINKS too unless the glob is
// a whole tree ("dir/**"): then what is opened is exactly the name the glob
// matched.
func (b *openBroker) open(r *Request, glob, abs string, how unix.OpenHow) (*os.File, error) {
	root, tree := policy.GlobRoot(glob)
	rel := "."
	if abs != root {
		rel = strings.TrimPrefix(strings.TrimPrefix(abs, root), "/")
	}
	creds, err := targetCreds(r)
	if err != nil {
		return nil, err
	}
	rootFD, err := unix.Open(fmt.Sprintf("/proc/%d/root", r.Pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &pathError{syscall.ESRCH, fmt.Errorf("root of pid %d: %w", r.Pid, err)}
	}
	defer unix.Close(rootFD)
	if err := r.Valid(); err != nil {
		return nil, err
	}
	ours := how
	ours.Flags = how.Flags | unix.O_CLOEXEC
	if how.Flags&unix.O_PATH == 0 {
		ours.Flags |= unix.O_NOCTTY // a terminal never becomes the supervisor's
	}
	ours.Resolve = how.Resolve | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS
	if !tree {
		ours.Resolve |= unix.RESOLVE_NO_SYMLINKS
	}
	if ours.Flags&(unix.O_CREAT|unix.O_TMPFILE&^unix.O_DIRECTORY) != 0 {
		ours.Mode &^= uint64(creds.umask)
	}
	var fd int
	err = asCaller(creds, func() error {
		treeFD, err := unix.Openat2(rootFD, "."+root, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err != nil {
			return fmt.Errorf("open %s in the root of pid %d: %w", root, r.Pid, err)
		}
		defer unix.Close(treeFD)
		fd, err = unix.Openat2(treeFD, rel, &ours)
		if err != nil {
			return fmt.Errorf("open %s beneath %s: %w", rel, root, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), abs), nil
}

// creds are the file-system credentials of a thread (/proc/TID/status).
type creds struct {
	fsuid, fsgid int
	groups       []int
	umask        uint32
}

// targetCreds reads the caller's credentials and checks afterwards that
// the call is still pending, so that they are the caller's.
func targetCreds(r *Request) (creds, error) {
	var c creds
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.Pid))
	if vErr := r.Valid(); vErr != nil {
		return c, vErr
	}
	if err != nil {
		return c, &pathError{syscall.ESRCH, err}
	}
	var seen int
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		switch k {
		case "Uid", "Gid":
			if len(f) != 4 {
				continue
			}
			n, err := strconv.Atoi(f[3]) // real, effective, saved, fs
			if err != nil {
				continue
			}
			if k == "Uid" {
				c.fsuid = n
			} else {
				c.fsgid = n
			}
			seen++
		case "Groups":
			for _, g := range f {
				if n, err := strconv.Atoi(g); err == nil {
					c.groups = append(c.groups, n)
				}
			}
		case "Umask":
			if len(f) == 1 {
				if n, err := strconv.ParseUint(f[0], 8, 32); err == nil {
					c.umask = uint32(n)
				}
			}
		}
	}
	if seen != 2 {
		return c, &pathError{syscall.EPERM, fmt.Errorf("no Uid/Gid in /proc/%d/status", r.Pid)}
	}
	return c, nil
}

// asCaller runs fn on this OS thread with the file-system uid, gid and
// supplementary groups of c, so that the kernel's permission checks are
// those the caller would get (without its capabilities if its fsuid is not
// 0: changing the fsuid away from 0 drops the file-system capabilities,
// kernel/capability.c cap_emulate_setxuid). setfsuid(2), setfsgid(2) and
// the raw setgroups(2) change only the calling thread, which is locked for
// the time.
//
// If the supervisor's own credentials cannot be restored afterwards, the
// thread stays locked to this goroutine for good, so that no other
// goroutine inherits them; it then has the caller's (lesser) rights.
func asCaller(c creds, fn func() error) error {
	ruid, rgid := os.Geteuid(), os.Getegid()
	if c.fsuid == ruid && c.fsgid == rgid {
		return fn()
	}
	ourGroups, err := unix.Getgroups()
	if err != nil {
		return fmt.Errorf("read supervisor groups: %w", err)
	}
	runtime.LockOSThread()
	restore := func() bool {
		unix.SetfsuidRetUid(ruid)
		unix.SetfsgidRetGid(rgid)
		gerr := unix.Setgroups(ourGroups)
		u, _ := unix.SetfsuidRetUid(-1) // -1 changes nothing and returns the current fsuid
		g, _ := unix.SetfsgidRetGid(-1)
		return gerr == nil && u == ruid && g == rgid
	}
	if err := switchCreds(c); err != nil {
		if restore() {
			runtime.UnlockOSThread()
		}
		return err
	}
	err = fn()
	if restore() {
		runtime.UnlockOSThread()
	}
	return err
}

func switchCreds(c creds) error {
	if err := unix.Setgroups(c.groups); err != nil {
		return fmt.Errorf("take the caller's groups: %w", err)
	}
	unix.SetfsgidRetGid(c.fsgid)
	unix.SetfsuidRetUid(c.fsuid)
	// setfsuid reports no error; read the value back.
	u, _ := unix.SetfsuidRetUid(-1)
	g, _ := unix.SetfsgidRetGid(-1)
	if u != c.fsuid || g != c.fsgid {
		return &pathError{syscall.EPERM, fmt.Errorf("take the caller's fsuid %d and fsgid %d: the supervisor lacks CAP_SETUID/CAP_SETGID", c.fsuid, c.fsgid)}
	}
	return nil
}

// mknodHandler creates the allowed device nodes for a target that may not
// (in a user namespace, mknod of a device needs CAP_MKNOD in the initial
// one: fs/namei.c vfs_mknod).
type mknodHandler struct{ builtin }

func (h *mknodHandler) Handle(_ context.Context, r *Request) Response {
	_, name := callOf(r)
	l, ok := layoutOf(name)
	if !ok || l.dev < 0 {
		h.logf("sysgate: mknod: pid %d: cannot serve %s (%d): errno EPERM", r.Pid, name, r.Nr)
		return Errno(syscall.EPERM)
	}
	mode := uint32(r.Args[l.mode])
	typ := mode & unix.S_IFMT
	if typ != unix.S_IFCHR && typ != unix.S_IFBLK {
		// FIFOs, sockets and regular files: the kernel lets a user
		// namespace make those and checks them itself. The decision is
		// on an integer, so Continue is safe here.
		return Continue()
	}
	major, minor := decodeDev(uint32(r.Args[l.dev]))
	allowed := false
	for _, d := range h.spec.Devices {
		if d.Matches(typ == unix.S_IFBLK, major, minor) {
			allowed = true
			break
		}
	}
	dev := policy.Device{Block: typ == unix.S_IFBLK, Major: major, Minor: minor}
	if !allowed {
		h.logf("sysgate: mknod: pid %d: device %s not allowed: errno EPERM", r.Pid, dev)
		return Errno(syscall.EPERM)
	}
	raw, _, err := targetPath(r, argLayout{path: l.path, dirfd: -1})
	if err != nil && raw == "" {
		return Errno(errnoOf(err))
	}
	if raw == "" {
		return Errno(syscall.ENOENT)
	}
	dirfd := int32(atFDCWD)
	if l.dirfd >= 0 {
		dirfd = int32(r.Args[l.dirfd])
	}
	if err := h.create(r, dirfd, raw, mode, major, minor); err != nil {
		e := errnoOf(err)
		h.logf("sysgate: mknod: pid %d: %q (%s): %v: errno %s", r.Pid, raw, dev, err, errnoName(e))
		return Errno(e)
	}
	return Return(0)
}

// create makes the node as the caller would have: in its mount namespace,
// root and working directory (or dirfd), and owned by its fsuid and fsgid.
//
// A path walk from a directory opened through /proc/TID/cwd alone would be
// wrong for absolute paths and absolute symlinks, which would resolve in
// the supervisor's root. So the work runs on a locked thread that leaves
// the process's shared fs_struct (unshare CLONE_FS), enters the caller's
// mount namespace (setns), then chroots to the caller's root and changes
// to its directory; that thread is thrown away afterwards (the goroutine
// exits still locked, and the Go runtime then ends the thread).
func (h *mknodHandler) create(r *Request, dirfd int32, p string, mode, major, minor uint32) error {
	c, err := targetCreds(r)
	if err != nil {
		return err
	}
	dirLink := fmt.Sprintf("/proc/%d/cwd", r.Pid)
	if dirfd != atFDCWD {
		dirLink = fmt.Sprintf("/proc/%d/fd/%d", r.Pid, dirfd)
	}
	var fds [3]int
	for i, name := range []string{fmt.Sprintf("/proc/%d/ns/mnt", r.Pid), fmt.Sprintf("/proc/%d/root", r.Pid), dirLink} {
		flags := unix.O_RDONLY | unix.O_CLOEXEC // setns takes no O_PATH descriptor
		if i > 0 {
			flags |= unix.O_DIRECTORY
		}
		fd, err := unix.Open(name, flags, 0)
		if err != nil {
			for _, f := range fds[:i] {
				unix.Close(f)
			}
			if i == 2 && dirfd != atFDCWD {
				return &pathError{syscall.EBADF, fmt.Errorf("dirfd %d: %w", dirfd, err)}
			}
			return &pathError{syscall.ENOENT, fmt.Errorf("open %s: %w", name, err)}
		}
		fds[i] = fd
	}
	defer func() {
		for _, f := range fds {
			unix.Close(f)
		}
	}()
	if err := r.Valid(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		done <- mknodIn(fds[0], fds[1], fds[2], c, p, mode&^c.umask, int(unix.Mkdev(major, minor)))
	}()
	return <-done
}

// mknodIn runs on a throw-away thread: it moves the thread into the
// caller's mount namespace, root and directory, checks that the caller
// could create a file there, creates the node as root (CAP_MKNOD is among
// the capabilities that a non-zero fsuid drops) and gives it to the
// caller's fsuid and fsgid through a descriptor, after checking that the
// node it opened is the one it made.
func mknodIn(mntFD, rootFD, dirFD int, c creds, p string, mode uint32, dev int) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare CLONE_FS: %w", err)
	}
	if err := unix.Setns(mntFD, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("enter the caller's mount namespace: %w", err)
	}
	if err := unix.Fchdir(rootFD); err != nil {
		return fmt.Errorf("fchdir to the caller's root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot to the caller's root: %w", err)
	}
	if err := unix.Fchdir(dirFD); err != nil {
		return fmt.Errorf("fchdir to the caller's directory: %w", err)
	}
	unix.Umask(0) // this thread's own fs_struct now; the caller's umask is already applied
	dir := path.Dir(p)
	if err := switchCreds(c); err != nil {
		return err
	}
	err := unix.Faccessat(unix.AT_FDCWD, dir, unix.W_OK|unix.X_OK, unix.AT_EACCESS)
	if err != nil {
		return fmt.Errorf("the caller may not create files in %s: %w", dir, err)
	}
	if err := switchCreds(creds{fsuid: os.Geteuid(), fsgid: os.Getegid(), groups: []int{}}); err != nil {
		return err
	}
	if err := unix.Mknodat(unix.AT_FDCWD, p, mode, dev); err != nil {
		return err
	}
	fd, err := unix.Open(p, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the new node: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != mode&unix.S_IFMT || int(st.Rdev) != dev {
		return &pathError{syscall.EEXIST, fmt.Errorf("%s was replaced while it was being created", p)}
	}
	if err := unix.Fchownat(fd, "", c.fsuid, c.fsgid, unix.AT_EMPTY_PATH); err != nil {
		return fmt.Errorf("give the node to %d:%d: %w", c.fsuid, c.fsgid, err)
	}
	return nil
}
