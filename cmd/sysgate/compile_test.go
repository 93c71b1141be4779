package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sysgate/sysgate/bpf"
)

const sample = `default: errno EPERM
arches: [x86_64]
rules:
  - allow: [read, write, close, exit_group]
  - allow: personality
    when: arg0 == 0 || arg0 == 0xffffffff
  - errno: EACCES
    syscalls: [open, openat]
    when: arg2 & O_ACCMODE != O_RDONLY
  - allow: [open, openat]
  - kill-process: [ptrace]
`

const mobyProfile = "../../policy/testdata/oci/moby-default.json"

func TestCompileFormats(t *testing.T) {
	pol := writePolicy(t, sample)
	for _, tc := range []struct {
		format string
		check  func(t *testing.T, out []byte)
	}{
		{"raw", func(t *testing.T, out []byte) {
			prog, err := bpf.Unmarshal(out, binary.LittleEndian)
			if err != nil {
				t.Fatal(err)
			}
			if err := bpf.Validate(prog); err != nil {
				t.Fatal(err)
			}
			if prog[0] != bpf.LoadAbs(bpf.OffsetArch) {
				t.Fatalf("first instruction %v, want ld [4]", prog[0])
			}
		}},
		{"asm", func(t *testing.T, out []byte) {
			for _, want := range []string{"ld [4]", "; arch", "errno EACCES", "kill-process"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("asm output lacks %q:\n%s", want, out)
				}
			}
			if _, err := bpf.Assemble(string(out)); err != nil {
				t.Errorf("asm output does not assemble: %v", err)
			}
		}},
		{"dot", func(t *testing.T, out []byte) {
			if !strings.HasPrefix(string(out), "digraph") {
				t.Fatalf("not a digraph: %.60s", out)
			}
		}},
		{"oci", func(t *testing.T, out []byte) {
			var v struct {
				DefaultAction string `json:"defaultAction"`
			}
			if err := json.Unmarshal(out, &v); err != nil || v.DefaultAction != "SCMP_ACT_ERRNO" {
				t.Fatalf("oci output: %v, %+v", err, v)
			}
		}},
		{"stats", func(t *testing.T, out []byte) {
			if !strings.Contains(string(out), "cacheable pairs") {
				t.Fatalf("stats output: %s", out)
			}
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			out, errOut, code := sysgate(t, nil, "compile", "--format", tc.format, pol)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			tc.check(t, []byte(out))
		})
	}
}

func TestCompileRawToFile(t *testing.T) {
	out := t.TempDir() + "/moby.bpf"
	if _, errOut, code := sysgate(t, nil, "compile", "--format", "raw", "-o", out, mobyProfile); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || len(b)%8 != 0 {
		t.Fatalf("raw output is %d bytes", len(b))
	}
}

func TestCheck(t *testing.T) {
	pol := writePolicy(t, sample)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"openat", "0", "0", "O_WRONLY|O_CREAT"}, []string{"errno EACCES", `rule at ` + pol + `:7:5`}},
		{[]string{"openat", "0", "0", "O_RDONLY"}, []string{": allow", `rule at ` + pol + `:10:5`}},
		{[]string{"personality", "0xffffffff"}, []string{": allow"}},
		{[]string{"personality", "0x100000000"}, []string{"errno EPERM", "default verdict"}},
		{[]string{"ptrace"}, []string{"kill-process"}},
		{[]string{"--arch", "i386", "read"}, []string{"kill-process", "bad-arch"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"check"}, tc.args...)
			// Flags go before the policy.
			if tc.args[0] == "--arch" {
				args = append([]string{"check", tc.args[0], tc.args[1], pol}, tc.args[2:]...)
			} else {
				args = append([]string{"check", pol}, tc.args...)
			}
			out, errOut, code := sysgate(t, nil, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if !regexp.MustCompile(`executed \d+ of \d+ BPF instructions`).MatchString(out) {
				t.Errorf("no instruction count:\n%s", out)
			}
		})
	}
}

func TestPolicyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unknown syscall", "default: allow\nrules:\n  - errno: EPERM\n    syscalls: [opnat]\n", ":4:16: unknown syscall"},
		{"unknown constant", "default: allow\nrules:\n  - errno: EPERM\n    syscalls: [openat]\n    when: arg2 == O_NOPE\n", ":5:19"},
		{"unknown key", "default: allow\nrulez: []\n", ":2:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := writePolicy(t, tc.src)
			_, errOut, code := sysgate(t, nil, "compile", pol)
			if code != 1 || !strings.Contains(errOut, pol+tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("exit %d, stderr %q; want one line containing %q", code, errOut, pol+tc.want)
			}
		})
	}
	_, errOut, code := sysgate(t, nil, "compile", "/nonexistent/policy.yaml")
	if code != 1 || !strings.Contains(errOut, "/nonexistent/policy.yaml") {
		t.Fatalf("missing file: exit %d, %q", code, errOut)
	}
}
