package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/sysgate/sysgate/syscalls"
)

// Syscall argument constants used below (include/uapi/linux).
const (
	cloneNewUser = 0x10000000
	sigchld      = 17
	afVsock      = 40
	afNetlink    = 16
	netlinkAudit = 9
	errnoEPERM   = 1
	errnoEINVAL  = 22
	errnoENOSYS  = 38
)

var (
	allow      = Action{Kind: Allow}
	eperm      = Action{Kind: Errno, Value: errnoEPERM}
	enosys     = Action{Kind: Errno, Value: errnoENOSYS}
	einval     = Action{Kind: Errno, Value: errnoEINVAL}
	killProc   = Action{Kind: KillProcess}
	adminCaps  = append(DockerDefaultCaps(), "CAP_SYS_ADMIN")
	x86Surface = []*syscalls.Arch{syscalls.X86_64, syscalls.I386, syscalls.X32}
)

func readProfile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "oci", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParseOCI(t *testing.T, data []byte, file string, opts Options) *Policy {
	t.Helper()
	p, warns, err := parseOCI(data, file, opts)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	for _, w := range warns {
		t.Logf("%s", w)
	}
	return p
}

// nr is the seccomp_data number of name on a (x32 numbers carry the x32 bit).
func nr(t *testing.T, a *syscalls.Arch, name string) uint32 {
	t.Helper()
	n, ok := a.Lookup(name)
	if !ok {
		t.Fatalf("no syscall %s on %s", name, a.Name)
	}
	return uint32(n)
}

type verdict struct {
	arch *syscalls.Arch
	call string
	args [6]uint64
	want Action
}

func checkVerdicts(t *testing.T, p *Policy, vs []verdict) {
	t.Helper()
	for _, v := range vs {
		got, rule := p.Decide(v.arch.Audit, nr(t, v.arch, v.call), v.args)
		if got != v.want {
			t.Errorf("%s %s%v: got %s (rule %d), want %s", v.arch.Name, v.call, v.args[:3], got, rule, v.want)
		}
	}
}

