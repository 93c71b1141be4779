package trace

import (
	"slices"
	"strings"
	"sync"

	"github.com/sysgate/sysgate/syscalls"
)

// nargsEntry is a syscall's argument count in strace's tables (znargs.go).
type nargsEntry struct {
	name string
	n    uint8
}

// flag is one named bit set of a flags argument.
type flag struct {
	name string
	val  uint64
}

// abi holds, for one syscall ABI, everything decoding looks up per call,
// indexed by syscall number so that a stop costs no map or string work.
type abi struct {
	arch  *syscalls.Arch
	bits  int
	names []string // by number (NrBase removed)
	sigs  []*sig
	nargs []uint8

	oflags, atflags, prot, mapflags, clone, sockflags, waitopts, accmode, mountflags, statxmask []flag
	afs, socktypes, signals, fcntlcmds, whences                                                 map[uint64]string
	ioctls                                                                                      map[uint64]string
}

// abis maps a *syscalls.Arch to its *abi. A sync.Map, since traces may run
// at once and the tracer builds the tables on another goroutine while the
// program starts.
var abis sync.Map

// abiFor returns the decoding tables of arch, building them on first use
// (the tracer builds them while the program starts).
func abiFor(arch *syscalls.Arch) *abi {
	if a, ok := abis.Load(arch); ok {
		return a.(*abi)
	}
	a := &abi{arch: arch, bits: arch.Bits}
	nargs := nargsX86_64[:]
	if arch.Bits == 32 && arch != syscalls.X32 {
		nargs = nargsI386[:]
	}
	sigs := signatures()
	var max uint32
	scs := arch.Syscalls()
	for _, sc := range scs {
		if n := sc.Nr - arch.NrBase; n > max {
			max = n
		}
	}
	a.names = make([]string, max+1)
	a.sigs = make([]*sig, max+1)
	a.nargs = make([]uint8, max+1)
	for _, sc := range scs {
		n := sc.Nr - arch.NrBase
		a.names[n] = sc.Name
		a.sigs[n] = sigs[sc.Name]
		a.nargs[n] = 6
		if i, ok := slices.BinarySearchFunc(nargs, sc.Name, func(e nargsEntry, name string) int { return strings.Compare(e.name, name) }); ok {
			a.nargs[n] = nargs[i].n
		}
		if s := a.sigs[n]; s != nil {
			a.nargs[n] = uint8(len(s.args))
		}
	}
	c := func(names ...string) []flag {
		var out []flag
		for _, n := range names {
			if v, ok := syscalls.Const(arch, n); ok && v != 0 {
				out = append(out, flag{n, v})
			}
		}
		return out
	}
	m := func(names ...string) map[uint64]string {
		out := map[uint64]string{}
		for _, n := range names {
			if v, ok := syscalls.Const(arch, n); ok {
				if _, dup := out[v]; !dup {
					out[v] = n
				}
			}
		}
		return out
	}
	// Multi-bit flags come before the bits they include (O_SYNC holds
	// O_DSYNC, O_TMPFILE holds O_DIRECTORY).
	a.oflags = c("O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_SYNC", "O_DSYNC",
		"O_ASYNC", "O_DIRECT", "O_LARGEFILE", "O_TMPFILE", "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "O_PATH")
	a.atflags = c("AT_SYMLINK_NOFOLLOW", "AT_REMOVEDIR", "AT_SYMLINK_FOLLOW", "AT_NO_AUTOMOUNT", "AT_EMPTY_PATH",
		"AT_STATX_FORCE_SYNC", "AT_STATX_DONT_SYNC", "AT_RECURSIVE")
	a.prot = c("PROT_READ", "PROT_WRITE", "PROT_EXEC", "PROT_SEM", "PROT_GROWSDOWN", "PROT_GROWSUP")
	a.mapflags = c("MAP_SHARED_VALIDATE", "MAP_SHARED", "MAP_PRIVATE", "MAP_FIXED", "MAP_ANONYMOUS", "MAP_32BIT",
		"MAP_GROWSDOWN", "MAP_DENYWRITE", "MAP_EXECUTABLE", "MAP_LOCKED", "MAP_NORESERVE", "MAP_POPULATE",
		"MAP_NONBLOCK", "MAP_STACK", "MAP_HUGETLB", "MAP_SYNC", "MAP_FIXED_NOREPLACE")
	a.clone = c("CLONE_VM", "CLONE_FS", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_PIDFD", "CLONE_PTRACE", "CLONE_VFORK",
		"CLONE_PARENT", "CLONE_THREAD", "CLONE_NEWNS", "CLONE_SYSVSEM", "CLONE_SETTLS", "CLONE_PARENT_SETTID",
		"CLONE_CHILD_CLEARTID", "CLONE_DETACHED", "CLONE_UNTRACED", "CLONE_CHILD_SETTID", "CLONE_NEWCGROUP",
		"CLONE_NEWUTS", "CLONE_NEWIPC", "CLONE_NEWUSER", "CLONE_NEWPID", "CLONE_NEWNET", "CLONE_IO",
		"CLONE_CLEAR_SIGHAND", "CLONE_INTO_CGROUP", "CLONE_NEWTIME")
	a.sockflags = c("SOCK_NONBLOCK", "SOCK_CLOEXEC")
	a.waitopts = c("WNOHANG", "WUNTRACED", "WCONTINUED", "WNOWAIT", "__WNOTHREAD", "__WALL", "__WCLONE")
	a.accmode = []flag{{"R_OK", 4}, {"W_OK", 2}, {"X_OK", 1}} // unistd.h, the same on every ABI
	a.mountflags = c("MS_RDONLY", "MS_NOSUID", "MS_NODEV", "MS_NOEXEC", "MS_SYNCHRONOUS", "MS_REMOUNT",
		"MS_MANDLOCK", "MS_DIRSYNC", "MS_NOATIME", "MS_NODIRATIME", "MS_BIND", "MS_MOVE", "MS_REC", "MS_SILENT",
		"MS_UNBINDABLE", "MS_PRIVATE", "MS_SLAVE", "MS_SHARED", "MS_RELATIME", "MS_STRICTATIME", "MS_LAZYTIME")
	a.statxmask = c("STATX_BASIC_STATS", "STATX_TYPE", "STATX_MODE", "STATX_NLINK", "STATX_UID", "STATX_GID",
		"STATX_ATIME", "STATX_MTIME", "STATX_CTIME", "STATX_INO", "STATX_SIZE", "STATX_BLOCKS", "STATX_BTIME",
		"STATX_MNT_ID", "STATX_DIOALIGN")
	a.afs = m("AF_UNSPEC", "AF_UNIX", "AF_INET", "AF_AX25", "AF_IPX", "AF_APPLETALK", "AF_INET6", "AF_KEY",
		"AF_NETLINK", "AF_PACKET", "AF_BLUETOOTH", "AF_ALG", "AF_VSOCK", "AF_XDP")
	a.socktypes = m("SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET", "SOCK_DCCP", "SOCK_PACKET")
	a.signals = map[uint64]string{}
	for _, n := range signalNames {
		if v, ok := syscalls.Signal(arch, n); ok {
			if _, dup := a.signals[uint64(v)]; !dup {
				a.signals[uint64(v)] = n
			}
		}
	}
	a.fcntlcmds = m("F_DUPFD", "F_GETFD", "F_SETFD", "F_GETFL", "F_SETFL", "F_GETLK", "F_SETLK", "F_SETLKW",
		"F_SETOWN", "F_GETOWN", "F_SETSIG", "F_GETSIG", "F_OFD_GETLK", "F_OFD_SETLK", "F_OFD_SETLKW",
		"F_DUPFD_CLOEXEC", "F_SETPIPE_SZ", "F_GETPIPE_SZ", "F_ADD_SEALS", "F_GET_SEALS", "F_SETLEASE", "F_GETLEASE", "F_NOTIFY")
	a.whences = m("SEEK_SET", "SEEK_CUR", "SEEK_END", "SEEK_DATA", "SEEK_HOLE")
	a.ioctls = m("TCGETS", "TCSETS", "TCSETSW", "TCSETSF", "TIOCGWINSZ", "TIOCSWINSZ", "TIOCGPGRP", "TIOCSPGRP",
		"TIOCSCTTY", "TIOCNOTTY", "TIOCSTI", "FIONREAD", "FIONBIO", "FIOCLEX", "FIONCLEX", "TIOCGPTN", "TIOCSPTLCK",
		"TCFLSH", "TCXONC", "TIOCOUTQ", "FS_IOC_GETFLAGS", "FS_IOC_SETFLAGS", "FICLONE", "TIOCGSID")
	if old, loaded := abis.LoadOrStore(arch, a); loaded {
		return old.(*abi)
	}
	return a
}

var signalNames = []string{"SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
	"SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",
	"SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",
	"SIGIO", "SIGPWR", "SIGSYS"}

// name returns the syscall name of nr (NrBase included), or
// "syscall_0x1b3" as strace writes an unknown number.
func (a *abi) name(nr uint32) string {
	n := nr - a.arch.NrBase
	if int64(n) < int64(len(a.names)) && a.names[n] != "" {
		return a.names[n]
	}
	return "syscall_0x" + hex(uint64(nr))
}

func hex(v uint64) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0"
	}
	var b [16]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[i:])
}
