// Package runner runs a program under a policy: it compiles the policy,
// launches the target through the sandbox, serves the notifications the
// policy asks for, and reports, in one line each, the syscalls the policy
// killed (and, when asked, denied). It is what "sysgate run" does.
package runner

import (
	"context"
	"errors"

	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/features"
	"github.com/sysgate/sysgate/filter"
	"github.com/sysgate/sysgate/notify"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/ptrace"
	"github.com/sysgate/sysgate/sandbox"
	"github.com/sysgate/sysgate/seal"
	"github.com/sysgate/sysgate/syscalls"
)

// Options say what to run and how.
type Options struct {
	// Policy is the policy to run under; nil means the built-in default
	// (policies.Default), run from its program compiled ahead of time
	// (go generate) and parsed only if a report needs it.
	Policy *policy.Policy
	Arch   *syscalls.Arch // native arch to compile for; nil: this machine's
	// Log reports every syscall the policy denies with an errno too, not
	// only the ones it kills; the target goes on.
	Log bool

	Path   string   // resolved program path (exec.LookPath)
	Args   []string // argv, Args[0] included
	Env    []string
	Dir    string
	Stdin  *os.File
	Stdout *os.File
	Stderr *os.File

	// UserNS starts the target in a new user namespace (Linux 3.8) as its
	// root; UIDMap and GIDMap map its ids, nil: the caller's effective uid
	// and gid to 0. MountNS starts it in a new mount namespace with
	// private mounts. See sandbox.Config. A policy's mknod handler makes
	// the device nodes that a user namespace may not.
	UserNS         bool
	UIDMap, GIDMap []sandbox.IDMap
	MountNS        bool

	// Seal seals the target's system mappings ([vdso], [vvar], ...) with
	// mseal(2) (Linux 6.10) right after its exec, before it runs, then
	// lets it run untraced; see package seal. A policy's
	// "seal: [system-mappings]" asks for the same.
	Seal bool
	// SealBestEffort warns and runs unsealed where sealing is impossible
	// (no mseal, a failed injection) instead of refusing to run.
	SealBestEffort bool
	// SealFollowExecs keeps the target traced (exec, fork and clone events
	// only) to seal again at every exec in its process tree.
	SealFollowExecs bool

	// SUD runs a policy's from: rules with Syscall User Dispatch (Linux
	// 5.11) instead of instruction-pointer checks in the filter, where it
	// fits: the code the policy lets call is one contiguous range, and it
	// traps every call from anywhere else. Calls from the range then cost
	// what the filter costs without from: rules. The target stays traced
	// (fork, clone and exec events), and its descendants do not outlive
	// it. See sud_linux.go.
	SUD bool

	// Report receives sysgate's one-line reports ("sysgate: ..."); nil
	// means os.Stderr.
	Report io.Writer
}

// Result is how the target ended.
type Result struct {
	State *sandbox.State
	// ExitCode is the shell's $? for the target: its status, or 128+signal.
	// A target that sysgate killed for the policy reads as killed by SIGSYS,
	// as the kernel's own kill would.
	ExitCode int
	// Killed describes the syscall that got the target killed, if any.
	Killed string
}

// Prepare compiles the policy for running. Kill verdicts are compiled as
// user notifications, so that the supervisor can name the syscall and the
// rule before it kills the target (the kernel's own kill leaves no trace
// a parent can read); with Log, errno verdicts too, so that they can be
// reported before the errno is returned. The decision stays the policy's:
// the supervisor answers from the original policy.
//
// With notifyKills false the program keeps the policy's actions as they
// are (for a target that already runs under a filter with a listener: the
// kernel allows one listener per filter chain).
func Prepare(p *policy.Policy, arch *syscalls.Arch, log, notifyKills bool) (*filter.Program, error) {
	if arch == nil {
		arch = syscalls.Native()
	}
	native := arch.Family()
	if err := checkExecve(p, native); err != nil {
		return nil, err
	}
	if !notifyKills {
		return filter.Compile(p, native, filter.Options{})
	}
	return filter.Compile(reportedPolicy(p, log), native, filter.Options{})
}