func TestParseOCIProfiles(t *testing.T) {
	x86, i386, x32, a64, arm := syscalls.X86_64, syscalls.I386, syscalls.X32, syscalls.AArch64, syscalls.ARM
	tests := []struct {
		name    string
		file    string
		opts    Options
		arches  []*syscalls.Arch
		verdict []verdict
		noRules []string // syscalls no rule may name
	}{
		{
			name:   "moby default caps",
			file:   "moby-default.json",
			opts:   Options{Arch: x86, Kernel: "6.18.0"},
			arches: x86Surface,
			verdict: []verdict{
				{x86, "read", [6]uint64{}, allow},
				{x86, "mount", [6]uint64{}, eperm},
				{x86, "personality", [6]uint64{8}, allow},
				{x86, "personality", [6]uint64{7}, eperm},
				{x86, "personality", [6]uint64{0xffffffff}, allow},
				{x86, "clone", [6]uint64{cloneNewUser | sigchld}, eperm},
				{x86, "clone", [6]uint64{sigchld}, allow},
				{x86, "clone3", [6]uint64{}, enosys},
				{x86, "socket", [6]uint64{afVsock}, eperm},
				{x86, "socket", [6]uint64{38}, eperm},
				{x86, "socket", [6]uint64{2}, allow},
				{x86, "socket", [6]uint64{39}, allow},
				{x86, "socket", [6]uint64{41}, allow},
				{x86, "chroot", [6]uint64{}, allow},
				{x86, "bpf", [6]uint64{}, eperm},
				{x86, "arch_prctl", [6]uint64{}, allow},
				{x86, "ptrace", [6]uint64{}, allow}, // minKernel 4.8
				{x86, "reboot", [6]uint64{}, eperm},
				{i386, "chown32", [6]uint64{}, allow},
				{i386, "socketcall", [6]uint64{}, allow},
				{x32, "read", [6]uint64{}, allow},
				{x32, "mount", [6]uint64{}, eperm},
				{a64, "read", [6]uint64{}, killProc},
				{arm, "read", [6]uint64{}, killProc},
			},
			noRules: []string{"set_tls", "s390_runtime_instr", "riscv_flush_icache"},
		},
		{
			name:   "moby CAP_SYS_ADMIN old kernel",
			file:   "moby-default.json",
			opts:   Options{Arch: x86, Caps: adminCaps, Kernel: "4.7"},
			arches: x86Surface,
			verdict: []verdict{
				{x86, "mount", [6]uint64{}, allow},
				{x86, "clone", [6]uint64{cloneNewUser | sigchld}, allow},
				{x86, "clone3", [6]uint64{}, allow},
				{x86, "bpf", [6]uint64{}, allow},
				{x86, "ptrace", [6]uint64{}, eperm}, // minKernel 4.8
				{x86, "chroot", [6]uint64{}, allow},
			},
		},
		{
			name:   "moby no caps",
			file:   "moby-default.json",
			opts:   Options{Arch: x86, Caps: []string{}, Kernel: "6.1"},
			arches: x86Surface,
			verdict: []verdict{
				{x86, "chroot", [6]uint64{}, eperm},
				{x86, "read", [6]uint64{}, allow},
			},
		},
		{
			name:   "moby aarch64",
			file:   "moby-default.json",
			opts:   Options{Arch: a64, Kernel: "6.18"},
			arches: []*syscalls.Arch{a64, arm},
			verdict: []verdict{
				{a64, "read", [6]uint64{}, allow},
				{a64, "mount", [6]uint64{}, eperm},
				{arm, "set_tls", [6]uint64{}, allow},
				{arm, "cacheflush", [6]uint64{}, allow},
				{x86, "read", [6]uint64{}, killProc},
			},
			noRules: []string{"arch_prctl", "modify_ldt"},
		},
		{
			name:   "containers-common default caps",
			file:   "containers-common-seccomp.json",
			opts:   Options{Arch: x86, Kernel: "6.18"},
			arches: x86Surface,
			verdict: []verdict{
				{x86, "read", [6]uint64{}, allow},
				{x86, "mount", [6]uint64{}, allow},
				{x86, "kexec_load", [6]uint64{}, eperm},
				{i386, "bdflush", [6]uint64{}, eperm},
				{x86, "add_key", [6]uint64{}, enosys}, // unlisted: the default
				{x86, "setns", [6]uint64{}, allow},    // the first unconditional entry wins
				{x86, "personality", [6]uint64{8}, allow},
				{x86, "personality", [6]uint64{7}, enosys},
				{x86, "chroot", [6]uint64{}, allow},
				{x86, "socket", [6]uint64{afNetlink, 0, netlinkAudit}, allow},
				{x86, "vhangup", [6]uint64{}, eperm},
				{i386, "chown32", [6]uint64{}, allow},
			},
		},
		{
			name:   "containers-common without CAP_AUDIT_WRITE",
			file:   "containers-common-seccomp.json",
			opts:   Options{Arch: x86, Caps: []string{"CAP_CHOWN"}, Kernel: "6.18"},
			arches: x86Surface,
			verdict: []verdict{
				{x86, "socket", [6]uint64{afNetlink, 3, netlinkAudit}, einval},
				{x86, "socket", [6]uint64{afNetlink, 3, 0}, allow},
				{x86, "socket", [6]uint64{2, 1, netlinkAudit}, allow},
				{x86, "chroot", [6]uint64{}, eperm},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParseOCI(t, readProfile(t, tt.file), tt.file, tt.opts)
			if !slices.Equal(p.Arches, tt.arches) {
				t.Errorf("arches %v, want %v", testArchNames(p.Arches), testArchNames(tt.arches))
			}
			if p.BadArch != killProc {
				t.Errorf("bad-arch action %s, want kill-process", p.BadArch)
			}
			checkVerdicts(t, p, tt.verdict)
			for _, n := range tt.noRules {
				if rs := p.RulesFor(n); len(rs) > 0 {
					t.Errorf("%s is named by rule at %s", n, p.Rules[rs[0]].Pos)
				}
			}
		})
	}
}

func testArchNames(as []*syscalls.Arch) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

func TestParseOCIRulePositions(t *testing.T) {
	p := mustParseOCI(t, readProfile(t, "moby-default.json"), "moby.json", Options{Arch: syscalls.X86_64, Kernel: "6.18"})
	// The conditional personality rules come from the entries at these lines.
	var lines []int
	for _, i := range p.RulesFor("personality") {
		if p.Rules[i].When == nil {
			t.Fatalf("personality rule at %s is unconditional", p.Rules[i].Pos)
		}
		if p.Rules[i].Pos.File != "moby.json" || p.Rules[i].Pos.Col != 3 {
			t.Errorf("rule position %s, want moby.json:<line>:3", p.Rules[i].Pos)
		}
		lines = append(lines, p.Rules[i].Pos.Line)
	}
	src := strings.Split(string(readProfile(t, "moby-default.json")), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d personality rules, want 5", len(lines))
	}
	for _, l := range lines {
		if strings.TrimSpace(src[l-1]) != "{" || !strings.Contains(src[l+1], `"personality"`) {
			t.Errorf("line %d does not start the personality entry: %q", l, src[l-1])
		}
	}
	// Unconditional rules come first.
	seenCond := false
	for _, r := range p.Rules {
		if r.When != nil {
			seenCond = true
		} else if seenCond {
			t.Fatalf("unconditional rule at %s after a conditional one", r.Pos)
		}
	}
}

