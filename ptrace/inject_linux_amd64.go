package ptrace

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Inject runs the system call nr with args (at most six) in the stopped
// tracee pid, puts every register back, and returns the call's result: the
// raw return value, a negative errno on failure (the error is then nil; an
// error means the injection itself failed).
//
// It works from any ptrace stop of an x86_64 tracee that has
// PTRACE_O_TRACESYSGOOD set (syscall stops are told apart by it):
//
//   - event stops (PTRACE_EVENT_EXEC right after execve, fork/clone/exit
//     events, PTRACE_EVENT_STOP), signal-delivery stops, group stops and
//     syscall-exit stops: the tracee later goes on exactly where it was;
//   - syscall-entry and seccomp stops: the pending syscall is skipped for
//     the injection and rewound (RIP-2) afterwards, so the tracee issues it
//     again and the tracer sees its entry (and seccomp) stop a second time.
//
// In every case the tracee is left in a syscall-exit stop of the injected
// call. Resuming it with a signal then queues that signal (as from any
// syscall stop), which is what the caller of a signal-delivery stop wants.
// Signals that arrive during the injection are held back and re-sent
// afterwards (with tgkill, so without their siginfo).
//
// The `syscall` instruction executed is one of the tracee's vDSO, so no
// memory is written; without a vDSO two bytes at RIP are replaced by one and
// restored (only in a private mapping). Inject must be called on the tracer
// thread ([Tracer.Do]). If the tracee dies, the error is an [*ExitError]
// (errors.Is ErrTraceeExited) holding the status wait4 took from it.
func Inject(pid int, nr uint64, args ...uint64) (int64, error) {
	return injectFrom(pid, false, nr, args)
}

// InjectHere is [Inject] with the `syscall` instruction written at the
// tracee's RIP (and restored afterwards) rather than taken from its vDSO:
// the call comes from the code the tracee stopped in, as a seccomp filter
// that decides by instruction pointer sees it. RIP must be in a private
// executable mapping (a program's text is).
func InjectHere(pid int, nr uint64, args ...uint64) (int64, error) {
	return injectFrom(pid, true, nr, args)
}

func injectFrom(pid int, here bool, nr uint64, args []uint64) (int64, error) {
	if len(args) > 6 {
		return 0, fmt.Errorf("inject syscall %d: %d arguments, at most 6", nr, len(args))
	}
	ret, err := inject(pid, here, nr, args)
	if err != nil {
		return 0, fmt.Errorf("inject syscall %d into %d: %w", nr, pid, err)
	}
	return ret, nil
}

func inject(pid int, here bool, nr uint64, args []uint64) (int64, error) {
	info, err := GetSyscallInfo(pid)
	if err != nil {
		return 0, err
	}
	if info.Arch != unix.AUDIT_ARCH_X86_64 {
		return 0, fmt.Errorf("tracee arch %#x: injection supports x86_64 only", info.Arch)
	}
	saved, err := GetRegs(pid)
	if err != nil {
		return 0, err
	}
	insn, undo, err := syscallInstruction(pid, saved.Rip, here)
	if err != nil {
		return 0, err
	}
	restore := *saved
	if info.Op == OpEntry || info.Op == OpSeccomp {
		// Issue the pending syscall again once we are done: back over
		// the 2-byte syscall instruction, number in rax again.
		restore.Rip -= 2
		restore.Rax = saved.Orig_rax
	}

	regs := *saved
	regs.Rip = insn
	regs.Rax = nr
	// orig_rax -1: no syscall is pending, so neither the skip of the one at
	// an entry stop nor the restart logic on the way out
	// (arch/x86/kernel/signal.c) looks at our registers as a syscall's.
	regs.Orig_rax = ^uint64(0)
	var a [6]uint64
	copy(a[:], args)
	regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9 = a[0], a[1], a[2], a[3], a[4], a[5]
	if err := SetRegs(pid, &regs); err != nil {
		undo()
		return 0, err
	}

	var held []unix.Signal
	ret, err := runInjected(pid, &regs, &held)
	var ee *ExitError
	if errors.As(err, &ee) {
		return 0, err
	}
	// Put everything back even when the injection failed half way.
	rerr := SetRegs(pid, &restore)
	uerr := undo()
	for _, sig := range held {
		resend(pid, sig)
	}
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	return ret, uerr
}

// runInjected resumes the tracee syscall-stop by syscall-stop until the
// exit stop of the call regs set up, and returns its result.
func runInjected(pid int, regs *unix.PtraceRegs, held *[]unix.Signal) (int64, error) {
	nr, ip := regs.Rax, regs.Rip+2
	entered := false
	sig := 0
	for {
		if err := unix.PtraceSyscall(pid, sig); err != nil {
			return 0, fmt.Errorf("resume: %w", err)
		}
		sig = 0
		_, ws, err := Wait(pid)
		if err != nil {
			return 0, err
		}
		if ws.Exited() || ws.Signaled() {
			return 0, &ExitError{Pid: pid, Status: ws}
		}
		if !ws.Stopped() {
			continue
		}
		if ws.StopSignal() == unix.SIGTRAP|0x80 {
			info, err := GetSyscallInfo(pid)
			if err != nil {
				return 0, err
			}
			switch {
			case info.Op == OpEntry && info.IP == ip && info.Nr == nr:
				entered = true
			case info.Op == OpExit && entered:
				return info.Rval, nil
			case info.Op == OpExit:
				// The exit of the call the tracee was in (execve at its
				// exec stop, a skipped one): its return value has just
				// overwritten rax.
				if err := SetRegs(pid, regs); err != nil {
					return 0, err
				}
			}
			continue
		}
		if Event(ws) != 0 {
			continue // event stops: seccomp, exec, clone, ...
		}
		s := ws.StopSignal()
		if s == unix.SIGTRAP {
			if r, err := GetRegs(pid); err == nil && r.Rip == ip && r.Orig_rax == nr {
				return 0, errors.New("syscall stop reported as plain SIGTRAP: the tracee lacks PTRACE_O_TRACESYSGOOD")
			}
		}
		*held = append(*held, s) // a signal-delivery stop: hold it back
	}
}

