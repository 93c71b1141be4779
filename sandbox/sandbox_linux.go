package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/features"
	"github.com/sysgate/sysgate/ptrace"
	"github.com/sysgate/sysgate/seccomp"
)

// Config says what to run and under which filters. The zero value of every
// optional field is the os/exec default.
type Config struct {
	// Path is the program to execute. A relative Path is taken relative to
	// Dir, as os/exec does; no PATH search happens (use exec.LookPath).
	Path string
	// Args is the target's argv, Args[0] included. Empty means {Path}.
	Args []string
	// Env is the target's whole environment; nil means empty.
	Env []string
	// Dir is the target's working directory; "" means the caller's.
	Dir string
	// Stdin, Stdout and Stderr become fds 0, 1 and 2 of the target; nil
	// means /dev/null. Only these three fds reach the target.
	Stdin, Stdout, Stderr *os.File

	// UserNS starts the target in a new user namespace (CLONE_NEWUSER,
	// Linux 3.8), where it may be root, with every capability over what
	// the namespace owns and none outside. Without privilege the caller
	// needs unprivileged user namespaces, which some systems switch off
	// (user.max_user_namespaces, kernel.unprivileged_userns_clone,
	// AppArmor's restrict_unprivileged_userns). Device nodes cannot be made
	// in one (mknod(2) of a device needs CAP_MKNOD in the initial user
	// namespace): a notify rule with the mknod handler makes them for it.
	UserNS bool
	// UIDMap and GIDMap map ids inside the new user namespace to ids
	// outside (/proc/PID/uid_map, user_namespaces(7)); nil maps the
	// caller's effective uid (gid) to 0 and nothing else. The target
	// starts as uid 0 and gid 0 of the namespace, with no supplementary
	// groups, so both maps must map 0. A caller without CAP_SETUID
	// (CAP_SETGID) may map only its own id, and without CAP_SETGID
	// setgroups(2) is denied inside, as the kernel demands before it takes
	// such a gid_map. Only with UserNS.
	UIDMap, GIDMap []IDMap
	// MountNS starts the target in a new mount namespace (CLONE_NEWNS), a
	// copy of the caller's in which the helper first makes every mount
	// private (as unshare(1) does), so that mounts made on either side
	// stay there. It needs CAP_SYS_ADMIN, which UserNS gives.
	MountNS bool

	// Filters are installed in order, so the last is the newest (the one
	// whose SECCOMP_RET_DATA wins among equal actions). None means no
	// filter; no_new_privs is set anyway. Each filter must allow what the
	// helper does after installing it, which is only: prlimit64 (to give
	// back the RLIMIT_NOFILE Go raised, as os/exec does; a failure is
	// ignored), sendmsg on its status socket (with Listener), and the
	// target's execve; the helper's idle Go runtime threads may meanwhile
	// call futex, nanosleep, sched_yield and the like.
	Filters [][]bpf.Instruction
	// Flags are extra seccomp flags for the last filter, e.g.
	// seccomp.FlagLog or seccomp.FlagSpecAllow. TSYNC is always used where
	// allowed; NEW_LISTENER comes from Listener.
	Flags seccomp.Flag
	// Listener installs the last filter with seccomp.FlagNewListener (Linux
	// 5.0) and hands its fd to the caller as Process.Listener; with
	// FlagWaitKillableRecv too where the kernel has it (5.19), because a Go
	// target's preemption signals would otherwise abort every
	// notification. Without OnListener nobody serves the listener until
	// Start returns, so the last filter must then not send the target's
	// execve (or the helper's last syscalls) to it.
	Listener bool
	// OnListener, if set with Listener, is called with the listener as soon
	// as it arrives, before the target's execve, so that a supervisor can
	// serve the helper's last syscalls and the execve itself. From the call
	// on the file is the caller's, even if Start then fails; on success it
	// is also Process.Listener.
	OnListener func(listener *os.File)

	// Tracer, if set, makes the target a tracee of that tracer's thread:
	// the helper stops itself (SIGSTOP) before its filters, the tracer
	// thread seizes it (PTRACE_SEIZE, so the target and its auto-attached
	// children are seized tracees, whose group stops PTRACE_LISTEN can
	// hold), its own stops are handled inside Start, and Start returns
	// with the target stopped in the
	// PTRACE_EVENT_EXEC stop of its execve, before it has run one
	// instruction of its own. The target then has the options
	// PTRACE_O_TRACEEXEC, PTRACE_O_EXITKILL and PTRACE_O_TRACESYSGOOD, plus
	// PtraceOptions. See [Process] for how to wait for a traced target.
	Tracer *ptrace.Tracer
	// PtraceOptions are extra PTRACE_O_* options set on the target at its
	// exec stop, e.g. PTRACE_O_TRACESECCOMP, PTRACE_O_TRACECLONE,
	// PTRACE_O_TRACEFORK. Only PTRACE_O_TRACESECCOMP holds for the helper
	// too, from before it installs Filters: their TRACE verdicts on its
	// last syscalls (execve included) then stop it, and Start resumes it,
	// rather than failing with ENOSYS. Only with Tracer.
	PtraceOptions int
	// DirectTrace, with Tracer and nothing for the helper to do (no
	// Filters, no Listener, no new namespaces; otherwise it is ignored),
	// launches the target from the tracer thread itself (ForkExec with
	// PTRACE_TRACEME), which saves the helper's whole Go start. The
	// contract differs in one point: Start returns with the target stopped
	// before its first instruction, seized and with the options above, but
	// in a signal-delivery stop of SIGCONT (resume it with signal 0), not
	// in its PTRACE_EVENT_EXEC stop, whose ptrace event message and
	// syscall-exit stop of execve the caller then does not see. The
	// tracer thread sets no_new_privs on itself (a thread's attribute,
	// which it keeps), so that the target has it from before its execve,
	// as with the helper; every fd of this process above 2 is marked
	// close-on-exec, as with InProcess.
	DirectTrace bool

	// InProcess launches the target from a new OS thread of this process
	// instead of a re-executed helper, which saves a whole Go program's
	// start (see "Launching in process" in the package documentation).
	// The caller's supervisor must answer notifications from the launcher
	// ([IsLauncher]) with Continue. Start uses the helper anyway with a
	// Tracer, new namespaces, or filters that deny what the launch needs
	// ([CheckInProcess]). Every fd of this process above 2 is marked
	// close-on-exec, as the helper does for the target's.
	InProcess bool

	// Ready, if set, is called by Start after its own preparations and
	// before the target (or the helper that becomes it) exists, and Start
	// waits for it to return. A caller gives it a function that waits for
	// set-up it runs in parallel with Start's (catching the signals it
	// forwards, say) and that must be done before there is a target.
	Ready func()
}