func TestParseOCISemantics(t *testing.T) {
	x86 := syscalls.X86_64
	tests := []struct {
		name    string
		json    string
		arches  []*syscalls.Arch
		verdict []verdict
		warn    string // a warning containing this is expected
	}{
		{
			name:   "plain OCI, native arch always allowed, foreign family ignored",
			json:   `{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","SCMP_ARCH_AARCH64"],"syscalls":[{"names":["getcwd","chmod"],"action":"SCMP_ACT_ERRNO"}]}`,
			arches: []*syscalls.Arch{x86, syscalls.I386},
			verdict: []verdict{
				{x86, "getcwd", [6]uint64{}, eperm},
				{syscalls.I386, "chmod", [6]uint64{}, eperm},
				{syscalls.X32, "read", [6]uint64{}, killProc},
				{x86, "read", [6]uint64{}, allow},
			},
			warn: "SCMP_ARCH_AARCH64 can never be seen",
		},
		{
			name:   "unconditional overrides conditional, errnoRet default EPERM",
			json:   `{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":3,"op":"SCMP_CMP_EQ"}]},{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`,
			arches: []*syscalls.Arch{x86},
			verdict: []verdict{
				{x86, "read", [6]uint64{3}, allow},
				{x86, "write", [6]uint64{}, killProc},
			},
		},
		{
			name: "first unconditional entry wins, as in libseccomp",
			json: "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[\n{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},\n{\"names\":[\"read\"],\"action\":\"SCMP_ACT_LOG\"}]}",
			verdict: []verdict{
				{x86, "read", [6]uint64{}, allow},
			},
			warn: "libseccomp keeps the first unconditional rule: allow at t.json:2:11",
		},
		{
			name: "conditional entries keep file order",
			json: `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":5,"args":[{"index":0,"value":3,"op":"SCMP_CMP_GE"}]},{"names":["read"],"action":"SCMP_ACT_LOG","args":[{"index":0,"value":10,"op":"SCMP_CMP_LT"}]}]}`,
			verdict: []verdict{
				{x86, "read", [6]uint64{4}, Action{Kind: Errno, Value: 5}},
				{x86, "read", [6]uint64{2}, Action{Kind: Log}},
				{x86, "read", [6]uint64{20}, Action{Kind: Errno, Value: 5}},
			},
		},
		{
			name: "entries with the default action are dropped, as runc does",
			json: `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO"},{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}`,
			verdict: []verdict{
				{x86, "read", [6]uint64{1}, allow},
				{x86, "read", [6]uint64{2}, eperm},
			},
		},
		{
			name: "args ANDed; masked compare uses value as mask",
			json: `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mmap"],"action":"SCMP_ACT_ALLOW","args":[{"index":2,"value":4,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"},{"index":3,"value":2,"op":"SCMP_CMP_NE"}]}]}`,
			verdict: []verdict{
				{x86, "mmap", [6]uint64{0, 0, 3, 1}, allow},
				{x86, "mmap", [6]uint64{0, 0, 7, 1}, eperm},
				{x86, "mmap", [6]uint64{0, 0, 3, 2}, eperm},
			},
		},
		{
			name: "repeated index is ORed, as runc does",
			json: `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":9,"op":"SCMP_CMP_EQ"},{"index":1,"value":15,"op":"SCMP_CMP_EQ"}]}]}`,
			verdict: []verdict{
				{x86, "kill", [6]uint64{1, 9}, allow},
				{x86, "kill", [6]uint64{1, 15}, allow},
				{x86, "kill", [6]uint64{1, 2}, eperm},
			},
			warn: "ORed",
		},
		{
			name: "actions and data",
			json: `{"defaultAction":"SCMP_ACT_KILL","defaultErrnoRet":null,"syscalls":[
				{"name":"read","action":"SCMP_ACT_TRACE","errnoRet":7},
				{"name":"write","action":"SCMP_ACT_TRACE"},
				{"names":["openat"],"action":"SCMP_ACT_NOTIFY"},
				{"names":["close"],"action":"SCMP_ACT_TRAP"},
				{"names":["dup"],"action":"SCMP_ACT_KILL_PROCESS"},
				{"names":["dup2"],"action":"SCMP_ACT_LOG"},
				{"names":["dup3"],"action":"SCMP_ACT_ERRNO","errno":"EACCES"}]}`,
			verdict: []verdict{
				{x86, "read", [6]uint64{}, Action{Kind: Trace, Value: 7}},
				{x86, "write", [6]uint64{}, Action{Kind: Trace, Value: 1}},
				{x86, "openat", [6]uint64{}, Action{Kind: Notify}},
				{x86, "close", [6]uint64{}, Action{Kind: Trap}},
				{x86, "dup", [6]uint64{}, killProc},
				{x86, "dup2", [6]uint64{}, Action{Kind: Log}},
				{x86, "dup3", [6]uint64{}, Action{Kind: Errno, Value: 13}},
				{x86, "getpid", [6]uint64{}, Action{Kind: KillThread}},
			},
		},
		{
			name:    "full OCI config.json",
			json:    `{"ociVersion":"1.2.0","process":{"args":["sh"]},"linux":{"namespaces":[],"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],"flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}}}`,
			arches:  []*syscalls.Arch{x86, syscalls.X32},
			verdict: []verdict{{x86, "read", [6]uint64{}, allow}, {x86, "write", [6]uint64{}, enosys}},
			warn:    "SECCOMP_FILTER_FLAG_LOG",
		},
		{
			name:    "unknown syscall ignored on request",
			json:    `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","no_such_call"],"action":"SCMP_ACT_ALLOW"}]}`,
			verdict: []verdict{{x86, "read", [6]uint64{}, allow}},
			warn:    `unknown syscall "no_such_call" ignored`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, warns, err := parseOCI([]byte(tt.json), "t.json", Options{Arch: x86, IgnoreUnknown: true, Kernel: "6.18"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.arches != nil && !slices.Equal(p.Arches, tt.arches) {
				t.Errorf("arches %v, want %v", testArchNames(p.Arches), testArchNames(tt.arches))
			}
			checkVerdicts(t, p, tt.verdict)
			found := tt.warn == ""
			for _, w := range warns {
				found = found || strings.Contains(w.Msg, tt.warn)
			}
			if !found {
				t.Errorf("no warning containing %q in %v", tt.warn, warns)
			}
			checkRoundTrip(t, p, x86, 1)
		})
	}
}

func TestParseOCIErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
		pos  string // line:col
		msg  string
	}{
		{"bad JSON", "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [\n    {\"names\": [\"read\"] \"action\": 1}\n  ]\n}", "4:24", "expected ',' or '}'"},
		{"truncated", "{\"defaultAction\": \"SCMP_ACT_ALLOW\"", "1:35", "end of input"},
		{"trailing data", "{\"defaultAction\": \"SCMP_ACT_ALLOW\"} x", "1:37", "after the top-level value"},
		{"duplicate key", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"defaultAction\": \"SCMP_ACT_LOG\"}", "2:2", "duplicate key"},
		{"not an object", "[1]", "1:1", "must be an object"},
		{"no default", `{"syscalls": []}`, "1:1", `no "defaultAction"`},
		{"unknown default action", `{"defaultAction": "SCMP_ACT_ALLOWW"}`, "1:19", `unknown action "SCMP_ACT_ALLOWW" (did you mean "SCMP_ACT_ALLOW"?)`},
		{"unknown action", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_DENY\"}]}", "2:44", `unknown action "SCMP_ACT_DENY"`},
		{"bad op", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_LOG\",\n  \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQUAL\"}]}]}", "2:43", `unknown operator "SCMP_CMP_EQUAL"`},
		{"arg index 6", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_LOG\",\n  \"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}", "2:22", "argument index 6 out of range 0..5"},
		{"negative value", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_LOG\",\n  \"args\": [{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]}", "2:34", "non-negative integer"},
		{"value too big", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_LOG\",\n  \"args\": [{\"index\": 0, \"value\": 18446744073709551616, \"op\": \"SCMP_CMP_EQ\"}]}]}", "2:34", "does not fit in 64 bits"},
		{"missing op", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_LOG\",\n  \"args\": [{\"index\": 0, \"value\": 1}]}]}", "2:12", `no "op"`},
		{"unknown syscall", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [{\"names\": [\n    \"read\",\n      \"raed\"], \"action\": \"SCMP_ACT_LOG\"}]}", "4:7", `unknown syscall "raed" (did you mean "read"?)`},
		{"unknown field", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"Names\": [\"read\"], \"action\": \"SCMP_ACT_LOG\"}]}", "1:51", `unknown field "Names" in syscalls entry (did you mean "names"?)`},
		{"unknown top field", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrorRet\": 1}", "1:37", `unknown field "defaultErrorRet"`},
		{"name and names", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_LOG"}]}`, "1:59", `both "name" and "names"`},
		{"no names", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_LOG"}]}`, "1:50", "names no syscall"},
		{"errnoRet on allow", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}`, "1:110", "takes no errno"},
		{"errnoRet too big", `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 65536}`, "1:56", "does not fit in 16 bits"},
		{"errno above MAX_ERRNO", `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 4096}`, "1:56", "above 4095"},
		{"errno name mismatch", `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "defaultErrno": "ENOSYS"}`, "1:75", `errno "ENOSYS" is 38`},
		{"unknown arch", `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_46"]}`, "1:55", `unknown architecture "SCMP_ARCH_X86_46"`},
		{"both arch lists", `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}`, "1:84", `both "architectures" and "archMap"`},
		{"unknown flag", `{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_TSYN"]}`, "1:47", `unknown seccomp flag`},
		{"bad minKernel", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_LOG", "includes": {"minKernel": "4"}}]}`, "1:122", "invalid minKernel"},
		{"wrong type", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {"names": ["read"]}}`, "1:49", `"syscalls" must be an array, not an object`},
		{"config without seccomp", `{"ociVersion": "1.2.0", "linux": {"namespaces": []}}`, "1:34", "no linux.seccomp"},
		{"bad string escape", `{"defaultAction": "SCMP_ACT_\q"}`, "1:29", "bad escape"},
		{"non-ASCII column", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"comment\": \"é\", \"names\": [\"rèad\"], \"action\": \"SCMP_ACT_LOG\"}]}", "1:77", `unknown syscall "rèad"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseOCI([]byte(tt.json), "t.json", Options{Arch: syscalls.X86_64, Kernel: "6.18"})
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if got := fmt.Sprintf("%d:%d", pe.Pos.Line, pe.Pos.Col); got != tt.pos || pe.Pos.File != "t.json" {
				t.Errorf("error at %s:%s, want t.json:%s: %v", pe.Pos.File, got, tt.pos, err)
			}
			if !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("error %q does not contain %q", pe.Msg, tt.msg)
			}
		})
	}
}

