package runner

// Memory areas: policies with from: rules are installed in the target at
// its entry point, by injection, once the loader has mapped the
// libraries. See DESIGN.md ("Memory areas").

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/features"
	"github.com/sysgate/sysgate/filter"
	"github.com/sysgate/sysgate/notify"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/ptrace"
	"github.com/sysgate/sysgate/region"
	"github.com/sysgate/sysgate/sandbox"
	"github.com/sysgate/sysgate/seccomp"
	"github.com/sysgate/sysgate/syscalls"
)

// PrepareAt is [Prepare] for a target whose memory map is known: rules
// with from: become instruction-pointer checks over regions, and calls
// from code outside them go to the supervisor.
func PrepareAt(p *policy.Policy, arch *syscalls.Arch, log bool, regions *region.Map) (*filter.Program, error) {
	if arch == nil {
		arch = syscalls.Native()
	}
	return filter.Compile(reportedPolicy(p, log), arch.Family(), filter.Options{Regions: regions})
}

// decide is the policy's verdict for a notified call. With from: rules
// it reads the caller's memory map now (so code loaded since the filter
// was installed is classified), then checks that the notification is
// still alive, so the map read was the caller's and not a recycled pid's.
func (s *supervisor) decide(r *notify.Request) (policy.Action, int, error) {
	if !s.regional {
		p, err := s.policy()
		if err != nil {
			// Only the built-in policy is parsed late, and only calls it
			// kills (or, with --log, denies) are notified: fail closed.
			return policy.Action{Kind: policy.KillProcess}, -1, nil
		}
		a, rule := p.Decide(r.Arch, r.Nr, r.Args)
		return a, rule, nil
	}
	mp, err := region.ReadMap(r.Pid)
	if err != nil {
		return policy.Action{}, -1, err
	}
	if err := r.Valid(); err != nil {
		return policy.Action{}, -1, err
	}
	a, rule := s.p.DecideAt(r.Arch, r.Nr, r.Args, r.IP, mp)
	return a, rule, nil
}

// trapUnknown applies a trap verdict to a call from code that was not
// there when the filter was installed. The supervisor cannot make the
// kernel deliver a seccomp SIGSYS (si_code SYS_SECCOMP may only be sent
// to oneself), so it fails the call with ENOSYS and sends SIGSYS to the
// calling thread with tgkill: a handler sees si_code SI_TKILL and no
// syscall fields.
func (s *supervisor) trapUnknown(r *notify.Request) notify.Response {
	if tgid := tgidOf(r.Pid); tgid > 0 && r.Valid() == nil {
		unix.Tgkill(tgid, r.Pid, unix.SIGSYS)
	}
	return notify.Errno(syscall.ENOSYS)
}