// ready calls cfg.Ready, if any.
func (cfg *Config) ready() {
	if cfg.Ready != nil {
		cfg.Ready()
	}
}

// IDMap is one line of a user namespace's uid_map or gid_map: Size ids
// from ContainerID inside are HostID and on outside.
type IDMap = syscall.SysProcIDMap

// tracedOptions are the ptrace options of every traced target: exec
// events, death with the tracer, and syscall stops told apart from SIGTRAP
// (which ptrace.Inject needs).
const tracedOptions = unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACESYSGOOD

// Process is a started target.
//
// A traced target (Config.Tracer) must not be waited for with [Process.Wait]
// while it is attached: wait would take its ptrace stops. Its tracer waits
// for it on the tracer thread (ptrace.Wait(pid) inside Tracer.Do), resumes
// it from each stop, and either detaches it (PTRACE_DETACH, after which Wait
// works as for any target) or reaps it there and then calls
// [Process.Release].
type Process struct {
	// Pid is the target's process id (the helper's, which became the
	// target by execve).
	Pid int
	// Listener is the seccomp notification fd of the last filter, nil
	// unless Config.Listener. It belongs to the caller, who must close it;
	// it is close-on-exec.
	Listener *os.File
	// Traced says the target was started under Config.Tracer and is
	// stopped at its exec.
	Traced bool

	cmd *exec.Cmd // started by os/exec; else forked by this package (pid)

	mu   sync.Mutex // held while signalling, and while reaping pid
	done bool       // pid was reaped or released: never signal it
}

