package sandbox_test

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/ptrace"
	"github.com/sysgate/sysgate/sandbox"
)

// TestDirectTrace: with DirectTrace and nothing for the helper to do, the
// target is launched from the tracer thread and left seized, with the
// options and no_new_privs, in a signal-delivery stop before its first
// instruction; with a filter, Start falls back to the helper and its exec
// stop.
func TestDirectTrace(t *testing.T) {
	requireX86_64(t)
	tests := []struct {
		name    string
		filters [][]bpf.Instruction
		// firstOp is the next syscall stop after PTRACE_SYSCALL from the
		// returned stop: the entry of the target's first syscall, or the
		// exit of the execve the exec stop is in.
		firstOp ptrace.SyscallOp
		want    string
	}{
		{"direct", nil, ptrace.OpEntry, "NoNewPrivs=1\nSeccomp=0\nSeccomp_filters=0\n"},
		{"filter falls back to the helper", [][]bpf.Instruction{onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM))},
			ptrace.OpExit, "NoNewPrivs=1\nSeccomp=2\nSeccomp_filters=1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := ptrace.NewTracer()
			defer tr.Close()
			cfg, out := victim(t, "status", tt.filters...)
			cfg.Tracer, cfg.DirectTrace = tr, true
			p, err := sandbox.Start(cfg)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if !p.Traced {
				t.Error("Process.Traced is false")
			}
			status, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/status")
			if err != nil {
				t.Fatal(err)
			}
			var tracerTid int
			tr.Do(func() error { tracerTid = unix.Gettid(); return nil })
			for _, want := range []string{"State:\tt (tracing stop)", "TracerPid:\t" + strconv.Itoa(tracerTid) + "\n", "NoNewPrivs:\t1\n"} {
				if !strings.Contains(string(status), want) {
					t.Errorf("target status lacks %q:\n%s", want, status)
				}
			}
			if cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/cmdline"); string(cmdline) != "victim\x00" {
				t.Errorf("stopped in %q, want the target's exec", cmdline)
			}
			entry := entryPoint(t, p.Pid)
			err = tr.Do(func() error {
				regs, err := ptrace.GetRegs(p.Pid)
				if err != nil {
					return err
				}
				if regs.Rip != entry {
					t.Errorf("stopped at RIP %#x, want the entry point %#x", regs.Rip, entry)
				}
				// PTRACE_INTERRUPT works on seized tracees only (EIO
				// otherwise), and the interrupt it asks for comes before
				// the syscall stop: take it on the way.
				if err := unix.PtraceInterrupt(p.Pid); err != nil {
					t.Errorf("PTRACE_INTERRUPT: %v, want the target seized", err)
				}
				for {
					if err := unix.PtraceSyscall(p.Pid, 0); err != nil {
						return err
					}
					_, ws, err := ptrace.Wait(p.Pid)
					if err != nil {
						return err
					}
					if !ws.Stopped() {
						return errors.New("target ended before its first syscall stop")
					}
					if ptrace.Event(ws) == unix.PTRACE_EVENT_STOP {
						continue
					}
					if ws.StopSignal() != unix.SIGTRAP|0x80 {
						t.Errorf("stop %#x, want a syscall stop told apart by PTRACE_O_TRACESYSGOOD", ws)
						break
					}
					info, err := ptrace.GetSyscallInfo(p.Pid)
					if err != nil {
						return err
					}
					if info.Op != tt.firstOp {
						t.Errorf("first syscall stop %v, want %v", info.Op, tt.firstOp)
					}
					break
				}
				return unix.PtraceDetach(p.Pid)
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, code := wait(t, p, cfg, out); got != tt.want || code != 0 {
				t.Errorf("target printed %q and exited %d, want %q and 0", got, code, tt.want)
			}
		})
	}
}

// entryPoint is where the stopped pid's first instruction is: its
// interpreter's entry (AT_BASE on) if it has one, else AT_ENTRY.
func entryPoint(t *testing.T, pid int) uint64 {
	t.Helper()
	auxv, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/auxv")
	if err != nil {
		t.Fatal(err)
	}
	var base, entry uint64
	for i := 0; i+16 <= len(auxv); i += 16 {
		switch v := binary.NativeEndian.Uint64(auxv[i+8:]); binary.NativeEndian.Uint64(auxv[i:]) {
		case atBase:
			base = v
		case atEntry:
			entry = v
		}
	}
	exe, err := elf.Open("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	for _, prog := range exe.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, prog.Filesz)
		if _, err := prog.ReadAt(b, 0); err != nil {
			t.Fatal(err)
		}
		interp, err := elf.Open("/proc/" + strconv.Itoa(pid) + "/root" + strings.TrimRight(string(b), "\x00"))
		if err != nil {
			t.Fatal(err)
		}
		defer interp.Close()
		return base + interp.Entry
	}
	return entry
}

// AT_BASE and AT_ENTRY (include/uapi/linux/auxvec.h).
const (
	atBase  = 7
	atEntry = 9
)

func TestDirectTraceErrors(t *testing.T) {
	tr := ptrace.NewTracer()
	defer tr.Close()
	before := openFDs(t)
	tests := []struct {
		name, path, dir string
		want            error
		prefix          string
	}{
		{"missing program", "/nonexistent", "", fs.ErrNotExist, "exec /nonexistent: "},
		{"directory", "/etc", "", fs.ErrPermission, "exec /etc: "},
		{"missing dir", "/bin/true", "/nonexistent-dir", fs.ErrNotExist, "start /bin/true: chdir /nonexistent-dir: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sandbox.Start(&sandbox.Config{Path: tt.path, Dir: tt.dir, Tracer: tr, DirectTrace: true})
			if !errors.Is(err, tt.want) || !strings.HasPrefix(fmtErr(err), tt.prefix) {
				t.Errorf("Start: %v, want %v after %q", err, tt.want, tt.prefix)
			}
		})
	}
	if after := openFDs(t); after != before {
		t.Errorf("fds before %s, after %s", before, after)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
