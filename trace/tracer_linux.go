package trace

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/ptrace"
	"github.com/sysgate/sysgate/sandbox"
	"github.com/sysgate/sysgate/syscalls"
)

// Options configure a trace.
type Options struct {
	// Select is the syscalls to show; nil means all (strace's default).
	Select *Selection
	// NoSeccomp turns seccomp-assisted tracing off: the tracer then stops
	// at the entry and exit of every syscall (PTRACE_SYSCALL) and picks the
	// selected ones itself. Attached processes are always traced so.
	NoSeccomp bool
	// Follow traces children, threads and execs (strace -f). Seccomp-
	// assisted tracing implies it: children inherit the filter, and their
	// traced syscalls would fail with ENOSYS without a tracer.
	Follow bool
	// StrSize is -s: bytes of strings and buffers shown (default 32).
	StrSize int
	// FDPaths is -y: show what file descriptors refer to.
	FDPaths bool
	// Printer receives the calls and events; required.
	Printer *Printer
	// LineBuffered flushes the output whenever the tracer waits (for a
	// terminal); otherwise it is flushed when its buffer fills and at the end.
	LineBuffered bool
	// SameCPU runs the tracer thread and the launched program on one CPU
	// once stops come often (over 2000 a second): a ptrace stop then costs
	// a context switch instead of a cross-CPU wake-up (several times
	// cheaper on VMs). From then on the program sees an affinity of one CPU
	// and its threads share that CPU.
	SameCPU bool
	// Notices receives one-line notes ("sysgate trace: ...") such as the
	// fallback without seccomp; nil discards them.
	Notices io.Writer
}

// Result is how a trace ended.
type Result struct {
	// ExitCode is the launched program's shell status (128+signal if a
	// signal killed it), or 0 after a detach.
	ExitCode int
	// Seccomp says the trace was seccomp-assisted.
	Seccomp bool
	// Stops counts the ptrace stops the tracer handled; Calls the syscalls
	// it decoded. Their ratio is the cost of the trace.
	Stops, Calls int
	// SeccompFirst is the kernel's stop order as probed on the first traced
	// syscall: false means the seccomp stop comes after the syscall-entry
	// stop (Linux 4.8 on), true the older order. Valid with Seccomp.
	SeccompFirst bool
}

// thread is the tracer's state for one traced thread.
type thread struct {
	pid    int
	call   Call
	inCall bool // the entry of call was seen, its exit not yet
	fresh  bool // auto-attached, its first stop not yet seen
}

type session struct {
	opts    Options
	pr      *Printer
	dec     Decoder
	mem     procMem
	seccomp bool
	seized  bool
	attach  bool

	threads map[int]*thread
	leader  int
	exit    int
	res     Result

	// sel is, per AUDIT_ARCH and ABI, the selected numbers.
	selNative, selI386, selX32 []bool
	all                        bool
	probed                     bool

	pinned  bool      // tracer and tracees share one CPU
	lastPin time.Time // when the last 256 stops began

	mu   sync.Mutex // guards pids for the cancel goroutine
	pids []int
	stop atomic.Bool
	gone atomic.Bool
}