// Release frees what the Process holds of a target that was reaped
// elsewhere (by its tracer); Wait must not be called afterwards.
func (p *Process) Release() error {
	if p.cmd != nil {
		return p.cmd.Process.Release()
	}
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
	return nil
}

// Wait waits for the target to exit and returns its state; a non-zero exit
// or a signal is not an error (see [ExitCode]). Call it exactly once.
func (p *Process) Wait() (*State, error) {
	if p.cmd != nil {
		err := p.cmd.Wait()
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			return stateOf(ee.ProcessState), nil
		}
		if err != nil {
			return stateOf(p.cmd.ProcessState), fmt.Errorf("wait for %s: %w", p.cmd.Args[0], err)
		}
		return stateOf(p.cmd.ProcessState), nil
	}
	// Wait without reaping, then reap under the lock Signal takes: a
	// signal can then not reach another process that got the pid.
	for {
		var si unix.Siginfo
		err := unix.Waitid(unix.P_PID, p.Pid, &si, unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wait for pid %d: %w", p.Pid, err)
		}
		break
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st := &State{}
	for {
		_, err := syscall.Wait4(p.Pid, &st.status, 0, &st.rusage)
		if err == syscall.EINTR {
			continue
		}
		p.done = true
		if err != nil {
			return nil, fmt.Errorf("wait for pid %d: %w", p.Pid, err)
		}
		return st, nil
	}
}

// Signal sends sig to the target; os.ErrProcessDone once it was reaped.
func (p *Process) Signal(sig os.Signal) error {
	if p.cmd != nil {
		return p.cmd.Process.Signal(sig)
	}
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal %v: not a syscall.Signal", sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return os.ErrProcessDone
	}
	return unix.Kill(p.Pid, s)
}

// State is how a target ended: what os.ProcessState says, which Go
// makes only for processes that os.StartProcess started (and that costs
// sysgate's start a fork of its own: os asks once whether pidfds work by
// cloning a child).
type State struct {
	status syscall.WaitStatus
	rusage syscall.Rusage
}

// stateOf converts the state os/exec returns.
func stateOf(ps *os.ProcessState) *State {
	if ps == nil {
		return nil
	}
	st := &State{}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		st.status = ws
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
		st.rusage = *ru
	}
	return st
}

// Sys returns the wait status, as os.ProcessState.Sys does.
func (st *State) Sys() any { return st.status }

// SysUsage returns the resource usage (*syscall.Rusage), as
// os.ProcessState.SysUsage does.
func (st *State) SysUsage() any {
	ru := st.rusage
	return &ru
}

// Exited reports whether the target exited (rather than was killed).
func (st *State) Exited() bool { return st.status.Exited() }

// Success reports whether it exited with status 0.
func (st *State) Success() bool { return st.status.Exited() && st.status.ExitStatus() == 0 }

// ExitCode is the exit status, or -1 when it was killed by a signal, as
// os.ProcessState.ExitCode; see [ExitCode] for the shell's $?.
func (st *State) ExitCode() int {
	if !st.status.Exited() {
		return -1
	}
	return st.status.ExitStatus()
}

// String reads like os.ProcessState's: "exit status 1", "signal: killed".
func (st *State) String() string {
	switch ws := st.status; {
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		s := "signal: " + ws.Signal().String()
		if ws.CoreDump() {
			s += " (core dumped)"
		}
		return s
	}
	return fmt.Sprintf("wait status %#x", int(st.status))
}

