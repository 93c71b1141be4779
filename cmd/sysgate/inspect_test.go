package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policies"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/runner"
	"github.com/sysgate/sysgate/syscalls"
)

// descendant waits for a descendant of pid whose comm is name.
func descendant(t *testing.T, pid int, name string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		queue := []int{pid}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			// Children are listed per thread: Go forks from any thread.
			var kids []string
			tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(p) + "/task/*/children")
			for _, task := range tasks {
				b, _ := os.ReadFile(task)
				kids = append(kids, strings.Fields(string(b))...)
			}
			for _, f := range kids {
				c, _ := strconv.Atoi(f)
				comm, _ := os.ReadFile("/proc/" + f + "/comm")
				if strings.TrimSpace(string(comm)) == name {
					return c
				}
				queue = append(queue, c)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no descendant %q of pid %d appeared", name, pid)
	return 0
}

// compiled is the program "sysgate run" installs for a policy.
func compiled(t *testing.T, src []byte, file string, nested bool) []bpf.Instruction {
	t.Helper()
	p, _, err := policy.Parse(src, file, policy.Options{Arch: syscalls.Native()})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := runner.Prepare(p, syscalls.Native(), false, !nested)
	if err != nil {
		t.Fatal(err)
	}
	return prog.Instructions
}

type inspected struct {
	Seccomp    string `json:"seccomp"`
	Filters    int    `json:"filters"`
	NoNewPrivs bool   `json:"no_new_privs"`
	Programs   []struct {
		Index        int `json:"index"`
		Instructions []struct {
			Code   uint16 `json:"code"`
			Jt, Jf uint8
			K      uint32 `json:"k"`
		} `json:"instructions"`
	} `json:"programs"`
}

func (r *inspected) program(i int) []bpf.Instruction {
	var out []bpf.Instruction
	for _, x := range r.Programs[i].Instructions {
		out = append(out, bpf.Instruction{Op: x.Code, Jt: x.Jt, Jf: x.Jf, K: x.K})
	}
	return out
}

func sameProgram(a, b []bpf.Instruction) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if bpf.Canonical(a[i : i+1])[0] != bpf.Canonical(b[i : i+1])[0] {
			return false
		}
	}
	return true
}

const inspectPolicy = `default: allow
rules:
  - errno: EACCES
    syscalls: [getpgid, mount]
  - allow: personality
    when: arg0 == 0
  - errno: EPERM
    syscalls: [personality]
`

// inspectSleep starts "sysgate ARGS... -- sleep 30" (ARGS end with a
// run command line), inspects the sleep with --json, and returns the
// report and the sleep's pid; both processes are killed when the test ends.
func inspectSleep(t *testing.T, args ...string) (inspected, int) {
	t.Helper()
	cmd := sysgateCmd(t, nil, append(args, "--", "sleep", "30")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	target := descendant(t, cmd.Process.Pid, "sleep")
	t.Cleanup(func() { syscallKill(target) })
	out, errOut, code := sysgate(t, nil, "inspect", "--json", strconv.Itoa(target))
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, errOut)
	}
	var r inspected
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r, target
}

func TestInspect(t *testing.T) {
	pol := writePolicy(t, inspectPolicy)
	r, target := inspectSleep(t, "run", "--policy", pol)
	if r.Seccomp != "filter" || r.Filters != 1 || !r.NoNewPrivs || len(r.Programs) != 1 {
		t.Fatalf("report %+v", r)
	}
	want := compiled(t, []byte(inspectPolicy), pol, false)
	if !sameProgram(r.program(0), want) {
		t.Fatalf("filter read back differs from the compiled one: %d vs %d instructions", len(r.program(0)), len(want))
	}
	text, _, code := sysgate(t, nil, "inspect", strconv.Itoa(target))
	if code != 0 {
		t.Fatalf("inspect: exit %d", code)
	}
	for _, w := range []string{"getpgid", "errno EACCES", "personality"} {
		if !strings.Contains(text, w) {
			t.Errorf("text report lacks %q:\n%s", w, text)
		}
	}
	// The target was left running.
	st, _ := os.ReadFile("/proc/" + strconv.Itoa(target) + "/stat")
	if f := strings.Fields(string(st)); len(f) < 3 || f[2] == "t" || f[2] == "T" {
		t.Fatalf("target state after inspect: %s", st)
	}
}

func TestInspectStacked(t *testing.T) {
	pol := writePolicy(t, inspectPolicy)
	exe, _ := os.Executable()
	// The outer sysgate (default policy) runs an inner sysgate, which adds
	// its own filter on top.
	r, _ := inspectSleep(t, "run", "--", exe, "run", "--policy", pol)
	if r.Filters != 2 || len(r.Programs) != 2 {
		t.Fatalf("filters %d, programs %d", r.Filters, len(r.Programs))
	}
	if !sameProgram(r.program(0), compiled(t, policies.Default, "default", false)) {
		t.Errorf("oldest filter is not the default policy's")
	}
	if !sameProgram(r.program(1), compiled(t, []byte(inspectPolicy), pol, true)) {
		t.Errorf("newest filter is not the inner policy's")
	}
}

func syscallKill(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

func TestInspectRegions(t *testing.T) {
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleep.Wait()
	defer sleep.Process.Kill()
	pol := writePolicy(t, "default: allow\nrules:\n  - trap: [getpid]\n    from: \"!lib:/usr/lib/**\"\n")
	time.Sleep(100 * time.Millisecond) // let sleep's loader map its libraries
	out, errOut, code := sysgate(t, nil, "inspect", "--no-stop", "--json", "--policy", pol, strconv.Itoa(sleep.Process.Pid))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct {
		Report struct {
			Regions []struct{ Name string } `json:"regions"`
		} `json:"report"`
		Rules []regionRules `json:"rules_by_region"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	names := map[string]bool{}
	for _, g := range r.Report.Regions {
		names[g.Name] = true
	}
	if !names["exe"] || !names["vdso"] {
		t.Fatalf("regions %v lack exe or vdso", names)
	}
	for _, g := range r.Rules {
		lib := strings.HasPrefix(g.Region, "lib:/usr/lib/")
		if lib != (len(g.Rules) == 0) {
			t.Errorf("region %s: rules %v", g.Region, g.Rules)
		}
	}
}