// Launch starts cfg under the tracer and traces it to its end. cfg.Tracer,
// cfg.PtraceOptions and cfg.DirectTrace are set by Launch, so a cfg without
// filters or namespaces is launched from the tracer thread, without the
// sandbox helper. With seccomp, the filter is put into the target where
// sandbox.Start leaves it, before its first instruction, by injection (see
// [InstallFilter]), so that the launcher's own last syscalls are not
// traced; the launched program's execve is printed from cfg.
func Launch(ctx context.Context, cfg sandbox.Config, opts Options) (*Result, error) {
	s := newSession(opts)
	s.seccomp = !opts.NoSeccomp
	native := syscalls.Native()
	// Build the decoding tables and compile the filter while the launcher
	// starts the program: they are needed only from its first stop on.
	type compiled struct {
		prog []bpf.Instruction
		err  error
	}
	filterc := make(chan compiled, 1)
	go func() {
		for _, a := range append([]*syscalls.Arch{native}, native.SubArches()...) {
			abiFor(a)
		}
		var c compiled
		if s.seccomp {
			c.prog, c.err = Filter(s.selection(), native)
		}
		filterc <- c
	}()
	follow := opts.Follow || s.seccomp
	popts := unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL
	if s.seccomp {
		popts |= unix.PTRACE_O_TRACESECCOMP
	}
	if follow {
		popts |= unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK
	}
	tr := ptrace.NewTracer()
	defer tr.Close()
	// Launched from the tracer thread itself (no helper), unless cfg asks
	// for what only the helper does.
	cfg.Tracer, cfg.PtraceOptions, cfg.DirectTrace = tr, popts, true
	proc, err := sandbox.Start(&cfg)
	if err != nil {
		return nil, err
	}
	defer proc.Release()
	pid := proc.Pid
	s.leader = pid
	s.pr.SetFirst(pid)
	s.addThread(pid)
	stopWatch := s.watch(ctx)
	defer stopWatch()
	err = tr.Do(func() error {
		f := <-filterc
		if s.seccomp {
			if f.err != nil {
				unix.Kill(pid, unix.SIGKILL)
				s.loop()
				return f.err
			}
			if err := InstallFilter(pid, f.prog); err != nil {
				s.seccomp = false
				s.notef("cannot install the seccomp filter (%v); tracing every syscall instead", err)
			}
		}
		s.execLine(pid, cfg)
		if err := s.resume(s.threads[pid], 0); err != nil {
			return err
		}
		return s.loop()
	})
	s.pr.Flush()
	s.res.Seccomp = s.seccomp
	s.res.ExitCode = s.exit
	return &s.res, err
}

// Attach seizes every thread of pid (PTRACE_SEIZE) and traces it until it
// ends or ctx is cancelled, when it detaches, leaving the process running.
// No seccomp filter can be put into a running process, so the tracer stops
// at every syscall; Launch is much cheaper.
func Attach(ctx context.Context, pid int, opts Options) (*Result, error) {
	s := newSession(opts)
	s.attach, s.seized = true, true
	s.leader = pid
	s.pr.SetFirst(pid)
	popts := unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEEXEC
	if opts.Follow {
		popts |= unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK
	}
	tr := ptrace.NewTracer()
	defer tr.Close()
	stopWatch := s.watch(ctx)
	defer stopWatch()
	err := tr.Do(func() error {
		tids, err := tasks(pid)
		if err != nil {
			return err
		}
		for _, tid := range tids {
			if err := seize(tid, popts); err != nil {
				if tid == pid {
					return fmt.Errorf("attach to %d: %w", pid, err)
				}
				continue // the thread ended meanwhile
			}
			s.addThread(tid).fresh = true
		}
		for tid := range s.threads {
			// Make each thread stop once (PTRACE_EVENT_STOP), so that it
			// can be resumed with PTRACE_SYSCALL.
			ptraceReq(unix.PTRACE_INTERRUPT, tid, 0)
		}
		return s.loop()
	})
	s.pr.Flush()
	s.res.ExitCode = s.exit
	return &s.res, err
}

func newSession(opts Options) *session {
	s := &session{opts: opts, pr: opts.Printer, threads: map[int]*thread{}}
	s.dec = Decoder{StrSize: opts.StrSize, FDPaths: opts.FDPaths, Mem: &s.mem}
	sel := s.selection()
	s.all = sel.IsAll()
	native := syscalls.Native()
	s.selNative = sel.Numbers(native)
	s.selI386 = sel.Numbers(syscalls.I386)
	s.selX32 = sel.Numbers(syscalls.X32)
	if opts.Follow || !opts.NoSeccomp {
		s.pr.PidPrefix = true
	}
	return s
}

func (s *session) selection() *Selection {
	if s.opts.Select == nil {
		return All()
	}
	return s.opts.Select
}

func (s *session) notef(format string, a ...any) {
	if s.opts.Notices != nil {
		fmt.Fprintf(s.opts.Notices, "sysgate trace: "+format+"\n", a...)
	}
}

func (s *session) addThread(pid int) *thread {
	t := &thread{pid: pid}
	s.threads[pid] = t
	s.mu.Lock()
	s.pids = append(s.pids, pid)
	s.mu.Unlock()
	return t
}