// ExitCode returns the shell's $? for a finished target ([State], or an
// os.ProcessState from os/exec): its exit status, or 128 plus the number
// of the signal that killed it; -1 for nil or a state that is neither.
func ExitCode(st interface{ Sys() any }) int {
	switch s := st.(type) {
	case nil:
		return -1
	case *State:
		if s == nil {
			return -1
		}
	case *os.ProcessState:
		if s == nil {
			return -1
		}
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		return -1
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return -1
}

// Start runs cfg.Path under cfg.Filters and returns once the target's
// execve has succeeded, or with its error ("exec /nope: no such file or
// directory", an *os.PathError) or the helper's ("start /bin/ls: filter 2
// of 2: install seccomp filter: ..."), in which case nothing is left
// running and no fd is left open.
//
// Go cannot run code between fork and exec, so Start runs the current
// binary (/proc/self/exe) as a helper: [RunHelper] must be the first thing
// main (or TestMain) does. The helper locks its thread, sets no_new_privs,
// installs the filters with TSYNC, hands the listener over a socket
// (SCM_RIGHTS) and execs the target. The target stays in the caller's
// process group and session, so a terminal's signals reach it directly.
func Start(cfg *Config) (*Process, error) {
	if cfg.Path == "" {
		return nil, errors.New("start: no program path")
	}
	hc, err := cfg.helperConfig()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Path, err)
	}
	if cfg.Tracer == nil && cfg.PtraceOptions != 0 {
		return nil, fmt.Errorf("start %s: ptrace options without a tracer", cfg.Path)
	}
	if cfg.directTrace() {
		return startDirect(cfg, hc)
	}
	if cfg.launchInProcess() && launcherAllowed(hc.Filters) == nil {
		return startInProcess(cfg, hc)
	}
	cfg.ready()
	var trace *traceStart
	if cfg.Tracer != nil {
		trace = &traceStart{tracer: cfg.Tracer, options: tracedOptions | cfg.PtraceOptions}
	}
	cmd, listener, err := startHelper(hc, cfg.Dir, [3]*os.File{cfg.Stdin, cfg.Stdout, cfg.Stderr}, cfg.sysProcAttr(), cfg.OnListener, trace)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Op == "exec" {
			return nil, err // already "exec <path>: <why>"
		}
		return nil, fmt.Errorf("start %s: %w", cfg.Path, err)
	}
	return &Process{Pid: cmd.Process.Pid, Listener: listener, Traced: trace != nil, cmd: cmd}, nil
}

// helperConfig checks cfg and picks each filter's flags for this kernel.
func (cfg *Config) helperConfig() (*helperConfig, error) {
	if cfg.Flags&seccomp.FlagNewListener != 0 {
		return nil, errors.New("flag NEW_LISTENER: set Config.Listener instead")
	}
	if cfg.Listener && len(cfg.Filters) == 0 {
		return nil, errors.New("a listener needs a filter")
	}
	if cfg.Flags != 0 && len(cfg.Filters) == 0 {
		return nil, fmt.Errorf("flags %s need a filter", cfg.Flags)
	}
	for i, f := range cfg.Filters {
		if len(f) == 0 || len(f) > bpf.MaxInstructions {
			return nil, fmt.Errorf("filter %d of %d has %d instructions, the kernel takes 1 to %d", i+1, len(cfg.Filters), len(f), bpf.MaxInstructions)
		}
	}
	if err := features.HaveFilterFlag(cfg.Flags); err != nil {
		return nil, err
	}
	last := cfg.Flags
	if cfg.Listener {
		if err := features.HaveUserNotif(); err != nil {
			return nil, err
		}
		last |= seccomp.FlagNewListener
		if features.HaveWaitKillableRecv() == nil {
			last |= seccomp.FlagWaitKillableRecv
		}
	}

	if err := cfg.checkNamespaces(); err != nil {
		return nil, err
	}

	hc := &helperConfig{Mode: modeExec, MountPrivate: cfg.MountNS, Path: cfg.Path, Args: cfg.Args, Env: cfg.Env}
	if len(hc.Args) == 0 {
		hc.Args = []string{cfg.Path}
	}
	for i, prog := range cfg.Filters {
		flags := tsyncFlags()
		if i == len(cfg.Filters)-1 {
			flags = last | flags
			if flags&seccomp.FlagNewListener != 0 && flags&seccomp.FlagTSync != 0 && flags&seccomp.FlagTSyncESRCH == 0 {
				// The kernel refuses TSYNC with NEW_LISTENER unless
				// failures come back as ESRCH (5.7). TSYNC is hygiene
				// here, not safety: execve keeps the calling thread's
				// filters, so drop it.
				flags &^= seccomp.FlagTSync
			}
		}
		hc.Filters = append(hc.Filters, helperFilter{Prog: prog, Flags: uint32(flags)})
	}
	return hc, nil
}

