// Package victim is a target program for real-kernel tests: a test binary
// re-executes itself with [Env] set, and [Main] performs the syscalls its
// arguments ask for and prints what the kernel returned, one line each.
package victim

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// Env names the environment variable that turns a test binary into the victim.
const Env = "SYSGATE_TEST_VICTIM"

// Arg, as the first argument, also makes a test binary the victim: for
// targets started by a program (sysgate run) whose own environment the
// victim would otherwise share.
const Arg = "sysgate-test-victim"

// MaybeRun runs the victim and exits if this process was started as one.
func MaybeRun() {
	if len(os.Args) > 1 && os.Args[1] == Arg {
		os.Exit(Main(os.Args[2:]))
	}
	if os.Getenv(Env) != "1" {
		return
	}
	os.Exit(Main(os.Args[1:]))
}

// ExitNoI386 is the exit status of [Main] when an "i386" step finds no i386
// syscall ABI on this machine (see [HaveI386]); it prints why on stderr.
const ExitNoI386 = 3

// Main executes the steps in args: "syscall NR [ARG...]" for the native
// ABI; "i386 NR [ARG...]" for the i386 ABI through [I386Syscall], exiting
// with [ExitNoI386] where the machine has none; "int80 NR [ARG...]" for
// int $0x80 itself, which takes SIGSEGV where [HaveI386] fails (the Go
// runtime then aborts with "fatal error: fault", exit status 2); "status"
// to print /proc/self/status. Steps are separated by "--". It prints
// "ret=R errno=E" per syscall.
func Main(args []string) int {
	for len(args) > 0 {
		step, rest := args, []string(nil)
		for i, a := range args {
			if a == "--" {
				step, rest = args[:i], args[i+1:]
				break
			}
		}
		args = rest
		if err := do(step); err != nil {
			fmt.Fprintln(os.Stderr, "victim:", err)
			if errors.Is(err, ErrNoI386) {
				return ExitNoI386
			}
			return 2
		}
	}
	return 0
}

func do(step []string) error {
	if len(step) == 0 {
		return nil
	}
	switch step[0] {
	case "status":
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return err
		}
		os.Stdout.Write(b)
		return nil
	case "syscall", "int80", "i386":
		if len(step) < 2 {
			return fmt.Errorf("%s: want a number", step[0])
		}
		var v [7]uintptr
		for i, s := range step[1:] {
			if i >= len(v) {
				return fmt.Errorf("too many arguments")
			}
			n, err := strconv.ParseUint(s, 0, 64)
			if err != nil {
				return err
			}
			v[i] = uintptr(n)
		}
		var r uintptr
		var e syscall.Errno
		if step[0] != "syscall" && len(step) > 5 {
			return fmt.Errorf("%s: at most 3 arguments", step[0])
		}
		switch step[0] {
		case "i386":
			var err error
			if r, e, err = i386(v[0], v[1], v[2], v[3]); err != nil {
				return err
			}
		case "int80":
			r, e = int80(v[0], v[1], v[2], v[3])
		default:
			var r2 uintptr
			r, r2, e = syscall.RawSyscall6(v[0], v[1], v[2], v[3], v[4], v[5], v[6])
			_ = r2
		}
		fmt.Printf("ret=%d errno=%d\n", int64(r), int(e))
		return nil
	}
	return fmt.Errorf("unknown step %q", step[0])
}
