package trace

import (
	"strings"
	"sync"
)

// kind is how one argument is decoded.
type kind uint8

const (
	kHex        kind = iota // 0x1f
	kInt                    // signed int (32 bits)
	kLong                   // signed long
	kUint                   // unsigned int
	kSize                   // unsigned long
	kPtr                    // NULL or 0x7ff...
	kFD                     // a file descriptor; with -y its path: 3</etc/passwd>
	kDirFD                  // AT_FDCWD or a file descriptor
	kPath                   // a NUL-terminated path, not limited by -s
	kStr                    // a NUL-terminated string, limited by -s
	kBufIn                  // a buffer whose length is the next argument
	kOFlags                 // O_RDONLY|O_CLOEXEC
	kMode                   // 0644
	kAtFlags                // AT_SYMLINK_NOFOLLOW|...
	kAccMode                // F_OK, R_OK|W_OK
	kProt                   // PROT_READ|PROT_WRITE
	kMapFlags               // MAP_PRIVATE|MAP_ANONYMOUS
	kAF                     // AF_INET
	kSockType               // SOCK_STREAM|SOCK_CLOEXEC
	kSockFlags              // SOCK_CLOEXEC
	kSig                    // SIGTERM
	kWaitOpts               // WNOHANG|__WALL
	kWhence                 // SEEK_SET
	kIoctl                  // TCGETS or 0x5401
	kSockaddr               // a struct sockaddr whose length is the next argument
	kArgv                   // ["ls", "-l"]
	kEnvp                   // 0x7ffd... /* 12 vars */
	kMountFlags             // MS_BIND|MS_REC
	kStatxMask              // STATX_BASIC_STATS
	kCloneArgs              // struct clone_args (clone3)

	kOut // the kinds after this are decoded at the exit stop

	kBufOut      // a buffer the call fills; its length is the return value
	kStat        // struct stat (stat64 on i386)
	kStatx       // struct statx
	kSockaddrOut // a struct sockaddr the call fills; its length pointer is the next argument
	kSocklenPtr  // [16]
	kIntPair     // [3, 4] (pipe, socketpair)
	kWstatus     // [{WIFEXITED(s) && WEXITSTATUS(s) == 0}]
	kIntPtr      // [5]
)

// ret is how a return value is shown.
type ret uint8

const (
	rInt  ret = iota // 3, or -1 ENOENT (No such file or directory)
	rFD              // 3, with -y 3</etc/passwd>
	rHex             // 0x7f2a1c000000 (mmap, brk)
	rNone            // ? (exit, exit_group: never return)
)

// sig is the signature of one syscall for decoding.
type sig struct {
	args []kind
	ret  ret
	nIn  int  // arguments decoded at the entry stop; the rest at the exit stop
	spec byte // special-cased decoders: 'f' fcntl, 'c' clone
}

// kindNames are the kinds' names in signatureTable. (An array searched by
// kindNamed, not a map literal: a map literal is built by package init at
// every start of sysgate, and only the first use of signatures reads this.)
var kindNames = [...]string{
	kHex: "hex", kInt: "int", kLong: "long", kUint: "uint", kSize: "size", kPtr: "ptr", kFD: "fd", kDirFD: "dirfd",
	kPath: "path", kStr: "str", kBufIn: "bufin", kOFlags: "oflags", kMode: "mode", kAtFlags: "atflags",
	kAccMode: "accmode", kProt: "prot", kMapFlags: "mapflags", kAF: "af", kSockType: "socktype",
	kSockFlags: "sockflags", kSig: "sig", kWaitOpts: "waitopts", kWhence: "whence", kIoctl: "ioctl",
	kSockaddr: "sockaddr", kArgv: "argv", kEnvp: "envp", kMountFlags: "mountflags", kStatxMask: "statxmask",
	kCloneArgs: "cloneargs",

	// kOut has no name; the kinds after it are decoded at the exit stop.
	kBufOut: "bufout", kStat: "stat", kStatx: "statx", kSockaddrOut: "sockaddrout", kSocklenPtr: "socklenp",
	kIntPair: "intpair", kWstatus: "wstatus", kIntPtr: "intp",
}

// kindNamed returns the kind named name in signatureTable.
func kindNamed(name string) (kind, bool) {
	for k, n := range kindNames {
		if n == name && n != "" {
			return kind(k), true
		}
	}
	return 0, false
}