// checkNamespaces checks the id maps: only with UserNS, each range
// non-empty and within the 32-bit ids (the kernel would say EINVAL).
func (cfg *Config) checkNamespaces() error {
	if !cfg.UserNS && (cfg.UIDMap != nil || cfg.GIDMap != nil) {
		return errors.New("uid or gid map without a user namespace (set UserNS)")
	}
	for _, m := range []struct {
		name string
		ids  []IDMap
	}{{"uid", cfg.UIDMap}, {"gid", cfg.GIDMap}} {
		for i, e := range m.ids {
			if e.Size <= 0 || e.ContainerID < 0 || e.HostID < 0 ||
				uint64(e.ContainerID)+uint64(e.Size) > 1<<32-1 || uint64(e.HostID)+uint64(e.Size) > 1<<32-1 {
				return fmt.Errorf("%s map line %d (%d %d %d): want a non-empty range of ids below 4294967295", m.name, i+1, e.ContainerID, e.HostID, e.Size)
			}
		}
		if m.ids != nil && !slices.ContainsFunc(m.ids, func(e IDMap) bool { return e.ContainerID == 0 }) {
			return fmt.Errorf("%s map maps no id to 0: the target starts as root of its user namespace", m.name)
		}
	}
	return nil
}

// sysProcAttr is the helper's clone flags and id maps, nil for none. The
// helper is cloned into the namespaces, so everything it does before its
// execve (reading its config, no_new_privs, the filters) happens inside;
// os/exec writes the id maps from this process before the helper runs.
func (cfg *Config) sysProcAttr() *syscall.SysProcAttr {
	if !cfg.UserNS && !cfg.MountNS {
		return nil
	}
	attr := &syscall.SysProcAttr{}
	if cfg.MountNS {
		attr.Cloneflags |= syscall.CLONE_NEWNS
	}
	if cfg.UserNS {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = cfg.UIDMap
		if attr.UidMappings == nil {
			attr.UidMappings = []IDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		}
		attr.GidMappings = cfg.GIDMap
		if attr.GidMappings == nil {
			attr.GidMappings = []IDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		}
		// The kernel takes a gid_map from a writer without CAP_SETGID
		// only once setgroups is denied (user_namespaces(7), "The
		// /proc/[pid]/setgroups file"); a privileged caller keeps it.
		attr.GidMappingsEnableSetgroups = haveCapability(unix.CAP_SETGID)
		// Become the namespace's root: a helper whose own uid is not
		// mapped would run as the overflow uid and lose every capability
		// at its execve (the kernel grants them to the namespace's uid 0,
		// capabilities(7)). os/exec does this after the maps are written.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: !attr.GidMappingsEnableSetgroups}
	}
	return attr
}

