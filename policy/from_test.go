package policy

import (
	"strings"
	"testing"

	"github.com/sysgate/sysgate/region"
	"github.com/sysgate/sysgate/syscalls"
)

const fromMaps = `55d0c0a02000-55d0c0a07000 r-xp 00002000 fe:00 247026 /usr/bin/prog
7f52d3600000-7f52d3601000 rwxp 00000000 00:00 0
7f52d3734000-7f52d388a000 r-xp 00026000 fe:00 326269 /usr/lib/x86_64-linux-gnu/libc.so.6
7f52d3900000-7f52d3901000 r-xp 00001000 fe:00 1234 /opt/plug/libplug.so
7fffa0000000-7fffa0002000 r-xp 00000000 00:00 0 [vdso]
`

func TestFromDecideAt(t *testing.T) {
	src := `default: allow
arches: [x86_64]
rules:
  - errno: EPERM
    syscalls: [getppid]
    from: anon
  - errno: EACCES
    syscalls: [getppid]
    from: [exe, "lib:/opt/**"]
  - errno: ENOENT
    syscalls: [getppid, getpid]
    from: !lib:/usr/lib/**
  - errno: E2BIG
    syscalls: [getpid]
    when: arg0 == 1
    from: ["!exe", "!vdso"]
`
	p, _, err := Parse([]byte(src), "t.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := region.ParseMaps(strings.NewReader(fromMaps))
	if err != nil {
		t.Fatal(err)
	}
	mp := &region.Map{Exe: "/usr/bin/prog", Mappings: ms}
	getppid, _ := syscalls.X86_64.Lookup("getppid")
	getpid, _ := syscalls.X86_64.Lookup("getpid")
	const (
		exe  = 0x55d0c0a02010
		anon = 0x7f52d3600010
		libc = 0x7f52d3734100
		plug = 0x7f52d3900100
		vdso = 0x7fffa0000010
		none = 0x1000 // unmapped: judged as anonymous
	)
	tests := []struct {
		name string
		nr   uint32
		arg0 uint64
		ip   uint64
		want string
		rule int
	}{
		{"anon", getppid, 0, anon, "errno EPERM", 0},
		{"unmapped is anon", getppid, 0, none, "errno EPERM", 0},
		{"exe", getppid, 0, exe, "errno EACCES", 1},
		{"plug", getppid, 0, plug, "errno EACCES", 1},
		{"libc", getppid, 0, libc, "allow", -1},
		{"vdso negated lib", getppid, 0, vdso, "errno ENOENT", 2},
		{"getpid libc arg", getpid, 1, libc, "errno E2BIG", 3},
		{"getpid exe arg", getpid, 1, exe, "errno ENOENT", 2},
		{"getpid vdso arg", getpid, 1, vdso, "errno ENOENT", 2},
		{"getpid libc", getpid, 0, libc, "allow", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, rule := p.DecideAt(syscalls.X86_64.Audit, tc.nr, [6]uint64{tc.arg0}, tc.ip, mp)
			if a.String() != tc.want || rule != tc.rule {
				t.Errorf("DecideAt = %s (rule %d), want %s (rule %d)", a, rule, tc.want, tc.rule)
			}
		})
	}
	// Decide knows no regions: from: rules do not apply.
	if a, rule := p.Decide(syscalls.X86_64.Audit, getppid, [6]uint64{}); a.Kind != Allow || rule != -1 {
		t.Errorf("Decide = %s (rule %d), want allow (-1)", a, rule)
	}
	if !p.HasFrom() {
		t.Error("HasFrom false")
	}
	// Format and parse back: same selectors.
	out, err := p.Format()
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := Parse(out, "formatted", Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for i := range p.Rules {
		if got, want := q.Rules[i].From.String(), p.Rules[i].From.String(); got != want {
			t.Errorf("rule %d from %s after format, want %s\n%s", i, got, want, out)
		}
	}
}

func TestFromErrors(t *testing.T) {
	tests := []struct{ name, from, want string }{
		{"unknown", "jit", `t.yaml:4:11: unknown region "jit"`},
		{"empty list", "[]", "names no regions"},
		{"bad glob", `"lib:/x/[a"`, "unclosed ["},
		{"mapping", "{a: b}", "must be a region or a list of regions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "default: allow\nrules:\n  - errno: EPERM\n    from: " + tc.from + "\n    syscalls: [getppid]\n"
			_, _, err := Parse([]byte(src), "t.yaml", Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A from: rule is conditional: a later rule for the same syscall is not
// shadowed by it.
func TestFromNotShadowing(t *testing.T) {
	src := "default: allow\nrules:\n  - errno: EPERM\n    syscalls: [getppid]\n    from: anon\n  - errno: EACCES\n    syscalls: [getppid]\n"
	_, warns, err := Parse([]byte(src), "t.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings %v", warns)
	}
}

func TestFromAllAndOCI(t *testing.T) {
	src := "default: allow\narches: [x86_64]\nrules:\n  - trap: \"%all\"\n    from: anon\n"
	p, _, err := Parse([]byte(src), "t.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Rules[0].Syscalls); n < 300 {
		t.Errorf("%%all names %d syscalls", n)
	}
	if _, err := p.OCI(); err == nil || !strings.Contains(err.Error(), "has no OCI form") {
		t.Errorf("OCI export of a from: rule: %v", err)
	}
}
