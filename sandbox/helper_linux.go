package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/seccomp"
)

// The helper is recognised by both its argv[0] and an environment variable
// that the parent sets and the target never sees (it gets Config.Env).
const (
	helperArg0     = "sysgate-sandbox-helper"
	helperEnv      = "SYSGATE_SANDBOX_HELPER"
	helperEnvValue = "1"
)

// helperExit is the helper's exit status when it fails before exec, as a
// shell's for a command it could not run.
const helperExit = 127

// init keeps a helper's main goroutine on the main thread (the runtime runs
// inits there, locked): a traced helper must exec from the thread its
// tracer traces, the thread-group leader, or the new image would not be
// traced (fs/exec.c, de_thread moves no ptrace link).
func init() {
	if IsHelper() {
		runtime.LockOSThread()
	}
}

// IsHelper reports whether this process is a sandbox helper started by
// [Start].
func IsHelper() bool {
	return len(os.Args) == 1 && os.Args[0] == helperArg0 && os.Getenv(helperEnv) == helperEnvValue
}

// RunHelper does the helper's job and never returns if this process is a
// helper; otherwise it returns at once. Call it first thing in main, and in
// the TestMain of every package whose tests call [Start], before flags are
// parsed or goroutines started.
func RunHelper() {
	if !IsHelper() {
		return
	}
	os.Exit(runHelper())
}

// runHelper returns only on failure (after telling the parent).
func runHelper() int {
	// seccomp filters and no_new_privs belong to a thread, and execve keeps
	// the calling thread's: install and exec from one thread
	// (seccomp(2), "SECCOMP_SET_MODE_FILTER").
	runtime.LockOSThread()

	// EOF on the status socket is how the parent learns of the exec.
	unix.CloseOnExec(statusFD)
	// Only fds 0-2 may reach the target: besides the helper's own, the
	// caller may hold fds without close-on-exec, which os/exec passes on.
	if err := closeOnExecFrom(3); err != nil {
		return report(errKindSetup, err)
	}
	hc, err := readConfig(configFD)
	unix.Close(configFD)
	if err != nil {
		return report(errKindSetup, err)
	}
	switch hc.Mode {
	case modeExec:
		return helperExec(hc)
	case modeProbe:
		return helperProbe()
	}
	return report(errKindSetup, fmt.Errorf("unknown helper mode %d", hc.Mode))
}

// helperExec installs the filters and execs the target. Everything that can
// be done before installing is done before: after it, the filters decide
// what the helper may still do.
func helperExec(hc *helperConfig) int {
	// The likely exec failures get a clean report now, while nothing
	// restricts the helper: execve would say the same.
	if hc.MountPrivate {
		if err := makeMountsPrivate(); err != nil {
			return report(errKindSetup, err)
		}
	}
	if err := checkExecutable(hc.Path); err != nil {
		return report(errKindExec, err)
	}
	// No collection between install and exec; fewer runtime syscalls.
	debug.SetGCPercent(-1)
	if err := helperSeizePoint(); err != nil {
		return report(errKindSetup, err)
	}

	if err := seccomp.SetNoNewPrivs(); err != nil {
		return report(errKindSetup, err)
	}
	listener := -1
	for i, f := range hc.Filters {
		fd, err := seccomp.Install(f.Prog, seccomp.Flag(f.Flags))
		if err != nil {
			kind := errKindSetup
			if errors.Is(err, seccomp.ErrNotSupported) {
				kind = errKindNotSupported
			}
			return report(kind, fmt.Errorf("filter %d of %d: %w", i+1, len(hc.Filters), err))
		}
		if fd >= 0 {
			listener = fd
		}
	}
	if listener >= 0 {
		// The listener is close-on-exec already (kernel/seccomp.c,
		// init_listener uses O_CLOEXEC), so the target never holds it.
		if err := sendListener(listener); err != nil {
			return report(errKindSetup, err)
		}
	}
	// syscall.Exec gives RLIMIT_NOFILE back before execve, as os/exec
	// does for every child of a Go program.
	err := syscall.Exec(hc.Path, hc.Args, hc.Env)
	return report(errKindExec, err)
}

// helperProbe installs an allow-all filter with a listener and hands the
// listener over, for features.ProbeListener; then it exits.
func helperProbe() int {
	if err := seccomp.SetNoNewPrivs(); err != nil {
		return report(errKindSetup, err)
	}
	allow := []bpf.Instruction{bpf.Ret(unix.SECCOMP_RET_ALLOW)}
	fd, err := seccomp.Install(allow, seccomp.FlagNewListener)
	if err != nil {
		return report(errKindSetup, err)
	}
	if err := sendListener(fd); err != nil {
		return report(errKindSetup, err)
	}
	return 0
}

// helperSeizePoint stops a traced start's helper (SIGSTOP, to the whole
// process) until its parent has seized it (see traceStart.start) and sent
// SIGCONT. It comes after everything that may fail with a clean report and
// before the filters, which need not allow kill.
func helperSeizePoint() error {
	if os.Getenv(helperStopVar) != "1" {
		return nil
	}
	if err := unix.Kill(unix.Getpid(), unix.SIGSTOP); err != nil {
		return fmt.Errorf("stop for the tracer: %w", err)
	}
	return nil
}

// makeMountsPrivate stops mount propagation between the helper's new
// mount namespace and the one it was copied from, both ways: a copy keeps
// the shared mounts shared (or, owned by a new user namespace, makes them
// slaves), mount_namespaces(7).
func makeMountsPrivate() error {
	if err := unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the new mount namespace private: %w", err)
	}
	return nil
}

// checkExecutable fails as execve would for a missing, non-executable or
// directory path.
func checkExecutable(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.EACCES
	}
	return unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS)
}

func sendListener(fd int) error {
	if err := unix.Sendmsg(statusFD, []byte{msgListener}, unix.UnixRights(fd), nil, 0); err != nil {
		return fmt.Errorf("hand over listener: %w", err)
	}
	return nil
}

// report tells the parent why the helper fails, as well as the filters
// still let it, and returns the helper's exit status.
func report(kind byte, err error) int {
	var errno unix.Errno
	errors.As(err, &errno)
	text := err.Error()
	if kind == errKindExec && errno != 0 {
		text = errno.Error() // the parent prefixes "exec <path>: "
	}
	unix.Write(statusFD, marshalError(kind, uint32(errno), text))
	return helperExit
}

// closeOnExecFrom marks every fd from first on close-on-exec, with
// close_range(CLOSE_RANGE_CLOEXEC) (Linux 5.11) or, before, one by one from
// /proc/self/fd.
func closeOnExecFrom(first int) error {
	if err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	for _, name := range names {
		if fd, err := strconv.Atoi(name); err == nil && fd >= first {
			unix.CloseOnExec(fd) // the directory's own fd is gone: EBADF
		}
	}
	return nil
}

// readConfig reads the whole config memfd with pread: its file offset is
// shared with the parent, which wrote it.
func readConfig(fd int) (*helperConfig, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("sandbox helper config: %w", err)
	}
	b := make([]byte, st.Size)
	for off := 0; off < len(b); {
		n, err := unix.Pread(fd, b[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sandbox helper config: %w", err)
		}
		if n == 0 {
			return nil, fmt.Errorf("sandbox helper config: short read")
		}
		off += n
	}
	return unmarshalConfig(b)
}
