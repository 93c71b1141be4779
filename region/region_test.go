package region

import (
	"reflect"
	"strings"
	"testing"
)

const sampleMaps = `55d0c0a00000-55d0c0a02000 r--p 00000000 fe:00 247026                     /usr/bin/prog
55d0c0a02000-55d0c0a07000 r-xp 00002000 fe:00 247026                     /usr/bin/prog
55d0c0a07000-55d0c0a0a000 r--p 00007000 fe:00 247026                     /usr/bin/prog
55d0c1b0d000-55d0c1b2e000 rw-p 00000000 00:00 0                          [heap]
7f52d3600000-7f52d3601000 rwxp 00000000 00:00 0 
7f52d3601000-7f52d3602000 r-xp 00000000 00:00 0 
7f52d370e000-7f52d3734000 r--p 00000000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
7f52d3734000-7f52d388a000 r-xp 00026000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
7f52d3900000-7f52d3901000 r-xp 00001000 fe:00 1234                       /tmp/plug in/libplug.so (deleted)
7f52d3910000-7f52d3911000 r-xp 00000000 00:01 99                         /memfd:jit (deleted)
7f52d3920000-7f52d3921000 r-xp 00000000 fe:00 555                        /usr/lib/ld.so
7f52d3921000-7f52d3922000 r-xp 00001000 fe:00 555                        /usr/lib/ld.so
7fffa0000000-7fffa0002000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`

func sample(t *testing.T) *Map {
	t.Helper()
	ms, err := ParseMaps(strings.NewReader(sampleMaps))
	if err != nil {
		t.Fatal(err)
	}
	return &Map{Exe: "/usr/bin/prog", Mappings: ms}
}

func TestParseMaps(t *testing.T) {
	mp := sample(t)
	if len(mp.Mappings) != 14 {
		t.Fatalf("got %d mappings, want 14", len(mp.Mappings))
	}
	want := Mapping{Start: 0x7f52d3900000, End: 0x7f52d3901000, Perms: "r-xp", Offset: 0x1000, Dev: "fe:00", Inode: 1234, Path: "/tmp/plug in/libplug.so (deleted)"}
	if got := mp.Mappings[8]; got != want {
		t.Errorf("mapping with spaces:\n got %+v\nwant %+v", got, want)
	}
	if got := mp.Mappings[4].Path; got != "" {
		t.Errorf("anonymous mapping path %q, want empty", got)
	}
}

func TestParseMapsErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no dash", "55d0 r-xp 0 fe:00 1 /x\n", "want start-end"},
		{"bad hex", "zz-55 r-xp 0 fe:00 1 /x\n", "start address"},
		{"empty range", "1000-1000 r-xp 0 fe:00 1 /x\n", "is empty"},
		{"perms", "1000-2000 rx 0 fe:00 1 /x\n", "permissions"},
		{"dev", "1000-2000 r-xp 0 fe00 1 /x\n", "device"},
		{"inode", "1000-2000 r-xp 0 fe:00 x /x\n", "inode"},
		{"line number", "1000-2000 r-xp 0 fe:00 1 /x\n3000-2000 r-xp 0 fe:00 1 /x\n", "line 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMaps(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestKind(t *testing.T) {
	mp := sample(t)
	want := []Kind{None, Exe, None, None, Anon, Anon, None, Lib, Lib, Anon, Lib, Lib, VDSO, VDSO}
	for i, m := range mp.Mappings {
		if got := m.Kind(mp.Exe); got != want[i] {
			t.Errorf("%s: kind %s, want %s", m, got, want[i])
		}
	}
	if got := mp.Name(mp.Mappings[8]); got != "lib:/tmp/plug in/libplug.so" {
		t.Errorf("name %q", got)
	}
	// A deleted program is still the program.
	m := Mapping{Start: 1, End: 2, Perms: "r-xp", Path: "/usr/bin/prog (deleted)"}
	if m.Kind("/usr/bin/prog") != Exe {
		t.Errorf("deleted program is %s, want exe", m.Kind("/usr/bin/prog"))
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, name string
		want      bool
	}{
		{"/usr/lib/**", "/usr/lib/x86_64-linux-gnu/libc.so.6", true},
		{"/usr/lib/*", "/usr/lib/x86_64-linux-gnu/libc.so.6", false},
		{"/usr/lib/*", "/usr/lib/ld.so", true},
		{"/usr/lib/**/libc.so.*", "/usr/lib/x86_64-linux-gnu/libc.so.6", true},
		{"/usr/lib/**/libc.so.*", "/usr/lib/libc.so.6", false}, // "**/" needs the slash
		{"**/libc.so.?", "/lib/libc.so.6", true},
		{"**/libc.so.?", "/lib/libc.so.66", false},
		{"/lib/lib[a-c].so", "/lib/libb.so", true},
		{"/lib/lib[!a-c].so", "/lib/libb.so", false},
		{"/lib/lib[!a-c].so", "/lib/libd.so", true},
		{"/lib/lib?.so", "/lib/lib/.so", false},
		{`/lib/\*.so`, "/lib/*.so", true},
		{`/lib/\*.so`, "/lib/x.so", false},
		{"/opt/**", "/opt", false},
		{"/opt/**", "/opt/", true},
		{"/tmp/*/x", "/tmp/a/b/x", false},
		{"/tmp/**/x", "/tmp/a/b/x", true},
	}
	for _, tc := range tests {
		t.Run(tc.pat+"~"+tc.name, func(t *testing.T) {
			g, err := CompileGlob(tc.pat)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Match(tc.name); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseTermErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown", "jit", "unknown region"},
		{"empty glob", "lib:", "needs a path pattern"},
		{"relative", "lib:usr/lib", "absolute paths"},
		{"glob on exe", "exe:/x", "only lib"},
		{"unclosed", "lib:/usr/[ab", "unclosed"},
		{"reversed", "lib:/usr/[z-a]", "reversed"},
		{"backslash", `lib:/usr\`, "trailing backslash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTerm(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := ParseSelector(nil); err == nil {
		t.Error("empty selector accepted")
	}
}

func TestSelector(t *testing.T) {
	mp := sample(t)
	// Indexes of the executable mappings in sampleMaps.
	const (
		exe, rwx, rx, libc, plug, memfd, ld1, ld2, vdso, vsys = 1, 4, 5, 7, 8, 9, 10, 11, 12, 13
	)
	tests := []struct {
		name  string
		terms []string
		want  []int
	}{
		{"exe", []string{"exe"}, []int{exe}},
		{"anon", []string{"anon"}, []int{rwx, rx, memfd}},
		{"vdso", []string{"vdso"}, []int{vdso, vsys}},
		{"any lib", []string{"lib"}, []int{libc, plug, ld1, ld2}},
		{"system libs", []string{"lib:/usr/lib/**"}, []int{libc, ld1, ld2}},
		{"list", []string{"exe", "lib:/usr/lib/**"}, []int{exe, libc, ld1, ld2}},
		{"negated", []string{"!lib:/usr/lib/**"}, []int{exe, rwx, rx, plug, memfd, vdso, vsys}},
		{"outside libs and exe", []string{"!lib:/usr/lib/**", "!exe"}, []int{rwx, rx, plug, memfd, vdso, vsys}},
		{"positive minus negative", []string{"lib", "!lib:/usr/lib/*"}, []int{libc, plug}},
		{"spaces and bang", []string{" ! anon "}, []int{exe, libc, plug, ld1, ld2, vdso, vsys}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSelector(tc.terms)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for i, m := range mp.Mappings {
				if s.Match(m, mp.Exe) {
					got = append(got, i)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s selects %v, want %v", s, got, tc.want)
			}
		})
	}
}

func TestRangesAndFind(t *testing.T) {
	mp := sample(t)
	tests := []struct {
		name  string
		terms []string
		want  []Range
	}{
		{"adjacent anon merged", []string{"anon"}, []Range{{0x7f52d3600001, 0x7f52d3602000}, {0x7f52d3910001, 0x7f52d3911000}}},
		{"adjacent ld.so merged", []string{"lib:/usr/lib/ld.so"}, []Range{{0x7f52d3920001, 0x7f52d3922000}}},
		{"exe", []string{"exe"}, []Range{{0x55d0c0a02001, 0x55d0c0a07000}}},
		{"nothing", []string{"lib:/nowhere/**"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MustParse(tc.terms...).Ranges(mp)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ranges %v, want %v", got, tc.want)
			}
		})
	}
	finds := []struct {
		name string
		ip   uint64
		want string // region name, "" for none
	}{
		{"first byte is not the mapping's", 0x55d0c0a02000, ""},
		{"after first instruction", 0x55d0c0a02002, "exe"},
		{"syscall ending the mapping", 0x55d0c0a07000, "exe"},
		{"past the end", 0x55d0c0a07001, ""},
		{"non-executable", 0x55d0c0a08000, ""},
		{"library", 0x7f52d3734100, "lib:/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{"vdso", 0x7fffa0000010, "vdso"},
		{"zero", 0, ""},
	}
	for _, tc := range finds {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := mp.Find(tc.ip)
			got := ""
			if ok {
				got = mp.Name(m)
			}
			if got != tc.want {
				t.Errorf("Find(%#x) = %q, want %q", tc.ip, got, tc.want)
			}
		})
	}
	// An address in no mapping is judged as anonymous code.
	if !MustParse("anon").MatchIP(mp, 0x1000) || MustParse("exe").MatchIP(mp, 0x1000) {
		t.Error("unmapped ip is not treated as anon")
	}
	if len(mp.Known()) != 8 {
		t.Errorf("known ranges %v, want 8", mp.Known())
	}
}