// runAreas runs a target under a policy with from: rules:
//
//  1. start it traced, stopped at its execve (no filter yet);
//  2. set a breakpoint at its entry point (AT_ENTRY from /proc/PID/auxv)
//     and let the dynamic loader run: at the entry point every library
//     the program links is mapped, and the program's own code has not
//     run;
//  3. read its memory map, compile the policy with those regions;
//  4. inject mmap (room for the program), write it with PTRACE_POKEDATA,
//     inject seccomp(SET_MODE_FILTER, NEW_LISTENER), fetch the listener
//     with pidfd_getfd, inject close of the target's copy and munmap;
//  5. detach (no tracer stays) and serve the notifications.
//
// The loader (and the constructors of the libraries it loads) runs
// before the filter exists: it is the code the policy is about to call
// trusted.
func runAreas(ctx context.Context, o Options, report io.Writer) (*Result, error) {
	native := o.Arch
	if native == nil {
		native = syscalls.Native()
	}
	if native.Family() != syscalls.X86_64 || syscalls.Native() != syscalls.X86_64 {
		return nil, fmt.Errorf("from: rules need injection into the target, implemented for x86_64 only")
	}
	if err := features.HaveUserNotif(); err != nil {
		return nil, fmt.Errorf("from: rules send calls from code loaded later to the supervisor: %w (needs Linux 5.0)", err)
	}
	if o.SUD {
		if err := features.HaveSyscallUserDispatch(); err != nil {
			return nil, fmt.Errorf("--sud: %w", err)
		}
	}
	s := &supervisor{p: o.Policy, report: report, log: o.Log, handlers: map[int]notify.Handler{}, regional: true}
	for i, r := range o.Policy.Rules {
		if r.Action.Kind != policy.Notify {
			continue
		}
		h, err := notify.NewHandler(r.Handler, &prefixWriter{w: report, prefix: "sysgate: "})
		if err != nil {
			return nil, fmt.Errorf("rule at %v: %w", r.Pos, err)
		}
		s.handlers[i] = h
	}
	sealing, err := o.sealing(report)
	if err != nil {
		return nil, err
	}
	if sealing && o.SealFollowExecs {
		return nil, errors.New("--seal-follow-exec is not available with from: rules: the system mappings are sealed at the start only")
	}
	sigs := takeSignals()
	defer sigs.stop()

	tr := ptrace.NewTracer()
	defer tr.Close()
	cfg := &sandbox.Config{
		Path: o.Path, Args: o.Args, Env: o.Env, Dir: o.Dir,
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr,
		Tracer: tr,
		Ready:  sigs.wait,
	}
	if o.SUD {
		cfg.PtraceOptions = ptrace.FollowOptions
	}
	o.namespaces(cfg)
	proc, err := sandbox.Start(cfg)
	if err != nil {
		return nil, err
	}
	var listener *os.File
	var sud *sudFollower
	err = tr.Do(func() error {
		if sealing {
			// At the exec stop, before the program runs, as without
			// from: rules.
			if err := o.sealNow(proc.Pid, report); err != nil {
				return err
			}
		}
		mp, err := runToEntry(proc.Pid)
		if err != nil {
			return err
		}
		var prog []bpf.Instruction
		if o.SUD {
			plan, err := planSUD(o.Policy, native, mp)
			if err != nil {
				return fmt.Errorf("--sud: %w", err)
			}
			p, err := Prepare(plan.Inside, native, o.Log, true)
			if err != nil {
				return err
			}
			prog = p.Instructions
			sud = &sudFollower{p: o.Policy, arch: native, first: plan, plans: map[int]*sudPlan{proc.Pid: plan}, report: report}
		} else {
			p, err := PrepareAt(o.Policy, native, o.Log, mp)
			if err != nil {
				return err
			}
			prog = p.Instructions
		}
		if listener, err = injectFilter(proc.Pid, prog); err != nil {
			return err
		}
		if sud != nil {
			// The last injection: from here on, the injecting syscall
			// instruction in the vDSO would be dispatched. The target
			// stays traced, for its new tasks and execs.
			if err := enableSUD(proc.Pid, sud.first); err != nil {
				listener.Close()
				return err
			}
			return nil
		}
		if err := unix.PtraceDetach(proc.Pid); err != nil {
			listener.Close()
			return fmt.Errorf("detach: %w", err)
		}
		return nil
	})
	if err != nil {
		// Kill and reap the target on the tracer thread (EXITKILL would
		// too when the tracer closes).
		tr.Do(func() error { ptrace.Kill(proc.Pid); return nil })
		proc.Release()
		return nil, fmt.Errorf("install the filter at the entry point of %s: %w", o.Path, err)
	}
	s.started.Store(true)
	s.mainPid = proc.Pid

	// Serve until the target is gone, whatever happens to ctx: a target
	// blocked in a notified call waits for the answer.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	sup := &notify.Supervisor{Listener: listener, Handler: notify.HandlerFunc(s.handle),
		ErrorLog: func(err error) { fmt.Fprintf(report, "sysgate: supervisor: %v\n", err) }}
	serveDone := make(chan error, 1)
	go func() { serveDone <- sup.Serve(sctx) }()

	stopForwarding := forwardSignals(sigs.c, proc)
	if sud != nil {
		// Until the target exits: its descendants left then die with
		// the tracer (PTRACE_O_EXITKILL), as a new task of theirs could
		// not be given the range.
		if ferr := tr.Do(func() error {
			return ptrace.Follow(proc.Pid, ptrace.Hooks{Exec: sud.exec, NewTask: sud.newTask, KeepDescendants: true})
		}); ferr != nil {
			fmt.Fprintf(report, "sysgate: following the target for Syscall User Dispatch: %v\n", ferr)
		}
	}
	state, err := proc.Wait()
	stopForwarding()
	cancel()
	<-serveDone
	listener.Close()
	if err != nil {
		return nil, err
	}
	return s.result(state), nil
}

// atEntry is auxv's AT_ENTRY: the program's entry point (include/uapi/linux/auxvec.h).
const atEntry = 9

// entryPoint reads AT_ENTRY from /proc/PID/auxv (pairs of native words).
func entryPoint(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/auxv", pid))
	if err != nil {
		return 0, err
	}
	for i := 0; i+16 <= len(b); i += 16 {
		if binary.LittleEndian.Uint64(b[i:]) == atEntry {
			return binary.LittleEndian.Uint64(b[i+8:]), nil
		}
	}
	return 0, errors.New("no AT_ENTRY in auxv")
}