// resend queues sig for thread tid again.
func resend(tid int, sig unix.Signal) {
	tgid := tid
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
					tgid = n
				}
			}
		}
	}
	unix.Tgkill(tgid, tid, sig)
}

// vdsoSyscall caches the offset of a syscall instruction in the vDSO,
// whose image is the same in every process of a kernel (checked anyway).
var vdsoSyscall struct {
	sync.Mutex
	off uint64
	ok  bool
}

// vdsoBase returns the tracee's AT_SYSINFO_EHDR, the vDSO's address, from
// /proc/PID/auxv: much cheaper to read than the maps.
func vdsoBase(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/auxv")
	if err != nil {
		return 0, false
	}
	for i := 0; i+16 <= len(b); i += 16 {
		if binary.NativeEndian.Uint64(b[i:]) == atSysinfoEhdr {
			return binary.NativeEndian.Uint64(b[i+8:]), true
		}
	}
	return 0, false
}

// syscallInstruction returns the address of a `syscall` instruction (0f 05)
// the tracee can execute, and a function that undoes any change made to
// provide one.
func syscallInstruction(pid int, rip uint64, here bool) (uint64, func() error, error) {
	nothing := func() error { return nil }
	if here {
		return writeSyscallAt(pid, rip)
	}
	vdsoSyscall.Lock()
	off, cached := vdsoSyscall.off, vdsoSyscall.ok
	vdsoSyscall.Unlock()
	if base, ok := vdsoBase(pid); ok && cached {
		var b [2]byte
		if n, err := unix.PtracePeekData(pid, uintptr(base+off), b[:]); err == nil && n == 2 && b == [2]byte{0x0f, 0x05} {
			return base + off, nothing, nil
		}
	}
	maps, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return 0, nothing, err
	}
	if lo, hi, ok := findMapping(maps, func(_, _ uint64, perms, path string) bool { return path == "[vdso]" && perms[2] == 'x' }); ok {
		img := make([]byte, hi-lo)
		n, err := unix.ProcessVMReadv(pid, []unix.Iovec{{Base: &img[0], Len: uint64(len(img))}},
			[]unix.RemoteIovec{{Base: uintptr(lo), Len: len(img)}}, 0)
		if err == nil && n == len(img) {
			if i := bytes.Index(img, []byte{0x0f, 0x05}); i >= 0 {
				vdsoSyscall.Lock()
				vdsoSyscall.off, vdsoSyscall.ok = uint64(i), true
				vdsoSyscall.Unlock()
				return lo + uint64(i), nothing, nil
			}
		}
	}
	// No usable vDSO (vdso=0, or ptrace may not read it): write one at RIP.
	return writeSyscallAt(pid, rip)
}

// writeSyscallAt writes a syscall instruction at rip, which must be in an
// executable mapping, and only where the write cannot reach a file (a
// private one); the function returned puts the code back.
func writeSyscallAt(pid int, rip uint64) (uint64, func() error, error) {
	nothing := func() error { return nil }
	maps, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return 0, nothing, err
	}
	if _, _, ok := findMapping(maps, func(lo, hi uint64, perms, _ string) bool {
		return lo <= rip && rip+2 <= hi && perms[2] == 'x' && perms[3] == 'p'
	}); !ok {
		return 0, nothing, fmt.Errorf("no vDSO and RIP %#x is not in a private executable mapping: nowhere to run a syscall", rip)
	}
	var orig [2]byte
	if _, err := unix.PtracePeekData(pid, uintptr(rip), orig[:]); err != nil {
		return 0, nothing, fmt.Errorf("read code at %#x: %w", rip, err)
	}
	if _, err := unix.PtracePokeData(pid, uintptr(rip), []byte{0x0f, 0x05}); err != nil {
		return 0, nothing, fmt.Errorf("write syscall instruction at %#x: %w", rip, err)
	}
	return rip, func() error {
		if _, err := unix.PtracePokeData(pid, uintptr(rip), orig[:]); err != nil {
			return fmt.Errorf("restore code at %#x: %w", rip, err)
		}
		return nil
	}, nil
}

// findMapping returns the first mapping of a /proc/PID/maps text that match
// accepts.
func findMapping(maps []byte, match func(lo, hi uint64, perms, path string) bool) (uint64, uint64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || len(f[1]) != 4 {
			continue
		}
		los, his, ok := strings.Cut(f[0], "-")
		lo, err1 := strconv.ParseUint(los, 16, 64)
		hi, err2 := strconv.ParseUint(his, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		path := ""
		if len(f) >= 6 {
			path = f[5]
		}
		if match(lo, hi, f[1], path) {
			return lo, hi, true
		}
	}
	return 0, 0, false
}

// atSysinfoEhdr is AT_SYSINFO_EHDR (include/uapi/linux/auxvec.h).
const atSysinfoEhdr = 33
