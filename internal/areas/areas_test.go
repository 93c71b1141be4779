package areas

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProgram runs the program without any filter: every origin succeeds,
// and under Syscall User Dispatch everything but its own text is
// dispatched to its SIGSYS handler, which emulates the call.
func TestProgram(t *testing.T) {
	b, err := Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lib := "lib:" + b.Plugin
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"plain", []string{"-r", "2", "libc", "exe", "anon", lib},
			"libc ok\nlibc ok\nexe ok\nexe ok\nanon ok\nanon ok\n" + lib + " ok\n" + lib + " ok\n"},
		{"sud", []string{"sud", "libc", "exe", "anon", lib},
			"libc ok dispatched\nexe ok\nanon ok dispatched\n" + lib + " ok dispatched\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(b.Program, tc.args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %v\n%s", tc.args, err, out)
			}
			if string(out) != tc.want {
				t.Errorf("output:\n%s\nwant:\n%s", out, tc.want)
			}
		})
	}
	out, err := exec.Command(b.Program, "bench-sud", "1000").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dispatched 0\n") {
		t.Errorf("bench-sud: %v: %s (want no dispatch: the loop runs in the allowed range)", err, out)
	}
}
