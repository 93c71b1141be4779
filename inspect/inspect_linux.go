package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/sysgate/sysgate/region"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/syscalls"
)

// Inspect reports what process pid is subject to. It fails only when the
// process cannot be read at all ([ErrNoProcess]); anything it could not
// learn past that is said in the Report's error fields.
//
// Unless opts.NoStop, the process is briefly ptrace-stopped to read its
// filters and Syscall User Dispatch state (see the package doc). Do not
// Wait for the process from another goroutine meanwhile if it is a child
// of the caller: the kernel reports ptrace stops to every waiter of the
// tracer's process.
func Inspect(pid int, opts Options) (*Report, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("inspect pid %d: not a process id", pid)
	}
	dir := "/proc/" + strconv.Itoa(pid)
	st, err := readStatus(dir + "/status")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
			return nil, fmt.Errorf("inspect pid %d: %w", pid, ErrNoProcess)
		}
		return nil, fmt.Errorf("inspect pid %d: %w", pid, err)
	}
	r := &Report{Pid: pid, State: st.State, Seccomp: st.Seccomp, Filters: st.Filters, NoNewPrivs: st.NoNewPrivs}
	if comm, err := os.ReadFile(dir + "/comm"); err == nil {
		r.Comm = strings.TrimSuffix(string(comm), "\n")
	}
	r.Exe, _ = os.Readlink(dir + "/exe") // absent for kernel threads; not worth failing for
	r.Threads = otherThreads(dir, pid, st)
	if r.Sealed, err = readMappings(dir + "/smaps"); err != nil {
		r.MapsErr = err
	}
	if mp, err := region.ReadMap(pid); err == nil {
		for _, m := range mp.Executable() {
			r.Regions = append(r.Regions, Region{Start: m.Start, End: m.End, Name: mp.Name(m)})
		}
	}

	// Why ptrace is not tried, if it is not; said for the filters only
	// when there are some.
	var skip error
	switch {
	case opts.NoStop:
		skip = ErrSkipped
	case strings.HasPrefix(st.State, "Z") || strings.HasPrefix(st.State, "X"):
		skip = fmt.Errorf("process is a zombie: %w", ErrExited)
	case ownThread(pid):
		skip = fmt.Errorf("%w: a process cannot ptrace itself; inspect it from another one", ErrPermission)
	case st.TracerPid != 0:
		skip = fmt.Errorf("%w by pid %d: ptrace allows one tracer", ErrTraced, st.TracerPid)
	default:
		r.readStopped(pid, st.Seccomp == "filter")
	}
	if skip != nil {
		r.SUDErr = skip
		if st.Seccomp == "filter" {
			r.FilterErr = skip
		}
	}
	if err := r.summarize(opts); err != nil && r.FilterErr == nil {
		r.FilterErr = err
	}
	return r, nil
}

// ownThread reports whether pid is a thread of the calling process.
func ownThread(pid int) bool {
	_, err := os.Stat("/proc/self/task/" + strconv.Itoa(pid))
	return err == nil
}

func readStatus(path string) (status, error) {
	f, err := os.Open(path)
	if err != nil {
		return status{}, err
	}
	defer f.Close()
	return parseStatus(f)
}

// readMappings keeps the sealed and the special mappings of smaps.
func readMappings(path string) ([]Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	all, err := parseSmaps(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var keep []Mapping
	for _, m := range all {
		if m.Sealed || m.System {
			keep = append(keep, m)
		}
	}
	return keep, nil
}

// otherThreads returns the threads whose seccomp state differs from the
// inspected one's. Threads that vanish while being read are skipped.
func otherThreads(dir string, pid int, own status) []Thread {
	tasks, err := os.ReadDir(dir + "/task")
	if err != nil {
		return nil
	}
	var out []Thread
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil || tid == pid {
			continue
		}
		st, err := readStatus(filepath.Join(dir, "task", t.Name(), "status"))
		if err != nil {
			continue
		}
		if st.Seccomp != own.Seccomp || st.Filters != own.Filters {
			out = append(out, Thread{Tid: tid, Seccomp: st.Seccomp, Filters: st.Filters})
		}
	}
	return out
}

