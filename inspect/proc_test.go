package inspect

import (
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want status
	}{
		{
			name: "filter mode",
			in:   "Name:\tvictim\nState:\tS (sleeping)\nTracerPid:\t0\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t3\n",
			want: status{State: "S (sleeping)", NoNewPrivs: true, Seccomp: "filter", Filters: 3},
		},
		{
			name: "strict, traced",
			in:   "State:\tt (tracing stop)\nTracerPid:\t42\nNoNewPrivs:\t0\nSeccomp:\t1\nSeccomp_filters:\t0\n",
			want: status{State: "t (tracing stop)", TracerPid: 42, Seccomp: "strict"},
		},
		{
			name: "kernel without seccomp or filter count",
			in:   "State:\tR (running)\n",
			want: status{State: "R (running)", Seccomp: "disabled", Filters: -1},
		},
		{
			name: "unknown mode",
			in:   "Seccomp:\t7\n",
			want: status{Seccomp: "mode 7", Filters: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus(strings.NewReader(tt.in))
			if err != nil || got != tt.want {
				t.Errorf("parseStatus = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := parseStatus(strings.NewReader("TracerPid:\tx\n")); err == nil {
		t.Errorf("bad TracerPid accepted")
	}
}

const smapsSample = `55d1c0a00000-55d1c0a02000 r--p 00000000 fe:00 1234                       /usr/bin/my prog
Size:                  8 kB
VmFlags: rd mr mw me sd 
7f0000000000-7f0000001000 r--p 00000000 00:00 0 
Size:                  4 kB
VmFlags: rd mr mw me ac sl 
7ffd1e5f3000-7ffd1e5f7000 r--p 00000000 00:00 0                          [vvar]
VmFlags: rd mr pf io de dd sl 
7ffd1e5f7000-7ffd1e5f9000 r-xp 00000000 00:00 0                          [vdso]
VmFlags: rd ex mr mw me de 
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
VmFlags: ex 
`

func TestParseSmaps(t *testing.T) {
	got, err := parseSmaps(strings.NewReader(smapsSample))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{
		{Start: 0x55d1c0a00000, End: 0x55d1c0a02000, Perms: "r--p", Path: "/usr/bin/my prog"},
		{Start: 0x7f0000000000, End: 0x7f0000001000, Perms: "r--p", Sealed: true},
		{Start: 0x7ffd1e5f3000, End: 0x7ffd1e5f7000, Perms: "r--p", Path: "[vvar]", Sealed: true, System: true},
		{Start: 0x7ffd1e5f7000, End: 0x7ffd1e5f9000, Perms: "r-xp", Path: "[vdso]", System: true},
		{Start: 0xffffffffff600000, End: 0xffffffffff601000, Perms: "--xp", Path: "[vsyscall]", System: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d mappings, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseSmapsErrors(t *testing.T) {
	tests := []struct {
		name, in, msg string
	}{
		{name: "flags first", in: "VmFlags: rd sl\n", msg: "smaps: VmFlags before any mapping"},
		{name: "short line", in: "1000-2000 r--p 0\n", msg: `maps line "1000-2000 r--p 0": too few fields`},
		{name: "bad end", in: "1000-zz r--p 0 00:00 0\n", msg: `maps line "1000-zz r--p 0 00:00 0": bad end address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSmaps(strings.NewReader(tt.in))
			if err == nil || err.Error() != tt.msg {
				t.Errorf("error %v, want %q", err, tt.msg)
			}
		})
	}
}
