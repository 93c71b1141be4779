package notify

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/syscalls"
)

// NewHandler builds the built-in handler a notify rule names (see
// [policy.Handler]): audit, deny-path, allow-path, open-broker or mknod. A
// nil spec is audit as a line, the meaning of a notify rule without
// handler:. The handler serves any ABI (it names calls by the arch and
// number of each request) and is safe for concurrent use.
//
// log receives audit's lines or JSON objects, and one line for every call
// the other handlers refuse or fail; nil discards them. Each record is one
// Write, so records of concurrent calls do not interleave on an *os.File.
func NewHandler(spec *policy.Handler, log io.Writer) (Handler, error) {
	if spec == nil {
		spec = &policy.Handler{Name: policy.HandlerAudit}
	}
	if log == nil {
		log = io.Discard
	}
	base := builtin{spec: spec, log: log, deny: syscall.EACCES}
	if spec.Errno != 0 {
		base.deny = syscall.Errno(spec.Errno)
	}
	for _, g := range spec.Paths {
		if err := policy.CheckGlob(g); err != nil {
			return nil, fmt.Errorf("handler %s: path glob %q: %w", spec.Name, g, err)
		}
	}
	switch spec.Name {
	case policy.HandlerAudit:
		if spec.Format != "" && spec.Format != "line" && spec.Format != "json" {
			return nil, fmt.Errorf("handler audit: format %q: want line or json", spec.Format)
		}
		return &auditHandler{base}, nil
	case policy.HandlerDenyPath, policy.HandlerAllowPath:
		if len(spec.Paths) == 0 {
			return nil, fmt.Errorf("handler %s: no paths", spec.Name)
		}
		return &pathHandler{builtin: base, allow: spec.Name == policy.HandlerAllowPath}, nil
	case policy.HandlerOpenBroker:
		if len(spec.Paths) == 0 {
			return nil, fmt.Errorf("handler open-broker: no paths")
		}
		return &openBroker{base}, nil
	case policy.HandlerMknod:
		if len(spec.Devices) == 0 {
			return nil, fmt.Errorf("handler mknod: no devices")
		}
		return &mknodHandler{base}, nil
	}
	return nil, fmt.Errorf("unknown handler %q (known: %s)", spec.Name, strings.Join(policy.HandlerNames, ", "))
}

// builtin is what every built-in handler has.
type builtin struct {
	spec *policy.Handler
	log  io.Writer
	deny syscall.Errno // refusal of deny-path, allow-path, open-broker
}

var logMu sync.Mutex

// logf writes one record.
func (b *builtin) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	logMu.Lock()
	defer logMu.Unlock()
	io.WriteString(b.log, line+"\n")
}

// callOf names the call of r: its ABI and syscall name ("" if unknown).
func callOf(r *Request) (*syscalls.Arch, string) {
	x32 := r.Nr >= 0x40000000 && r.Nr != 0xffffffff
	for _, a := range syscalls.Arches() {
		if a.Audit != r.Arch || (a.Audit == syscalls.X86_64.Audit && (a == syscalls.X32) != x32) {
			continue
		}
		name, _ := a.SyscallName(r.Nr)
		return a, name
	}
	return nil, ""
}

// argLayout says where a syscall keeps the arguments the handlers read.
// -1: the call has no such argument.
type argLayout struct {
	dirfd, path, flags, mode, dev int
	nargs                         int
	emptyPathOK                   bool // a NULL or "" path means the dirfd itself (utimensat, statx with AT_EMPTY_PATH...)
}

func at(path, nargs int) argLayout { return argLayout{-1, path, -1, -1, -1, nargs, false} }
func atDir(nargs int) argLayout    { return argLayout{0, 1, -1, -1, -1, nargs, false} }

