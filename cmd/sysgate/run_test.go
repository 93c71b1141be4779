package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// requireTool skips when a program the test runs is missing; .ci/run
// installs them all, so on CI this never skips.
func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (.ci/run installs it)", name)
	}
}

// runClean runs a command under the default policy with --log and fails
// on any denial or kill report.
func runClean(t *testing.T, dir string, argv ...string) string {
	t.Helper()
	cmd := sysgateCmd(t, nil, append([]string{"run", "--log", "--"}, argv...)...)
	cmd.Dir = dir
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\nstdout: %s\nstderr: %s", argv, err, out.String(), errOut.String())
	}
	if strings.Contains(errOut.String(), "sysgate:") {
		t.Fatalf("%v: sysgate reported denials:\n%s", argv, errOut.String())
	}
	return out.String()
}

// TestDefaultPolicyOrdinaryPrograms: the default policy runs what
// ordinary programs need without a single denial.
func TestDefaultPolicyOrdinaryPrograms(t *testing.T) {
	dir := t.TempDir()
	t.Run("sh", func(t *testing.T) {
		if out := runClean(t, dir, "sh", "-c", "echo hello; x=$(echo sub); echo $x"); out != "hello\nsub\n" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("ls", func(t *testing.T) { runClean(t, dir, "ls", "-la", "/", "/proc/self/") })
	t.Run("python3", func(t *testing.T) {
		requireTool(t, "python3")
		if out := runClean(t, dir, "python3", "-c", "import os, json, subprocess, threading; print(json.dumps(sorted(os.listdir('/'))[:1])); print(subprocess.run(['true']).returncode)"); !strings.HasSuffix(out, "0\n") {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("gcc", func(t *testing.T) {
		requireTool(t, "gcc")
		os.WriteFile(filepath.Join(dir, "hello.c"), []byte("#include <stdio.h>\nint main(void){puts(\"hi from c\");return 0;}\n"), 0o644)
		runClean(t, dir, "gcc", "-O2", "-o", "hello", "hello.c")
		if out := runClean(t, dir, "./hello"); out != "hi from c\n" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("go build", func(t *testing.T) {
		requireTool(t, "go")
		mod := filepath.Join(dir, "gomod")
		os.MkdirAll(mod, 0o755)
		os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644)
		os.WriteFile(filepath.Join(mod, "main.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi from go\") }\n"), 0o644)
		runClean(t, mod, "go", "build", "-o", "hello", ".")
		if out := runClean(t, mod, "./hello"); out != "hi from go\n" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("tar", func(t *testing.T) {
		requireTool(t, "tar")
		os.MkdirAll(filepath.Join(dir, "tree/a/b"), 0o755)
		os.WriteFile(filepath.Join(dir, "tree/a/b/f"), []byte("data"), 0o644)
		runClean(t, dir, "tar", "czf", "t.tgz", "tree")
		os.MkdirAll(filepath.Join(dir, "x"), 0o755)
		runClean(t, dir, "tar", "xzf", "t.tgz", "-C", "x")
		if b, err := os.ReadFile(filepath.Join(dir, "x/tree/a/b/f")); err != nil || string(b) != "data" {
			t.Fatalf("extracted %q, %v", b, err)
		}
	})
	t.Run("tcp client and server", func(t *testing.T) {
		requireTool(t, "python3")
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		server := fmt.Sprintf(`import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", %d)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); c.sendall(c.recv(100).upper()); c.close()`, port)
		client := fmt.Sprintf(`import socket, time
for i in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", %d)); break
    except ConnectionRefusedError: time.sleep(0.05)
s.sendall(b"ping"); print(s.recv(100).decode())`, port)
		srv := sysgateCmd(t, nil, "run", "--log", "--", "python3", "-c", server)
		var srvErr strings.Builder
		srv.Stderr = &srvErr
		stdout, _ := srv.StdoutPipe()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		if line != "ready\n" {
			srv.Process.Kill()
			t.Fatalf("server said %q; stderr %s", line, srvErr.String())
		}
		if out := runClean(t, dir, "python3", "-c", client); out != "PING\n" {
			t.Fatalf("client got %q", out)
		}
		if err := srv.Wait(); err != nil || strings.Contains(srvErr.String(), "sysgate:") {
			t.Fatalf("server: %v %s", err, srvErr.String())
		}
	})
}

// TestDefaultPolicyDenials: each denied category of the default policy,
// shown on a real syscall made by a victim under "sysgate run".
func TestDefaultPolicyDenials(t *testing.T) {
	const (
		eperm  = "errno=1"
		enosys = "errno=38"
	)
	for _, tc := range []struct {
		name  string
		steps []string
		want  string
		code  int
	}{
		{"init_module", []string{"syscall", "175", "0", "0", "0"}, eperm, 0},
		{"finit_module", []string{"syscall", "313", "0", "0", "0"}, eperm, 0},
		{"kexec_load", []string{"syscall", "246", "0", "0", "0", "0"}, eperm, 0},
		{"reboot", []string{"syscall", "169", "0", "0", "0", "0"}, eperm, 0},
		{"swapon", []string{"syscall", "167", "0", "0"}, eperm, 0},
		{"mount", []string{"syscall", "165", "0", "0", "0", "0", "0"}, eperm, 0},
		{"umount2", []string{"syscall", "166", "0", "0"}, eperm, 0},
		{"pivot_root", []string{"syscall", "155", "0", "0"}, eperm, 0},
		{"chroot", []string{"syscall", "161", "0"}, eperm, 0},
		{"ptrace attach", []string{"syscall", "101", "16", "1", "0", "0"}, eperm, 0},
		{"process_vm_readv", []string{"syscall", "310", "1", "0", "0", "0", "0", "0"}, eperm, 0},
		{"bpf", []string{"syscall", "321", "0", "0", "0"}, eperm, 0},
		{"perf_event_open", []string{"syscall", "298", "0", "0", "0", "0", "0"}, eperm, 0},
		{"userfaultfd", []string{"syscall", "323", "0"}, eperm, 0},
		{"keyctl", []string{"syscall", "250", "0", "0", "0", "0", "0"}, eperm, 0},
		{"add_key", []string{"syscall", "248", "0", "0", "0", "0", "0"}, eperm, 0},
		{"request_key", []string{"syscall", "249", "0", "0", "0", "0"}, eperm, 0},
		{"unshare user namespace", []string{"syscall", "272", "0x10000000"}, eperm, 0},
		{"unshare mount namespace", []string{"syscall", "272", "0x20000"}, eperm, 0},
		{"clone new user namespace", []string{"syscall", "56", "0x10000011", "0", "0", "0", "0"}, eperm, 0},
		{"clone3", []string{"syscall", "435", "0", "0"}, enosys, 0},
		{"setns", []string{"syscall", "308", "0", "0"}, eperm, 0},
		{"personality READ_IMPLIES_EXEC", []string{"syscall", "135", "0x400000"}, eperm, 0},
		{"personality ADDR_NO_RANDOMIZE", []string{"syscall", "135", "0x40000"}, eperm, 0},
		{"io_uring_setup", []string{"syscall", "425", "1", "0"}, eperm, 0},
		{"iopl", []string{"syscall", "172", "3"}, eperm, 0},
		{"modify_ldt", []string{"syscall", "154", "0", "0", "0"}, eperm, 0},
		{"open_by_handle_at", []string{"syscall", "304", "0", "0", "0"}, eperm, 0},
		{"settimeofday", []string{"syscall", "164", "0", "0"}, eperm, 0},
		{"sethostname", []string{"syscall", "170", "0", "0"}, eperm, 0},
		{"an unknown syscall number", []string{"syscall", "999"}, enosys, 0},
		{"x32 ABI: killed", []string{"syscall", "0x40000027"}, "", 128 + int(syscall.SIGSYS)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := sysgate(t, victimEnv, append([]string{"run", "--"}, victimArgs(t, tc.steps...)...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if tc.want != "" && !strings.Contains(out, tc.want) {
				t.Fatalf("got %q, want %q (stderr %s)", out, tc.want, errOut)
			}
			// The built-in policy is parsed only for this report: it
			// must name the rule as a parsed policy would.
			if tc.code != 0 && (!strings.Contains(errOut, "sysgate: killed pid ") || !strings.Contains(errOut, "on x32: kill-process by the policy, which does not allow the x32 ABI\n")) {
				t.Fatalf("no kill report on stderr: %q", errOut)
			}
		})
	}
	// The harmless uses stay allowed.
	out, errOut, code := sysgate(t, victimEnv, append([]string{"run", "--"}, victimArgs(t, "syscall", "135", "0xffffffff", "--", "syscall", "272", "0x400")...)...)
	if code != 0 || strings.Count(out, "errno=0") != 2 {
		t.Fatalf("personality query / unshare(CLONE_FS): exit %d, %q %q", code, out, errOut)
	}
}

func TestRunStatus(t *testing.T) {
	out, errOut, code := sysgate(t, nil, "run", "--", "cat", "/proc/self/status")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, re := range []string{`(?m)^Seccomp:\s+2$`, `(?m)^NoNewPrivs:\s+1$`, `(?m)^Seccomp_filters:\s+1$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status lacks %s:\n%s", re, out)
		}
	}
}

func TestRunExitCodesAndSignals(t *testing.T) {
	if _, _, code := sysgate(t, nil, "run", "--", "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exit 7: got %d", code)
	}
	if _, _, code := sysgate(t, nil, "run", "sh", "-c", "kill -TERM $$"); code != 128+15 {
		t.Errorf("killed by SIGTERM: got %d", code)
	}
	// Without "--" too, and stdin passes through.
	cmd := sysgateCmd(t, nil, "run", "tr", "a-z", "A-Z")
	cmd.Stdin = strings.NewReader("piped\n")
	if out, err := cmd.Output(); err != nil || string(out) != "PIPED\n" {
		t.Errorf("stdin: %q %v", out, err)
	}
	// A signal sent to sysgate reaches the target.
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := sysgateCmd(t, nil, "run", "--", "sh", "-c", fmt.Sprintf("trap 'exit 42' %d; echo ready; while :; do sleep 0.05; done", sig))
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
				t.Fatalf("target said %q", line)
			}
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatal("target did not exit after the signal")
			}
			if code := cmd.ProcessState.ExitCode(); code != 42 {
				t.Fatalf("exit %d, want 42 (the target's trap)", code)
			}
		})
	}
}

func TestRunReportsKills(t *testing.T) {
	pol := writePolicy(t, `default: allow
rules:
  - errno: EACCES
    syscalls: [getpgid]
  - kill-process: [getpriority]
    comment: no priorities here
`)
	out, errOut, code := sysgate(t, victimEnv, append([]string{"run", "--policy", pol, "--"}, victimArgs(t, "syscall", "140", "0", "0")...)...)
	if code != 128+int(syscall.SIGSYS) {
		t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, 128+int(syscall.SIGSYS), out, errOut)
	}
	want := regexp.MustCompile(`^sysgate: killed pid \d+ \([^)]*\): getpriority\(0x0, 0x0, .*\) on x86_64: kill-process by rule ` + regexp.QuoteMeta(pol) + `:5:5: no priorities here\n$`)
	if !want.MatchString(errOut) {
		t.Fatalf("stderr %q does not match %v", errOut, want)
	}
	// --log reports errno denials and the program goes on.
	out, errOut, code = sysgate(t, victimEnv, append([]string{"run", "--log", "--policy", pol, "--"}, victimArgs(t, "syscall", "121", "0", "--", "syscall", "39")...)...)
	if code != 0 || !strings.Contains(out, "errno=13") || strings.Count(out, "ret=") != 2 {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	if !regexp.MustCompile(`^sysgate: denied pid \d+ \(.*\): getpgid\(0x0, .*\) on x86_64: errno EACCES by rule ` + regexp.QuoteMeta(pol) + `:3:5\n$`).MatchString(errOut) {
		t.Fatalf("stderr %q", errOut)
	}
	// Without --log, a denial is silent.
	_, errOut, _ = sysgate(t, victimEnv, append([]string{"run", "--policy", pol, "--"}, victimArgs(t, "syscall", "121", "0")...)...)
	if errOut != "" {
		t.Fatalf("stderr %q, want nothing", errOut)
	}
}

func TestRunErrors(t *testing.T) {
	_, errOut, code := sysgate(t, nil, "run", "--", "/no/such/program")
	if code != 127 && code != 1 || !strings.Contains(errOut, "/no/such/program") {
		t.Errorf("missing program: exit %d, %q", code, errOut)
	}
	_, errOut, code = sysgate(t, nil, "run", "--", "no-such-command-anywhere")
	if code != 127 || !strings.Contains(errOut, "command not found") {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
	_, errOut, code = sysgate(t, nil, "run", "--policy", "/no/such/policy.yaml", "--", "true")
	if code != 1 || !strings.Contains(errOut, "/no/such/policy.yaml") {
		t.Errorf("missing policy: exit %d, %q", code, errOut)
	}
	pol := writePolicy(t, "default: allow\nrules:\n  - errno: EPERM\n    syscalls: [execve]\n")
	_, errOut, code = sysgate(t, nil, "run", "--policy", pol, "--", "true")
	if code != 1 || !strings.Contains(errOut, "execve") || !strings.Contains(errOut, pol+":3:5") {
		t.Errorf("policy denying execve: exit %d, %q", code, errOut)
	}
	_, errOut, code = sysgate(t, nil, "run")
	if code != 2 {
		t.Errorf("no program: exit %d, %q", code, errOut)
	}
}

// TestRunClosedStderr: sysgate's reports to a closed pipe do not kill it
// (SIGPIPE is caught): the target's exit status still comes back.
func TestRunClosedStderr(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	args := append([]string{"run", "--log", "--", "sh", "-c", `"$0" "$@" >/dev/null 2>&1; exit 7`}, victimArgs(t, "syscall", "272", "0x10000000")...)
	cmd := sysgateCmd(t, victimEnv, args...)
	cmd.Stderr = w
	err = cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 7 {
		t.Fatalf("want exit status 7 from the target, got %v", err)
	}
}
