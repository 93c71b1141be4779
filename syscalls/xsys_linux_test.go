package syscalls

import (
	"fmt"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The AUDIT_ARCH values written in the generator agree with x/sys's copy of
// include/uapi/linux/audit.h.
func TestAuditMatchesXSys(t *testing.T) {
	want := map[*Arch]uint32{
		X86_64: unix.AUDIT_ARCH_X86_64, I386: unix.AUDIT_ARCH_I386, X32: unix.AUDIT_ARCH_X86_64,
		AArch64: unix.AUDIT_ARCH_AARCH64, ARM: unix.AUDIT_ARCH_ARM, RISCV64: unix.AUDIT_ARCH_RISCV64,
		PPC64LE: unix.AUDIT_ARCH_PPC64LE, PPC64: unix.AUDIT_ARCH_PPC64, PPC: unix.AUDIT_ARCH_PPC,
		S390X: unix.AUDIT_ARCH_S390X, S390: unix.AUDIT_ARCH_S390,
		MIPS: unix.AUDIT_ARCH_MIPS, MIPSEL: unix.AUDIT_ARCH_MIPSEL, MIPS64: unix.AUDIT_ARCH_MIPS64,
		MIPSEL64: unix.AUDIT_ARCH_MIPSEL64, MIPS64N32: unix.AUDIT_ARCH_MIPS64N32, MIPSEL64N32: unix.AUDIT_ARCH_MIPSEL64N32,
		LoongArch64: unix.AUDIT_ARCH_LOONGARCH64, M68K: unix.AUDIT_ARCH_M68K,
		PARISC: unix.AUDIT_ARCH_PARISC, PARISC64: unix.AUDIT_ARCH_PARISC64,
		SH: unix.AUDIT_ARCH_SHEL, SHEB: unix.AUDIT_ARCH_SH,
	}
	if len(want) != len(Arches()) {
		t.Fatalf("test covers %d arches, Arches has %d", len(want), len(Arches()))
	}
	for a, w := range want {
		if a.Audit != w {
			t.Errorf("%s.Audit = %#x; x/sys says %#x", a, a.Audit, w)
		}
	}
}

// The native table agrees with x/sys's SYS_* numbers for the running GOARCH.
func TestNativeNumbersMatchXSys(t *testing.T) {
	a := Native()
	for name, want := range map[string]uintptr{
		"read": unix.SYS_READ, "write": unix.SYS_WRITE, "openat": unix.SYS_OPENAT, "close": unix.SYS_CLOSE,
		"execve": unix.SYS_EXECVE, "execveat": unix.SYS_EXECVEAT, "clone": unix.SYS_CLONE, "clone3": unix.SYS_CLONE3,
		"seccomp": unix.SYS_SECCOMP, "ptrace": unix.SYS_PTRACE, "mmap": unix.SYS_MMAP, "mprotect": unix.SYS_MPROTECT,
		"exit_group": unix.SYS_EXIT_GROUP, "getpid": unix.SYS_GETPID, "socket": unix.SYS_SOCKET,
		"pidfd_open": unix.SYS_PIDFD_OPEN, "openat2": unix.SYS_OPENAT2, "mseal": unix.SYS_MSEAL,
		"process_vm_readv": unix.SYS_PROCESS_VM_READV, "ioctl": unix.SYS_IOCTL,
	} {
		if nr, ok := a.Lookup(name); !ok || uintptr(nr) != want {
			t.Errorf("%s %s = %d, %v; x/sys says %d", a, name, nr, ok, want)
		}
	}
}

// The native constants agree with the x/sys package compiled for this GOARCH.
func TestNativeConstsMatchXSys(t *testing.T) {
	a := Native()
	for name, want := range map[string]int64{
		"O_RDONLY": unix.O_RDONLY, "O_WRONLY": unix.O_WRONLY, "O_CREAT": unix.O_CREAT, "O_DIRECTORY": unix.O_DIRECTORY,
		"O_NOFOLLOW": unix.O_NOFOLLOW, "O_CLOEXEC": unix.O_CLOEXEC, "O_PATH": unix.O_PATH, "O_TMPFILE": unix.O_TMPFILE,
		"AT_FDCWD": unix.AT_FDCWD, "AT_SYMLINK_NOFOLLOW": unix.AT_SYMLINK_NOFOLLOW,
		"CLONE_NEWUSER": unix.CLONE_NEWUSER, "CLONE_NEWNS": unix.CLONE_NEWNS, "CLONE_UNTRACED": unix.CLONE_UNTRACED,
		"AF_NETLINK": unix.AF_NETLINK, "SOCK_RAW": unix.SOCK_RAW, "SOCK_CLOEXEC": unix.SOCK_CLOEXEC,
		"PROT_WRITE": unix.PROT_WRITE, "MAP_FIXED": unix.MAP_FIXED, "MAP_GROWSDOWN": unix.MAP_GROWSDOWN,
		"MS_REMOUNT": unix.MS_REMOUNT, "PR_SET_SECCOMP": unix.PR_SET_SECCOMP, "PR_CAPBSET_DROP": unix.PR_CAPBSET_DROP,
		"TIOCSTI": unix.TIOCSTI, "TIOCLINUX": unix.TIOCLINUX, "TCSETSF": unix.TCSETSF, "TIOCINQ": unix.TIOCINQ,
		"SECCOMP_IOCTL_NOTIF_RECV": unix.SECCOMP_IOCTL_NOTIF_RECV,
		"EPERM":                    int64(unix.EPERM), "EACCES": int64(unix.EACCES), "ENOSYS": int64(unix.ENOSYS),
		"SIGSYS": int64(unix.SIGSYS), "SIGKILL": int64(unix.SIGKILL),
	} {
		if got, ok := Const(a, name); !ok || got != uint64(want) {
			t.Errorf("Const(%s, %s) = %#x, %v; x/sys says %#x", a, name, got, ok, uint64(want))
		}
	}
}

// The native errno table holds syscall.Errno.Error's texts, and ErrnoString
// is the x86 text with a capital first letter.
func TestErrnoTextsMatchSyscall(t *testing.T) {
	native := errnosFor(Native().constArch)
	if len(native) < 130 {
		t.Fatalf("only %d errnos for %s", len(native), Native())
	}
	for _, e := range native {
		// The syscall package knows fewer errnos than x/sys ("errno 133").
		if got := syscall.Errno(e.num).Error(); got != e.text && got != fmt.Sprintf("errno %d", e.num) {
			t.Errorf("errno %d (%s): table says %q, syscall says %q", e.num, e.name, e.text, got)
		}
		if ErrnoNameFor(Native(), e.num) == "" {
			t.Errorf("ErrnoNameFor(%d) empty", e.num)
		}
	}
	for _, e := range errnosFor(X86_64.constArch) {
		s := ErrnoString(e.num)
		if s != strings.ToUpper(e.text[:1])+e.text[1:] {
			t.Errorf("ErrnoString(%d) = %q from %q", e.num, s, e.text)
		}
	}
}