// layouts covers every syscall of policy.PathSyscalls. (A slice searched by
// layoutOf, not a map: a map literal is built by package init at every
// start of sysgate, and the search costs little next to the notification
// it serves.)
var layouts = []struct {
	name string
	argLayout
}{
	{"open", argLayout{-1, 0, 1, 2, -1, 3, false}},
	{"openat", argLayout{0, 1, 2, 3, -1, 4, false}},
	{"openat2", argLayout{0, 1, -1, -1, -1, 4, false}}, // flags and mode in struct open_how (arg2)
	{"creat", argLayout{-1, 0, -1, 1, -1, 2, false}},
	{"mknod", argLayout{-1, 0, -1, 1, 2, 3, false}},
	{"mknodat", argLayout{0, 1, -1, 2, 3, 4, false}},

	{"stat", at(0, 2)}, {"lstat", at(0, 2)}, {"stat64", at(0, 2)}, {"lstat64", at(0, 2)},
	{"access", at(0, 2)}, {"readlink", at(0, 3)}, {"execve", at(0, 3)}, {"truncate", at(0, 2)}, {"truncate64", at(0, 3)},
	{"chdir", at(0, 1)}, {"chroot", at(0, 1)}, {"mkdir", at(0, 2)}, {"unlink", at(0, 1)}, {"rmdir", at(0, 1)},
	{"chmod", at(0, 2)}, {"chown", at(0, 3)}, {"lchown", at(0, 3)}, {"chown32", at(0, 3)}, {"lchown32", at(0, 3)},
	{"statfs", at(0, 2)}, {"statfs64", at(0, 3)}, {"getxattr", at(0, 4)}, {"lgetxattr", at(0, 4)},
	{"setxattr", at(0, 5)}, {"lsetxattr", at(0, 5)}, {"listxattr", at(0, 3)}, {"llistxattr", at(0, 3)},
	{"removexattr", at(0, 2)}, {"lremovexattr", at(0, 2)}, {"utime", at(0, 2)}, {"utimes", at(0, 2)},
	{"uselib", at(0, 1)}, {"swapon", at(0, 2)}, {"swapoff", at(0, 1)}, {"acct", at(0, 1)},
	{"inotify_add_watch", at(1, 3)},

	{"newfstatat", argLayout{0, 1, -1, -1, -1, 4, true}}, {"fstatat64", argLayout{0, 1, -1, -1, -1, 4, true}},
	{"statx", argLayout{0, 1, -1, -1, -1, 5, true}}, {"faccessat", atDir(3)}, {"faccessat2", argLayout{0, 1, -1, -1, -1, 4, true}},
	{"readlinkat", argLayout{0, 1, -1, -1, -1, 4, true}}, {"execveat", argLayout{0, 1, -1, -1, -1, 5, true}},
	{"mkdirat", atDir(3)}, {"unlinkat", atDir(3)}, {"fchmodat", atDir(3)}, {"fchmodat2", argLayout{0, 1, -1, -1, -1, 4, true}},
	{"fchownat", argLayout{0, 1, -1, -1, -1, 5, true}}, {"utimensat", argLayout{0, 1, -1, -1, -1, 4, true}}, {"futimesat", atDir(3)},
}

// layoutOf returns the layout of the syscall name, if layouts has it.
func layoutOf(name string) (argLayout, bool) {
	for _, l := range layouts {
		if l.name == name {
			return l.argLayout, true
		}
	}
	return argLayout{}, false
}

// atFDCWD is AT_FDCWD as the 32-bit int the kernel reads from a dirfd.
const atFDCWD = -100

// pathError is a call that fails before any decision, with the errno the
// kernel would have given.
type pathError struct {
	errno syscall.Errno
	err   error
}