// reportedPolicy is p with the verdicts sysgate reports turned into
// notifications (see [Prepare]).
func reportedPolicy(p *policy.Policy, log bool) *policy.Policy {
	q := *p
	q.Default = reported(p.Default, log)
	q.BadArch = reported(p.BadArch, log)
	q.Rules = make([]policy.Rule, len(p.Rules))
	for i, r := range p.Rules {
		r.Action = reported(r.Action, log)
		q.Rules[i] = r
	}
	q.BuildIndex()
	return &q
}

// reported maps an action to the one the compiled program uses.
func reported(a policy.Action, log bool) policy.Action {
	switch {
	case a.Kind == policy.KillProcess, a.Kind == policy.KillThread:
		return policy.Action{Kind: policy.Notify}
	case log && a.Kind == policy.Errno:
		return policy.Action{Kind: policy.Notify}
	}
	return a
}

// checkExecve refuses a policy under which the target could not even be
// started: the launcher's last act is execve.
func checkExecve(p *policy.Policy, native *syscalls.Arch) error {
	nr, ok := native.Lookup("execve")
	if !ok {
		return nil
	}
	a, rule := p.Decide(native.Audit, nr, [6]uint64{})
	if a.Kind == policy.Allow || a.Kind == policy.Log {
		return nil
	}
	by := "its default verdict"
	if rule >= 0 {
		by = "the rule at " + p.Rules[rule].Pos.String()
	}
	return fmt.Errorf("the policy gives execve %v (by %s): the program could not even be started", a, by)
}

// Run starts the target under the policy, serves its notifications,
// forwards the signals sysgate receives, and waits for it to end.
func Run(ctx context.Context, o Options) (*Result, error) {
	report := o.Report
	if report == nil {
		report = os.Stderr
	}
	if o.Arch == nil {
		o.Arch = syscalls.Native()
		if o.Arch == nil {
			return nil, errors.New("no seccomp ABI known for this machine")
		}
	}
	if o.Policy == nil && builtinProgram(o.Arch.Family(), o.Log) == nil {
		p, err := ParseDefault(o.Arch)
		if err != nil {
			return nil, err
		}
		o.Policy = p
	}
	if o.Policy != nil && o.Policy.HasFrom() {
		return runAreas(ctx, o, report)
	}
	if o.SUD {
		return nil, errors.New("--sud: the policy has no from: rules, which Syscall User Dispatch would carry out")
	}
	res, err := run(ctx, o, report, true)
	if errors.Is(err, unix.EBUSY) {
		if o.Policy == nil {
			p, perr := ParseDefault(o.Arch)
			if perr != nil {
				return nil, perr
			}
			o.Policy = p
		}
		// sysgate runs under a filter that has a listener already (an outer
		// sysgate, say): the kernel allows one per chain. Run with the
		// policy's own kill verdicts, which the kernel applies unnamed.
		fmt.Fprintf(report, "sysgate: this process already runs under a seccomp filter with a notification listener; kills will not be named and --log is off\n")
		res, err = run(ctx, o, report, false)
	}
	return res, err
}

