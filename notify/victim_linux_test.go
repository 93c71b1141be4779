package notify_test

// The target of the kernel-facing tests is this test binary, re-executed
// with SYSGATE_NOTIFY_VICTIM set: it installs a filter that sends getppid
// (and, when asked, openat) to user space, hands the listener to the test
// over a unix socket (fd 3), and runs a small script of calls, printing
// one line of results per step.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/seccomp"
)

const (
	envVictim    = "SYSGATE_NOTIFY_VICTIM"     // script of steps, ';'-separated
	envNoInstall = "SYSGATE_NOTIFY_NO_INSTALL" // a child: already under the filter
	envOpenat    = "SYSGATE_NOTIFY_OPENAT"     // also notify openat
	envNrs       = "SYSGATE_NOTIFY_NRS"        // also notify these syscall numbers (comma-separated)
	envTrace     = "SYSGATE_NOTIFY_TRACE"      // SECCOMP_RET_TRACE instead of USER_NOTIF (benchmark)
	magicPath    = "/sysgate-notify-test/magic"
)

// nativeArch is the AUDIT_ARCH_* of the test binary.
func nativeArch() (uint32, bool) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, true
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, true
	case "riscv64":
		return unix.AUDIT_ARCH_RISCV64, true
	}
	return 0, false
}

// victimFilter sends getppid, openat if asked, and the syscalls numbered
// in extra to the supervisor, and allows everything else.
func victimFilter(openat bool, extra []uint32) []bpf.Instruction {
	arch, _ := nativeArch()
	nrs := []uint32{unix.SYS_GETPPID}
	if openat {
		nrs = append(nrs, unix.SYS_OPENAT)
	}
	nrs = append(nrs, extra...)
	prog := []bpf.Instruction{
		bpf.LoadAbs(bpf.OffsetArch),
		bpf.JumpIf(bpf.JumpJEQ, arch, 1, 0),
		bpf.Ret(unix.SECCOMP_RET_ALLOW),
		bpf.LoadAbs(bpf.OffsetNr),
	}
	for i, nr := range nrs {
		prog = append(prog, bpf.JumpIf(bpf.JumpJEQ, nr, uint8(len(nrs)-i), 0))
	}
	return append(prog, bpf.Ret(unix.SECCOMP_RET_ALLOW), bpf.Ret(unix.SECCOMP_RET_USER_NOTIF))
}

// extraNrs parses envNrs: syscall numbers separated by commas.
func extraNrs() []uint32 {
	var out []uint32
	for f := range strings.SplitSeq(os.Getenv(envNrs), ",") {
		if f != "" {
			out = append(out, uint32(atou(f)))
		}
	}
	return out
}

// runVictim is the victim's main. It returns the exit code.
func runVictim() int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "victim: "+format+"\n", a...)
		return 2
	}
	if os.Getenv(envNoInstall) == "" {
		runtime.LockOSThread()
		if err := seccomp.SetNoNewPrivs(); err != nil {
			return fail("%v", err)
		}
		// TSYNC because the Go runtime has several threads already;
		// WAIT_KILLABLE_RECV because Go preempts with signals.
		flags := seccomp.FlagNewListener | seccomp.FlagTSync | seccomp.FlagTSyncESRCH | seccomp.FlagWaitKillableRecv
		prog := victimFilter(os.Getenv(envOpenat) != "", extraNrs())
		if os.Getenv(envTrace) != "" {
			// The ptrace benchmark: SECCOMP_RET_TRACE instead, no listener;
			// the test gets /dev/null in its place.
			prog[len(prog)-1] = bpf.Ret(unix.SECCOMP_RET_TRACE)
			flags = seccomp.FlagTSync
		}
		listener, err := seccomp.Install(prog, flags)
		if err != nil {
			return fail("install filter: %v", err)
		}
		if flags&seccomp.FlagNewListener == 0 {
			if listener, err = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
				return fail("%v", err)
			}
		}
		if err := unix.Sendmsg(3, []byte{'L'}, unix.UnixRights(listener), nil, 0); err != nil {
			return fail("send listener: %v", err)
		}
		unix.Close(listener)
		unix.Close(3)
		runtime.UnlockOSThread()
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for step := range strings.SplitSeq(os.Getenv(envVictim), ";") {
		f := strings.Fields(step)
		if len(f) == 0 {
			continue
		}
		line, err := victimStep(f)
		if err != nil {
			return fail("step %q: %v", step, err)
		}
		fmt.Fprintln(out, line)
		out.Flush()
	}
	return 0
}

func atou(s string) uint64 {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		panic(err)
	}
	return v
}

// getppid makes the notified call with two extra arguments the handlers
// of the tests read (the kernel ignores them).
func getppid(a0, a1 uint64) (int64, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_GETPPID, uintptr(a0), uintptr(a1), 0)
	return int64(r), e
}

func result(r int64, e unix.Errno) string {
	if e != 0 {
		return fmt.Sprintf("-1 %d", int(e))
	}
	return fmt.Sprintf("%d 0", r)
}