// readStopped stops the process with ptrace and reads, during that one
// stop, its filters (when it has some) and its Syscall User Dispatch
// configuration.
//
// ptrace requests are only accepted from the thread that attached
// (kernel/ptrace.c: ptrace_check_attach compares child->parent with
// current), so everything runs in one goroutine locked to its OS thread.
// The thread is never unlocked: if anything goes wrong it dies with the
// goroutine, and a dying tracer detaches its tracees (exit_ptrace).
func (r *Report) readStopped(pid int, wantFilters bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		err := stopped(pid, func() {
			if wantFilters {
				r.Programs, r.FilterErr = readFilters(pid)
			}
			r.SyscallUserDispatch, r.SUDErr = readSUD(pid)
		})
		if err != nil {
			if r.FilterErr == nil && (wantFilters || len(r.Programs) > 0) {
				r.FilterErr = err
			}
			if r.SUDErr == nil && r.SyscallUserDispatch == nil {
				r.SUDErr = err
			}
		}
	}()
	<-done
}

// stopped seizes pid, interrupts it, runs fn during the stop and detaches.
//
// PTRACE_SEIZE (3.4) rather than ATTACH sends no SIGSTOP, so there is no
// signal to hide afterwards. The first stop that comes is either our
// interrupt (or the group-stop of an already stopped process, reported as
// PTRACE_EVENT_STOP too) or a signal-delivery-stop for a signal that came
// first; that signal is handed back with PTRACE_DETACH so it is delivered
// as if nobody had looked. Detaching cancels the pending interrupt, and a
// process that was group-stopped stays stopped (__ptrace_unlink).
func stopped(pid int, fn func()) error {
	if err := unix.PtraceSeize(pid); err != nil {
		switch {
		case errors.Is(err, unix.ESRCH):
			return fmt.Errorf("ptrace seize: %w", ErrExited)
		case errors.Is(err, unix.EPERM):
			return fmt.Errorf("ptrace seize: %w: needs CAP_SYS_PTRACE over the process, which must not be the inspector itself or already traced", ErrPermission)
		}
		return fmt.Errorf("ptrace seize: %w", err)
	}
	if testHookSeized != nil {
		testHookSeized(pid)
	}
	if err := unix.PtraceInterrupt(pid); err != nil {
		_ = detach(pid, 0)
		return fmt.Errorf("ptrace interrupt: %w", err)
	}
	sig, err := waitStop(pid)
	if err != nil {
		return err
	}
	fn()
	if err := detach(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("ptrace detach: %w", err)
	}
	return nil
}

// testHookSeized, when set by a test, runs between PTRACE_SEIZE and
// PTRACE_INTERRUPT, to send signals that race with the stop.
var testHookSeized func(pid int)

// waitStop waits for the first ptrace stop of pid and returns the signal
// to re-inject at detach: none for PTRACE_EVENT_STOP (interrupt or
// group-stop), the signal for a signal-delivery-stop.
func waitStop(pid int) (unix.Signal, error) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, unix.WALL, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("wait for ptrace stop: %w", err)
		}
		switch {
		case ws.Exited() || ws.Signaled():
			return 0, ErrExited
		case ws.Stopped():
			if uint32(ws)>>16 == unix.PTRACE_EVENT_STOP {
				return 0, nil
			}
			return ws.StopSignal(), nil
		}
	}
}

// readFilters reads every filter of a stopped tracee, oldest first, until
// the kernel says ENOENT.
func readFilters(pid int) ([]Program, error) {
	native := syscalls.Native()
	if native == nil {
		return nil, fmt.Errorf("read filters: no seccomp ABI known for GOARCH %s", runtime.GOARCH)
	}
	order := native.ByteOrder()
	var progs []Program
	for i := 0; ; i++ {
		n, err := seccompFilterLen(pid, i)
		if errors.Is(err, unix.ENOENT) {
			if i == 0 {
				return nil, fmt.Errorf("read filter 0: no filter attached")
			}
			return progs, nil
		}
		if err != nil {
			return progs, filterErr(i, err)
		}
		if n <= 0 || n > bpf.MaxInstructions {
			return progs, fmt.Errorf("read filter %d: kernel reports %d instructions", i, n)
		}
		buf := make([]byte, 8*n)
		m, err := seccompFilter(pid, i, buf)
		if err != nil {
			return progs, filterErr(i, err)
		}
		if m != n {
			// Another thread added a filter with TSYNC between the two calls.
			return progs, fmt.Errorf("read filter %d: length changed from %d to %d instructions while reading", i, n, m)
		}
		insns, err := bpf.Unmarshal(buf, order)
		if err != nil {
			return progs, fmt.Errorf("read filter %d: %w", i, err)
		}
		p := Program{Index: i, Instructions: insns}
		if flags, err := seccompFilterFlags(pid, i); err == nil {
			p.Log = flags&unix.SECCOMP_FILTER_FLAG_LOG != 0
		}
		progs = append(progs, p)
	}
}