func (s *session) dropThread(pid int) {
	delete(s.threads, pid)
	s.mu.Lock()
	for i, p := range s.pids {
		if p == pid {
			s.pids = append(s.pids[:i], s.pids[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
}

// watch ends the trace when ctx is done: launched tracees are killed (they
// have PTRACE_O_EXITKILL anyway), attached ones detached. The tracer thread
// sleeps in wait4, so for a detach it is woken by a SIGURG sent to one
// tracee, which it takes back before detaching.
func (s *session) watch(ctx context.Context) func() {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		s.stop.Store(true)
		s.mu.Lock()
		pids := append([]int(nil), s.pids...)
		s.mu.Unlock()
		for _, p := range pids {
			if s.attach {
				unix.Tgkill(s.leader, p, unix.SIGURG)
				break
			}
			unix.Kill(p, unix.SIGKILL)
		}
	}()
	return func() { close(done) }
}

// execLine prints the launched program's execve, which happened before the
// filter was in place.
func (s *session) execLine(pid int, cfg sandbox.Config) {
	if !s.selection().Has("execve") {
		return
	}
	c := &s.threads[pid].call
	c.Reset(pid, syscalls.Native(), 0, [6]uint64{})
	c.Name = "execve"
	c.sig = signatures()["execve"]
	c.text = appendQuoted(c.text, []byte(cfg.Path), 0)
	c.ends = append(c.ends, len(c.text))
	c.text = append(c.text, '[')
	args := cfg.Args
	if len(args) == 0 {
		args = []string{cfg.Path}
	}
	for i, a := range args {
		if i > 0 {
			c.text = append(c.text, ", "...)
		}
		if i >= s.dec.strSize() {
			c.text = append(c.text, "..."...)
			break
		}
		if len(a) > s.dec.strSize() {
			c.text = append(appendQuoted(c.text, []byte(a[:s.dec.strSize()]), 0), "..."...)
		} else {
			c.text = appendQuoted(c.text, []byte(a), 0)
		}
	}
	c.text = append(c.text, ']')
	c.ends = append(c.ends, len(c.text))
	c.text = append(c.text, fmt.Sprintf("/* %d vars */", len(cfg.Env))...)
	c.ends = append(c.ends, len(c.text))
	c.Entry, c.Exit, c.Done = time.Now(), time.Now(), true
	c.ret = append(c.ret[:0], '0')
	s.res.Calls++
	s.pr.Call(c)
}

// resume restarts t: PTRACE_SYSCALL when the tracer needs the next syscall
// stop (the exit of a call it decodes, or every stop without seccomp),
// PTRACE_CONT otherwise, so that only the filter's TRACE verdicts stop it.
func (s *session) resume(t *thread, sig int) error {
	var err error
	if t.inCall || !s.seccomp {
		err = unix.PtraceSyscall(t.pid, sig)
	} else {
		err = unix.PtraceCont(t.pid, sig)
	}
	if err == unix.ESRCH {
		return nil // killed meanwhile: its exit is coming
	}
	return err
}

// selected reports whether the syscall of info is in the selection.
func (s *session) selected(audit uint32, nr uint64) bool {
	if s.all {
		return true
	}
	var tab []bool
	switch {
	case audit == syscalls.I386.Audit:
		tab = s.selI386
	case nr&0x40000000 != 0 && audit == syscalls.X32.Audit:
		tab, nr = s.selX32, nr&^0x40000000
	default:
		tab = s.selNative
	}
	return nr < uint64(len(tab)) && tab[nr]
}

func archOf(audit uint32, nr uint64) *syscalls.Arch {
	switch {
	case audit == syscalls.I386.Audit:
		return syscalls.I386
	case audit == syscalls.X32.Audit && nr&0x40000000 != 0 && nr != 0xffffffffffffffff:
		return syscalls.X32
	}
	return syscalls.Native()
}

// loop takes the stops of every tracee until none is left.
func (s *session) loop() error {
	var ws unix.WaitStatus
	for len(s.threads) > 0 {
		if s.opts.LineBuffered {
			if pid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOHANG, nil); err == nil && pid > 0 {
				if err := s.handle(pid, ws); err != nil {
					return err
				}
				continue
			}
			s.pr.Flush()
		}
		pid, err := wait4Raw(&ws)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if err == unix.ECHILD {
				return nil
			}
			return fmt.Errorf("wait for tracees: %w", err)
		}
		if err := s.handle(pid, ws); err != nil {
			return err
		}
	}
	return nil
}

const (
	stopSeccomp = int(unix.SIGTRAP) | unix.PTRACE_EVENT_SECCOMP<<8
	stopSyscall = int(unix.SIGTRAP) | 0x80
)

// handle deals with one wait status.
func (s *session) handle(pid int, ws unix.WaitStatus) error {
	s.res.Stops++
	if s.res.Stops&255 == 0 && s.opts.SameCPU && !s.pinned {
		s.maybePin()
	}
	t := s.threads[pid]
	if t == nil {
		// A new child whose first stop beat its parent's event.
		t = s.addThread(pid)
		t.fresh = true
	}
	switch {
	case ws.Exited(), ws.Signaled():
		s.ended(t, ws)
		return nil
	case !ws.Stopped():
		return nil
	}
	if s.stop.Load() && s.attach {
		return s.detachAll(t, ws)
	}
	switch status := int(ws) >> 8; {
	case status == stopSeccomp:
		return s.seccompStop(t)
	case status == stopSyscall:
		return s.syscallStop(t)
	case status>>8 == unix.PTRACE_EVENT_STOP:
		sig := ws.StopSignal()
		if t.fresh {
			t.fresh = false
		}
		if sig == unix.SIGSTOP || sig == unix.SIGTSTP || sig == unix.SIGTTIN || sig == unix.SIGTTOU {
			// A group stop: stay stopped until SIGCONT, still traced.
			s.pr.Stopped(pid, signalName(int(sig)))
			return ignoreESRCH(ptraceReq(unix.PTRACE_LISTEN, pid, 0))
		}
		return s.resume(t, 0)
	case status>>8 == unix.PTRACE_EVENT_EXEC:
		return s.execStop(t)
	case status>>8 != 0:
		// Fork, vfork, clone events: the child is attached already and
		// reports its own first stop.
		return s.resume(t, 0)
	}
	sig := int(ws.StopSignal())
	if t.fresh && sig == int(unix.SIGSTOP) {
		// The SIGSTOP an auto-attached (not seized) child starts with.
		t.fresh = false
		return s.resume(t, 0)
	}
	t.fresh = false
	var si unix.Siginfo
	if err := getSiginfo(pid, &si); err != nil {
		if err == unix.EINVAL {
			// A group stop of a tracee not seized: it cannot be kept
			// stopped and still traced, so it goes on (as strace did
			// before PTRACE_SEIZE).
			s.pr.Stopped(pid, signalName(sig))
			return s.resume(t, 0)
		}
		return s.resume(t, sig)
	}
	s.pr.Signal(pid, signalName(sig), siginfoText(&si))
	return s.resume(t, sig)
}

func ignoreESRCH(err error) error {
	if err == unix.ESRCH {
		return nil
	}
	return err
}

// seccompStop is the filter's TRACE verdict: decode the entry, then ask
// for the exit stop with PTRACE_SYSCALL.
func (s *session) seccompStop(t *thread) error {
	info, err := ptrace.GetSyscallInfo(t.pid)
	if err != nil {
		return s.resume(t, 0)
	}
	if !s.selected(info.Arch, info.Nr) {
		return s.resume(t, 0) // an inherited filter of another trace
	}
	s.enter(t, info)
	return s.resume(t, 0)
}

// syscallStop is an entry or exit stop: the exit of a call seen at its
// seccomp stop, or any stop without seccomp.
func (s *session) syscallStop(t *thread) error {
	info, err := ptrace.GetSyscallInfo(t.pid)
	if err != nil {
		return s.resume(t, 0)
	}
	switch info.Op {
	case ptrace.OpEntry:
		if s.seccomp {
			// Seccomp stop first, then this entry stop: the pre-4.8
			// order. PTRACE_SYSCALL once more for the exit.
			if !s.probed {
				s.probed, s.res.SeccompFirst = true, true
			}
			return unix.PtraceSyscall(t.pid, 0)
		}
		if s.selected(info.Arch, info.Nr) {
			s.enter(t, info)
		} else {
			t.inCall = false
		}
		return unix.PtraceSyscall(t.pid, 0)
	case ptrace.OpExit:
		if s.seccomp && !s.probed {
			s.probed = true
		}
		if t.inCall {
			s.leave(t, info.Rval)
		}
	}
	return s.resume(t, 0)
}

func (s *session) enter(t *thread, info *ptrace.SyscallInfo) {
	if t.inCall {
		// The previous call never returned (a restart, an exec that
		// replaced the thread): show it unfinished.
		s.unfinished(t)
	}
	c := &t.call
	c.Reset(t.pid, archOf(info.Arch, info.Nr), uint32(info.Nr), info.Args)
	c.Entry = time.Now()
	s.dec.Enter(c)
	t.inCall = true
}

func (s *session) leave(t *thread, rval int64) {
	c := &t.call
	c.Exit = time.Now()
	c.Ret, c.Done = rval, true
	s.dec.Leave(c)
	t.inCall = false
	s.res.Calls++
	s.pr.Call(c)
}

// unfinished prints t's call that will never return ("exit(0) = ?").
func (s *session) unfinished(t *thread) {
	t.call.Done = false
	s.dec.Leave(&t.call)
	t.inCall = false
	s.res.Calls++
	s.pr.Call(&t.call)
}

// execStop is PTRACE_EVENT_EXEC. An exec from a thread other than the
// leader gives the leader's pid to the exec'ing thread: its state moves
// there and the old leader's pending call is gone.
func (s *session) execStop(t *thread) error {
	former, err := unix.PtraceGetEventMsg(t.pid)
	if err == nil && int(former) != t.pid {
		if old := s.threads[int(former)]; old != nil {
			if t.inCall {
				s.unfinished(t) // the leader's call never returns
			}
			s.pr.Note(t.pid, fmt.Sprintf("superseded by execve in pid %d", former))
			t.call, t.inCall = old.call, old.inCall
			t.call.Pid = t.pid
			s.dropThread(int(former))
		}
	}
	return s.resume(t, 0)
}

// ended handles a thread's end: its last call (exit, exit_group) is
// printed unfinished, then "+++ exited with N +++".
func (s *session) ended(t *thread, ws unix.WaitStatus) {
	if t.inCall {
		s.unfinished(t)
	}
	if ws.Exited() {
		s.pr.Exited(t.pid, ws.ExitStatus())
		if t.pid == s.leader {
			s.exit = ws.ExitStatus()
		}
	} else {
		s.pr.Killed(t.pid, signalName(int(ws.Signal())), ws.CoreDump())
		if t.pid == s.leader {
			s.exit = 128 + int(ws.Signal())
		}
	}
	s.dropThread(t.pid)
}

// detachAll ends an attached trace: the thread that stopped is detached
// now (taking back the SIGURG that woke the tracer), the others are
// interrupted and detached at their next stop.
func (s *session) detachAll(t *thread, ws unix.WaitStatus) error {
	if !s.gone.Load() {
		s.gone.Store(true)
		for pid := range s.threads {
			if pid != t.pid {
				ptraceReq(unix.PTRACE_INTERRUPT, pid, 0)
			}
		}
	}
	// Deliver the signal of a signal-delivery stop, but for the SIGURG that
	// woke the tracer and a SIGSTOP. A syscall stop reads as signal
	// SIGTRAP|0x80 and an event stop has the event above it: neither is a
	// signal, and PTRACE_DETACH with 0x85 fails (EIO), which left the
	// tracee traced in its syscall stop.
	sig := 0
	if stop := int(ws) >> 8; stop > 0 && stop < 0x80 && unix.Signal(stop) != unix.SIGURG && unix.Signal(stop) != unix.SIGSTOP {
		sig = stop
	}
	if err := ptraceReq(unix.PTRACE_DETACH, t.pid, uintptr(sig)); err != nil && err != unix.ESRCH {
		return fmt.Errorf("detach from %d: %w", t.pid, err)
	}
	s.dropThread(t.pid)
	return nil
}

// InstallFilter puts prog into the stopped tracee pid as a seccomp filter,
// by injecting seccomp(SECCOMP_SET_MODE_FILTER) after writing the program
// below its stack pointer. The tracee must have no_new_privs (the sandbox
// launcher sets it) or CAP_SYS_ADMIN, and be an x86_64 process stopped at
// a stop ptrace.Inject works from (the stop sandbox.Start leaves it in).
func InstallFilter(pid int, prog []bpf.Instruction) error {
	info, err := ptrace.GetSyscallInfo(pid)
	if err != nil {
		return err
	}
	if info.Arch != syscalls.Native().Audit {
		return fmt.Errorf("tracee is not a %s process", syscalls.Native().Name)
	}
	// Below the red zone, in the stack the kernel mapped at exec
	// (fs/exec.c setup_arg_pages expands it by 128 KiB).
	size := 16 + 8*len(prog)
	base := (info.SP - 256 - uint64(size)) &^ 15
	buf := make([]byte, size)
	binary.NativeEndian.PutUint16(buf[0:], uint16(len(prog)))
	binary.NativeEndian.PutUint64(buf[8:], base+16)
	for i, ins := range prog {
		p := buf[16+8*i:]
		binary.NativeEndian.PutUint16(p, ins.Op)
		p[2], p[3] = ins.Jt, ins.Jf
		binary.NativeEndian.PutUint32(p[4:], ins.K)
	}
	if err := writeMemory(pid, base, buf); err != nil {
		return fmt.Errorf("write the filter into %d: %w", pid, err)
	}
	r, err := ptrace.Inject(pid, unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, base)
	if err != nil {
		return err
	}
	if r != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER) in %d: %w", pid, unix.Errno(-r))
	}
	return nil
}

