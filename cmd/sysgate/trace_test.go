package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTraceFlags runs "sysgate trace" with each flag on a shell command
// and checks what the flag adds.
func TestTraceFlags(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "trace.out")
	sh := []string{"--", "/bin/sh", "-c", "cat /etc/hostname /nonexistent >/dev/null; exit 3"}
	tests := []struct {
		name  string
		args  []string
		code  int
		want  []string // in the -o file
		not   []string
		check func(t *testing.T, text string)
	}{
		{name: "-e trace", args: []string{"-e", "trace=openat"}, code: 3,
			want: []string{`openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3`, `openat(AT_FDCWD, "/nonexistent", O_RDONLY) = -1 ENOENT (No such file or directory)`, "+++ exited with 3 +++"},
			not:  []string{"close("}},
		{name: "-e status=failed", args: []string{"-e", "trace=openat", "-e", "status=failed"}, code: 3,
			want: []string{`"/nonexistent", O_RDONLY) = -1 ENOENT`}, not: []string{`"/etc/hostname", O_RDONLY) = 3`}},
		{name: "-y", args: []string{"-y", "-e", "trace=openat,close"}, code: 3, want: []string{"= 3</etc/hostname>", "close(3</etc/hostname>) = 0"}},
		{name: "-s", args: []string{"-s", "4", "-e", "trace=openat"}, code: 3, want: []string{`"/etc/hostname"`}}, // paths are not cut
		{name: "-tt -T", args: []string{"-tt", "-T", "-e", "trace=openat"}, code: 3, check: func(t *testing.T, text string) {
			line := strings.Split(text, "\n")[0]
			if len(line) < 16 || line[2] != ':' || line[8] != '.' || !strings.HasSuffix(line, ">") || !strings.Contains(line, " <0.") {
				t.Errorf("no time of day or duration: %q", line)
			}
		}},
		{name: "-c", args: []string{"-c", "-e", "trace=openat,close"}, code: 3,
			want: []string{"% time     seconds  usecs/call     calls    errors syscall", " openat\n", " total\n"}, not: []string{"openat(AT"}},
		{name: "--json", args: []string{"--json", "-e", "trace=openat"}, code: 3, check: func(t *testing.T, text string) {
			n := 0
			for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("not JSON: %q: %v", line, err)
				}
				if m["syscall"] == "openat" && m["errno"] == "ENOENT" {
					n++
				}
			}
			if n == 0 {
				t.Errorf("no failed openat object:\n%s", text)
			}
		}},
		// Without seccomp and -f the shell's children are not followed, as with strace.
		{name: "--no-seccomp", args: []string{"--no-seccomp", "-e", "trace=openat"}, code: 3,
			want: []string{`openat(AT_FDCWD, "/dev/null", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3`}, not: []string{"/nonexistent"}},
		{name: "-f", args: []string{"-f", "--no-seccomp", "-e", "trace=openat"}, code: 3, want: []string{`[pid `, `"/etc/hostname"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"trace", "-o", out}, tc.args...), sh...)
			_, stderr, code := sysgate(t, nil, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(text, w) {
					t.Errorf("has %q:\n%s", w, text)
				}
			}
			if tc.check != nil {
				tc.check(t, text)
			}
		})
	}
}

func TestTraceErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trace"}, 2, "no program to trace"},
		{[]string{"trace", "-e", "trace=nosuch", "true"}, 2, `unknown syscall "nosuch"`},
		{[]string{"trace", "-e", "status=bogus", "true"}, 2, `unknown status "bogus"`},
		{[]string{"trace", "-e", "signal=all", "true"}, 2, "unsupported qualifier"},
		{[]string{"trace", "-p", "1", "true"}, 2, "exclude each other"},
		{[]string{"trace", "/nonexistent/x"}, 127, "no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := sysgate(t, nil, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}