// filterErr explains the errors of PTRACE_SECCOMP_GET_FILTER.
func filterErr(i int, err error) error {
	switch {
	case errors.Is(err, unix.EACCES):
		if own, e := readStatus("/proc/self/status"); e == nil && own.Seccomp != "disabled" {
			return fmt.Errorf("read filter %d: %w: the kernel does not show filters to an inspector itself under seccomp", i, ErrPermission)
		}
		return fmt.Errorf("read filter %d: %w: PTRACE_SECCOMP_GET_FILTER needs CAP_SYS_ADMIN", i, ErrPermission)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("read filter %d: the process is not in seccomp filter mode: %w", i, err)
	case errors.Is(err, unix.ESRCH):
		return fmt.Errorf("read filter %d: %w", i, ErrExited)
	}
	return fmt.Errorf("read filter %d: %w", i, err)
}

// readSUD reads the Syscall User Dispatch state of a stopped tracee and
// the current value of its selector byte.
func readSUD(pid int) (*SUD, error) {
	cfg, err := syscallUserDispatch(pid)
	switch {
	case errors.Is(err, unix.EIO):
		return nil, fmt.Errorf("PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG needs Linux 6.4: %w", err)
	case err != nil:
		return nil, fmt.Errorf("read syscall user dispatch: %w", err)
	case cfg.Mode == unix.PR_SYS_DISPATCH_OFF:
		return nil, nil
	}
	s := &SUD{Offset: cfg.Offset, Len: cfg.Len, Selector: cfg.Selector, SelectorValue: -1}
	switch cfg.Mode {
	case unix.PR_SYS_DISPATCH_EXCLUSIVE_ON:
		s.Mode = "exclusive"
	case unix.PR_SYS_DISPATCH_INCLUSIVE_ON:
		s.Mode = "inclusive"
	default:
		s.Mode = fmt.Sprintf("mode %d", cfg.Mode)
	}
	if cfg.Selector != 0 && cfg.Selector < 1<<63 {
		if f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem"); err == nil {
			var b [1]byte
			if _, err := f.ReadAt(b[:], int64(cfg.Selector)); err == nil {
				s.SelectorValue = int(b[0])
			}
			f.Close()
		}
	}
	return s, nil
}

// summarize fills each program's summary and disassembly, and the
// effective summary of a stack.
func (r *Report) summarize(opts Options) error {
	if len(r.Programs) == 0 {
		return nil
	}
	native := syscalls.Native()
	if native == nil {
		return fmt.Errorf("summarize: no syscall table for GOARCH %s", runtime.GOARCH)
	}
	order := native.ByteOrder()
	var stack [][]bpf.Instruction
	for i := range r.Programs {
		p := &r.Programs[i]
		stack = append(stack, p.Instructions)
		sum, err := Summarize([][]bpf.Instruction{p.Instructions}, native)
		if err != nil {
			return fmt.Errorf("summarize filter %d: %w", p.Index, err)
		}
		p.Summary = sum
		if !opts.NoDisassembly {
			p.Disassembly = bpf.Disassemble(p.Instructions, bpf.DisasmOptions{Order: order, Annotate: annotate(order)})
		}
	}
	if len(stack) > 1 {
		sum, err := Summarize(stack, native)
		if err != nil {
			return fmt.Errorf("summarize the filters together: %w", err)
		}
		r.Effective = sum
	}
	return nil
}

// annotate names verdicts on ret lines and arches on comparisons that
// follow a load of the arch field; other lines keep the default comment.
func annotate(order bpf.ByteOrder) func(int, bpf.Instruction) string {
	lastLoad := uint32(0xffffffff)
	return func(pc int, ins bpf.Instruction) string {
		switch {
		case ins.Op == bpf.ClassLD|bpf.SizeW|bpf.ModeABS:
			lastLoad = ins.K
		case ins.Class() == bpf.ClassLD || ins.Class() == bpf.ClassLDX:
			lastLoad = 0xffffffff
		case ins.Op == bpf.ClassRET|bpf.RetK:
			return policy.ActionFromRet(ins.K).String()
		case ins.IsConditionalJump() && ins.Op&bpf.SrcX == 0 && lastLoad == bpf.OffsetArch:
			for _, a := range syscalls.Arches() {
				if a.Audit == ins.K && a.NrBase == 0 {
					return a.Name
				}
			}
		}
		return ""
	}
}
