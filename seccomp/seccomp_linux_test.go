package seccomp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
)

// envChild makes the test binary run one Install case in a fresh process:
// a filter can never be removed, so none is installed in the test process.
const envChild = "SECCOMP_TEST_CHILD"

func TestMain(m *testing.M) {
	if name, ok := os.LookupEnv(envChild); ok {
		fmt.Print(runChild(name))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// getppidFilter returns EPERM for getppid and allows the rest (x86_64).
func getppidFilter() []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbs(bpf.OffsetArch),
		bpf.JumpIf(bpf.JumpJEQ, unix.AUDIT_ARCH_X86_64, 1, 0),
		bpf.Ret(unix.SECCOMP_RET_KILL_PROCESS),
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JumpJEQ, unix.SYS_GETPPID, 0, 1),
		bpf.Ret(unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)),
		bpf.Ret(unix.SECCOMP_RET_ALLOW),
	}
}

func getppidErrno() unix.Errno {
	_, _, errno := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	return errno
}

// runChild runs one case in the child and describes the outcome.
func runChild(name string) string {
	runtime.LockOSThread()
	allow := []bpf.Instruction{bpf.Ret(unix.SECCOMP_RET_ALLOW)}
	install := func(prog []bpf.Instruction, flags Flag) string {
		fd, err := Install(prog, flags)
		if err != nil {
			return "error: " + err.Error()
		}
		if fd < 0 {
			return "installed"
		}
		fdFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || fdFlags&unix.FD_CLOEXEC == 0 {
			return fmt.Sprintf("listener %d without close-on-exec (%v)", fd, err)
		}
		return "listener"
	}
	if name != "eacces" {
		if err := SetNoNewPrivs(); err != nil {
			return err.Error()
		}
	}
	switch name {
	case "errno":
		return install(getppidFilter(), 0) + fmt.Sprintf(", getppid: %v", getppidErrno())
	case "tsync", "no tsync":
		flags := FlagTSync
		if name == "no tsync" {
			flags = 0
		}
		got := install(getppidFilter(), flags)
		// Another thread, which only TSYNC can have confined.
		ch := make(chan unix.Errno)
		go func() {
			runtime.LockOSThread() // a thread of its own, never reused
			ch <- getppidErrno()
		}()
		return got + fmt.Sprintf(", other thread getppid: %v", <-ch)
	case "listener":
		return install(allow, FlagNewListener|FlagWaitKillableRecv)
	case "tsync listener":
		return install(allow, FlagTSync|FlagNewListener)
	case "tsync esrch listener":
		return install(allow, FlagTSync|FlagTSyncESRCH|FlagNewListener)
	case "two listeners":
		install(allow, FlagNewListener)
		return install(allow, FlagNewListener)
	case "killable without listener":
		return install(allow, FlagWaitKillableRecv)
	case "bad program":
		return install([]bpf.Instruction{bpf.LoadAbs(65), bpf.Ret(0)}, 0)
	case "empty":
		return install(nil, 0)
	case "too long":
		return install(make([]bpf.Instruction, bpf.MaxInstructions+1), 0)
	case "eacces":
		// Drop CAP_SYS_ADMIN from this thread's effective set
		// (capabilities are per thread), without no_new_privs.
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			return err.Error()
		}
		data[0].Effective &^= 1 << unix.CAP_SYS_ADMIN
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return err.Error()
		}
		return install(allow, 0)
	}
	return "unknown case " + name
}

func TestInstall(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skipf("the test filter is hand-assembled for x86_64; this is %s", runtime.GOARCH)
	}
	tests := []struct {
		name string
		want string
	}{
		{"errno", "installed, getppid: operation not permitted"},
		{"tsync", "installed, other thread getppid: operation not permitted"},
		{"no tsync", "installed, other thread getppid: errno 0"},
		{"listener", "listener"},
		{"tsync listener", "error: install seccomp filter: flags TSYNC|NEW_LISTENER: the kernel needs TSYNC_ESRCH to combine TSYNC with NEW_LISTENER"},
		{"tsync esrch listener", "listener"},
		{"two listeners", "error: install seccomp filter: another filter of this thread already has a listener, the kernel allows one: device or resource busy"},
		{"killable without listener", "error: install seccomp filter: flags WAIT_KILLABLE_RECV: WAIT_KILLABLE_RECV needs NEW_LISTENER"},
		{"bad program", "error: install seccomp filter: the kernel rejected the program (bad opcode, jump target or load offset): invalid argument"},
		{"empty", "error: install seccomp filter: empty program"},
		{"too long", "error: install seccomp filter: 4097 instructions, the kernel allows 4096"},
		{"eacces", "error: install seccomp filter: needs no_new_privs or CAP_SYS_ADMIN: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), envChild+"="+tt.name, "GORACE=atexit_sleep_ms=0")
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child: %v (output %q)", err, out)
			}
			if got := string(out); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCheckFlags(t *testing.T) {
	tests := []struct {
		name  string
		flags Flag
		want  string // "" for nil
	}{
		{"none", 0, ""},
		{"all", knownFlags, ""},
		{"wait killable alone", FlagWaitKillableRecv, ""},
		{"unknown bit", 1 << 20, "seccomp filter flag 0x100000: unknown to this package: not supported by this kernel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFlags(tt.flags)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckFlags(%s) = %v", tt.flags, err)
			case tt.want != "" && (err == nil || err.Error() != tt.want || !errors.Is(err, ErrNotSupported)):
				t.Errorf("CheckFlags(%s) = %v, want %q wrapping ErrNotSupported", tt.flags, err, tt.want)
			}
		})
	}
}

