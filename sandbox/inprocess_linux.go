package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/seccomp"
	"github.com/sysgate/sysgate/syscalls"
)

// ErrLauncherDenied says the filters deny a syscall that the in-process
// launch makes after installing them (see [Config].InProcess); [Start]
// then uses the helper instead, so callers see it only from
// [CheckInProcess].
var ErrLauncherDenied = errors.New("the filters deny a syscall of the in-process launch")

// IsLauncher reports whether tid is a thread of this process. The only
// threads of a process that calls [Start] with [Config].InProcess that ever
// run under a target's filters are its launcher threads (from the filters'
// install to the thread's exit), so a supervisor answers their notified
// calls with Continue: they are the launcher's own, not the target's.
//
// tgkill(2) with signal 0 only checks: ESRCH unless tid is in this thread
// group. A launcher that has exited has no such thread, and a recycled tid
// belongs to another process.
func IsLauncher(tid int) bool {
	return tid > 0 && unix.Tgkill(os.Getpid(), tid, 0) == nil
}

// launchInProcess says whether Start may launch from a thread of this
// process rather than the helper. The helper stays for what only a fresh
// process can do: a traced start (the tracer must trace the process that
// execs) and new namespaces (cloned into them before the filters go in).
func (cfg *Config) launchInProcess() bool {
	return cfg.InProcess && cfg.Tracer == nil && !cfg.UserNS && !cfg.MountNS
}

// CheckInProcess says whether [Start] with cfg.InProcess would launch in
// process: nil, or why not (an error wrapping [ErrLauncherDenied] when the
// filters deny a syscall the launch needs, naming it).
func CheckInProcess(cfg *Config) error {
	if !cfg.InProcess {
		return errors.New("Config.InProcess is off")
	}
	if !cfg.launchInProcess() {
		return errors.New("a traced start or new namespaces need the helper")
	}
	hc, err := cfg.helperConfig()
	if err != nil {
		return err
	}
	return launcherAllowed(hc.Filters)
}

// startInProcess launches the target from a new locked OS thread of this
// process; see "Launching in process" in the package documentation. Start
// calls it only when launcherAllowed(hc.Filters).
func startInProcess(cfg *Config, hc *helperConfig) (*Process, error) {
	attr, closeNull, err := prepareFork(cfg, hc)
	if err != nil {
		return nil, err
	}
	defer closeNull()

	filters := make([]helperFilter, len(hc.Filters))
	for i, f := range hc.Filters {
		// TSYNC would put the target's filters on every thread of this
		// process: only the launcher thread gets them.
		filters[i] = helperFilter{Prog: f.Prog, Flags: uint32(seccomp.Flag(f.Flags) &^ (seccomp.FlagTSync | seccomp.FlagTSyncESRCH))}
	}
	installed := make(chan launcherStatus)
	proceed := make(chan bool)
	go launch(filters, func() (int, error) { return syscall.ForkExec(hc.Path, hc.Args, attr) }, installed, proceed)

	st := <-installed
	if st.err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Path, st.err)
	}
	var listener *os.File
	handed := false
	if st.listener >= 0 {
		// Served (by OnListener) before the launcher goes on, so that the
		// clone and execve may be notified.
		listener, handed = gotListener(st.listener, cfg.OnListener)
	}
	cfg.ready()
	proceed <- true
	st = <-installed
	if st.err != nil {
		if listener != nil && !handed {
			listener.Close()
		}
		// The child's execve failed (ForkExec reports its errno).
		return nil, &os.PathError{Op: "exec", Path: hc.Path, Err: st.err}
	}
	return &Process{Pid: st.pid, Listener: listener}, nil
}

// launcherStatus is what the launcher thread says: first whether the
// filters went in (and the listener), then how the start went.
type launcherStatus struct {
	listener int
	pid      int
	err      error
}