func run(ctx context.Context, o Options, report io.Writer, notifyKills bool) (*Result, error) {
	s := &supervisor{p: o.Policy, report: report, log: o.Log, handlers: map[int]notify.Handler{}}
	var prog []bpf.Instruction
	if o.Policy == nil {
		// The built-in default, compiled ahead of time (Run checked that
		// it is there): parsed when a notification first needs it.
		prog = builtinProgram(o.Arch.Family(), o.Log)
		s.load = func() (*policy.Policy, error) { return ParseDefault(o.Arch) }
	} else {
		p, err := Prepare(o.Policy, o.Arch, o.Log && notifyKills, notifyKills)
		if err != nil {
			return nil, err
		}
		prog = p.Instructions
		for i, r := range o.Policy.Rules {
			if r.Action.Kind != policy.Notify {
				continue
			}
			h, err := notify.NewHandler(r.Handler, report)
			if err != nil {
				return nil, fmt.Errorf("rule at %v: %w", r.Pos, err)
			}
			s.handlers[i] = h
		}
	}
	needListener := false
	for _, ins := range prog {
		if ins.Class() == bpf.ClassRET && policy.ActionFromRet(ins.K).Kind == policy.Notify {
			needListener = true
		}
	}

	// Catch signals before the target exists so none is lost (Start
	// waits: cfg.Ready); forward them once it does.
	sigs := takeSignals()
	defer sigs.stop()

	cfg := &sandbox.Config{
		Path: o.Path, Args: o.Args, Env: o.Env, Dir: o.Dir,
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr,
		Filters:  [][]bpf.Instruction{prog},
		Listener: needListener,
		// Launch from a thread of sysgate, not a helper process, unless
		// the kernel applies kills itself: a kill on the launcher thread
		// would kill sysgate.
		InProcess: notifyKills,
		Ready:     sigs.wait,
	}
	o.namespaces(cfg)
	var serveDone chan error
	var listener *os.File
	// The supervisor serves until the target is gone, whatever happens to
	// ctx: a target blocked in a notified call waits for the answer.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	cfg.OnListener = func(l *os.File) {
		listener = l
		// Serve from the moment the filter exists: the launcher itself
		// runs under it until its execve.
		sup := &notify.Supervisor{Listener: l, Handler: notify.HandlerFunc(s.handle),
			ErrorLog: func(err error) { fmt.Fprintf(report, "sysgate: supervisor: %v\n", err) }}
		if len(s.handlers) == 0 {
			// Only kills and --log reports come here: each is a line
			// and a pidfd signal, never slow, and one worker is three
			// goroutines and four timers fewer to start.
			sup.Workers = 1
		}
		serveDone = make(chan error, 1)
		go func() { serveDone <- sup.Serve(sctx) }()
	}
	sealing, err := o.sealing(report)
	if err != nil {
		return nil, err
	}
	var tracer *ptrace.Tracer
	if sealing {
		tracer = ptrace.NewTracer()
		defer tracer.Close()
		cfg.Tracer = tracer
		if o.SealFollowExecs {
			cfg.PtraceOptions = seal.FollowOptions
		}
	}
	proc, err := sandbox.Start(cfg)
	if err == nil && tracer != nil {
		err = o.sealAtStart(tracer, proc, report)
	}
	if err != nil {
		cancel()
		if serveDone != nil {
			<-serveDone
		}
		if listener != nil {
			listener.Close()
		}
		if k := s.killedMsg(); k != "" {
			return nil, fmt.Errorf("%w; the launcher was killed: %s", err, k)
		}
		return nil, err
	}
	s.started.Store(true)
	s.mainPid = proc.Pid

	stopForwarding := forwardSignals(sigs.c, proc)
	if tracer != nil && o.SealFollowExecs {
		onSeal := func(r seal.Report, err error) error {
			if err == nil {
				return nil
			}
			if o.SealBestEffort {
				fmt.Fprintf(report, "sysgate: warning: pid %d runs unsealed after exec: %v\n", r.Pid, err)
				return nil
			}
			fmt.Fprintf(report, "sysgate: killed pid %d after exec: %v\n", r.Pid, err)
			return err
		}
		if ferr := tracer.Do(func() error { return seal.Follow(proc.Pid, onSeal) }); ferr != nil {
			fmt.Fprintf(report, "sysgate: following execs: %v\n", ferr)
		}
	}
	state, err := proc.Wait()
	stopForwarding()
	if serveDone != nil {
		// The listener hangs up once every task under the filter is gone;
		// descendants that outlive the target keep it open, so stop
		// serving now: their notified calls then fail with ENOSYS.
		cancel()
		<-serveDone
		listener.Close()
	}
	if err != nil {
		return nil, err
	}
	return s.result(state), nil
}

