package bpf

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel is the reference: these tests load programs into it and
// compare with Validate and Run. Filters are only ever installed in a
// re-executed copy of the test binary, never in the test process.

const (
	envFilter = "SYSGATE_BPF_TEST_FILTER" // hex of the program to install
	envArgs   = "SYSGATE_BPF_TEST_ARGS"   // comma-separated syscall arguments
	exitLoad  = 3                         // the kernel refused the filter
)

func TestMain(m *testing.M) {
	if code := os.Getenv(envFilter); code != "" {
		os.Exit(filterHelper(code, os.Getenv(envArgs)))
	}
	os.Exit(m.Run())
}

// filterHelper runs in the child: it installs the filter on its thread,
// makes getpgid(args...) and prints the errno it got.
func filterHelper(code, args string) int {
	raw, err := hex.DecodeString(code)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var a [6]uintptr
	for i, s := range strings.Split(args, ",") {
		v, _ := strconv.ParseUint(s, 0, 64)
		a[i] = uintptr(v)
	}
	filter := make([]unix.SockFilter, len(raw)/8)
	for i := range filter {
		p := raw[8*i:]
		filter[i] = unix.SockFilter{Code: binary.NativeEndian.Uint16(p), Jt: p[2], Jf: p[3], K: binary.NativeEndian.Uint32(p[4:])}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	// The filter applies to this thread only; keep the syscall on it.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "no_new_privs:", err)
		return 1
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		fmt.Println(int(e))
		return exitLoad
	}
	_, _, e := unix.RawSyscall6(unix.SYS_GETPGID, a[0], a[1], a[2], a[3], a[4], a[5])
	fmt.Println(int(e))
	return 0
}

// kernelRun installs prog in a child and returns the errno getpgid got,
// or loaded=false with the errno of the refused install.
func kernelRun(t *testing.T, prog []Instruction, args [6]uint64) (errno int, loaded bool) {
	t.Helper()
	var as []string
	for _, a := range args {
		as = append(as, fmt.Sprintf("%#x", a))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		envFilter+"="+hex.EncodeToString(Marshal(prog, binary.NativeEndian)),
		envArgs+"="+strings.Join(as, ","))
	out, err := cmd.Output()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == exitLoad:
		loaded = false
	case err != nil:
		t.Fatalf("helper: %v %s\n%s", err, ee.Stderr, Disassemble(prog, DisasmOptions{}))
	default:
		loaded = true
	}
	errno, err = strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("helper printed %q", out)
	}
	return errno, loaded
}

func nativeArch(t *testing.T) uint32 {
	switch runtime.GOARCH {
	case "amd64":
		return 0xc000003e
	case "arm64":
		return 0xc00000b7
	}
	t.Skipf("kernel tests: no AUDIT_ARCH for GOARCH=%s (amd64, arm64)", runtime.GOARCH)
	return 0
}

// wrapForKernel makes body (straight-line code leaving a value in A) the
// getpgid branch of a filter that allows everything else, returning the
// low 11 bits of A as an errno (the kernel caps errno at 4095, and Go's
// raw syscalls read -4095 as a success).
func wrapForKernel(body []Instruction) []Instruction {
	prog := []Instruction{LoadAbs(OffsetNr), JumpIf(JumpJEQ, uint32(unix.SYS_GETPGID), 0, uint8(len(body)+3))}
	prog = append(prog, body...)
	return append(prog,
		AndK(0x7ff),
		Instruction{Op: ClassALU | AluOR | SrcK, K: 0x50000},
		Instruction{Op: ClassRET | RetA},
		Ret(SeccompRetAllow))
}

// TestKernelSemantics runs straight-line computations in the kernel and
// in the interpreter and compares the results.
func TestKernelSemantics(t *testing.T) {
	nativeArch(t)
	fixed := map[string]string{
		"lsh x by 33":    "ld #1\nldx #33\nlsh x",
		"rsh x by 63":    "ld #0x80000000\nldx #63\nrsh x\nadd #5",
		"div x":          "ld #1000\nldx #7\ndiv x",
		"neg":            "ld #5\nneg\nrsh #20",
		"len":            "ld #len\nldx #len\nadd x",
		"arg0 high half": "ld [20]",
		"scratch":        "ld [16]\nst M[7]\nld #1\nldx M[7]\ntxa\nadd #1",
	}
	args := [6]uint64{0x1234_0000_0abc, 2, 3, 4, 5, 0xffff_ffff_ffff_ffff}
	check := func(name string, body []Instruction) {
		t.Run(name, func(t *testing.T) {
			prog := wrapForKernel(body)
			d := SeccompData{Nr: uint32(unix.SYS_GETPGID), Arch: nativeArch(t), Args: args}
			want, err := RunSeccomp(prog, d, binary.NativeEndian)
			if err != nil {
				t.Fatalf("%v\n%s", err, Disassemble(prog, DisasmOptions{}))
			}
			errno, loaded := kernelRun(t, prog, args)
			if !loaded {
				t.Fatalf("kernel refused the filter: errno %d\n%s", errno, Disassemble(prog, DisasmOptions{}))
			}
			if uint32(errno) != want.Ret&0x7ff {
				t.Errorf("kernel: errno %d, interpreter: %d\n%s", errno, want.Ret&0x7ff, Disassemble(prog, DisasmOptions{}))
			}
		})
	}
	for name, text := range fixed {
		check(name, mustAsm(t, text))
	}
	r := rand.New(rand.NewPCG(11, 12))
	for i := range 30 {
		var body []Instruction
		for range 16 {
			body = append(body, Instruction{Op: ClassST, K: uint32(r.IntN(16))})
		}
		for _, ins := range randomValidProgram(r, 2+r.IntN(30)) {
			// Straight-line code only, no X divisor that may be zero
			// (the program would return 0: kill), no instruction pointer.
			switch {
			case ins.Class() == ClassJMP || ins.Class() == ClassRET,
				ins.Op == ClassALU|AluDIV|SrcX,
				ins.Op == ClassLD|SizeW|ModeABS && (ins.K == 8 || ins.K == 12):
				continue
			case ins.Op == ClassLD|ModeMEM || ins.Op == ClassLDX|ModeMEM:
				ins.Op = ClassST
			}
			body = append(body, ins)
		}
		check(fmt.Sprintf("random %d", i), body)
	}
}

