package policy

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sysgate/sysgate/syscalls"
)

var x86 = Options{Arch: syscalls.X86_64}

func parseT(t *testing.T, src string) (*Policy, []Warning) {
	t.Helper()
	p, w, err := Parse([]byte(src), "t.yaml", x86)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	return p, w
}

func TestParseErrors(t *testing.T) {
	const r = "default: allow\nrules:\n"        // rules start on line 3
	const w = r + "  - allow: read\n    when: " // condition starts at 4:11
	tests := []struct {
		name string
		src  string
		pos  string // "line:col"
		msg  string // substring of the message
	}{
		{"empty", "", "", "empty policy"},
		{"only comment", "# nothing\n", "", "empty policy"},
		{"not a mapping", "- allow\n", "1:1", "the policy must be a mapping"},
		{"yaml syntax", "default: [allow\nrules: x\n", "1", "YAML: did not find expected"},
		{"two documents", "default: allow\n---\ndefault: allow\n", "2:1", "one YAML document"},
		{"unknown top key", "default: allow\nrulez: []\n", "2:1", `unknown key "rulez" in the policy (did you mean "rules"?)`},
		{"duplicate top key", "default: allow\ndefault: allow\n", "2:1", `duplicate key "default" (first at line 1)`},
		{"missing default", "rules: []\n", "1:1", "missing default"},
		{"null default", "default:\n", "1:9", "default is empty"},
		{"list default", "default: [allow]\n", "1:10", "default must be a single value"},
		{"unknown action", "default: erno EPERM\n", "1:10", `unknown action "erno" (did you mean "errno"?)`},
		{"unknown errno", "default: errno EPRM\n", "1:16", `unknown errno "EPRM"`},
		{"errno range", "default: errno 4096\n", "1:16", "errno 4096 out of range 0..4095"},
		{"errno no value", "default: errno\n", "1:15", "errno needs a value"},
		{"errno quoted", "default: \"errno EPRM\"\n", "1:17", `unknown errno "EPRM"`},
		{"value on kill", "default: kill-process 3\n", "1:23", "kill-process takes no value"},
		{"trace data range", "default: trace 65536\n", "1:16", "trace data must be a number 0..65535"},
		{"three words", "default: errno EPERM x\n", "1:22", `unexpected "x"`},
		{"bad-arch action", "default: allow\nbad-arch: kil-process\n", "2:11", `unknown action "kil-process" (did you mean "kill-process"?)`},
		{"unknown arch", "default: allow\narches: [x86_64, x86-46]\n", "2:18", `unknown arch "x86-46"`},
		{"empty arches", "default: allow\narches: []\n", "2:9", "arches is empty"},
		{"arches mapping", "default: allow\narches: {a: b}\n", "2:9", "arches must be a name or a list"},
		{"unknown seal", "default: allow\nseal: [system-mapping]\n", "2:8", `unknown seal "system-mapping"`},
		{"rules mapping", "default: allow\nrules: {allow: read}\n", "2:8", "rules must be a list"},
		{"rule scalar", r + "  - allow\n", "3:5", "a rule must be a mapping"},
		{"rule unknown key", r + "  - allow: read\n    whne: arg0 == 1\n", "4:5", `unknown key "whne" in a rule (did you mean "when"?)`},
		{"rule duplicate key", r + "  - allow: read\n    allow: write\n", "4:5", `duplicate key "allow" (first at line 3)`},
		{"two actions", r + "  - allow: read\n    errno: EPERM\n", "4:5", "a rule has one action: found allow and errno"},
		{"two actions reversed", r + "  - errno: EPERM\n    allow: read\n", "4:5", "a rule has one action: found errno and allow"},
		{"no action", r + "  - syscalls: [read]\n", "3:5", "rule has no action"},
		{"unknown syscall", r + "  - allow: [read, opnat]\n", "3:19", `unknown syscall "opnat" (did you mean "openat"?)`},
		{"unknown syscall scalar", r + "  - kill-process: ptrce\n", "3:19", `unknown syscall "ptrce" (did you mean "ptrace"?)`},
		{"unknown class", r + "  - allow: [\"%memroy\"]\n", "3:13", `unknown syscall class "%memroy"`},
		{"empty list", r + "  - allow: []\n", "3:12", "rule names no syscalls"},
		{"null list", r + "  - allow:\n", "3:11", "rule names no syscalls"},
		{"nested list", r + "  - allow: [[read]]\n", "3:13", "syscalls must be a single value, not a list"},
		{"errno without syscalls", r + "  - errno: EPERM\n", "3:5", "name the syscalls under syscalls:"},
		{"errno unknown", r + "  - errno: EPRM\n    syscalls: [read]\n", "3:12", `unknown errno "EPRM"`},
		{"errno number range", r + "  - errno: 5000\n    syscalls: [read]\n", "3:12", "errno 5000 out of range"},
		{"errno negative", r + "  - errno: -1\n    syscalls: [read]\n", "3:12", `unknown errno "-1"`},
		{"errno empty", r + "  - errno:\n    syscalls: [read]\n", "3:11", "errno needs a value"},
		{"both lists", r + "  - allow: read\n    syscalls: [write]\n", "3:12", "syscalls named both in allow: and in syscalls:"},
		{"trace data without syscalls", r + "  - trace: 5\n", "3:12", "trace: 5 gives the trace data"},
		{"trace data range", r + "  - trace: 70000\n    syscalls: [read]\n", "3:12", "trace data must be a number 0..65535"},
		{"trap data word", r + "  - trap: x\n    syscalls: [read]\n", "3:11", `trap data must be a number 0..65535, found "x"`},
		{"comment and reason", r + "  - allow: read\n    comment: a\n    reason: b\n", "5:5", "give one"},
		{"comment list", r + "  - allow: read\n    comment: [a]\n", "4:14", "comment must be a single value"},
		{"yaml tag", r + "  - allow: !foo read\n", "3:12", `unexpected YAML tag "!foo"`},

		{"when empty", w + "''\n", "4:12", "empty condition"},
		{"when arg6", w + "arg6 == 1\n", "4:11", `no argument "arg6"`},
		{"when not arg", w + "fd == 1\n", "4:11", `expected an argument (arg0 to arg5), found "fd"`},
		{"when single =", w + "arg0 = 1\n", "4:16", `unexpected "=" (compare with ==)`},
		{"when no op", w + "arg0 1\n", "4:16", "expected a comparison"},
		{"when dangling and", w + "arg0 == 1 &&\n", "4:23", "found end of condition"},
		{"when unknown constant", w + "arg2 == O_RDONY\n", "4:19", `unknown constant "O_RDONY" for x86_64`},
		{"when constant in or", w + "arg2 & O_ACCMODE == O_WRONLY|O_RDWX\n", "4:40", `unknown constant "O_RDWX"`},
		{"when number range", w + "arg0 == 0x1ffffffffffffffff\n", "4:19", "number 0x1ffffffffffffffff is out of range"},
		{"when negative range", w + "arg0 == -0x8000000000000001\n", "4:20", "-0x8000000000000001 is out of range"},
		{"when bad number", w + "arg0 == 09\n", "4:19", `invalid number "09"`},
		{"when bad char", w + "arg0 == $\n", "4:19", `unexpected character '$'`},
		{"when never lt", w + "arg1 < 0\n", "4:11", "arg1 < 0 is never true"},
		{"when always ge", w + "arg1 >= 0\n", "4:11", "arg1 >= 0 is always true"},
		{"when never gt", w + "arg1 > -1\n", "4:11", "arg1 > -1 is never true"},
		{"when always le", w + "arg1 <= ~0\n", "4:11", "arg1 <= ~0 is always true"},
		{"when mask zero", w + "arg0 & 0 == 0\n", "4:18", "mask is 0"},
		{"when mask outside", w + "arg0 & 3 == 4\n", "4:23", "is never true: the value has bits outside the mask"},
		{"when mask outside ne", w + "arg0 & 3 != 4\n", "4:23", "is always true"},
		{"when mask lt", w + "arg0 & 3 < 1\n", "4:20", "compares only with == or !="},
		{"when unclosed", w + "(arg0 == 1\n", "4:21", `expected ")" to close the "(" at column 11`},
		{"when trailing", w + "arg0 == 1 arg1\n", "4:21", `unexpected "arg1" after condition`},
		{"when arg vs arg", w + "arg0 == arg1\n", "4:19", "arguments compare only with constants"},
		{"when value paren", w + "arg0 == (1 | 2\n", "4:25", `expected ")"`},
		{"when double quoted", w + "\"arg0 == 1 &&\"\n", "4:24", "found end of condition"},
		{"when single quoted", w + "'arg0 == O_NOPE'\n", "4:20", `unknown constant "O_NOPE"`},
		{"when escaped", w + "\"arg0 == \\x4f_NOPE\"\n", "4:11", `unknown constant "O_NOPE"`},
		{"when folded", w + "arg0 == 1 ||\n      arg0 == O_NOPE\n", "4:11", `unknown constant "O_NOPE"`},
		{"when block", w + "|\n      arg0 == O_NOPE\n", "4:11", `unknown constant "O_NOPE"`},
		{"when tag", w + "!arg0 == 1\n", "4:11", `unexpected YAML tag "!arg0" in when (quote a value that starts with "!")`},
		{"when list", w + "[arg0 == 1]\n", "4:11", "when must be a single value"},
		{"when second line col", r + "  - allow: read\n  - allow: write\n    when: arg0 == O_X\n", "5:19", `unknown constant "O_X"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, err := Parse([]byte(tt.src), "t.yaml", x86)
			if err == nil {
				t.Fatalf("no error; policy %+v\n%s", p, tt.src)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is %T, not *Error", err, err)
			}
			want := "t.yaml"
			if tt.pos != "" {
				want += ":" + tt.pos
			}
			if got := pe.Pos.String(); got != want && !(tt.pos == "" && strings.HasPrefix(got, "t.yaml")) {
				t.Errorf("position %s, want %s (%v)", got, want, err)
			}
			if !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("message %q, want it to contain %q", pe.Msg, tt.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if !strings.HasPrefix(err.Error(), want+": ") {
				t.Errorf("Error() = %q, want prefix %q", err, want+": ")
			}
		})
	}
}

const example = `# the example of the package documentation
default: errno EPERM
arches: [x86_64, i386]
bad-arch: kill-thread
seal: [system-mappings, system-mappings]
rules:
  - allow: [read, write, close, "%memory", exit_group, read]
  - allow: personality
    when: arg0 == 0 || arg0 == 0xffffffff
  - errno: EACCES
    syscalls: [open, openat]
    when: arg2 & O_ACCMODE != O_RDONLY
    comment: "read-only"
  - kill-process: [ptrace, kexec_load]
  - notify: mknodat
  - trace: 5
    syscalls: [openat]
    reason: watch
  - trap: [getpid]
  - log: getppid
  - errno: 38
    syscalls: socket
`

func TestParse(t *testing.T) {
	p, warns := parseT(t, example)
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	if want := (Action{Kind: Errno, Value: 1}); p.Default != want {
		t.Errorf("default %v, want %v", p.Default, want)
	}
	if want := (Action{Kind: KillThread}); p.BadArch != want {
		t.Errorf("bad-arch %v, want %v", p.BadArch, want)
	}
	if !reflect.DeepEqual(p.Arches, []*syscalls.Arch{syscalls.X86_64, syscalls.I386}) {
		t.Errorf("arches %v", p.Arches)
	}
	if !reflect.DeepEqual(p.Seal, []string{SealSystemMappings}) {
		t.Errorf("seal %v", p.Seal)
	}
	if p.File != "t.yaml" {
		t.Errorf("file %q", p.File)
	}
	memory, ok := syscalls.Class("%memory")
	if !ok || len(memory) == 0 {
		t.Fatal("no %memory class")
	}
	first := append([]string{"read", "write", "close"}, memory...)
	first = append(first, "exit_group")
	first = dedup(first)
	wantRules := []struct {
		action   Action
		syscalls []string
		when     string
		comment  string
		line     int
	}{
		{Action{Kind: Allow}, first, "true", "", 7},
		{Action{Kind: Allow}, []string{"personality"}, "arg0 == 0x0 || arg0 == 0xffffffff", "", 8},
		{Action{Kind: Errno, Value: 13}, []string{"open", "openat"}, "arg2 & 0x3 != 0x0", "read-only", 10},
		{Action{Kind: KillProcess}, []string{"ptrace", "kexec_load"}, "true", "", 14},
		{Action{Kind: Notify}, []string{"mknodat"}, "true", "", 15},
		{Action{Kind: Trace, Value: 5}, []string{"openat"}, "true", "watch", 16},
		{Action{Kind: Trap}, []string{"getpid"}, "true", "", 19},
		{Action{Kind: Log}, []string{"getppid"}, "true", "", 20},
		{Action{Kind: Errno, Value: 38}, []string{"socket"}, "true", "", 21},
	}
	if len(p.Rules) != len(wantRules) {
		t.Fatalf("%d rules, want %d", len(p.Rules), len(wantRules))
	}
	for i, w := range wantRules {
		r := p.Rules[i]
		if r.Action != w.action || !reflect.DeepEqual(r.Syscalls, w.syscalls) || r.When.String() != w.when ||
			r.Comment != w.comment || r.Pos != (Pos{File: "t.yaml", Line: w.line, Col: 5}) {
			t.Errorf("rule %d = %v %v when %q comment %q at %v\nwant %v %v when %q comment %q at line %d",
				i, r.Action, r.Syscalls, r.When, r.Comment, r.Pos, w.action, w.syscalls, w.when, w.comment, w.line)
		}
	}
	if got := p.RulesFor("openat"); !reflect.DeepEqual(got, []int{2, 5}) {
		t.Errorf("RulesFor(openat) = %v", got)
	}
}

func dedup(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		def     Action
		arches  []*syscalls.Arch
		nrules  int
		options Options
	}{
		{"minimal", "default: allow\n", Action{Kind: Allow}, []*syscalls.Arch{syscalls.X86_64}, 0, x86},
		{"null rules", "default: kill-process\nrules:\n", Action{Kind: KillProcess}, []*syscalls.Arch{syscalls.X86_64}, 0, x86},
		{"native arch is options arch", "default: errno 1\n", Action{Kind: Errno, Value: 1}, []*syscalls.Arch{syscalls.AArch64}, 0, Options{Arch: syscalls.AArch64}},
		{"single arch scalar", "default: trace 7\narches: i386\n", Action{Kind: Trace, Value: 7}, []*syscalls.Arch{syscalls.I386}, 0, x86},
		{"arch dedup", "default: log\narches: [x86_64, x86_64, x32]\n", Action{Kind: Log}, []*syscalls.Arch{syscalls.X86_64, syscalls.X32}, 0, x86},
		{"hex errno", "default: errno 0x26\n", Action{Kind: Errno, Value: 38}, []*syscalls.Arch{syscalls.X86_64}, 0, x86},
		{"errno zero", "default: errno 0\n", Action{Kind: Errno}, []*syscalls.Arch{syscalls.X86_64}, 0, x86},
		{"unknown key beside an anchor", "default: allow\nlist: &l [read]\n", Action{}, nil, 0, x86},
		{"alias", "default: allow\nrules:\n  - allow: &l [read, write]\n  - log: *l\n    when: arg0 == 1\n", Action{Kind: Allow}, []*syscalls.Arch{syscalls.X86_64}, 2, x86},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, err := Parse([]byte(tt.src), "t.yaml", tt.options)
			if tt.arches == nil { // expected to fail: unknown key
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Default != tt.def || !reflect.DeepEqual(p.Arches, tt.arches) || len(p.Rules) != tt.nrules {
				t.Errorf("got default %v arches %v %d rules", p.Default, p.Arches, len(p.Rules))
			}
			if p.BadArch != (Action{Kind: KillProcess}) {
				t.Errorf("bad-arch %v", p.BadArch)
			}
		})
	}
}

// TestConditions checks the 64-bit semantics of every operator through
// the oracle.
func TestConditions(t *testing.T) {
	const max = ^uint64(0)
	nr, ok := syscalls.X86_64.Lookup("getpid")
	if !ok {
		t.Fatal("no getpid")
	}
	tests := []struct {
		when string
		args [6]uint64
		want bool
	}{
		{"arg0 == 0x100000001", [6]uint64{1}, false},
		{"arg0 == 0x100000001", [6]uint64{0x100000001}, true},
		{"arg0 == -1", [6]uint64{0xffffffff}, false},
		{"arg0 == -1", [6]uint64{max}, true},
		{"arg0 == ~0", [6]uint64{max}, true},
		{"arg0 == -100", [6]uint64{0xffffffffffffff9c}, true},
		{"arg0 == 017", [6]uint64{15}, true},
		{"arg0 == 0o17", [6]uint64{15}, true},
		{"arg0 == 0b101", [6]uint64{5}, true},
		{"arg0 == 1_000", [6]uint64{1000}, true},
		{"arg0 != 0x100000000", [6]uint64{0}, true},
		{"arg0 != 0x100000000", [6]uint64{0x100000000}, false},
		{"arg1 < 0x100000000", [6]uint64{0, 0xffffffff}, true},
		{"arg1 < 0x100000000", [6]uint64{0, 0x100000000}, false},
		{"arg1 < 5", [6]uint64{0, max}, false}, // unsigned: -1 is huge
		{"arg2 <= 5", [6]uint64{0, 0, 5}, true},
		{"arg2 <= 5", [6]uint64{0, 0, 6}, false},
		{"arg2 <= 5", [6]uint64{0, 0, 0xffffffff00000005}, false},
		{"arg3 > 0xffffffff", [6]uint64{0, 0, 0, 0x100000000}, true},
		{"arg3 > 0xffffffff", [6]uint64{0, 0, 0, 0xffffffff}, false},
		{"arg4 >= 0x8000000000000000", [6]uint64{0, 0, 0, 0, max}, true},
		{"arg4 >= 0x8000000000000000", [6]uint64{0, 0, 0, 0, 0x7fffffffffffffff}, false},
		{"arg5 & 0xff00000000 == 0x1200000000", [6]uint64{5: 0x12abcdefff}, true},
		{"arg5 & 0xff00000000 == 0x1200000000", [6]uint64{5: 0x13abcdefff}, false},
		{"arg5 & 0xff00000000 != 0x1200000000", [6]uint64{5: 0x12abcdefff}, false},
		{"arg5 & 0xff00000000 != 0x1200000000", [6]uint64{5: 0x13abcdefff}, true},
		{"arg2 & O_ACCMODE != O_RDONLY", [6]uint64{2: 0x8000}, false},
		{"arg2 & O_ACCMODE != O_RDONLY", [6]uint64{2: 0x8001}, true},
		{"arg2 & O_ACCMODE == O_WRONLY|O_RDWR", [6]uint64{2: 3}, true},
		{"arg2 & (O_WRONLY | O_RDWR) == O_RDWR", [6]uint64{2: 2}, true},
		{"arg2 & ~0xff == 0", [6]uint64{2: 0xff}, true},
		{"arg2 & ~0xff == 0", [6]uint64{2: 0x100}, false},
		{"arg0 == AT_FDCWD", [6]uint64{0xffffffffffffff9c}, true},
		{"arg0 == 1 || arg1 == 2 && arg2 == 3", [6]uint64{1}, true},
		{"arg0 == 1 || arg1 == 2 && arg2 == 3", [6]uint64{0, 2}, false},
		{"arg0 == 1 || arg1 == 2 && arg2 == 3", [6]uint64{0, 2, 3}, true},
		{"(arg0 == 1 || arg1 == 2) && arg2 == 3", [6]uint64{1}, false},
		{"!(arg0 == 1)", [6]uint64{1}, false},
		{"!(arg0 == 1)", [6]uint64{2}, true},
		{"!!(arg0 == 1)", [6]uint64{1}, true},
		{"!(arg0 < 5)", [6]uint64{5}, true},
		{"!(arg0 == 1 && arg1 == 2)", [6]uint64{1, 2}, false},
		{"!(arg0 == 1 && arg1 == 2)", [6]uint64{1, 3}, true},
		{"!(arg0 & 1 == 1 || arg1 & 2 != 0)", [6]uint64{0, 0}, true},
		{"!(arg0 & 1 == 1 || arg1 & 2 != 0)", [6]uint64{0, 2}, false},
		{"!(arg0 & 1 == 1 || arg1 & 2 != 0)", [6]uint64{1, 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			src := "default: errno EPERM\nrules:\n  - allow: getpid\n    when: " + yamlString(tt.when) + "\n"
			p, _ := parseT(t, src)
			if got := p.Rules[0].When.Eval(tt.args); got != tt.want {
				t.Errorf("Eval(%#x) = %v, want %v (parsed as %s)", tt.args, got, tt.want, p.Rules[0].When)
			}
			want := Action{Kind: Errno, Value: 1}
			if tt.want {
				want = Action{Kind: Allow}
			}
			if got, _ := p.Decide(syscalls.X86_64.Audit, nr, tt.args); got != want {
				t.Errorf("Decide(%#x) = %v, want %v", tt.args, got, want)
			}
			checkNormal(t, p.Rules[0].When)
		})
	}
}

// checkNormal checks that negation sits only over masked comparisons and
// that && and || have at least two members, none of their own kind.
func checkNormal(t *testing.T, e *Expr) {
	t.Helper()
	switch e.Kind {
	case ExprNot:
		if len(e.Subs) != 1 || e.Subs[0].Kind != ExprCmp || e.Subs[0].Cmp.Op != MaskedEq {
			t.Errorf("negation not pushed down: %s", e)
		}
	case ExprAnd, ExprOr:
		if len(e.Subs) < 2 {
			t.Errorf("%s has %d members", e, len(e.Subs))
		}
		for _, s := range e.Subs {
			if s.Kind == e.Kind {
				t.Errorf("%s not flattened", e)
			}
			checkNormal(t, s)
		}
	}
}

func TestExprString(t *testing.T) {
	tests := []struct{ when, want string }{
		{"arg0 == 1", "arg0 == 0x1"},
		{"!(arg0 < 5)", "arg0 >= 0x5"},
		{"!(arg0 == 1 && arg1 != 2)", "arg0 != 0x1 || arg1 == 0x2"},
		{"arg2 & 3 != 1", "arg2 & 0x3 != 0x1"},
		{"!(arg2 & 3 != 1)", "arg2 & 0x3 == 0x1"},
		{"arg0 == 1 && (arg1 == 2 && arg2 == 3)", "arg0 == 0x1 && arg1 == 0x2 && arg2 == 0x3"},
		{"(arg0 == 1 || arg1 == 2) && arg3 == 3", "(arg0 == 0x1 || arg1 == 0x2) && arg3 == 0x3"},
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			p, _ := parseT(t, "default: allow\nrules:\n  - log: read\n    when: "+yamlString(tt.when)+"\n")
			if got := p.Rules[0].When.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		opts  Options
		warns []string // exact Warning.String()s
		rules int
	}{
		{"shadowed rule", "default: allow\nrules:\n  - errno: EPERM\n    syscalls: openat\n  - errno: EACCES\n    syscalls: [openat]\n    when: arg2 == 1\n", x86,
			[]string{"t.yaml:5:5: warning: rule never matches: earlier rule at t.yaml:3:5 decides openat unconditionally"}, 2},
		{"partly shadowed", "default: allow\nrules:\n  - allow: read\n  - kill-process: [read, write]\n", x86,
			[]string{"t.yaml:4:5: warning: read never matches in this rule: earlier rule at t.yaml:3:5 decides it unconditionally"}, 2},
		{"shadowed through a class is fine", "default: allow\nrules:\n  - allow: mmap\n  - kill-process: \"%memory\"\n", x86, nil, 2},
		{"conditional does not shadow", "default: allow\nrules:\n  - allow: read\n    when: arg0 == 0\n  - kill-process: read\n", x86, nil, 2},
		{"32-bit arch", "default: allow\narches: [x86_64, i386]\nrules:\n  - allow: read\n    when: arg0 == -1 || arg1 == 0xffffffff\n", x86,
			[]string{"t.yaml:5:11: warning: value 0xffffffffffffffff does not fit the 32-bit arguments of i386; for a 32-bit int compare arg0 & 0xffffffff == 0xffffffff"}, 1},
		{"64-bit only", "default: allow\narches: [x86_64, x32]\nrules:\n  - allow: read\n    when: arg0 == -1\n", x86, nil, 1},
		{"not on listed arch", "default: allow\narches: aarch64\nrules:\n  - allow: [read, open]\n", x86,
			[]string{`t.yaml:4:19: warning: syscall "open" does not exist on aarch64`}, 1},
		{"ignore unknown", "default: allow\nrules:\n  - allow: [read, nosuchcall]\n  - allow: [nosuchcall2]\n", Options{Arch: syscalls.X86_64, IgnoreUnknown: true},
			[]string{`t.yaml:3:19: warning: unknown syscall "nosuchcall": skipped`, `t.yaml:4:13: warning: unknown syscall "nosuchcall2": skipped`, "t.yaml:4:5: warning: rule dropped: it names only unknown syscalls"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, warns, err := Parse([]byte(tt.src), "t.yaml", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range warns {
				got = append(got, w.String())
			}
			if !reflect.DeepEqual(got, tt.warns) {
				t.Errorf("warnings\n%q\nwant\n%q", got, tt.warns)
			}
			if len(p.Rules) != tt.rules {
				t.Errorf("%d rules, want %d", len(p.Rules), tt.rules)
			}
		})
	}
}

// TestFormatRoundTrip formats policies and parses them back: the result
// must format identically and decide every probe as the original does.
func TestFormatRoundTrip(t *testing.T) {
	srcs := map[string]string{
		"example": example,
		"empty":   "default: kill-thread\narches: [aarch64, arm]\n",
		"many": "default: errno ENOSYS\nbad-arch: errno 1\nrules:\n  - allow: \"%memory\"\n    when: \"!(arg0 == 0 || arg1 & 0xf0 != 0x10) && arg5 <= 0x7fffffffffffffff\"\n" +
			"    comment: \"quotes \\\" and\\nnew line, # and : too\"\n  - errno: 4000\n    syscalls: [read, write, getpid, getppid, close, openat, open, socket, ptrace, kexec_load, personality, mknodat, exit_group]\n",
	}
	for name, src := range srcs {
		t.Run(name, func(t *testing.T) {
			p, _ := parseT(t, src)
			out, err := p.Format()
			if err != nil {
				t.Fatal(err)
			}
			q, _, err := Parse(out, "formatted.yaml", x86)
			if err != nil {
				t.Fatalf("parse formatted: %v\n%s", err, out)
			}
			out2, err := q.Format()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != string(out2) {
				t.Errorf("format not stable:\n%s\n---\n%s", out, out2)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if len(line) > 80 && !strings.Contains(line, "when:") && !strings.Contains(line, "comment:") {
					t.Errorf("line over 80 columns: %q", line)
				}
			}
			if !reflect.DeepEqual(p.Arches, q.Arches) || p.Default != q.Default || p.BadArch != q.BadArch || !reflect.DeepEqual(p.Seal, q.Seal) {
				t.Errorf("header differs:\n%s", out)
			}
			if len(p.Rules) != len(q.Rules) {
				t.Fatalf("%d rules became %d:\n%s", len(p.Rules), len(q.Rules), out)
			}
			for i := range p.Rules {
				a, b := p.Rules[i], q.Rules[i]
				if a.Action != b.Action || !reflect.DeepEqual(a.Syscalls, b.Syscalls) || !reflect.DeepEqual(a.When, b.When) || a.Comment != b.Comment {
					t.Errorf("rule %d differs: %+v\n%+v", i, a, b)
				}
			}
			sameDecisions(t, p, q)
		})
	}
}

// sameDecisions probes both policies with every syscall they name on every
// arch, under argument vectors around the interesting boundaries.
func sameDecisions(t *testing.T, p, q *Policy) {
	t.Helper()
	names := map[string]bool{"getpid": true}
	for _, r := range p.Rules {
		for _, s := range r.Syscalls {
			names[s] = true
		}
	}
	vals := []uint64{0, 1, 2, 3, 0x10, 0xf0, 0xffffffff, 0x100000000, 0x7fffffffffffffff, ^uint64(0)}
	n := 0
	for _, a := range []*syscalls.Arch{syscalls.X86_64, syscalls.I386, syscalls.X32, syscalls.AArch64, syscalls.ARM} {
		for name := range names {
			nr, ok := a.Lookup(name)
			if !ok {
				continue
			}
			for _, v := range vals {
				for _, w := range vals {
					args := [6]uint64{v, w, v, w, v, w}
					x, i := p.Decide(a.Audit, nr, args)
					y, j := q.Decide(a.Audit, nr, args)
					if x != y || i != j {
						t.Fatalf("%s %s %#x: %v (rule %d) became %v (rule %d)", archName(a), name, args, x, i, y, j)
					}
					n++
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("nothing probed")
	}
}

func TestFormatErrors(t *testing.T) {
	read := []string{"read"}
	tests := []struct {
		name string
		p    Policy
		msg  string
	}{
		{"no arches", Policy{Default: Action{Kind: Allow}}, "no arches"},
		{"bad default", Policy{Default: Action{Kind: 99}, Arches: []*syscalls.Arch{syscalls.X86_64}}, "invalid action"},
		{"errno range", Policy{Default: Action{Kind: Errno, Value: 5000}, Arches: []*syscalls.Arch{syscalls.X86_64}}, "out of range"},
		{"empty rule", Policy{Default: Action{Kind: Allow}, Arches: []*syscalls.Arch{syscalls.X86_64}, Rules: []Rule{{Action: Action{Kind: Allow}}}}, "no syscalls"},
		{"bad name", Policy{Default: Action{Kind: Allow}, Arches: []*syscalls.Arch{syscalls.X86_64}, Rules: []Rule{{Syscalls: []string{"a b"}}}}, "invalid syscall name"},
		{"bad arg", Policy{Default: Action{Kind: Allow}, Arches: []*syscalls.Arch{syscalls.X86_64}, Rules: []Rule{{Syscalls: read, When: &Expr{Cmp: Cmp{Arg: 6}}}}}, "argument 6"},
		{"bad not", Policy{Default: Action{Kind: Allow}, Arches: []*syscalls.Arch{syscalls.X86_64}, Rules: []Rule{{Syscalls: read, When: &Expr{Kind: ExprNot}}}}, "negation"},
		{"allow value", Policy{Default: Action{Kind: Allow}, Arches: []*syscalls.Arch{syscalls.X86_64}, Rules: []Rule{{Syscalls: read, Action: Action{Kind: Allow, Value: 3}}}}, "allow with value 3"},
		{"seal", Policy{Default: Action{Kind: Allow}, Arches: []*syscalls.Arch{syscalls.X86_64}, Seal: []string{"x"}}, "unknown seal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.p.Format()
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want one containing %q; output:\n%s", err, tt.msg, out)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, []byte("\n\ndefault: allow\nrules:\n  - allow: opnat\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Load(path, x86)
	var pe *Error
	if !errors.As(err, &pe) || pe.Pos != (Pos{File: path, Line: 5, Col: 12}) {
		t.Errorf("Load error %v, want *Error at %s:5:12", err, path)
	}
	_, _, err = Load(filepath.Join(dir, "missing.yaml"), x86)
	if !errors.Is(err, os.ErrNotExist) || errors.As(err, &pe) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestIsJSON(t *testing.T) {
	for s, want := range map[string]bool{
		`{"defaultAction": "SCMP_ACT_ERRNO"}`: true,
		" \n\t{":                              true,
		"default: allow":                      false,
		"":                                    false,
		"# {\n":                               false,
		"[1]":                                 false,
	} {
		if got := isJSON([]byte(s)); got != want {
			t.Errorf("isJSON(%q) = %v", s, got)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"openat", "open", "read", "readv"}
	for s, want := range map[string]string{
		"opnat": ` (did you mean "openat"?)`,
		"rea":   ` (did you mean "read"?)`,
		"xyzzy": "",
		"READ":  ` (did you mean "read"?)`,
		"a":     "",
	} {
		if got := suggest(s, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(example)
	f.Add("default: allow\nrules:\n  - allow: read\n    when: arg0 & 3 != 1 || !(arg1 < 5)\n")
	f.Add("default: errno 1\narches: [i386]\n")
	f.Fuzz(func(t *testing.T, src string) {
		if isJSON([]byte(src)) {
			return // the OCI reader's business
		}
		p, _, err := Parse([]byte(src), "f.yaml", x86)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is %T", err, err)
			}
			return
		}
		out, err := p.Format()
		if err != nil {
			t.Fatalf("format: %v", err)
		}
		q, _, err := Parse(out, "g.yaml", x86)
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, out)
		}
		sameDecisions(t, p, q)
	})
}