func victimStep(f []string) (string, error) {
	switch f[0] {
	case "ppid": // ppid A0 A1: one call, prints "ret errno"
		return result(getppid(atou(f[1]), atou(f[2]))), nil

	case "ppid2": // ppid2 A0 A1 B0 B1: two calls at once on two threads
		var res [2]string
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				runtime.LockOSThread()
				res[i] = result(getppid(atou(f[1+2*i]), atou(f[2+2*i])))
			})
		}
		wg.Wait()
		return res[0] + " " + res[1], nil

	case "stress": // stress T N: T threads, N calls each, call i of thread t expects t<<32|i
		threads, n := int(atou(f[1])), atou(f[2])
		var good, bad [64]uint64
		var wg sync.WaitGroup
		for t := range threads {
			wg.Go(func() {
				runtime.LockOSThread()
				for i := range n {
					r, e := getppid(uint64(t), i)
					if e == 0 && r == int64(uint64(t)<<32|i) {
						good[t]++
					} else {
						bad[t]++
					}
				}
			})
		}
		wg.Wait()
		var g, b uint64
		for t := range threads {
			g, b = g+good[t], b+bad[t]
		}
		return fmt.Sprintf("%d %d", g, b), nil

	case "bench": // bench N {ppid|pid}: N calls; prints the mean and the best batch's ns per call
		n := atou(f[1])
		nr := uintptr(unix.SYS_GETPPID)
		if f[2] == "pid" {
			nr = unix.SYS_GETPID
		}
		// RawSyscall keeps the Go scheduler of the target out of the
		// figure (no P handoff while the call waits for the supervisor).
		runtime.LockOSThread()
		const batch = 500
		best := time.Duration(1 << 62)
		start := time.Now()
		for done := uint64(0); done < n; {
			k := min(batch, n-done)
			t0 := time.Now()
			for range k {
				unix.RawSyscall(nr, 0, 0, 0)
			}
			if d := time.Since(t0) / time.Duration(k); k == batch && d < best {
				best = d
			}
			done += k
		}
		mean := time.Since(start).Nanoseconds() / int64(max(n, 1))
		if best == 1<<62 {
			best = time.Duration(mean)
		}
		return fmt.Sprintf("%d %d", mean, best.Nanoseconds()), nil

	case "open": // open PATH: openat, read, prints the content (quoted) or the errno
		fd, err := unix.Openat(unix.AT_FDCWD, f[1], unix.O_RDONLY, 0)
		if err != nil {
			return fmt.Sprintf("err %d", int(err.(unix.Errno))), nil
		}
		defer unix.Close(fd)
		buf := make([]byte, 100)
		n, err := unix.Read(fd, buf)
		if err != nil {
			return "", err
		}
		fdFlags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		return fmt.Sprintf("%q cloexec=%v", buf[:n], fdFlags&unix.FD_CLOEXEC != 0), nil

	case "opens": // opens N PATH: N openat calls; prints how many gave a regular file, something else, an error
		var good, wrong, failed int
		for range atou(f[1]) {
			fd, err := unix.Openat(unix.AT_FDCWD, f[2], unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				failed++
				continue
			}
			// fstat, not read: a bogus fd 0 is the stdin pipe, and a read would block.
			var st unix.Stat_t
			if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
				good++
				unix.Close(fd)
			} else {
				wrong++ // not ours to close
			}
		}
		return fmt.Sprintf("%d %d %d", good, wrong, failed), nil

	case "edge": // edge A0: strings at the end of a page followed by an unmapped page
		page := os.Getpagesize()
		mem, err := unix.Mmap(-1, 0, 2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return "", err
		}
		base := uint64(uintptr(unsafePointer(mem)))
		// Not unix.Munmap: it would unmap the whole mapping it made.
		if _, _, e := unix.Syscall(unix.SYS_MUNMAP, uintptr(base)+uintptr(page), uintptr(page), 0); e != 0 {
			return "", e
		}
		copy(mem[page-5:], "edge\x00") // ends exactly at the page end
		r1 := result(getppid(atou(f[1]), base+uint64(page-5)))
		copy(mem[page-4:], "edge") // runs into the unmapped page
		r2 := result(getppid(atou(f[1]), base+uint64(page-4)))
		binary.NativeEndian.PutUint32(mem[0:], 0xfeedf00d)
		r3 := result(getppid(atou(f[1])+1, base))
		r4 := result(getppid(atou(f[1])+2, base+uint64(page-5)))
		return r1 + " " + r2 + " " + r3 + " " + r4, nil

	case "wait": // wait: until the test writes a line to stdin
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		return "waited " + strings.TrimSpace(line), err

	case "child": // child STEP...: run the steps in a child under the same filter
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envNoInstall+"=1", envVictim+"="+strings.Join(f[1:], " "))
		cmd.Stderr = os.Stderr
		err := cmd.Run()
		return fmt.Sprintf("child %v", err), nil
	}
	if line, ok, err := handlerStep(f); ok {
		return line, err
	}
	return "", fmt.Errorf("unknown step %q", f[0])
}