// launch is the launcher thread: it installs the filters on itself and,
// once told to, starts cmd. Its thread is never unlocked, so the runtime
// ends the thread, filters and all, when launch returns
// (runtime.LockOSThread); no goroutine of the caller ever runs on it.
func launch(filters []helperFilter, fork func() (int, error), status chan<- launcherStatus, proceed <-chan bool) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// The runtime never ends the main thread (runtime.mexit wedges
		// it), which would stay filtered: launch from another thread,
		// which cannot be this one while it is locked to us.
		done := make(chan struct{})
		go func() {
			defer close(done)
			launch(filters, fork, status, proceed)
		}()
		<-done
		runtime.UnlockOSThread()
		return
	}
	listener, err := installOnThread(filters)
	status <- launcherStatus{listener: listener, err: err}
	if err != nil || !<-proceed {
		return
	}
	// Go forks with clone(CLONE_VM|CLONE_VFORK|SIGCHLD) from the calling
	// thread (syscall.forkAndExecInChild1), so the child starts with this
	// thread's filters and no_new_privs. syscall.ForkExec, not os/exec:
	// os.StartProcess first asks, once per process, whether pidfds work,
	// by cloning a child (os.checkPidfd), which costs sysgate's start-up
	// a fork.
	pid, err := fork()
	status <- launcherStatus{listener: -1, pid: pid, err: err}
}

// installOnThread sets no_new_privs and installs filters on the calling
// thread only. Both are per task and inherited across fork, and execve
// keeps them (seccomp(2), prctl(2) PR_SET_NO_NEW_PRIVS); without TSYNC
// the kernel touches no other thread (kernel/seccomp.c,
// seccomp_attach_filter).
func installOnThread(filters []helperFilter) (listener int, err error) {
	if err := seccomp.SetNoNewPrivs(); err != nil {
		return -1, err
	}
	listener = -1
	for i, f := range filters {
		fd, err := seccomp.Install(f.Prog, seccomp.Flag(f.Flags))
		if err != nil {
			if listener >= 0 {
				unix.Close(listener)
			}
			return -1, fmt.Errorf("filter %d of %d: %w", i+1, len(filters), err)
		}
		if fd >= 0 {
			listener = fd
		}
	}
	return listener, nil
}

// prepareFork does what a start from a thread of this process does before
// its ForkExec: it reports the failures execve would report (as the helper
// does) while nothing restricts the launcher, builds the ForkExec
// attributes, and marks every fd above 2 close-on-exec, since ForkExec
// passes on every fd without it and those the caller inherited may lack
// it. closeNull is for after the fork.
func prepareFork(cfg *Config, hc *helperConfig) (attr *syscall.ProcAttr, closeNull func(), err error) {
	if err := checkExecutable(hc.Path); err != nil {
		return nil, nil, &os.PathError{Op: "exec", Path: hc.Path, Err: err}
	}
	attr, closeNull, err = inProcessAttr(cfg, hc)
	if err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", cfg.Path, err)
	}
	if err := closeOnExecFrom(3); err != nil {
		closeNull()
		return nil, nil, fmt.Errorf("start %s: %w", cfg.Path, err)
	}
	return attr, closeNull, nil
}

// inProcessAttr prepares the target's start so that it makes no syscall
// the launch can avoid: /dev/null is opened here, Dir checked here, Env
// never nil (ForkExec would pass none, os/exec the caller's). closeNull
// closes what it opened, after the fork.
func inProcessAttr(cfg *Config, hc *helperConfig) (attr *syscall.ProcAttr, closeNull func(), err error) {
	if cfg.Dir != "" {
		if _, err := os.Stat(cfg.Dir); err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = &os.PathError{Op: "chdir", Path: cfg.Dir, Err: pe.Err}
			}
			return nil, nil, err
		}
	}
	env := hc.Env
	if env == nil {
		env = []string{}
	}
	stdio := [3]*os.File{cfg.Stdin, cfg.Stdout, cfg.Stderr}
	var null *os.File
	for i, f := range stdio {
		if f != nil {
			continue
		}
		if null == nil {
			if null, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
				return nil, nil, err
			}
		}
		stdio[i] = null
	}
	attr = &syscall.ProcAttr{Dir: cfg.Dir, Env: env, Sys: &syscall.SysProcAttr{}}
	for _, f := range stdio {
		attr.Files = append(attr.Files, f.Fd())
	}
	// The files must stay open (not collected) until the fork is done.
	return attr, func() {
		runtime.KeepAlive(stdio)
		if null != nil {
			null.Close()
		}
	}, nil
}

// launcherCall is a syscall the launch makes under the filters, with
// arguments as it makes them where a filter may look at them.
type launcherCall struct {
	name string
	args [6]uint64
}

