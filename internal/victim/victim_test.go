package victim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestMain(m *testing.M) {
	MaybeRun()
	os.Exit(m.Run())
}

// run re-executes the test binary as the victim with steps and returns its
// stdout, stderr, pid and wait status.
func run(t *testing.T, steps ...string) (stdout, stderr string, pid int, ws syscall.WaitStatus) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, steps...)
	cmd.Env = []string{Env + "=1"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run victim %q: %v", steps, err)
	}
	return out.String(), errb.String(), cmd.Process.Pid, cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// skipNoI386 skips a test that needs the i386 syscall ABI where the kernel
// or hypervisor has none (IA-32 emulation off: ia32_emulation=0, or a PVM
// guest, whose host runs 64-bit user code only).
func skipNoI386(t *testing.T, why string) {
	t.Helper()
	t.Skipf("i386 syscall ABI (x86_64, CONFIG_IA32_EMULATION, ia32_emulation on) missing: %s", why)
}

func TestI386Getpid(t *testing.T) {
	out, errOut, pid, ws := run(t, "i386", "20")
	switch {
	case ws.Exited() && ws.ExitStatus() == ExitNoI386:
		if !strings.Contains(errOut, ErrNoI386.Error()) {
			t.Fatalf("exit %d without saying why: %q", ExitNoI386, errOut)
		}
		skipNoI386(t, strings.TrimSpace(errOut))
	case !ws.Exited() || ws.ExitStatus() != 0:
		t.Fatalf("victim i386 20: status %v, stderr %q", ws, errOut)
	}
	if want := fmt.Sprintf("ret=%d errno=0\n", pid); out != want {
		t.Fatalf("i386 getpid printed %q, want %q", out, want)
	}
}

// TestHaveI386Agrees checks the in-process probe against int $0x80 in a
// child, which either returns the pid or takes SIGSEGV (si_code SI_KERNEL,
// 0x80), which the Go runtime reports as a fatal fault.
func TestHaveI386Agrees(t *testing.T) {
	have := HaveI386()
	if have != nil && !errors.Is(have, ErrNoI386) {
		t.Fatalf("HaveI386() = %v, not wrapping ErrNoI386", have)
	}
	if !haveInt80 {
		if have == nil {
			t.Fatal("HaveI386() = nil on an architecture without int $0x80")
		}
		return
	}
	out, errOut, pid, ws := run(t, "int80", "20")
	faulted := ws.Signaled() && ws.Signal() == syscall.SIGSEGV ||
		strings.Contains(errOut, "signal SIGSEGV: segmentation violation code=0x80")
	switch {
	case have == nil && faulted:
		t.Fatalf("HaveI386() = nil but int $0x80 in a child took SIGSEGV: %.300s", errOut)
	case have != nil && !faulted:
		t.Fatalf("HaveI386() = %v but int $0x80 in a child gave status %v, stdout %q, stderr %.300q", have, ws, out, errOut)
	case have == nil && out != fmt.Sprintf("ret=%d errno=0\n", pid):
		t.Fatalf("int80 getpid printed %q, want the child's pid %d", out, pid)
	}
}

func TestI386SyscallWithoutABI(t *testing.T) {
	if HaveI386() == nil {
		r, e := I386Syscall(20, 0, 0, 0)
		if e != 0 || int(r) != os.Getpid() {
			t.Fatalf("I386Syscall(getpid) = %d, %v; want %d", r, e, os.Getpid())
		}
		return
	}
	if r, e := I386Syscall(20, 0, 0, 0); e != syscall.ENOSYS || r != ^uintptr(0) {
		t.Fatalf("I386Syscall without the ABI = %#x, %v; want ENOSYS", r, e)
	}
}

func TestMainErrors(t *testing.T) {
	tests := []struct {
		name  string
		steps []string
		want  int
	}{
		{"unknown step", []string{"bogus"}, 2},
		{"no number", []string{"i386"}, 2},
		{"bad number", []string{"i386", "x"}, 2},
		{"too many i386 args", []string{"i386", "20", "1", "2", "3", "4"}, 2},
		{"native getpid", []string{"syscall", "39"}, 0},
		{"empty steps", []string{"--", "--"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, _, ws := run(t, tt.steps...)
			if !ws.Exited() || ws.ExitStatus() != tt.want {
				t.Fatalf("victim %q: status %v, want exit %d; stderr %q", tt.steps, ws, tt.want, errOut)
			}
		})
	}
}