// haveCapability reports whether this thread has capability c in its
// effective set (capget(2); Go's threads share their credentials).
func haveCapability(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<(c%32)) != 0
}

// namespaceNames names the namespaces in attr for errors.
func namespaceNames(attr *syscall.SysProcAttr) string {
	switch {
	case attr.Cloneflags&syscall.CLONE_NEWUSER != 0 && attr.Cloneflags&syscall.CLONE_NEWNS != 0:
		return "user and mount namespaces"
	case attr.Cloneflags&syscall.CLONE_NEWUSER != 0:
		return "user namespace"
	}
	return "mount namespace"
}

// tsyncFlags is the flags every filter gets: TSYNC, so the helper's other
// threads are confined too until execve ends them, and TSYNC_ESRCH where
// the kernel has it, which TSYNC with NEW_LISTENER needs.
func tsyncFlags() seccomp.Flag {
	if features.HaveFilterFlag(seccomp.FlagTSync) != nil {
		return 0
	}
	if features.HaveFilterFlag(seccomp.FlagTSyncESRCH) != nil {
		return seccomp.FlagTSync
	}
	return seccomp.FlagTSync | seccomp.FlagTSyncESRCH
}

// Helper fds: the helper finds its config and status socket here.
const (
	configFD = 3
	statusFD = 4
)

// startHelper runs the helper with hc and waits for it to exec the target
// or fail. It returns the listener, if any, which it hands to onListener
// (if set) as soon as it arrives.
func startHelper(hc *helperConfig, dir string, stdio [3]*os.File, attr *syscall.SysProcAttr, onListener func(*os.File), trace *traceStart) (cmd *exec.Cmd, listener *os.File, err error) {
	config, err := configMemfd(hc.marshal())
	if err != nil {
		return nil, nil, err
	}
	defer config.Close()

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("status socket: %w", err)
	}
	status := fds[0]
	defer unix.Close(status)
	child := os.NewFile(uintptr(fds[1]), "sandbox-status")
	defer child.Close()

	cmd = &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{helperArg0},
		Env:         []string{helperEnv + "=" + helperEnvValue},
		Dir:         dir,
		ExtraFiles:  []*os.File{configFD - 3: config, statusFD - 3: child},
		SysProcAttr: attr,
	}
	// A nil *os.File in an io.Reader/io.Writer field is not a nil
	// interface; leave the field unset for /dev/null.
	if stdio[0] != nil {
		cmd.Stdin = stdio[0]
	}
	if stdio[1] != nil {
		cmd.Stdout = stdio[1]
	}
	if stdio[2] != nil {
		cmd.Stderr = stdio[2]
	}
	if trace != nil {
		listener, err = trace.start(cmd, status, hc, onListener, func() { child.Close(); config.Close() })
		return cmd, listener, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, startError(attr, err)
	}
	// The helper holds its own copies now; ours must go, or EOF never comes.
	child.Close()
	config.Close()

	listener, err = readStatus(status, hc, onListener)
	if err != nil {
		cmd.Process.Kill() // a helper that reported an error exits by itself
		cmd.Wait()
		return nil, nil, err
	}
	return cmd, listener, nil
}

// startError explains a failure to start the helper, which in new
// namespaces is most likely the kernel refusing them.
func startError(attr *syscall.SysProcAttr, err error) error {
	if attr == nil || attr.Cloneflags == 0 {
		return fmt.Errorf("start sandbox helper: %w", err)
	}
	why := ""
	switch {
	case errors.Is(err, unix.EPERM) && attr.Cloneflags&syscall.CLONE_NEWUSER == 0:
		why = " (a mount namespace needs CAP_SYS_ADMIN, or a user namespace too)"
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EUSERS):
		why = " (unprivileged user namespaces switched off? see user.max_user_namespaces, kernel.unprivileged_userns_clone, AppArmor's restrict_unprivileged_userns; or an id map this caller may not write)"
	case errors.Is(err, unix.EINVAL):
		why = " (user namespaces need CONFIG_USER_NS, Linux 3.8)"
	}
	return fmt.Errorf("start sandbox helper in new %s%s: %w", namespaceNames(attr), why, err)
}