func TestFlagString(t *testing.T) {
	tests := []struct {
		flags     Flag
		want      string
		minKernel string
	}{
		{0, "0", "3.5"},
		{FlagTSync, "TSYNC", "3.17"},
		{FlagTSync | FlagNewListener | FlagTSyncESRCH, "TSYNC|NEW_LISTENER|TSYNC_ESRCH", "5.7"},
		{FlagLog | FlagSpecAllow, "LOG|SPEC_ALLOW", "4.17"},
		{FlagWaitKillableRecv | 1<<12, "WAIT_KILLABLE_RECV|0x1000", ""},
		{knownFlags, "TSYNC|LOG|SPEC_ALLOW|NEW_LISTENER|TSYNC_ESRCH|WAIT_KILLABLE_RECV", "5.19"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.flags.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := tt.flags.MinKernel(); got != tt.minKernel {
				t.Errorf("MinKernel() = %q, want %q", got, tt.minKernel)
			}
		})
	}
}

func TestNotifSizes(t *testing.T) {
	notif, resp, data, err := NotifSizes()
	if err != nil {
		t.Fatalf("NotifSizes: %v", err)
	}
	// The kernel may grow its structs; ours are the 5.0 layout, which it
	// keeps accepting, so they must be exact on the kernels we know.
	if uintptr(notif) != sizeofNotif || uintptr(resp) != sizeofNotifResp || uintptr(data) != bpf.SeccompDataSize {
		t.Errorf("kernel sizes notif %d resp %d data %d; ours %d %d %d", notif, resp, data, sizeofNotif, sizeofNotifResp, bpf.SeccompDataSize)
	}
	if sizeofNotif != 80 || sizeofNotifResp != 24 || sizeofNotifAddFD != 24 {
		t.Errorf("struct sizes %d/%d/%d, want 80/24/24 (include/uapi/linux/seccomp.h)", sizeofNotif, sizeofNotifResp, sizeofNotifAddFD)
	}
}

func TestActionAvailable(t *testing.T) {
	for _, ret := range []uint32{
		unix.SECCOMP_RET_KILL_PROCESS, unix.SECCOMP_RET_KILL_THREAD, unix.SECCOMP_RET_TRAP,
		unix.SECCOMP_RET_ERRNO | 1, unix.SECCOMP_RET_USER_NOTIF, unix.SECCOMP_RET_TRACE | 7,
		unix.SECCOMP_RET_LOG, unix.SECCOMP_RET_ALLOW,
	} {
		if err := ActionAvailable(ret); err != nil {
			t.Errorf("ActionAvailable(%#x) = %v", ret, err)
		}
	}
	if err := ActionAvailable(0x00010000); !errors.Is(err, ErrNotSupported) {
		t.Errorf("ActionAvailable(0x10000) = %v, want ErrNotSupported", err)
	}
}

// TestNotifNotListener checks the Notif functions on an fd that is not a
// listener: an error, and not one that callers would take for a gone
// notification.
func TestNotifNotListener(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fd := int(r.Fd())
	var n Notif
	errs := map[string]error{
		"NotifRecv":     NotifRecv(fd, &n),
		"NotifSend":     NotifSend(fd, &NotifResp{ID: 1}),
		"NotifIDValid":  NotifIDValid(fd, 1),
		"NotifSetFlags": NotifSetFlags(fd, 0),
	}
	_, errs["NotifAddFD"] = NotifAddFD(fd, &AddFD{ID: 1, SrcFD: ^uint32(0)})
	for name, err := range errs {
		if !errors.Is(err, unix.ENOTTY) || errors.Is(err, ErrNotifGone) || errors.Is(err, ErrNotSupported) {
			t.Errorf("%s on a pipe = %v, want ENOTTY only", name, err)
		}
		if err != nil && !strings.Contains(err.Error(), "seccomp") {
			t.Errorf("%s error %q does not say what it was doing", name, err)
		}
	}
}