// The JSON reader must accept what encoding/json accepts and decode it alike.
func TestParseJSONAgreesWithEncodingJSON(t *testing.T) {
	inputs := []string{
		`{"a": [1, -2.5e3, true, false, null, "x\u00e9\n\"\\\/"], "b": {}, "c": []}`,
		`  [ {"k" : "v"} , 0 , 18446744073709551615 ]  `,
		`"\ud83d\ude00"`,
		`{"a":1,"a":2}`, // encoding/json takes the last; we reject
		`[1,]`, `{"a" 1}`, `01`, `1.`, `-`, `"a`, "\"\x01\"", `tru`, `[`, ``, `{"a":1}}`,
	}
	for _, in := range inputs {
		var want any
		wantErr := json.Unmarshal([]byte(in), &want)
		doc, err := parseJSON([]byte(in), "x")
		if in == `{"a":1,"a":2}` {
			if err == nil {
				t.Errorf("%s: duplicate key accepted", in)
			}
			continue
		}
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%q: error %v, encoding/json says %v", in, err, wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got := toAny(doc.Root); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: decoded %v, want %v", in, got, want)
		}
	}
}

func toAny(v *jsonValue) any {
	switch v.Kind {
	case jsonNull:
		return nil
	case jsonBool:
		return v.Bool
	case jsonNumber:
		var f float64
		fmt.Sscan(v.Str, &f)
		return f
	case jsonString:
		return v.Str
	case jsonArray:
		out := []any{}
		for _, e := range v.Elems {
			out = append(out, toAny(e))
		}
		return out
	}
	out := map[string]any{}
	for _, m := range v.Members {
		out[m.Key] = toAny(m.Value)
	}
	return out
}