// signalCatcher catches the signals Run forwards, from a goroutine:
// signal.Notify and signal.Stop cost a round trip to the runtime's signal
// thread per signal (60-80 µs each on the CI VM, 0.6 ms for the ten), so
// catching runs in parallel with the launch, which waits for it before
// the target exists, and Run does not wait for the catching to stop.
type signalCatcher struct {
	c      chan os.Signal
	caught chan struct{}
}

// brokenPipe keeps SIGPIPE caught once Run has run: a closed stdout or
// stderr (sysgate run ... 2>&1 | head) must not kill sysgate while its
// target runs, and writes then fail with EPIPE instead. Caught, not
// ignored: an ignored signal would stay ignored in the target after exec.
var brokenPipe = make(chan os.Signal, 1)

func catchSignals() *signalCatcher {
	sc := &signalCatcher{c: make(chan os.Signal, 16), caught: make(chan struct{})}
	go func() {
		defer close(sc.caught)
		signal.Notify(brokenPipe, unix.SIGPIPE)
		signal.Notify(sc.c, forwarded...)
	}()
	return sc
}

// CatchSignals starts catching, now, the signals Run forwards to its
// target, for the next Run to take over. The catching costs a round trip
// to the runtime's signal thread per signal: called first thing, it
// overlaps with the caller's flag parsing and policy loading instead of
// delaying the target's start. A signal that arrives before Run waits for
// it and goes to the target once it runs.
func CatchSignals() {
	early.Lock()
	defer early.Unlock()
	if early.sc == nil {
		early.sc = catchSignals()
	}
}

// early is the catcher CatchSignals started, until a Run takes it.
var early struct {
	sync.Mutex
	sc *signalCatcher
}

// takeSignals returns the catcher CatchSignals started, or a new one.
func takeSignals() *signalCatcher {
	early.Lock()
	defer early.Unlock()
	sc := early.sc
	early.sc = nil
	if sc == nil {
		sc = catchSignals()
	}
	return sc
}

// wait returns once the signals are caught.
func (sc *signalCatcher) wait() { <-sc.caught }

// stop stops catching the forwarded signals, in the background: one that
// arrives meanwhile goes to the channel, which nobody reads any more.
func (sc *signalCatcher) stop() {
	go func() {
		<-sc.caught
		signal.Stop(sc.c)
	}()
}

