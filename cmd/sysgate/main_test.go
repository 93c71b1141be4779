package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sysgate/sysgate/internal/victim"
	"github.com/sysgate/sysgate/sandbox"
)

// The test binary doubles as the sysgate command (SYSGATE_TEST_MAIN=1),
// as the sandbox helper, and as a victim program making raw syscalls.
func TestMain(m *testing.M) {
	sandbox.RunHelper()
	victim.MaybeRun()
	if os.Getenv("SYSGATE_TEST_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// sysgate runs the command line in a child process and returns its
// stdout, stderr and exit code.
func sysgate(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := sysgateCmd(t, env, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = sandbox.ExitCode(ee.ProcessState)
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func sysgateCmd(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(append(os.Environ(), "SYSGATE_TEST_MAIN=1"), env...)
	return cmd
}

// victimArgs are the arguments that make the test binary a victim under
// "sysgate run"; the victim environment variable must be set too.
func victimArgs(t *testing.T, steps ...string) []string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{exe, victim.Arg}, steps...)
}

// victimEnv is nil: the victim is chosen by its first argument.
var victimEnv []string

func writePolicy(t *testing.T, src string) string {
	t.Helper()
	path := t.TempDir() + "/policy.yaml"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsage(t *testing.T) {
	out, _, code := sysgate(t, nil, "help")
	if code != 0 || !strings.Contains(out, "compile") {
		t.Fatalf("help: code %d, output %q", code, out)
	}
	_, errOut, code := sysgate(t, nil, "frobnicate")
	if code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: code %d, stderr %q", code, errOut)
	}
	for _, c := range commands {
		out, _, code := sysgate(t, nil, c.name, "-h")
		if code != 0 || strings.Count(out, "usage: sysgate "+c.name) != 1 {
			t.Errorf("%s -h: exit %d, want the usage once:\n%s", c.name, code, out)
		}
	}
	_, errOut, code = sysgate(t, nil, "compile", "--format", "nope", "x")
	if code == 0 {
		t.Fatalf("bad flag value accepted: %q", errOut)
	}
}