// signatureTable lists the decoded syscalls: name, argument kinds, and an
// optional "=fd", "=hex" or "=none" return kind. Syscalls not listed print
// their arguments in hex, as many as strace's tables give them.
const signatureTable = `
read fd bufout size
write fd bufin size
pread64 fd bufout size long
pwrite64 fd bufin size long
readv fd ptr int
writev fd ptr int
preadv fd ptr int long
pwritev fd ptr int long
open path oflags mode =fd
openat dirfd path oflags mode =fd
openat2 dirfd path ptr size =fd
creat path mode =fd
close fd
close_range uint uint hex
stat path stat
lstat path stat
fstat fd stat
newfstatat dirfd path stat atflags
stat64 path stat
lstat64 path stat
fstat64 fd stat
fstatat64 dirfd path stat atflags
statx dirfd path atflags statxmask statx
access path accmode
faccessat dirfd path accmode
faccessat2 dirfd path accmode atflags
readlink path bufout size
readlinkat dirfd path bufout size
lseek fd long whence
dup fd =fd
dup2 fd fd =fd
dup3 fd fd oflags =fd
pipe intpair
pipe2 intpair oflags
ioctl fd ioctl hex
getdents fd ptr uint
getdents64 fd ptr uint
mkdir path mode
mkdirat dirfd path mode
rmdir path
unlink path
unlinkat dirfd path atflags
rename path path
renameat dirfd path dirfd path
renameat2 dirfd path dirfd path hex
link path path
linkat dirfd path dirfd path atflags
symlink path path
symlinkat path dirfd path
chmod path mode
fchmod fd mode
fchmodat dirfd path mode
fchmodat2 dirfd path mode atflags
chown path int int
lchown path int int
fchown fd int int
fchownat dirfd path int int atflags
truncate path long
ftruncate fd long
chdir path
fchdir fd
chroot path
getcwd bufout size
mknod path mode hex
mknodat dirfd path mode hex
utimensat dirfd path ptr atflags
statfs path ptr
fstatfs fd ptr
fsync fd
fdatasync fd
flock fd int
sendfile fd fd ptr size
copy_file_range fd ptr fd ptr size hex
mmap ptr size prot mapflags fd long =hex
mmap2 ptr size prot mapflags fd long =hex
munmap ptr size
mprotect ptr size prot
mremap ptr size size hex ptr =hex
brk ptr =hex
madvise ptr size int
socket af socktype int =fd
socketpair af socktype int intpair
connect fd sockaddr uint
bind fd sockaddr uint
accept fd sockaddrout socklenp =fd
accept4 fd sockaddrout socklenp sockflags =fd
listen fd int
getsockname fd sockaddrout socklenp
getpeername fd sockaddrout socklenp
sendto fd bufin size hex sockaddr uint
recvfrom fd bufout size hex sockaddrout socklenp
sendmsg fd ptr hex
recvmsg fd ptr hex
shutdown fd int
setsockopt fd int int ptr uint
getsockopt fd int int ptr ptr
execve path argv envp
execveat dirfd path argv envp atflags
exit int =none
exit_group int =none
wait4 int wstatus waitopts ptr
waitid int int ptr waitopts ptr
kill int sig
tkill int sig
tgkill int int sig
rt_sigaction sig ptr ptr size
set_tid_address ptr
set_robust_list ptr size
prlimit64 int uint ptr ptr
getrandom bufout size hex
epoll_create1 hex =fd
epoll_ctl fd int fd ptr
epoll_wait fd ptr int int
epoll_pwait fd ptr int int ptr size
eventfd2 uint hex =fd
memfd_create str hex =fd
pidfd_open int hex =fd
pidfd_send_signal fd sig ptr hex
inotify_add_watch fd path hex
mount str path str mountflags ptr
umount2 path hex
umask mode
poll ptr uint int
arch_prctl int hex
clone3 cloneargs size
fcntl fd int hex
fcntl64 fd int hex
clone hex ptr ptr ptr hex
`

// signatures returns the parsed signatureTable, built on first use rather
// than at init: every start of the binary (the sandbox helper's too) would
// pay for it. (A sync.Once, not a package-level sync.OnceValue: making that
// is work for package init too.)
func signatures() map[string]*sig {
	parsedSigs.once.Do(func() { parsedSigs.m = parseSignatures() })
	return parsedSigs.m
}

var parsedSigs struct {
	once sync.Once
	m    map[string]*sig
}

func parseSignatures() map[string]*sig {
	m := map[string]*sig{}
	for _, line := range strings.Split(signatureTable, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		s := &sig{nIn: -1}
		for _, w := range f[1:] {
			switch w {
			case "=fd":
				s.ret = rFD
				continue
			case "=hex":
				s.ret = rHex
				continue
			case "=none":
				s.ret = rNone
				continue
			}
			k, ok := kindNamed(w)
			if !ok {
				panic("trace: signature of " + f[0] + ": unknown kind " + w)
			}
			if k > kOut && s.nIn < 0 {
				s.nIn = len(s.args)
			}
			s.args = append(s.args, k)
		}
		if s.nIn < 0 {
			s.nIn = len(s.args)
		}
		switch f[0] {
		case "fcntl", "fcntl64":
			s.spec = 'f'
		case "clone":
			s.spec = 'c'
		}
		m[f[0]] = s
	}
	return m
}