// checkRoundTrip exports p, reads it back for native and compares Decide
// on many vectors.
func checkRoundTrip(t *testing.T, p *Policy, native *syscalls.Arch, seed uint64) {
	t.Helper()
	out, err := p.MarshalOCI()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	q, warns, err := Parse(out, "exported.json", Options{Arch: native, Kernel: "6.18"})
	if err != nil {
		t.Fatalf("read back: %v\n%s", err, out)
	}
	if len(warns) > 0 {
		t.Errorf("read back warns: %v", warns)
	}
	if !slices.Equal(p.Arches, q.Arches) {
		t.Errorf("round trip arches %v, want %v", testArchNames(q.Arches), testArchNames(p.Arches))
	}
	compareDecide(t, p, q, seed)
}

// interesting collects the constants of p's conditions and their neighbours.
func interesting(p *Policy) []uint64 {
	set := map[uint64]bool{0: true, 1: true, math.MaxUint64: true, 0xffffffff: true, 1 << 32: true}
	var walk func(e *Expr)
	walk = func(e *Expr) {
		if e == nil {
			return
		}
		if e.Kind == ExprCmp {
			for _, v := range []uint64{e.Cmp.Value, e.Cmp.Mask, e.Cmp.Value | e.Cmp.Mask, e.Cmp.Value &^ 1} {
				set[v], set[v+1], set[v-1] = true, true, true
			}
			for m := e.Cmp.Mask; m != 0; m &= m - 1 {
				set[m&-m] = true
				set[e.Cmp.Value^(m&-m)] = true
			}
		}
		for _, s := range e.Subs {
			walk(s)
		}
	}
	for _, r := range p.Rules {
		walk(r.When)
	}
	var out []uint64
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func compareDecide(t *testing.T, p, q *Policy, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 42))
	vals := interesting(p)
	names := []string{"read", "kexec_load", "getpid"}
	for _, r := range p.Rules {
		names = append(names, r.Syscalls...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	arches := append(slices.Clone(p.Arches), syscalls.AArch64, syscalls.I386, syscalls.X32, syscalls.ARM)
	checked, failures := 0, 0
	for _, a := range arches {
		for _, n := range names {
			num, ok := a.Lookup(n)
			if !ok {
				continue
			}
			tries := 2 // the arguments cannot matter
			for _, i := range p.RulesFor(n) {
				if p.Rules[i].When != nil {
					tries = 64
				}
			}
			for range tries {
				var args [6]uint64
				for i := range args {
					if rng.IntN(4) == 0 {
						args[i] = rng.Uint64() >> rng.IntN(64)
					} else {
						args[i] = vals[rng.IntN(len(vals))]
					}
				}
				want, wr := p.Decide(a.Audit, uint32(num), args)
				got, gr := q.Decide(a.Audit, uint32(num), args)
				checked++
				if got != want {
					failures++
					if failures <= 10 {
						t.Errorf("%s %s %#x: round trip gives %s (rule %d), original %s (rule %d)", a.Name, n, args, got, gr, want, wr)
					}
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d vectors compared", checked)
	}
}

func TestOCIRoundTripProfiles(t *testing.T) {
	tests := []struct {
		name string
		file string
		opts Options
	}{
		{"moby x86_64", "moby-default.json", Options{Arch: syscalls.X86_64, Kernel: "6.18"}},
		{"moby x86_64 admin", "moby-default.json", Options{Arch: syscalls.X86_64, Caps: adminCaps, Kernel: "4.4"}},
		{"moby aarch64", "moby-default.json", Options{Arch: syscalls.AArch64, Kernel: "6.18"}},
		{"containers-common x86_64", "containers-common-seccomp.json", Options{Arch: syscalls.X86_64, Kernel: "6.18"}},
		{"containers-common no caps", "containers-common-seccomp.json", Options{Arch: syscalls.X86_64, Caps: []string{}, Kernel: "6.18"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParseOCI(t, readProfile(t, tt.file), tt.file, tt.opts)
			checkRoundTrip(t, p, tt.opts.Arch, uint64(i))
		})
	}
}

func cmp(arg int, op Op, v uint64) *Expr {
	return &Expr{Kind: ExprCmp, Cmp: Cmp{Arg: arg, Op: op, Value: v}}
}

func masked(arg int, mask, v uint64) *Expr {
	return &Expr{Kind: ExprCmp, Cmp: Cmp{Arg: arg, Op: MaskedEq, Mask: mask, Value: v}}
}

func and(es ...*Expr) *Expr { return &Expr{Kind: ExprAnd, Subs: es} }
func or(es ...*Expr) *Expr  { return &Expr{Kind: ExprOr, Subs: es} }
func not(e *Expr) *Expr     { return &Expr{Kind: ExprNot, Subs: []*Expr{e}} }

func TestOCIRoundTripHandWritten(t *testing.T) {
	tests := []struct {
		name string
		p    *Policy
	}{
		{"first match across actions", &Policy{
			Default: eperm, BadArch: killProc, Arches: x86Surface,
			Rules: []Rule{
				{Action: allow, Syscalls: []string{"socket"}, When: cmp(0, Eq, 1)},
				{Action: Action{Kind: Errno, Value: 13}, Syscalls: []string{"socket"}, When: and(cmp(0, Ge, 2), cmp(0, Le, 10))},
				{Action: allow, Syscalls: []string{"socket", "socketpair"}},
				{Action: Action{Kind: Log}, Syscalls: []string{"openat"}, When: masked(2, 3, 1)},
				{Action: Action{Kind: KillThread}, Syscalls: []string{"openat"}, When: cmp(1, Ne, 0)},
				{Action: allow, Syscalls: []string{"openat", "read", "write"}},
				{Action: Action{Kind: Notify}, Syscalls: []string{"ioctl"}, When: or(cmp(1, Eq, 0x5401), cmp(1, Eq, 0x5402))},
				{Action: eperm, Syscalls: []string{"ioctl"}, When: not(masked(0, 0xf0, 0x10))},
				{Action: Action{Kind: Trace, Value: 7}, Syscalls: []string{"ioctl", "ptrace"}},
				{Action: allow, Syscalls: []string{"clone"}, When: masked(0, 0x7e020000, 0)},
			},
		}},
		{"default allow, ranges with holes", &Policy{
			Default: allow, BadArch: killProc, Arches: []*syscalls.Arch{syscalls.X86_64},
			Rules: []Rule{
				{Action: killProc, Syscalls: []string{"execve"}, When: cmp(0, Eq, 0)},
				{Action: eperm, Syscalls: []string{"mprotect"}, When: and(masked(2, 4, 4), cmp(2, Ne, 7))},
				{Action: eperm, Syscalls: []string{"personality"}, When: and(cmp(0, Gt, 5), cmp(0, Lt, 100), cmp(0, Ne, 50), cmp(1, Eq, 3))},
				{Action: Action{Kind: Log}, Syscalls: []string{"personality"}, When: or(cmp(0, Le, 200), masked(1, 0xff00, 0x100))},
				{Action: eperm, Syscalls: []string{"kill"}, When: and(cmp(1, Ne, 0), cmp(1, Ne, 9), cmp(1, Ne, 15))},
				{Action: allow, Syscalls: []string{"tgkill"}, When: cmp(2, Eq, 9)},
				{Action: eperm, Syscalls: []string{"tgkill"}, When: cmp(2, Ge, 1)},
				{Action: Action{Kind: KillThread}, Syscalls: []string{"tgkill"}},
			},
		}},
		{"rules after an unconditional one are dead", &Policy{
			Default: eperm, BadArch: killProc, Arches: []*syscalls.Arch{syscalls.X86_64, syscalls.X32},
			Rules: []Rule{
				{Action: Action{Kind: Log}, Syscalls: []string{"read"}},
				{Action: allow, Syscalls: []string{"read"}, When: cmp(0, Eq, 1)},
				{Action: eperm, Syscalls: []string{"write"}, When: cmp(0, Eq, 1)},
				{Action: allow, Syscalls: []string{"write"}},
			},
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.BuildIndex()
			checkRoundTrip(t, tt.p, syscalls.X86_64, uint64(100+i))
		})
	}
}

func TestOCIExportErrors(t *testing.T) {
	base := func() *Policy {
		return &Policy{Default: eperm, BadArch: killProc, Arches: []*syscalls.Arch{syscalls.X86_64},
			Rules: []Rule{{Action: allow, Syscalls: []string{"read"}}}}
	}
	tests := []struct {
		name string
		edit func(p *Policy)
		msg  string
	}{
		{"seal", func(p *Policy) { p.Seal = []string{"system-mappings"} }, "cannot express seal"},
		{"bad arch errno", func(p *Policy) { p.BadArch = eperm }, "bad-arch action"},
		{"trap data", func(p *Policy) { p.Rules[0].Action = Action{Kind: Trap, Value: 3} }, "SCMP_ACT_TRAP carries no data"},
		{"no native", func(p *Policy) { p.Arches = []*syscalls.Arch{syscalls.I386} }, "libseccomp always allows the native arch"},
		{"no arches", func(p *Policy) { p.Arches = nil }, "allows no arch"},
		{"too many entries", func(p *Policy) {
			var subs []*Expr
			for i := range 6 {
				subs = append(subs, or(cmp(i, Eq, 1), cmp(i, Eq, 2), cmp(i, Eq, 3), cmp(i, Eq, 4), cmp(i, Eq, 5)))
			}
			p.Rules[0].When = and(subs...)
		}, "fewer than 4096 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			tt.edit(p)
			p.BuildIndex()
			_, err := p.MarshalOCI()
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want an error containing %q", err, tt.msg)
			}
		})
	}
}

// randExpr builds a random condition over few arguments and values.
func randExpr(rng *rand.Rand, depth int) *Expr {
	vals := []uint64{0, 1, 2, 3, 7, 8, 0xff, math.MaxUint64 - 1, math.MaxUint64}
	if depth == 0 || rng.IntN(3) == 0 {
		arg := rng.IntN(2)
		op := Op(rng.IntN(7))
		c := Cmp{Arg: arg, Op: op, Value: vals[rng.IntN(len(vals))]}
		if op == MaskedEq {
			c.Mask = vals[rng.IntN(len(vals))]
			if rng.IntN(2) == 0 {
				c.Value &= c.Mask
			}
		}
		e := &Expr{Kind: ExprCmp, Cmp: c}
		if rng.IntN(4) == 0 {
			e = not(e)
		}
		return e
	}
	n := 2 + rng.IntN(2)
	e := &Expr{Kind: ExprAnd}
	if rng.IntN(2) == 0 {
		e.Kind = ExprOr
	}
	for range n {
		e.Subs = append(e.Subs, randExpr(rng, depth-1))
	}
	if rng.IntN(5) == 0 {
		e = not(e)
	}
	return e
}

// The OCI arg lists of a condition must hold exactly where it does, and
// never compare one argument twice in a list.
func TestOCIArgListsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	probe := []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xfe, 0xff, 0x100, 1 << 40, math.MaxUint64 - 2, math.MaxUint64 - 1, math.MaxUint64}
	tooBig := 0
	for i := range 400 {
		e := randExpr(rng, 3)
		lists, err := ociArgLists(e)
		if err != nil {
			if !strings.Contains(err.Error(), "fewer than") {
				t.Fatalf("%s: %v", e, err)
			}
			tooBig++
			continue
		}
		for _, l := range lists {
			var seen [6]bool
			for _, a := range l {
				if seen[a.Index] {
					t.Fatalf("%s: entry %v compares arg%d twice", e, l, a.Index)
				}
				seen[a.Index] = true
			}
		}
		for range 200 {
			var args [6]uint64
			args[0] = probe[rng.IntN(len(probe))]
			args[1] = probe[rng.IntN(len(probe))]
			if rng.IntN(3) == 0 {
				args[0] = rng.Uint64() >> rng.IntN(64)
			}
			want := e.Eval(args)
			got := false
			for _, l := range lists {
				got = got || ociArgsHold(l, args)
			}
			if got != want {
				t.Fatalf("case %d: %s on %#x: OCI entries %v say %v", i, e, args[:2], lists, got)
			}
		}
	}
	// Adversarial conditions may need too many entries, but few should.
	t.Logf("%d of 400 conditions too large for OCI", tooBig)
	if tooBig > 20 {
		t.Errorf("%d of 400 conditions too large for OCI", tooBig)
	}
}

