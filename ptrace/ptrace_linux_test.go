package ptrace_test

import (
	"errors"
	"fmt"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/features"
	"github.com/sysgate/sysgate/ptrace"
)

func requireSyscallInfo(t *testing.T) {
	t.Helper()
	if err := features.HavePtraceGetSyscallInfo(); err != nil {
		t.Skipf("PTRACE_GET_SYSCALL_INFO (Linux 5.3): %v", err)
	}
}

func TestTracerThread(t *testing.T) {
	tr := ptrace.NewTracer()
	var tids []int
	for range 5 {
		if err := tr.Do(func() error { tids = append(tids, unix.Gettid()); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, tid := range tids[1:] {
		if tid != tids[0] {
			t.Fatalf("Do ran on threads %v, want one", tids)
		}
	}
	want := errors.New("from f")
	if err := tr.Do(func() error { return want }); err != want {
		t.Fatalf("Do returned %v, want f's error", err)
	}
	tr.Close()
	tr.Close()
	if err := tr.Do(func() error { return nil }); !errors.Is(err, ptrace.ErrClosed) {
		t.Fatalf("Do after Close: %v, want ErrClosed", err)
	}
}

// TestInjectAtExec: at the exec stop, injected syscalls run in the target
// and return their results; the target then runs as if nothing happened.
func TestInjectAtExec(t *testing.T) {
	requireSyscallInfo(t)
	tr := ptrace.NewTracer()
	defer tr.Close()
	tg := startTarget(t, tr, "syscall", strconv.Itoa(unix.SYS_GETPPID))
	pid := tg.proc.Pid
	err := tr.Do(func() error {
		info, err := ptrace.GetSyscallInfo(pid)
		if err != nil {
			return err
		}
		if info.Op != ptrace.OpNone || info.Arch != unix.AUDIT_ARCH_X86_64 || info.IP == 0 {
			return fmt.Errorf("syscall info at the exec stop: %+v", info)
		}
		before, err := ptrace.GetRegs(pid)
		if err != nil {
			return err
		}
		for _, tc := range []struct {
			name string
			nr   uint64
			args []uint64
			want int64
		}{
			{"getpid", unix.SYS_GETPID, nil, int64(pid)},
			{"close(-1)", unix.SYS_CLOSE, []uint64{^uint64(0)}, -int64(unix.EBADF)},
			{"six args", unix.SYS_PRCTL, []uint64{unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0}, 1},
		} {
			got, err := ptrace.Inject(pid, tc.nr, tc.args...)
			if err != nil {
				return fmt.Errorf("%s: %w", tc.name, err)
			}
			if got != tc.want {
				return fmt.Errorf("%s returned %d, want %d", tc.name, got, tc.want)
			}
		}
		// From the code at RIP, which is put back.
		code := make([]byte, 8)
		if _, err := unix.PtracePeekText(pid, uintptr(before.Rip), code); err != nil {
			return err
		}
		if got, err := ptrace.InjectHere(pid, unix.SYS_GETPID); err != nil || got != int64(pid) {
			return fmt.Errorf("InjectHere(getpid) = %d, %v; want %d", got, err, pid)
		}
		codeAfter := make([]byte, 8)
		if _, err := unix.PtracePeekText(pid, uintptr(before.Rip), codeAfter); err != nil {
			return err
		}
		if string(code) != string(codeAfter) {
			return fmt.Errorf("code at RIP changed: % x, was % x", codeAfter, code)
		}
		after, err := ptrace.GetRegs(pid)
		if err != nil {
			return err
		}
		if *after != *before {
			return fmt.Errorf("registers changed:\nbefore %+v\nafter  %+v", before, after)
		}
		if _, err := ptrace.Inject(pid, 0, 1, 2, 3, 4, 5, 6, 7); err == nil {
			return errors.New("Inject took seven arguments")
		}
		return nil
	})
	out, code := tg.detachAndWait()
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("ret=%d errno=0\n", unix.Getpid()); out != want || code != 0 {
		t.Fatalf("target printed %q, exit %d; want %q, 0", out, code, want)
	}
}

// TestInjectAtSyscallEntry: at a syscall-entry stop the pending syscall is
// issued again after the injection, with its arguments.
func TestInjectAtSyscallEntry(t *testing.T) {
	requireSyscallInfo(t)
	tr := ptrace.NewTracer()
	defer tr.Close()
	// The victim's first getppid is the one to catch.
	tg := startTarget(t, tr, "syscall", strconv.Itoa(unix.SYS_GETPPID), "--", "syscall", strconv.Itoa(unix.SYS_GETPPID))
	pid := tg.proc.Pid
	err := tr.Do(func() error {
		var info *ptrace.SyscallInfo
		for {
			if err := unix.PtraceSyscall(pid, 0); err != nil {
				return err
			}
			_, ws, err := ptrace.Wait(pid)
			if err != nil {
				return err
			}
			if !ws.Stopped() {
				return fmt.Errorf("target ended: %#x", ws)
			}
			if ws.StopSignal() != unix.SIGTRAP|0x80 {
				continue // the Go runtime's own signals are not delivered: fine here
			}
			if info, err = ptrace.GetSyscallInfo(pid); err != nil {
				return err
			}
			if info.Op == ptrace.OpEntry && info.Nr == unix.SYS_GETPPID {
				break
			}
		}
		got, err := ptrace.Inject(pid, unix.SYS_GETPID)
		if err != nil {
			return err
		}
		if got != int64(pid) {
			return fmt.Errorf("getpid returned %d, want %d", got, pid)
		}
		// The next stop is getppid's entry again.
		if err := unix.PtraceSyscall(pid, 0); err != nil {
			return err
		}
		if _, ws, err := ptrace.Wait(pid); err != nil || ws.StopSignal() != unix.SIGTRAP|0x80 {
			return fmt.Errorf("after injection: status %#x, %v", ws, err)
		}
		again, err := ptrace.GetSyscallInfo(pid)
		if err != nil {
			return err
		}
		if again.Op != ptrace.OpEntry || again.Nr != info.Nr || again.IP != info.IP || again.Args != info.Args {
			return fmt.Errorf("after injection: %+v, want the entry of %+v", again, info)
		}
		return nil
	})
	out, code := tg.detachAndWait()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("ret=%d errno=0\n", unix.Getpid())
	if out != want+want || code != 0 {
		t.Fatalf("target printed %q, exit %d; want %q twice, 0", out, code, want)
	}
}

func TestInjectExited(t *testing.T) {
	requireSyscallInfo(t)
	tr := ptrace.NewTracer()
	defer tr.Close()
	tg := startTarget(t, tr, "syscall", strconv.Itoa(unix.SYS_GETPPID))
	pid := tg.proc.Pid
	err := tr.Do(func() error {
		_, err := ptrace.Inject(pid, unix.SYS_EXIT_GROUP, 7)
		return err
	})
	var ee *ptrace.ExitError
	if !errors.Is(err, ptrace.ErrTraceeExited) || !errors.As(err, &ee) || ee.Status.ExitStatus() != 7 {
		t.Fatalf("Inject(exit_group(7)): %v, want an ExitError with status 7", err)
	}
	tg.proc.Release()
}
