package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/sysgate/sysgate/internal/areas"
	"github.com/sysgate/sysgate/policy"
)

// TestMemoryAreas runs the areas program under policies with from: rules.
// Its syscalls come from libc, its own text, an anonymous page it writes
// after start-up (a new one for each call) and a library it dlopens after
// start-up: none of the last two exist when the filter is compiled, so
// their calls reach the supervisor, which must classify them the same
// way every time.
func TestMemoryAreas(t *testing.T) {
	dir := t.TempDir()
	b, err := areas.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	lib := "lib:" + b.Plugin
	tests := []struct {
		name   string
		policy string
		want   map[string]string // origin -> result of every call
		exit   int
	}{
		{
			name: "each kind its own verdict",
			policy: `default: allow
rules:
  - errno: EPERM
    syscalls: [getppid]
    from: anon
  - errno: EACCES
    syscalls: [getppid]
    from: exe
  - errno: ENOENT
    syscalls: [getppid]
    from: "lib:` + dir + `/**"
`,
			want: map[string]string{"libc": "ok", "exe": "EACCES", "anon": "EPERM", lib: "ENOENT"},
		},
		{
			name: "outside the system libraries",
			policy: `default: allow
rules:
  - errno: EPERM
    syscalls: [getppid]
    from: ["!lib:/usr/lib/**", "!lib:/lib/**", "!vdso"]
`,
			want: map[string]string{"libc": "ok", "exe": "EPERM", "anon": "EPERM", lib: "EPERM"},
		},
		{
			name: "list with late library allowed",
			policy: `default: allow
rules:
  - allow: getppid
    from: [exe, "lib:` + dir + `/*.so"]
  - errno: EPERM
    syscalls: [getppid]
`,
			want: map[string]string{"libc": "EPERM", "exe": "ok", "anon": "EPERM", lib: "ok"},
		},
		{
			name: "every syscall from anonymous code",
			policy: `default: allow
rules:
  - errno: EXDEV
    syscalls: ["%all"]
    from: anon
`,
			want: map[string]string{"libc": "ok", "exe": "ok", "anon": "EXDEV", lib: "ok"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, code, report := runAreasProgram(t, tc.policy, false, b.Program, "-r", "5", "libc", "exe", "anon", lib)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, text, report)
			}
			counts := map[string]int{}
			for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
				origin, got, _ := strings.Cut(line, " ")
				counts[origin]++
				if want := tc.want[origin]; got != want {
					t.Errorf("%s: %s, want %s", origin, got, want)
				}
			}
			for o := range tc.want {
				if counts[o] != 5 {
					t.Errorf("%s: %d results, want 5\n%s", o, counts[o], text)
				}
			}
		})
	}
}

// TestMemoryAreasKill: a kill verdict from a page created after start-up
// is applied by the supervisor and named.
func TestMemoryAreasKill(t *testing.T) {
	b, err := areas.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := policy.Parse([]byte("default: allow\nrules:\n  - kill-process: getppid\n    from: anon\n"), "kill.yaml", policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	res, err := Run(context.Background(), Options{Policy: p, Path: b.Program, Args: []string{b.Program, "exe", "anon", "exe"}, Report: &report})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 159 || !strings.Contains(res.Killed, "getppid") {
		t.Errorf("exit %d, killed %q; want 159 and getppid named\n%s", res.ExitCode, res.Killed, report.String())
	}
}