// runToEntry runs on the tracer thread with pid stopped at its exec. It
// lets the loader run up to the entry point, where it leaves pid stopped,
// and returns the memory map there.
func runToEntry(pid int) (*region.Map, error) {
	entry, err := entryPoint(pid)
	if err != nil {
		return nil, err
	}
	// A breakpoint (int3) on the first byte of the entry point: the text is
	// a private mapping, and PTRACE_POKETEXT breaks its sharing (COW).
	orig := make([]byte, 8)
	if _, err := unix.PtracePeekText(pid, uintptr(entry), orig); err != nil {
		return nil, fmt.Errorf("read entry point %#x: %w", entry, err)
	}
	patched := append([]byte{0xcc}, orig[1:]...)
	if _, err := unix.PtracePokeText(pid, uintptr(entry), patched); err != nil {
		return nil, fmt.Errorf("set breakpoint at %#x: %w", entry, err)
	}
	sig := 0
	for {
		if err := unix.PtraceCont(pid, sig); err != nil {
			return nil, fmt.Errorf("resume to entry point: %w", err)
		}
		ws, err := ptrace.WaitStop(pid)
		if err != nil {
			return nil, fmt.Errorf("before its entry point: %w", err)
		}
		sig = int(ws.StopSignal())
		if sig != int(unix.SIGTRAP) || ptrace.Event(ws) != 0 {
			if ptrace.Event(ws) != 0 {
				sig = 0
			}
			continue // pass the loader's signals on
		}
		regs, err := ptrace.GetRegs(pid)
		if err != nil {
			return nil, err
		}
		if regs.Rip != entry+1 {
			continue // a SIGTRAP that is not the breakpoint's
		}
		if _, err := unix.PtracePokeText(pid, uintptr(entry), orig); err != nil {
			return nil, fmt.Errorf("remove breakpoint: %w", err)
		}
		regs.Rip = entry
		if err := ptrace.SetRegs(pid, regs); err != nil {
			return nil, err
		}
		break
	}

	return region.ReadMap(pid)
}

// injectFilter makes the tracee, stopped at its entry point, install prog
// with a listener (the calls made from there: see injectHereOK) and
// returns the listener, fetched with pidfd_getfd (Linux 5.6, needs
// PTRACE_MODE_ATTACH_REALCREDS: we are its tracer). The target's own copy
// of the fd is closed: a target holding its listener could answer its own
// notifications.
func injectFilter(pid int, prog []bpf.Instruction) (*os.File, error) {
	code := bpf.Marshal(prog, binary.LittleEndian)
	size := uint64(16 + len(code))
	page := uint64(os.Getpagesize())
	size = (size + page - 1) &^ (page - 1)
	addr, err := injectHereOK(pid, "mmap", unix.SYS_MMAP, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, ^uint64(0), 0)
	if err != nil {
		return nil, err
	}
	// struct sock_fprog { unsigned short len; struct sock_filter *filter; }
	buf := make([]byte, 16, 16+len(code))
	binary.LittleEndian.PutUint16(buf[0:], uint16(len(prog)))
	binary.LittleEndian.PutUint64(buf[8:], uint64(addr)+16)
	buf = append(buf, code...)
	if _, err := unix.PtracePokeData(pid, uintptr(addr), buf); err != nil {
		return nil, fmt.Errorf("write filter into target: %w", err)
	}
	if _, err := injectHereOK(pid, "prctl(PR_SET_NO_NEW_PRIVS)", unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return nil, err
	}
	flags := uint64(seccomp.FlagNewListener)
	fd, err := injectHereOK(pid, "seccomp(SET_MODE_FILTER)", unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uint64(addr))
	if err != nil {
		return nil, err
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(pidfd)
	lfd, err := unix.PidfdGetfd(pidfd, int(fd), 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_getfd of the listener (needs Linux 5.6): %w", err)
	}
	unix.CloseOnExec(lfd)
	l := os.NewFile(uintptr(lfd), "seccomp-listener")
	if _, err := injectHereOK(pid, "close(listener)", unix.SYS_CLOSE, uint64(fd)); err != nil {
		l.Close()
		return nil, err
	}
	if _, err := injectHereOK(pid, "munmap", unix.SYS_MUNMAP, uint64(addr), size); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func injectOK(pid int, what string, nr uint64, args ...uint64) (int64, error) {
	return injectChecked(ptrace.Inject, pid, what, nr, args...)
}

// injectHereOK is injectOK from the code the tracee is stopped in (its
// entry point, in the program's text), not its vDSO: the calls made after
// the filter is in go through it, and a policy may trap or deny calls from
// the vDSO that it allows from the program.
func injectHereOK(pid int, what string, nr uint64, args ...uint64) (int64, error) {
	return injectChecked(ptrace.InjectHere, pid, what, nr, args...)
}

func injectChecked(inject func(int, uint64, ...uint64) (int64, error), pid int, what string, nr uint64, args ...uint64) (int64, error) {
	r, err := inject(pid, nr, args...)
	if err != nil {
		return 0, fmt.Errorf("inject %s: %w", what, err)
	}
	if r < 0 && r > -4096 {
		return 0, fmt.Errorf("%s in the target: %w", what, unix.Errno(-r))
	}
	return r, nil
}