func ociArgsHold(l []specs.LinuxSeccompArg, args [6]uint64) bool {
	for _, a := range l {
		x := args[a.Index]
		var ok bool
		switch a.Op {
		case "SCMP_CMP_EQ":
			ok = x == a.Value
		case "SCMP_CMP_NE":
			ok = x != a.Value
		case "SCMP_CMP_LT":
			ok = x < a.Value
		case "SCMP_CMP_LE":
			ok = x <= a.Value
		case "SCMP_CMP_GT":
			ok = x > a.Value
		case "SCMP_CMP_GE":
			ok = x >= a.Value
		case "SCMP_CMP_MASKED_EQ":
			ok = x&a.Value == a.ValueTwo
		}
		if !ok {
			return false
		}
	}
	return true
}

func TestAlignedBlocks(t *testing.T) {
	for _, iv := range [][2]uint64{{0, 0}, {0, math.MaxUint64}, {1, math.MaxUint64}, {5, 17}, {8, 15}, {3, 3}, {math.MaxUint64, math.MaxUint64}, {1 << 63, math.MaxUint64 - 1}} {
		blocks := alignedBlocks(iv[0], iv[1])
		if len(blocks) > 128 {
			t.Errorf("%v: %d blocks", iv, len(blocks))
		}
		// Blocks must be contiguous, cover exactly [lo, hi] and be aligned.
		next := iv[0]
		for i, b := range blocks {
			if b[1] != next || b[1]&^b[0] != 0 {
				t.Fatalf("%v: block %d %#x/%#x not aligned at %#x", iv, i, b[1], b[0], next)
			}
			end := b[1] | ^b[0]
			if i == len(blocks)-1 {
				if end != iv[1] {
					t.Fatalf("%v: ends at %#x", iv, end)
				}
			} else {
				next = end + 1
			}
		}
	}
}

