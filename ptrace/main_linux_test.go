package ptrace_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/internal/victim"
	"github.com/sysgate/sysgate/ptrace"
	"github.com/sysgate/sysgate/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.RunHelper()
	victim.MaybeRun()
	code := m.Run()
	if kids := children(); code == 0 && kids != "" {
		fmt.Fprintf(os.Stderr, "processes left behind: %s\n", kids)
		code = 1
	}
	os.Exit(code)
}

func children() string {
	var all []string
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		all = append(all, strings.Fields(string(b))...)
	}
	return strings.Join(all, " ")
}

// target starts the test binary as a victim running steps, traced by tr
// and stopped at its exec; stdout is returned by the func, which waits
// for the end after the test detached the target.
type target struct {
	t    *testing.T
	tr   *ptrace.Tracer
	proc *sandbox.Process
	out  *os.File
	w    *os.File
}

func startTarget(t *testing.T, tr *ptrace.Tracer, steps ...string) *target {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	p, err := sandbox.Start(&sandbox.Config{
		Path: exe, Args: append([]string{exe, victim.Arg}, steps...),
		Stdout: w, Stderr: os.Stderr, Tracer: tr,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return &target{t: t, tr: tr, proc: p, out: r, w: w}
}

// detachAndWait detaches the target, waits for it, and returns its output
// and exit code.
func (tg *target) detachAndWait() (string, int) {
	tg.t.Helper()
	if err := tg.tr.Do(func() error { return unix.PtraceDetach(tg.proc.Pid) }); err != nil {
		tg.t.Fatalf("detach: %v", err)
	}
	ps, err := tg.proc.Wait()
	if err != nil {
		tg.t.Fatal(err)
	}
	tg.w.Close()
	b, _ := io.ReadAll(tg.out)
	return string(b), sandbox.ExitCode(ps)
}