// forwardSignals passes the signals arriving on sigs to the target until
// the returned function is called.
func forwardSignals(sigs <-chan os.Signal, proc *sandbox.Process) (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				proc.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

// result is how the target ended. A target sysgate killed for the policy
// reads as killed by SIGSYS, as the kernel's own kill would; a SIGSYS
// death sysgate did not cause is said in one line.
func (s *supervisor) result(state *sandbox.State) *Result {
	res := &Result{State: state, ExitCode: sandbox.ExitCode(state), Killed: s.killedMsg()}
	switch {
	case res.Killed != "" && s.killedMain.Load():
		res.ExitCode = 128 + int(unix.SIGSYS)
	case res.ExitCode == 128+int(unix.SIGSYS) && res.Killed == "":
		fmt.Fprintf(s.report, "sysgate: the target was killed by SIGSYS: a seccomp kill verdict of an enclosing filter, or a signal sent to it\n")
	}
	return res
}

// namespaces copies the namespace options into cfg.
func (o *Options) namespaces(cfg *sandbox.Config) {
	cfg.UserNS, cfg.UIDMap, cfg.GIDMap, cfg.MountNS = o.UserNS, o.UIDMap, o.GIDMap, o.MountNS
}

// sealing says whether to seal: asked by the options or the policy, and
// possible (mseal exists) or required.
func (o *Options) sealing(report io.Writer) (bool, error) {
	if !o.Seal && (o.Policy == nil || !slices.Contains(o.Policy.Seal, policy.SealSystemMappings)) {
		return false, nil
	}
	err := features.HaveMseal()
	switch {
	case err == nil:
		return true, nil
	case o.SealBestEffort:
		fmt.Fprintf(report, "sysgate: warning: cannot seal the system mappings, running unsealed: mseal(2) needs Linux 6.10: %v\n", err)
		return false, nil
	}
	return false, fmt.Errorf("seal system mappings: mseal(2) needs Linux 6.10: %w (--seal=best-effort runs unsealed)", err)
}

// sealNow seals the system mappings of pid, a stopped tracee, and says
// what could not be sealed; with best effort a failure is a warning.
func (o *Options) sealNow(pid int, report io.Writer) error {
	r, err := seal.SealSystemMappings(pid)
	for _, m := range r.Mappings {
		if errors.Is(m.Err, seal.ErrNotAVMA) {
			fmt.Fprintf(report, "sysgate: %s cannot be sealed from user space (%v); %s\n", m.Name, m.Err, m.Advice)
		}
	}
	if err != nil && o.SealBestEffort {
		fmt.Fprintf(report, "sysgate: warning: running unsealed: %v\n", err)
		return nil
	}
	return err
}

// sealAtStart seals the target, stopped at its exec, and detaches it unless
// execs are followed. On failure (without best effort) the target, which
// has not run, is killed and reaped.
func (o *Options) sealAtStart(tracer *ptrace.Tracer, proc *sandbox.Process, report io.Writer) error {
	var reaped bool
	err := tracer.Do(func() error {
		err := o.sealNow(proc.Pid, report)
		if err != nil {
			ptrace.Kill(proc.Pid)
			reaped = true
			return err
		}
		if o.SealFollowExecs {
			return nil
		}
		if err := unix.PtraceDetach(proc.Pid); err != nil {
			return fmt.Errorf("detach after sealing: %w", err)
		}
		return nil
	})
	if err != nil && reaped {
		proc.Release()
	}
	return err
}

// forwarded are the signals sysgate passes on to the target. The target
// shares sysgate's process group, so a terminal's ^C reaches both; a
// second SIGINT from sysgate is harmless for the programs that die of
// the first, and it is what makes "kill -INT <sysgate>" work.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGALRM, unix.SIGWINCH, unix.SIGCONT, unix.SIGTSTP}

type supervisor struct {
	// p is the policy the supervisor answers from; with load set, it is
	// parsed by the first call of policy().
	p          *policy.Policy
	load       func() (*policy.Policy, error)
	loadOnce   sync.Once
	loadErr    error
	report     io.Writer
	log        bool
	started    atomic.Bool
	mainPid    int
	killedMain atomic.Bool
	regional   bool // the policy has from: rules: decide with the caller's memory map

	// handlers serve the policy's notify rules, by rule index.
	handlers map[int]notify.Handler

	mu     sync.Mutex
	killed string
}

// policy returns the policy, parsing it first if it was left for later.
func (s *supervisor) policy() (*policy.Policy, error) {
	s.loadOnce.Do(func() {
		if s.p == nil && s.load != nil {
			s.p, s.loadErr = s.load()
		}
	})
	return s.p, s.loadErr
}

func (s *supervisor) killedMsg() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.killed
}