// ExamplePolicy_MarshalOCI shows a first-match policy exported for runc.
func ExamplePolicy_MarshalOCI() {
	p := &Policy{
		Default: Action{Kind: Errno, Value: 1},
		BadArch: Action{Kind: KillProcess},
		Arches:  []*syscalls.Arch{syscalls.X86_64},
		Rules: []Rule{
			{Action: Action{Kind: Errno, Value: 97}, Syscalls: []string{"socket"}, When: &Expr{Kind: ExprCmp, Cmp: Cmp{Arg: 0, Op: Eq, Value: 40}}},
			{Action: Action{Kind: Allow}, Syscalls: []string{"socket", "read"}},
		},
	}
	b, err := p.MarshalOCI()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(b))
	// Output:
	// {
	// 	"defaultAction": "SCMP_ACT_ERRNO",
	// 	"defaultErrnoRet": 1,
	// 	"architectures": [
	// 		"SCMP_ARCH_X86_64"
	// 	],
	// 	"syscalls": [
	// 		{
	// 			"names": [
	// 				"socket"
	// 			],
	// 			"action": "SCMP_ACT_ERRNO",
	// 			"errnoRet": 97,
	// 			"args": [
	// 				{
	// 					"index": 0,
	// 					"value": 40,
	// 					"op": "SCMP_CMP_EQ"
	// 				}
	// 			]
	// 		},
	// 		{
	// 			"names": [
	// 				"socket"
	// 			],
	// 			"action": "SCMP_ACT_ALLOW",
	// 			"args": [
	// 				{
	// 					"index": 0,
	// 					"value": 40,
	// 					"op": "SCMP_CMP_NE"
	// 				}
	// 			]
	// 		},
	// 		{
	// 			"names": [
	// 				"read"
	// 			],
	// 			"action": "SCMP_ACT_ALLOW"
	// 		}
	// 	]
	// }
}

// FuzzParseOCI checks that no input makes the reader panic, and that what
// it accepts exports and reads back.
func FuzzParseOCI(f *testing.F) {
	for _, name := range []string{"moby-default.json", "containers-common-seccomp.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "oci", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":7,"valueTwo":3,"op":"SCMP_CMP_MASKED_EQ"},{"index":0,"value":3,"op":"SCMP_CMP_GT"}]}]}`))
	f.Add([]byte(`{"linux":{"seccomp":{"defaultAction":"SCMP_ACT_KILL","architectures":["SCMP_ARCH_X86"]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _, err := parseOCI(data, "f.json", Options{Arch: syscalls.X86_64, Kernel: "6.18", IgnoreUnknown: true})
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		out, err := p.MarshalOCI()
		if err != nil {
			if strings.Contains(err.Error(), "cannot express") {
				return
			}
			t.Fatalf("export: %v", err)
		}
		if _, _, err := parseOCI(out, "out.json", Options{Arch: syscalls.X86_64, Kernel: "6.18"}); err != nil {
			t.Fatalf("read back: %v\n%s", err, out)
		}
	})
}