// gotListener wraps a received listener fd, asks features about it (cheap
// and harmless, see features.ProbeListener, and done before anyone else
// may set its flags), and hands it to onListener.
func gotListener(fd int, onListener func(*os.File)) (f *os.File, handed bool) {
	features.ProbeListener(fd)
	f = os.NewFile(uintptr(fd), "seccomp-listener")
	if onListener != nil {
		onListener(f)
		return f, true
	}
	return f, false
}

// readStatus reads the helper's messages until EOF. An error message
// becomes the returned error; the helper then exits by itself.
func readStatus(status int, hc *helperConfig, onListener func(*os.File)) (listener *os.File, err error) {
	handed := false
	fail := func(err error) (*os.File, error) {
		if listener != nil && !handed {
			listener.Close()
		}
		return nil, err
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(status, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fail(fmt.Errorf("read sandbox helper status: %w", err))
		}
		if n == 0 && oobn == 0 { // EOF: the helper exec'd (or died)
			break
		}
		fd, err := rightsFD(oob[:oobn])
		if err != nil {
			return fail(err)
		}
		switch {
		case n == 1 && buf[0] == msgListener && fd >= 0 && listener == nil:
			listener, handed = gotListener(fd, onListener)
		case fd >= 0:
			unix.Close(fd)
			return fail(fmt.Errorf("unexpected fd from sandbox helper"))
		case n > 0 && buf[0] == msgError:
			return fail(helperError(buf[:n], hc.Path))
		default:
			return fail(fmt.Errorf("unexpected %d-byte message from sandbox helper", n))
		}
	}
	wantListener := hc.Mode == modeProbe
	for _, f := range hc.Filters {
		wantListener = wantListener || seccomp.Flag(f.Flags)&seccomp.FlagNewListener != 0
	}
	if wantListener && listener == nil {
		return fail(errors.New("sandbox helper exited without handing over the listener"))
	}
	return listener, nil
}

// rightsFD returns the one fd of an SCM_RIGHTS control message, or -1.
func rightsFD(oob []byte) (int, error) {
	if len(oob) == 0 {
		return -1, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return -1, fmt.Errorf("sandbox helper control message: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			return -1, fmt.Errorf("sandbox helper control message: %w", err)
		}
		fds = append(fds, got...)
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("sandbox helper sent %d fds, want 1", len(fds))
	}
	return fds[0], nil
}

// helperError rebuilds an error the helper reported.
func helperError(b []byte, path string) error {
	kind, errno, text, err := unmarshalError(b)
	if err != nil {
		return err
	}
	switch kind {
	case errKindExec:
		return &os.PathError{Op: "exec", Path: path, Err: remoteError{text, unix.Errno(errno), nil}}
	case errKindNotSupported:
		return remoteError{text, unix.Errno(errno), seccomp.ErrNotSupported}
	}
	return remoteError{text, unix.Errno(errno), nil}
}

// remoteError is an error reported by the helper: its text, and the errno
// and sentinel it wrapped, for errors.Is.
type remoteError struct {
	text     string
	errno    unix.Errno
	sentinel error
}

func (e remoteError) Error() string { return e.text }

func (e remoteError) Unwrap() []error {
	var errs []error
	if e.errno != 0 {
		errs = append(errs, e.errno)
	}
	if e.sentinel != nil {
		errs = append(errs, e.sentinel)
	}
	return errs
}

// configMemfd puts b in a sealed memfd the helper can read but nobody can
// change.
func configMemfd(b []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("sysgate-sandbox-config", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("config memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "sysgate-sandbox-config")
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("write config memfd: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal config memfd: %w", err)
	}
	return f, nil
}