// tasks lists the threads of pid.
func tasks(pid int) ([]int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, fmt.Errorf("attach to %d: %w", pid, err)
	}
	var out []int
	for _, e := range ents {
		var tid int
		if _, err := fmt.Sscan(e.Name(), &tid); err == nil {
			out = append(out, tid)
		}
	}
	return out, nil
}

func signalName(sig int) string {
	if n, ok := abiFor(syscalls.Native()).signals[uint64(sig)]; ok {
		return n
	}
	return fmt.Sprintf("SIG%d", sig)
}

// siginfoText formats the siginfo of a signal-delivery stop as strace does.
func siginfoText(si *unix.Siginfo) string {
	var b strings.Builder
	b.WriteString("{si_signo=")
	b.WriteString(signalName(int(si.Signo)))
	b.WriteString(", si_code=")
	b.WriteString(sicodeName(si))
	f := siFields(si)
	if si.Code <= 0 || si.Signo == int32(unix.SIGCHLD) {
		fmt.Fprintf(&b, ", si_pid=%d, si_uid=%d", f.pid, f.uid)
		if si.Signo == int32(unix.SIGCHLD) {
			fmt.Fprintf(&b, ", si_status=%d", f.status)
		}
	}
	b.WriteString("}")
	return b.String()
}

func sicodeName(si *unix.Siginfo) string {
	c := si.Code
	switch c {
	case 0:
		return "SI_USER"
	case 0x80:
		return "SI_KERNEL"
	case -1:
		return "SI_QUEUE"
	case -6:
		return "SI_TKILL"
	}
	if si.Signo == int32(unix.SIGCHLD) {
		names := []string{"", "CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"}
		if c > 0 && int(c) < len(names) {
			return names[c]
		}
	}
	return fmt.Sprint(c)
}

// maybePin runs every 256 stops: once stops come faster than 2000 a
// second, it puts the tracer and every tracee on one CPU (children inherit
// it). A trace that stops rarely is left alone: there pinning would gain
// nothing and would keep the program from moving away from a busy CPU.
func (s *session) maybePin() {
	now := time.Now()
	if !s.lastPin.IsZero() && now.Sub(s.lastPin) < 128*time.Millisecond {
		s.pinned = true
		for pid := range s.threads {
			pinTogether(pid)
		}
	}
	s.lastPin = now
}

// pinTogether puts the calling (tracer) thread and pid on the CPU the
// tracer runs on now.
func pinTogether(pid int) {
	var set unix.CPUSet
	var c uint32
	if _, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafePointer(&c)), 0, 0); e != 0 {
		c = 0
	}
	set.Set(int(c))
	unix.SchedSetaffinity(0, &set)
	unix.SchedSetaffinity(pid, &set)
}