func (e *pathError) Error() string { return e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// errnoOf maps a failure to read or resolve a path to the errno the
// target gets.
func errnoOf(err error) syscall.Errno {
	var pe *pathError
	var en syscall.Errno
	switch {
	case errors.As(err, &pe):
		return pe.errno
	case errors.Is(err, ErrTooLong):
		return syscall.ENAMETOOLONG
	case errors.Is(err, ErrGone):
		return syscall.ESRCH // never seen: the call is gone
	case errors.As(err, &en) && en > 0 && en <= maxErrno:
		return en
	}
	return syscall.EPERM
}

// targetPath reads the path argument of r and makes it absolute and
// lexically clean, as the caller sees the file system: a relative path is
// joined to the caller's working directory or to the directory of its
// dirfd (read from /proc/TID/cwd and /proc/TID/fd/N, as seen from the
// supervisor's root). raw is the string as the caller passed it.
//
// This is a description of the call, not a resolution: symlinks and ".."
// after a symlink may lead elsewhere; open-broker opens with RESOLVE_*
// flags so that what it opens cannot leave the matched tree.
func targetPath(r *Request, l argLayout) (raw, abs string, err error) {
	addr := r.Args[l.path]
	if addr != 0 {
		if raw, err = r.ReadString(addr, unix.PathMax-1); err != nil {
			return "", "", err
		}
	}
	if strings.HasPrefix(raw, "/") {
		return raw, path.Clean(raw), nil
	}
	if raw == "" && !l.emptyPathOK {
		if addr == 0 {
			return "", "", &pathError{syscall.EFAULT, errors.New("NULL path")}
		}
		return "", "", &pathError{syscall.ENOENT, errors.New("empty path")}
	}
	dirfd := int32(atFDCWD)
	if l.dirfd >= 0 {
		dirfd = int32(r.Args[l.dirfd]) // an int: the upper half may be garbage
	}
	base, err := targetDir(r, dirfd)
	if err != nil {
		return raw, "", err
	}
	return raw, path.Join(base, raw), nil
}

// targetDir is the path of the caller's working directory (AT_FDCWD) or of
// its descriptor dirfd.
func targetDir(r *Request, dirfd int32) (string, error) {
	if r.Pid <= 0 {
		return "", &pathError{syscall.ESRCH, errors.New("caller not visible in this pid namespace")}
	}
	link := fmt.Sprintf("/proc/%d/cwd", r.Pid)
	if dirfd != atFDCWD {
		if dirfd < 0 {
			return "", &pathError{syscall.EBADF, fmt.Errorf("dirfd %d", dirfd)}
		}
		link = fmt.Sprintf("/proc/%d/fd/%d", r.Pid, dirfd)
	}
	dir, err := readlink(link)
	if vErr := r.Valid(); vErr != nil { // the pid may have been reused
		return "", vErr
	}
	switch {
	case errors.Is(err, unix.ENOENT) && dirfd != atFDCWD:
		return "", &pathError{syscall.EBADF, fmt.Errorf("dirfd %d of pid %d is not open", dirfd, r.Pid)}
	case err != nil:
		return "", &pathError{syscall.ENOENT, fmt.Errorf("directory of pid %d: %w", r.Pid, err)}
	case !strings.HasPrefix(dir, "/"):
		return "", &pathError{syscall.ENOTDIR, fmt.Errorf("dirfd %d of pid %d is %s", dirfd, r.Pid, dir)}
	case strings.HasSuffix(dir, " (deleted)"):
		return "", &pathError{syscall.ENOENT, fmt.Errorf("directory of pid %d was deleted", r.Pid)}
	}
	return dir, nil
}

func readlink(name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlink(name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// matchAny returns the first glob of globs that name matches, or "".
func matchAny(globs []string, name string) string {
	for _, g := range globs {
		if policy.MatchGlob(g, name) {
			return g
		}
	}
	return ""
}

// pathHandler is deny-path and allow-path: a decision on the path, then
// Continue. Not a security boundary (see the package documentation).
type pathHandler struct {
	builtin
	allow bool
}

func (h *pathHandler) Handle(_ context.Context, r *Request) Response {
	_, name := callOf(r)
	l, ok := layoutOf(name)
	if !ok {
		h.logf("sysgate: %s: pid %d: syscall %s (%d) has no path argument: errno %s", h.spec.Name, r.Pid, name, r.Nr, errnoName(h.deny))
		return Errno(h.deny)
	}
	_, abs, err := targetPath(r, l)
	if err != nil {
		return Errno(errnoOf(err))
	}
	matched := matchAny(h.spec.Paths, abs) != ""
	if matched != h.allow {
		h.logf("sysgate: %s: pid %d: %s %q refused: errno %s", h.spec.Name, r.Pid, name, abs, errnoName(h.deny))
		return Errno(h.deny)
	}
	return Continue()
}

// auditHandler logs and continues.
type auditHandler struct{ builtin }

func (h *auditHandler) Handle(_ context.Context, r *Request) Response {
	c := decodeCall(r)
	if h.spec.Format == "json" {
		b, err := json.Marshal(c)
		if err == nil {
			logMu.Lock()
			h.log.Write(append(b, '\n'))
			logMu.Unlock()
		}
	} else {
		h.logf("sysgate: audit pid %d: %s", r.Pid, c.line())
	}
	return Continue()
}

// auditRecord is one audited call, as the JSON format writes it.
type auditRecord struct {
	Pid     int      `json:"pid"`
	Arch    string   `json:"arch"`
	Syscall string   `json:"syscall"`
	Nr      uint32   `json:"nr"`
	Args    []string `json:"args"`            // decoded arguments, as in the line format
	Path    string   `json:"path,omitempty"`  // the path argument as passed
	Abs     string   `json:"abs,omitempty"`   // absolute and clean, relative paths joined to the caller's directory
	Flags   string   `json:"flags,omitempty"` // open flags, symbolic
	PathErr string   `json:"path_error,omitempty"`
	IP      string   `json:"ip"`
}

func (c *auditRecord) line() string {
	s := fmt.Sprintf("%s(%s)", c.Syscall, strings.Join(c.Args, ", "))
	if c.Arch != "" && c.Arch != syscalls.Native().Name {
		s += " on " + c.Arch
	}
	if c.Abs != "" && c.Abs != c.Path {
		s += fmt.Sprintf(" [%s]", c.Abs)
	}
	return s
}

// decodeCall decodes what is cheap to decode: path, dirfd, open flags,
// mknod's mode and device; other arguments stay hexadecimal.
func decodeCall(r *Request) *auditRecord {
	arch, name := callOf(r)
	c := &auditRecord{Pid: r.Pid, Syscall: name, Nr: r.Nr, IP: "0x" + strconv.FormatUint(r.IP, 16)}
	if arch != nil {
		c.Arch = arch.Name
	} else {
		c.Arch = fmt.Sprintf("%#x", r.Arch)
	}
	if name == "" {
		c.Syscall = fmt.Sprintf("syscall_%d", r.Nr)
	}
	hex := func(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }
	l, ok := layoutOf(name)
	if !ok {
		for _, v := range r.Args {
			c.Args = append(c.Args, hex(v))
		}
		return c
	}
	raw, abs, err := targetPath(r, l)
	c.Path, c.Abs = raw, abs
	if err != nil {
		c.PathErr = err.Error()
	}
	for i := range l.nargs {
		v := r.Args[i]
		switch i {
		case l.dirfd:
			if int32(v) == atFDCWD {
				c.Args = append(c.Args, "AT_FDCWD")
			} else {
				c.Args = append(c.Args, strconv.Itoa(int(int32(v))))
			}
		case l.path:
			if err != nil && raw == "" {
				c.Args = append(c.Args, hex(v))
			} else {
				c.Args = append(c.Args, strconv.Quote(raw))
			}
		case l.flags:
			c.Flags = openFlags(arch, v)
			c.Args = append(c.Args, c.Flags)
		case l.mode:
			if l.flags >= 0 && r.Args[l.flags]&(unix.O_CREAT|unix.O_TMPFILE&^unix.O_DIRECTORY) == 0 {
				continue // strace's habit: no mode without O_CREAT or O_TMPFILE
			}
			if l.dev >= 0 {
				c.Args = append(c.Args, nodeMode(uint32(v)))
			} else {
				c.Args = append(c.Args, fmt.Sprintf("%#o", v&0o7777))
			}
		case l.dev:
			major, minor := decodeDev(uint32(v))
			c.Args = append(c.Args, fmt.Sprintf("makedev(%d, %d)", major, minor))
		default:
			c.Args = append(c.Args, hex(v))
		}
	}
	if name == "openat2" && r.Args[3] >= 16 {
		var how [16]byte
		if r.Read(r.Args[2], how[:]) == nil {
			c.Flags = openFlags(arch, binary.NativeEndian.Uint64(how[:8]))
		}
	}
	return c
}

// openFlagNames in the order they are tried: composites first.
var openFlagNames = []string{
	"O_TMPFILE", "O_SYNC", "O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND",
	"O_NONBLOCK", "O_DSYNC", "O_ASYNC", "O_DIRECT", "O_LARGEFILE", "O_DIRECTORY",
	"O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "O_PATH",
}

// openFlags renders open(2) flags as "O_RDONLY|O_CLOEXEC", with the
// constants of arch (the native ones if nil).
func openFlags(arch *syscalls.Arch, v uint64) string {
	if arch == nil {
		arch = syscalls.Native()
	}
	v &= 0xffffffff
	var parts []string
	switch v & 3 {
	case 0:
		parts = append(parts, "O_RDONLY")
	case 1:
		parts = append(parts, "O_WRONLY")
	case 2:
		parts = append(parts, "O_RDWR")
	default:
		parts = append(parts, "O_ACCMODE")
	}
	v &^= 3
	for _, n := range openFlagNames {
		bit, ok := syscalls.Const(arch, n)
		if ok && bit != 0 && v&bit == bit {
			parts = append(parts, n)
			v &^= bit
		}
	}
	if v != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(v, 16))
	}
	return strings.Join(parts, "|")
}

// nodeMode renders mknod's mode: "S_IFCHR|0666".
func nodeMode(m uint32) string {
	t := map[uint32]string{
		unix.S_IFCHR: "S_IFCHR", unix.S_IFBLK: "S_IFBLK", unix.S_IFIFO: "S_IFIFO",
		unix.S_IFREG: "S_IFREG", unix.S_IFSOCK: "S_IFSOCK", 0: "",
	}[m&unix.S_IFMT]
	perm := fmt.Sprintf("%#o", m&0o7777)
	switch {
	case t == "" && m&unix.S_IFMT != 0:
		return fmt.Sprintf("%#o", m)
	case t == "":
		return perm
	}
	return t + "|" + perm
}

// decodeDev splits the 32-bit dev argument of mknod(2) as the kernel's
// new_decode_dev does (include/linux/kdev_t.h): 12 bits of major, 20 of
// minor, the minor's low byte first.
func decodeDev(dev uint32) (major, minor uint32) {
	return (dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00)
}