// launcherCalls are the syscalls of the launcher thread and of the child
// between its clone and execve (traced with strace -f on Go 1.26):
// ForkExec's fork and exec, the Go runtime's own (memory, locks, signals,
// preemption, thread exit), and the child's fd shuffling, signal reset and
// RLIMIT_NOFILE restore.
var launcherCalls = []launcherCall{
	// The fork and exec, in the launcher and the child.
	{"pipe2", [6]uint64{0, unix.O_CLOEXEC}},
	{"clone", [6]uint64{unix.CLONE_VM | unix.CLONE_VFORK | uint64(unix.SIGCHLD)}},
	{"read", [6]uint64{}},
	{"write", [6]uint64{}},
	{"close", [6]uint64{}},
	{"wait4", [6]uint64{}},
	{"dup3", [6]uint64{0, 0, unix.O_CLOEXEC}},
	{"dup3", [6]uint64{}},
	{"fcntl", [6]uint64{0, unix.F_SETFD, 0}},
	{"fcntl", [6]uint64{0, unix.F_GETFD}},
	{"chdir", [6]uint64{}},
	{"prlimit64", [6]uint64{0, unix.RLIMIT_NOFILE}},
	{"execve", [6]uint64{}},
	{"exit", [6]uint64{}},
	// The runtime, on any thread.
	{"rt_sigaction", [6]uint64{}},
	{"rt_sigprocmask", [6]uint64{unix.SIG_SETMASK}},
	{"rt_sigprocmask", [6]uint64{unix.SIG_BLOCK}},
	{"rt_sigreturn", [6]uint64{}},
	{"sigaltstack", [6]uint64{}},
	{"futex", [6]uint64{0, futexWaitPrivate}},
	{"futex", [6]uint64{0, futexWakePrivate}},
	{"sched_yield", [6]uint64{}},
	{"nanosleep", [6]uint64{}},
	{"mmap", [6]uint64{0, 0, unix.PROT_READ | unix.PROT_WRITE, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS, ^uint64(0)}},
	{"mmap", [6]uint64{0, 0, unix.PROT_NONE, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS, ^uint64(0)}},
	{"munmap", [6]uint64{}},
	{"madvise", [6]uint64{0, 0, unix.MADV_DONTNEED}},
	{"madvise", [6]uint64{0, 0, unix.MADV_HUGEPAGE}},
	{"madvise", [6]uint64{0, 0, unix.MADV_NOHUGEPAGE}},
	{"getpid", [6]uint64{}},
	{"gettid", [6]uint64{}},
	{"tgkill", [6]uint64{0, 0, uint64(unix.SIGURG)}},
}

// launcherAllowed runs every filter over every launcher call with the
// bpf interpreter and wants ALLOW or LOG from each. Nothing else will do:
// an errno or a trap reaches the Go runtime, which takes a failed
// sigaltstack, rt_sigprocmask or mmap as fatal, and a notification of a
// runtime-internal call (futex, clone) would hold this thread's P, which
// the supervisor may need, for as long as it waits.
func launcherAllowed(filters []helperFilter) error {
	native := syscalls.Native()
	if native == nil {
		return fmt.Errorf("%w: no seccomp ABI for %s", ErrLauncherDenied, runtime.GOARCH)
	}
	order := native.ByteOrder()
	for _, c := range launcherCalls {
		nr, ok := native.Lookup(c.name)
		if !ok {
			continue
		}
		d := bpf.SeccompData{Nr: nr, Arch: native.Audit, Args: c.args}
		for i, f := range filters {
			res, err := bpf.RunSeccomp(f.Prog, d, order)
			if err != nil {
				return fmt.Errorf("%w: filter %d of %d on %s: %w", ErrLauncherDenied, i+1, len(filters), c.name, err)
			}
			switch res.Ret & unix.SECCOMP_RET_ACTION_FULL {
			case unix.SECCOMP_RET_ALLOW, unix.SECCOMP_RET_LOG:
			default:
				return fmt.Errorf("%w: filter %d of %d returns %#x for %s", ErrLauncherDenied, i+1, len(filters), res.Ret, c.name)
			}
		}
	}
	return nil
}

// The Go runtime's futex operations (include/uapi/linux/futex.h:
// FUTEX_WAIT or FUTEX_WAKE with FUTEX_PRIVATE_FLAG).
const (
	futexWaitPrivate = 0 | 128
	futexWakePrivate = 1 | 128
)
