package trace

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sysgate/sysgate/sandbox"
)

func launch(t *testing.T, ctx context.Context, argv []string, opts Options) (string, *Result) {
	t.Helper()
	var buf bytes.Buffer
	opts.Printer = NewPrinter(&buf)
	done := make(chan struct{})
	var res *Result
	var err error
	go func() {
		defer close(done)
		res, err = Launch(ctx, sandbox.Config{Path: argv[0], Args: argv}, opts)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("trace of %v did not end", argv)
	}
	if err != nil {
		t.Fatalf("Launch %v: %v", argv, err)
	}
	return buf.String(), res
}

func TestRobust(t *testing.T) {
	gcc := requireTool(t, "gcc")
	execThread := filepath.Join(t.TempDir(), "execthread")
	if b, err := exec.Command(gcc, "-pthread", "-o", execThread, "testdata/execthread.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	sel := func(s string) *Selection {
		x, err := ParseSelection(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	tests := []struct {
		name   string
		argv   []string
		opts   Options
		cancel time.Duration
		code   int
		want   []string
		check  func(t *testing.T, out string)
	}{
		{name: "killed", argv: []string{"/bin/sh", "-c", "kill -9 $$"}, opts: Options{Select: sel("kill")},
			code: 137, want: []string{"kill(", "SIGKILL) = ?", "+++ killed by SIGKILL +++"}},
		{name: "signals stop and cont", argv: []string{"/bin/sh", "-c", `sh -c 'kill -STOP $$; exit 4' & sleep 0.3; kill -CONT $!; wait $!`},
			opts: Options{Select: sel("kill,wait4")}, code: 4,
			want:  []string{"--- SIGSTOP {si_signo=SIGSTOP, si_code=SI_USER", "stopped by SIGSTOP", "+++ exited with 4 +++"},
			check: heldStop},
		{name: "exec from a thread", argv: []string{execThread}, opts: Options{Select: sel("execve,exit_group")}, code: 5,
			want: []string{"superseded by execve in pid", `execve("/bin/sh", ["sh", "-c", "exit 5"]`, "exit_group(5) = ?", "+++ exited with 5 +++"}},
		{name: "vfork and zombie", argv: []string{"/bin/sh", "-c", "/bin/true & sleep 0.1; wait"}, opts: Options{Select: sel("%process")}, code: 0,
			want: []string{"+++ exited with 0 +++", "wait4("}},
		{name: "interrupted", argv: []string{"/bin/sleep", "10"}, opts: Options{Select: sel("clock_nanosleep,nanosleep")}, cancel: 200 * time.Millisecond,
			code: 137, want: []string{"+++ killed by SIGKILL +++"}},
		{name: "no seccomp", argv: []string{"/bin/sh", "-c", "exit 3"}, opts: Options{Select: sel("exit_group"), NoSeccomp: true}, code: 3,
			want: []string{"exit_group(3) = ?"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			start := time.Now()
			out, res := launch(t, ctx, tc.argv, tc.opts)
			if res.ExitCode != tc.code {
				t.Errorf("exit code %d, want %d\n%s", res.ExitCode, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.check != nil {
				tc.check(t, out)
			}
			if tc.cancel > 0 && time.Since(start) > 5*time.Second {
				t.Errorf("cancel took %v", time.Since(start))
			}
		})
	}
}

// heldStop checks that a launched tracee's SIGSTOP holds it, as under
// strace: the child is shown stopped, and it gets its SIGCONT and exits
// only after its parent's kill(child, SIGCONT), 0.3 s later. A tracee whose
// group stop is not held (not seized) would exit before that kill.
func heldStop(t *testing.T, out string) {
	t.Helper()
	m := regexp.MustCompile(`\[pid (\d+)\] --- stopped by SIGSTOP ---`).FindStringSubmatchIndex(out)
	if m == nil {
		t.Fatalf("no stopped child:\n%s", out)
	}
	child := out[m[2]:m[3]]
	at := m[1]
	for _, w := range []string{
		"kill(" + child + ", SIGCONT) = 0",
		"[pid " + child + "] --- SIGCONT {si_signo=SIGCONT, si_code=SI_USER",
		"[pid " + child + "] +++ exited with 4 +++",
	} {
		i := strings.Index(out[at:], w)
		if i < 0 {
			t.Fatalf("after the stop, no %q, in order:\n%s", w, out)
		}
		at += i + len(w)
	}
}

// TestAttach seizes a running shell loop, then detaches on cancel: the
// process must go on running, neither stopped nor traced.
func TestAttach(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "while :; do sleep 0.05; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	sel, _ := ParseSelection("%process")
	res, err := Attach(ctx, cmd.Process.Pid, Options{Select: sel, Follow: true, Printer: NewPrinter(&buf)})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if res.Seccomp {
		t.Error("attached trace claims seccomp")
	}
	if !strings.Contains(buf.String(), "wait4(") && !strings.Contains(buf.String(), "clone(") {
		t.Errorf("no %%process call seen:\n%s", buf.String())
	}
	time.Sleep(100 * time.Millisecond)
	// Neither the shell nor a child it had forked (a sleep, caught in a
	// syscall stop, say) is left stopped or traced.
	pids := []int{cmd.Process.Pid}
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			if pid, err := strconv.Atoi(e.Name()); err == nil && statusField(pid, "PPid:") == itoa(cmd.Process.Pid) {
				pids = append(pids, pid)
			}
		}
	}
	for _, pid := range pids {
		if st := statusField(pid, "State:"); strings.Contains(st, "T") || strings.Contains(st, "t (") {
			t.Errorf("pid %d after detach: %s", pid, st)
		}
		if tr := statusField(pid, "TracerPid:"); tr != "0" && tr != "" {
			t.Errorf("pid %d still traced after detach by %s", pid, tr)
		}
	}
}

// statusField is a field of /proc/PID/status, "" when unreadable.
func statusField(pid int, key string) string {
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }
