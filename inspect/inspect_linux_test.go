package inspect

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/bpf"
)

func TestMain(m *testing.M) {
	switch mode := os.Getenv(victimEnv); {
	case strings.HasPrefix(mode, "inspect-under-seccomp:"):
		inspectorMain(strings.TrimPrefix(mode, "inspect-under-seccomp:"))
	case mode != "":
		victimMain(mode)
	}
	code := m.Run()
	if code == 0 {
		if kids := children(); kids != "" {
			fmt.Printf("leaked child processes: %s\n", kids)
			code = 1
		}
	}
	os.Exit(code)
}

// children lists the children of every thread of the test process.
func children() string {
	var all []string
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		b, _ := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		all = append(all, strings.Fields(string(b))...)
	}
	return strings.Join(all, " ")
}

// inspectorMain puts itself under a filter, then inspects another
// process: the kernel must refuse to show the filters.
func inspectorMain(pid string) {
	if err := installFilters(programB); err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	n, _ := strconv.Atoi(pid)
	r, err := Inspect(n, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	fmt.Printf("programs=%d permission=%v filters=%d err=%v\n",
		len(r.Programs), errors.Is(r.FilterErr, ErrPermission), r.Filters, r.FilterErr)
	os.Exit(0)
}

// skipUnsupported skips when a victim reports that the kernel lacks a
// feature; on this project's Linux 6.18 machine that is a bug to look at.
func skipUnsupported(t *testing.T, line, feature, kernel string) {
	t.Helper()
	if strings.HasPrefix(line, "unsupported ") {
		t.Skipf("%s needs Linux %s: %s", feature, kernel, line)
	}
}

type victim struct {
	cmd   *exec.Cmd
	out   *bufio.Reader
	ready string // the rest of the "ready" line
}

// startVictim re-executes the test binary in a victim mode and waits for
// it to say it is ready (or why not: the line is returned in ready).
func startVictim(t *testing.T, env string) *victim {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		// programA kills every other arch, and would kill the victim.
		t.Skipf("the victims' hand-assembled filters are for x86_64, not %s", runtime.GOARCH)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), victimEnv+"="+env)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	v := &victim{cmd: cmd, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		if v.cmd.ProcessState == nil {
			_ = v.cmd.Process.Kill()
			_ = v.cmd.Wait()
		}
	})
	line, err := v.out.ReadString('\n')
	if err != nil {
		t.Fatalf("victim %s: %v", env, err)
	}
	line = strings.TrimSuffix(line, "\n")
	rest, ok := strings.CutPrefix(line, "ready")
	if !ok {
		v.ready = line
		return v
	}
	v.ready = strings.TrimSpace(rest)
	return v
}