// TestKernelAcceptance loads programs the checker must accept or refuse
// as the kernel does, the seccomp-only rules included.
func TestKernelAcceptance(t *testing.T) {
	nativeArch(t)
	tests := []struct {
		name string
		text string
	}{
		{"minimal", "ret #0x7fff0000"},
		{"mod", "mod #3\nret #0x7fff0000"},
		{"ldh", "ldh [0]\nret #0x7fff0000"},
		{"ld past seccomp_data", "ld [64]\nret #0x7fff0000"},
		{"ld misaligned", "ld [2]\nret #0x7fff0000"},
		{"ret x", "ret x"},
		{"ret a", "ld #0x7fff0000\nret a"},
		{"ld len", "ld #len\nldx #len\nret #0x7fff0000"},
		{"fall-through from ret quirk", "jeq #1, 0, 2\nst M[0]\nja 1\nret #0x7fff0000\nld M[0]\nret #0x7fff0000"},
		{"dead read after store", "st M[0]\nret #0x7fff0000\nld M[0]\nret #0x7fff0000"},
		{"last is not ret", "ret #0x7fff0000\nld #0"},
		{"shift by 32", "lsh #32\nret #0x7fff0000"},
		{"div by zero", "div #0\nret #0x7fff0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := mustAsm(t, tt.text)
			verr := Validate(prog)
			errno, loaded := kernelRun(t, prog, [6]uint64{})
			if loaded != (verr == nil) {
				t.Errorf("kernel loaded=%v (errno %d), Validate: %v\n%s", loaded, errno, verr, Disassemble(prog, DisasmOptions{}))
			}
			if !loaded && errno != int(syscall.EINVAL) {
				t.Errorf("kernel refused with errno %d, not EINVAL", errno)
			}
		})
	}
}

// TestKernelClassicChecks compares the classic BPF rules with the kernel's
// by attaching random, partly broken programs to a socket (same
// bpf_check_classic, nothing installed in this process's seccomp state).
func TestKernelClassicChecks(t *testing.T) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	classic := []uint16{}
	for op := range opTable {
		if opTable[op].known() {
			classic = append(classic, uint16(op))
		}
	}
	r := rand.New(rand.NewPCG(13, 14))
	var accepted, refused int
	for range 3000 {
		prog := randomValidProgram(r, 2+r.IntN(40))
		for range r.IntN(3) {
			pc := r.IntN(len(prog))
			switch r.IntN(5) {
			case 0:
				prog[pc].Op = classic[r.IntN(len(classic))]
			case 1:
				prog[pc].Op = uint16(r.IntN(256))
			case 2:
				prog[pc].K = uint32(r.IntN(40))
			case 3:
				prog[pc].Jt, prog[pc].Jf = uint8(r.IntN(8)), uint8(r.IntN(8))
			case 4: // a scratch read somewhere
				prog[pc] = Instruction{Op: ClassLD | ModeMEM, K: uint32(r.IntN(16))}
			}
		}
		filter := make([]unix.SockFilter, len(prog))
		for i, ins := range prog {
			filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
		}
		kerr := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
			&unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]})
		ours := validateClassic(prog)
		if (kerr == nil) != (ours == nil) {
			t.Fatalf("kernel: %v, validateClassic: %v\n%s", kerr, ours, Disassemble(prog, DisasmOptions{}))
		}
		if kerr == nil {
			accepted++
		} else {
			refused++
		}
	}
	t.Logf("%d accepted, %d refused by both", accepted, refused)
	if accepted < 300 || refused < 300 {
		t.Errorf("too one-sided: %d accepted, %d refused", accepted, refused)
	}
}