// handle answers one notified call from the original policy's verdict.
func (s *supervisor) handle(ctx context.Context, r *notify.Request) notify.Response {
	if sandbox.IsLauncher(r.Pid) {
		return notify.Continue() // sysgate's own launcher thread, under the filter until it ends
	}
	a, rule, err := s.decide(r)
	if err != nil {
		return notify.Errno(syscall.ENOSYS) // the caller is gone, or its map unreadable
	}
	switch a.Kind {
	case policy.Trap:
		return s.trapUnknown(r)
	case policy.Trace:
		return notify.Errno(syscall.ENOSYS) // as the kernel does with no tracer attached
	case policy.KillProcess, policy.KillThread:
		msg := s.describe(r, a, rule)
		tgid := s.kill(r)
		s.mu.Lock()
		if s.killed == "" {
			s.killed = msg
		}
		s.mu.Unlock()
		if tgid == s.mainPid {
			s.killedMain.Store(true)
		}
		fmt.Fprintf(s.report, "sysgate: killed %s\n", msg)
		return notify.Errno(syscall.EPERM) // never seen: the caller is dead
	case policy.Errno:
		if s.log && s.started.Load() {
			fmt.Fprintf(s.report, "sysgate: denied %s\n", s.describe(r, a, rule))
		}
		return notify.Errno(syscall.Errno(a.Value))
	case policy.Notify:
		if h, ok := s.handlers[rule]; ok {
			return h.Handle(ctx, r)
		}
		// The default or bad-arch verdict is notify: audit and continue.
		if s.started.Load() {
			fmt.Fprintf(s.report, "sysgate: notify %s: continued\n", s.describe(r, a, rule))
		}
		return notify.Continue()
	}
	return notify.Continue()
}

// kill kills the thread group of the caller: SECCOMP_RET_KILL_PROCESS
// semantics (a kill-thread verdict kills the process too: sysgate cannot
// kill one thread of another process without SIGKILL reaching all of it).
// The pidfd is opened, then the notification re-checked, so the signal
// cannot reach a recycled pid.
func (s *supervisor) kill(r *notify.Request) int {
	tgid := tgidOf(r.Pid)
	if tgid <= 0 {
		return 0
	}
	fd, err := unix.PidfdOpen(tgid, 0)
	if err != nil {
		return tgid
	}
	defer unix.Close(fd)
	if r.Valid() != nil {
		return tgid
	}
	unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	return tgid
}

// tgidOf returns the process (thread group) of thread tid, 0 when it is gone.
func tgidOf(tid int) int { return statusField(tid, "Tgid:") }

// statusField reads a number field of /proc/PID/status ("Tgid:",
// "PPid:"), 0 when it cannot.
func statusField(pid int, key string) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// describe renders a call and the rule that decided it in one line:
// "pid 12 (ls): mount(0x0, ...) on x86_64: errno EPERM by default.yaml:31:5".
func (s *supervisor) describe(r *notify.Request, a policy.Action, rule int) string {
	p, err := s.policy()
	if err != nil {
		return fmt.Sprintf("pid %d: syscall %d on arch %#x: %v by the built-in policy, which could not be parsed: %v", r.Pid, r.Nr, r.Arch, a, err)
	}
	arch, allowed := p.Surface(r.Arch, r.Nr)
	name := fmt.Sprintf("syscall %d", r.Nr)
	archName := fmt.Sprintf("arch %#x", r.Arch)
	if arch != nil {
		archName = arch.Name
		if n, ok := arch.SyscallName(r.Nr); ok {
			name = n
		}
	}
	args := make([]string, 6)
	for i, v := range r.Args {
		args[i] = "0x" + strconv.FormatUint(v, 16)
	}
	comm, _ := os.ReadFile("/proc/" + strconv.Itoa(r.Pid) + "/comm")
	by := "the default verdict (" + p.File + ")"
	switch {
	case rule >= 0:
		by = "rule " + p.Rules[rule].Pos.String()
		if c := p.Rules[rule].Comment; c != "" {
			by += ": " + c
		}
	case !allowed:
		by = "the policy, which does not allow the " + archName + " ABI"
	}
	return fmt.Sprintf("pid %d (%s): %s(%s) on %s: %v by %s", r.Pid, strings.TrimSpace(string(comm)), name, strings.Join(args, ", "), archName, a, by)
}

// prefixWriter prefixes each record (one Write) with prefix, so output
// that is not sysgate's own reads like its other reports.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