// finish checks that the victim still runs normally: not stopped, it
// handles a signal, and it exits 0.
func (v *victim) finish(t *testing.T) {
	t.Helper()
	pid := v.cmd.Process.Pid
	if st := procState(t, pid); strings.HasPrefix(st, "t") || strings.HasPrefix(st, "T") {
		t.Errorf("victim left in state %q after inspection", st)
	}
	if err := v.cmd.Process.Signal(unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	line, err := v.readLine(5 * time.Second)
	if line != "bye\n" {
		t.Errorf("victim answered %q, %v to SIGUSR1; want bye", line, err)
	}
	_, _ = io.Copy(io.Discard, v.out)
	if err := v.cmd.Wait(); err != nil {
		t.Errorf("victim did not exit normally: %v", err)
	}
}

// readLine reads a line of the victim's output, or gives up after d so
// that a lost signal fails the test instead of hanging it.
func (v *victim) readLine(d time.Duration) (string, error) {
	type result struct {
		line string
		err  error
	}
	c := make(chan result, 1)
	go func() {
		line, err := v.out.ReadString('\n')
		c <- result{line, err}
	}()
	select {
	case r := <-c:
		return r.line, r.err
	case <-time.After(d):
		_ = v.cmd.Process.Kill()
		return "", fmt.Errorf("no line within %v", d)
	}
}

func procState(t *testing.T, pid int) string {
	t.Helper()
	st, err := readStatus(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	return st.State
}

func TestInspectFilters(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		newest  []bpf.Instruction
		filters int
	}{
		{name: "one filter", mode: "one-filter", newest: programA, filters: 1},
		{name: "two stacked filters", mode: "two-filters", newest: programB, filters: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := startVictim(t, tt.mode)
			if v.ready != "" {
				t.Fatalf("victim: %s", v.ready)
			}
			fdsBefore := openFDs(t)
			r, err := Inspect(v.cmd.Process.Pid, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if n := openFDs(t); n != fdsBefore {
				t.Errorf("open fds: %d before Inspect, %d after", fdsBefore, n)
			}
			if r.FilterErr != nil || r.SUDErr != nil || r.MapsErr != nil {
				t.Fatalf("errors: filters %v, sud %v, maps %v", r.FilterErr, r.SUDErr, r.MapsErr)
			}
			if r.Seccomp != "filter" || r.Filters != tt.filters || !r.NoNewPrivs {
				t.Errorf("seccomp %q, %d filters, no_new_privs %v; want filter, %d, true", r.Seccomp, r.Filters, r.NoNewPrivs, tt.filters)
			}
			if len(r.Threads) != 0 {
				t.Errorf("threads with another seccomp state: %v (filters were installed with TSYNC)", r.Threads)
			}
			if len(r.Programs) != tt.filters {
				t.Fatalf("read %d programs, want %d\n%s", len(r.Programs), tt.filters, dump(r))
			}
			// The kernel numbers filters in install order: 0 is the oldest.
			if got := r.Programs[len(r.Programs)-1].Instructions; !slices.Equal(got, tt.newest) {
				t.Errorf("newest program read back as\n%s\nwant\n%s", bpf.Disassemble(got, bpf.DisasmOptions{}), bpf.Disassemble(tt.newest, bpf.DisasmOptions{}))
			}
			if got := r.Programs[0].Instructions; !slices.Equal(got, programA) {
				t.Errorf("oldest program read back as\n%s", bpf.Disassemble(got, bpf.DisasmOptions{}))
			}
			for i, p := range r.Programs {
				if p.Index != i || p.Disassembly == "" || p.Log {
					t.Errorf("program %d: index %d, log %v, disassembly %q", i, p.Index, p.Log, p.Disassembly)
				}
			}

			sumA := r.Programs[0].Summary
			if g, ok := findGroup(sumA, "x86_64", "mount"); !ok || g.Action != "errno EPERM" || len(g.Syscalls) != 1 {
				t.Errorf("mount in group %+v, want errno EPERM alone\n%s", g, dump(r))
			}
			if g, ok := findGroup(sumA, "x86_64", "personality"); !ok || !g.Dependent ||
				!slices.Equal(g.Seen, []string{"allow", "errno EINVAL"}) {
				t.Errorf("personality in group %+v, want depending on arguments (allow | errno EINVAL)\n%s", g, dump(r))
			}
			if g, ok := findGroup(sumA, "x86_64", "read"); !ok || g.Action != "allow" || !g.Cacheable {
				t.Errorf("read in group %+v, want allow, cacheable", g)
			}
			for _, arch := range []string{"i386", "x32", "other"} {
				if s := findArch(sumA, arch); s.All != "kill-process" {
					t.Errorf("%s: %+v, want kill-process for every syscall\n%s", arch, s, dump(r))
				}
			}
			if s := findArch(sumA, "x86_64"); s.Unknown != "allow" {
				t.Errorf("x86_64 numbers not in the table: %q, want allow", s.Unknown)
			}

			if tt.filters == 2 {
				if g, ok := findGroup(r.Programs[1].Summary, "i386", "read"); !ok || g.Action != "allow" {
					t.Errorf("program B, i386 read: %+v, want allow (B checks no arch)", g)
				}
				if g, ok := findGroup(r.Effective, "x86_64", "chroot"); !ok || g.Action != "errno EACCES" {
					t.Errorf("effective chroot: %+v, want errno EACCES\n%s", g, dump(r))
				}
				if g, ok := findGroup(r.Effective, "x86_64", "mount"); !ok || g.Action != "errno EPERM" {
					t.Errorf("effective mount: %+v, want errno EPERM", g)
				}
				if s := findArch(r.Effective, "i386"); s.All != "kill-process" {
					t.Errorf("effective i386: %+v, want kill-process", s)
				}
			} else if r.Effective != nil {
				t.Errorf("Effective set for a single filter")
			}
			v.finish(t)
		})
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

func TestInspectNoFilter(t *testing.T) {
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = sleep.Process.Kill()
		_ = sleep.Wait()
	}()
	waitState(t, sleep.Process.Pid, "S")
	r, err := Inspect(sleep.Process.Pid, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Seccomp != "disabled" || r.Filters != 0 || r.Programs != nil || r.FilterErr != nil || r.SyscallUserDispatch != nil || r.SUDErr != nil {
		t.Errorf("sleep: %+v", r)
	}
	if r.Comm != "sleep" || !strings.HasSuffix(r.Exe, "/sleep") {
		t.Errorf("comm %q, exe %q", r.Comm, r.Exe)
	}
	if !strings.Contains(dump(r), "seccomp:               disabled\n") {
		t.Errorf("text report:\n%s", dump(r))
	}
	waitState(t, sleep.Process.Pid, "S")
}

// A process that was stopped before stays stopped: detaching must not
// resume it, and no SIGSTOP/SIGCONT may be lost.
func TestInspectStoppedStaysStopped(t *testing.T) {
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = sleep.Process.Kill()
		_ = sleep.Wait()
	}()
	pid := sleep.Process.Pid
	if err := unix.Kill(pid, unix.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitState(t, pid, "T")
	if _, err := Inspect(pid, Options{}); err != nil {
		t.Fatal(err)
	}
	waitState(t, pid, "T")
	time.Sleep(50 * time.Millisecond)
	if st := procState(t, pid); !strings.HasPrefix(st, "T") {
		t.Fatalf("state %q after inspection, want still T (stopped)", st)
	}
	if err := unix.Kill(pid, unix.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitState(t, pid, "S")
}

func waitState(t *testing.T, pid int, prefix string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := procState(t, pid)
		if strings.HasPrefix(st, prefix) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d in state %q, waited for %s", pid, st, prefix)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Signals that arrive while the inspector holds the process are delivered
// after it lets go, whichever comes first, the signal or the interrupt.
func TestInspectSignalDuringStop(t *testing.T) {
	tests := []struct {
		name string
		sig  unix.Signal
	}{
		{name: "SIGUSR1 is handled", sig: unix.SIGUSR1},
		{name: "SIGSTOP stops", sig: unix.SIGSTOP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for round := range 6 {
				v := startVictim(t, "one-filter")
				if v.ready != "" {
					t.Fatalf("victim: %s", v.ready)
				}
				pid := v.cmd.Process.Pid
				testHookSeized = func(pid int) { _ = unix.Kill(pid, tt.sig) }
				r, err := Inspect(pid, Options{})
				testHookSeized = nil
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Programs) != 1 || r.FilterErr != nil {
					t.Fatalf("round %d: %d programs, %v", round, len(r.Programs), r.FilterErr)
				}
				if tt.sig == unix.SIGSTOP {
					waitState(t, pid, "T")
					if err := unix.Kill(pid, unix.SIGCONT); err != nil {
						t.Fatal(err)
					}
					v.finish(t)
					continue
				}
				// The SIGUSR1 sent during the stop alone makes it say bye.
				line, err := v.readLine(5 * time.Second)
				if line != "bye\n" {
					t.Fatalf("round %d: victim said %q, %v after a SIGUSR1 during inspection", round, line, err)
				}
				if err := v.cmd.Wait(); err != nil {
					t.Fatalf("round %d: victim: %v", round, err)
				}
			}
		})
	}
}

func TestInspectSealed(t *testing.T) {
	v := startVictim(t, "mseal")
	skipUnsupported(t, v.ready, "mseal", "6.10")
	addr, err := strconv.ParseUint(v.ready, 0, 64)
	if err != nil {
		t.Fatalf("victim: %s", v.ready)
	}
	r, err := Inspect(v.cmd.Process.Pid, Options{})
	if err != nil {
		t.Fatal(err)
	}
	page := uint64(os.Getpagesize())
	var sealed, vdso bool
	for _, m := range r.Sealed {
		if m.Start <= addr && addr < m.End {
			sealed = m.Sealed && m.Start == addr && m.End == addr+page
		}
		if m.Start == addr+page {
			t.Errorf("unsealed half of the victim's mapping reported: %+v", m)
		}
		if m.Path == "[vdso]" {
			vdso = m.System
		}
		if !m.Sealed && !m.System {
			t.Errorf("mapping neither sealed nor special reported: %+v", m)
		}
	}
	if !sealed || !vdso {
		t.Errorf("sealed page %#x found %v, [vdso] found %v\n%s", addr, sealed, vdso, dump(r))
	}
	if !strings.Contains(dump(r), fmt.Sprintf("%016x-%016x r--p (anonymous)", addr, addr+page)) {
		t.Errorf("text report lacks the sealed page:\n%s", dump(r))
	}
	v.finish(t)
}

func TestInspectSyscallUserDispatch(t *testing.T) {
	v := startVictim(t, "sud")
	skipUnsupported(t, v.ready, "syscall user dispatch", "5.11")
	sel, err := strconv.ParseUint(v.ready, 0, 64)
	if err != nil {
		t.Fatalf("victim: %s", v.ready)
	}
	r, err := Inspect(v.cmd.Process.Pid, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if errors.Is(r.SUDErr, unix.EIO) {
		t.Skipf("PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG needs Linux 6.4: %v", r.SUDErr)
	}
	want := &SUD{Mode: "exclusive", Offset: sudExemptOff, Len: sudExemptLen, Selector: sel, SelectorValue: 0}
	if r.SUDErr != nil || r.SyscallUserDispatch == nil || *r.SyscallUserDispatch != *want {
		t.Errorf("dispatch %+v, %v; want %+v", r.SyscallUserDispatch, r.SUDErr, want)
	}
	if !strings.Contains(dump(r), "syscall user dispatch: exclusive, range 0x10000-0x12000") {
		t.Errorf("text report:\n%s", dump(r))
	}
	v.finish(t)
}

// Filters belong to threads: one installed without TSYNC shows on the
// main thread only, and the other threads are listed as differing.
func TestInspectThreads(t *testing.T) {
	v := startVictim(t, "main-thread-only")
	if v.ready != "" {
		t.Fatalf("victim: %s", v.ready)
	}
	r, err := Inspect(v.cmd.Process.Pid, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Filters != 1 || len(r.Programs) != 1 || !slices.Equal(r.Programs[0].Instructions, programB) {
		t.Errorf("main thread: %d filters, %d programs", r.Filters, len(r.Programs))
	}
	if len(r.Threads) == 0 {
		t.Errorf("no other threads reported; a Go process has several")
	}
	for _, th := range r.Threads {
		if th.Seccomp != "disabled" || th.Filters != 0 || th.Tid == r.Pid {
			t.Errorf("thread %+v, want disabled with 0 filters", th)
		}
	}
	v.finish(t)
}

func TestInspectNoStop(t *testing.T) {
	v := startVictim(t, "one-filter")
	if v.ready != "" {
		t.Fatalf("victim: %s", v.ready)
	}
	r, err := Inspect(v.cmd.Process.Pid, Options{NoStop: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Filters != 1 || r.Programs != nil || !errors.Is(r.FilterErr, ErrSkipped) || !errors.Is(r.SUDErr, ErrSkipped) {
		t.Errorf("NoStop: filters %d, programs %d, errors %v / %v", r.Filters, len(r.Programs), r.FilterErr, r.SUDErr)
	}
	if !strings.Contains(dump(r), "filters:               not read: stopping the process was turned off (NoStop)\n") {
		t.Errorf("text report:\n%s", dump(r))
	}
	v.finish(t)
}

// An inspector that is itself under seccomp is refused the filters by the
// kernel; the rest of the report must still be there, with the reason.
func TestInspectRefused(t *testing.T) {
	target := startVictim(t, "one-filter")
	if target.ready != "" {
		t.Fatalf("victim: %s", target.ready)
	}
	insp := startVictim(t, fmt.Sprintf("inspect-under-seccomp:%d", target.cmd.Process.Pid))
	want := "programs=0 permission=true filters=1 err=read filter 0: permission denied: the kernel does not show filters to an inspector itself under seccomp"
	if insp.ready != want {
		t.Errorf("inspector under seccomp said\n%s\nwant\n%s", insp.ready, want)
	}
	if err := insp.cmd.Wait(); err != nil {
		t.Errorf("inspector: %v", err)
	}
	target.finish(t)
}

// The test process inspects itself: everything but the ptrace part.
func TestInspectSelf(t *testing.T) {
	r, err := Inspect(os.Getpid(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Seccomp == "" || (r.Seccomp == "filter") != errors.Is(r.FilterErr, ErrPermission) || !errors.Is(r.SUDErr, ErrPermission) {
		t.Errorf("self: seccomp %q, errors %v / %v", r.Seccomp, r.FilterErr, r.SUDErr)
	}
	if len(r.Sealed) == 0 || r.MapsErr != nil {
		t.Errorf("self: no special mappings found (%v)", r.MapsErr)
	}
}

func TestInspectNoProcess(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Fatal(err)
	}
	max, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pid  int
		is   error
		msg  string
	}{
		{name: "beyond pid_max", pid: max + 1, is: ErrNoProcess, msg: fmt.Sprintf("inspect pid %d: no such process", max+1)},
		{name: "zero", pid: 0, msg: "inspect pid 0: not a process id"},
		{name: "negative", pid: -5, msg: "inspect pid -5: not a process id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Inspect(tt.pid, Options{})
			if err == nil || r != nil {
				t.Fatalf("Inspect(%d) = %v, %v; want an error", tt.pid, r, err)
			}
			if err.Error() != tt.msg || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("error %q, want %q (is %v)", err, tt.msg, tt.is)
			}
		})
	}
}
