package inspect

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/syscalls"
)

func x8664(t *testing.T) *syscalls.Arch {
	t.Helper()
	a, err := syscalls.ArchByName("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func nr(t *testing.T, arch, name string) uint32 {
	t.Helper()
	a, err := syscalls.ArchByName(arch)
	if err != nil {
		t.Fatal(err)
	}
	n, ok := a.Lookup(name)
	if !ok {
		t.Fatalf("no %s on %s", name, arch)
	}
	return n
}

// only returns a program that gives ret to syscall n (any arch) and allows the rest.
func only(n, ret uint32) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JumpJEQ, n, 0, 1),
		bpf.Ret(ret),
		bpf.Ret(retAllow),
	}
}

func TestSummarize(t *testing.T) {
	ioctl := nr(t, "x86_64", "ioctl")
	// ioctl is allowed only for TCGETS (0x5401) in arg1: a value no base
	// probe hits, found through the program's constants.
	ioctlTCGETS := []bpf.Instruction{
		bpf.LoadAbs(bpf.OffsetNr),
		bpf.JumpIf(bpf.JumpJEQ, ioctl, 0, 3),
		bpf.LoadAbs(bpf.ArgLow(1, binary.LittleEndian)),
		bpf.JumpIf(bpf.JumpJEQ, 0x5401, 0, 1),
		bpf.Ret(retAllow),
		bpf.Ret(retErrno | errnoEPERM),
	}
	tests := []struct {
		name  string
		progs [][]bpf.Instruction
		check func(t *testing.T, sums []ArchSummary)
	}{
		{
			name:  "program A",
			progs: [][]bpf.Instruction{programA},
			check: func(t *testing.T, sums []ArchSummary) {
				if names := archNames(sums); !slices.Equal(names, []string{"x86_64", "i386", "x32", "other"}) {
					t.Errorf("arches %v", names)
				}
				x := findArch(sums, "x86_64")
				if len(x.Groups) != 3 {
					t.Fatalf("x86_64 groups: %+v", x.Groups)
				}
				if g := x.Groups[0]; g.Action != "allow" || !g.Cacheable || !slices.Contains(g.Syscalls, "read") {
					t.Errorf("first group %+v, want allow cacheable with read", g.Action)
				}
				if g := x.Groups[1]; g.Action != "errno EPERM" || !slices.Equal(g.Syscalls, []string{"mount"}) {
					t.Errorf("second group %+v, want errno EPERM: mount", g)
				}
				if g := x.Groups[2]; !g.Dependent || g.Action != "depends on arguments" || !slices.Equal(g.Syscalls, []string{"personality"}) {
					t.Errorf("third group %+v, want depends on arguments: personality", g)
				}
				if x.Unknown != "allow" {
					t.Errorf("unknown numbers: %q", x.Unknown)
				}
			},
		},
		{
			name:  "argument value found among the program's constants",
			progs: [][]bpf.Instruction{ioctlTCGETS},
			check: func(t *testing.T, sums []ArchSummary) {
				g, ok := findGroup(sums, "x86_64", "ioctl")
				if !ok || !g.Dependent || !slices.Equal(g.Seen, []string{"allow", "errno EPERM"}) {
					t.Errorf("ioctl: %+v", g)
				}
			},
		},
		{
			name: "conjunction of two argument values",
			progs: [][]bpf.Instruction{{
				bpf.LoadAbs(bpf.OffsetNr),
				bpf.JumpIf(bpf.JumpJEQ, ioctl, 0, 5),
				bpf.LoadAbs(bpf.ArgLow(0, binary.LittleEndian)),
				bpf.JumpIf(bpf.JumpJEQ, 3, 0, 3),
				bpf.LoadAbs(bpf.ArgLow(1, binary.LittleEndian)),
				bpf.JumpIf(bpf.JumpJEQ, 0x5401, 0, 1),
				bpf.Ret(retAllow),
				bpf.Ret(retErrno | errnoEPERM),
			}},
			check: func(t *testing.T, sums []ArchSummary) {
				g, ok := findGroup(sums, "x86_64", "ioctl")
				if !ok || !g.Dependent || !slices.Equal(g.Seen, []string{"allow", "errno EPERM"}) {
					t.Errorf("ioctl: %+v", g)
				}
				if g, ok := findGroup(sums, "x86_64", "read"); !ok || g.Action != "errno EPERM" || !slices.Contains(g.Syscalls, "write") {
					t.Errorf("read: %+v", g)
				}
			},
		},
		{
			name: "high halves are zero on a 32-bit ABI",
			progs: [][]bpf.Instruction{{
				// Kill when the high half of arg0 is not zero: never on i386.
				bpf.LoadAbs(bpf.ArgHigh(0, binary.LittleEndian)),
				bpf.JumpIf(bpf.JumpJEQ, 0, 1, 0),
				bpf.Ret(retKillProc),
				bpf.Ret(retAllow),
			}},
			check: func(t *testing.T, sums []ArchSummary) {
				if g, ok := findGroup(sums, "i386", "read"); !ok || g.Dependent || g.Action != "allow" || g.Cacheable {
					t.Errorf("i386 read: %+v", g)
				}
				if g, ok := findGroup(sums, "x86_64", "read"); !ok || !g.Dependent || !slices.Equal(g.Seen, []string{"allow", "kill-process"}) {
					t.Errorf("x86_64 read: %+v", g)
				}
			},
		},
		{
			name: "stack: the most severe action wins",
			progs: [][]bpf.Instruction{
				only(nr(t, "x86_64", "chroot"), retErrno|errnoEACCES),
				only(nr(t, "x86_64", "chroot"), retKillProc),
			},
			check: func(t *testing.T, sums []ArchSummary) {
				if g, ok := findGroup(sums, "x86_64", "chroot"); !ok || g.Action != "kill-process" {
					t.Errorf("chroot: %+v", g)
				}
			},
		},
		{
			name: "stack: among equal actions the newest wins",
			progs: [][]bpf.Instruction{
				only(nr(t, "x86_64", "chroot"), retErrno|errnoEPERM),  // oldest
				only(nr(t, "x86_64", "chroot"), retErrno|errnoEACCES), // newest
			},
			check: func(t *testing.T, sums []ArchSummary) {
				if g, ok := findGroup(sums, "x86_64", "chroot"); !ok || g.Action != "errno EACCES" {
					t.Errorf("chroot: %+v", g)
				}
				// Without an arch check, number 161 is another syscall on i386.
				if g, ok := findGroup(sums, "i386", "sched_rr_get_interval"); !ok || g.Action != "errno EACCES" {
					t.Errorf("i386 161: %+v", g)
				}
				if s := findArch(sums, "other"); s.All != "" || s.Unknown != "varies (allow | errno EACCES)" {
					t.Errorf("other arches: %+v", s)
				}
			},
		},
		{
			name:  "allow without reading anything is cacheable",
			progs: [][]bpf.Instruction{{bpf.Ret(retAllow)}},
			check: func(t *testing.T, sums []ArchSummary) {
				for _, s := range sums {
					if s.Arch == "x32" {
						// Past the end of the kernel's cache bitmap.
						if g, ok := findGroup(sums, "x32", "read"); !ok || g.Action != "allow" || g.Cacheable {
							t.Errorf("x32 read: %+v", g)
						}
						continue
					}
					if s.All != "allow" || len(s.Groups) != 0 {
						t.Errorf("%s: %+v", s.Arch, s)
					}
				}
			},
		},
		{
			name: "allow after reading the instruction pointer is not cacheable",
			progs: [][]bpf.Instruction{{
				bpf.LoadAbs(bpf.OffsetIP),
				bpf.Ret(retAllow),
			}},
			check: func(t *testing.T, sums []ArchSummary) {
				if g, ok := findGroup(sums, "x86_64", "read"); !ok || g.Action != "allow" || g.Cacheable {
					t.Errorf("read: %+v", g)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sums, err := Summarize(tt.progs, x8664(t))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, sums)
			if t.Failed() {
				for i, p := range tt.progs {
					t.Logf("program %d:\n%s", i, bpf.Disassemble(p, bpf.DisasmOptions{}))
				}
			}
		})
	}
}

func TestSummarizeErrors(t *testing.T) {
	if _, err := Summarize(nil, x8664(t)); err == nil || err.Error() != "summarize: no programs" {
		t.Errorf("no programs: %v", err)
	}
	// A program the kernel would refuse: it runs off its end.
	_, err := Summarize([][]bpf.Instruction{{bpf.LoadAbs(bpf.OffsetNr)}}, x8664(t))
	if err == nil || !strings.Contains(err.Error(), "filter 0") {
		t.Errorf("bad program: %v", err)
	}
}

func archNames(sums []ArchSummary) []string {
	var names []string
	for _, s := range sums {
		names = append(names, s.Arch)
	}
	return names
}

func sampleReport(t *testing.T) *Report {
	sums, err := Summarize([][]bpf.Instruction{programA}, x8664(t))
	if err != nil {
		t.Fatal(err)
	}
	return &Report{
		Pid: 42, Comm: "victim", Exe: "/usr/bin/victim", State: "S (sleeping)",
		Seccomp: "filter", Filters: 1, NoNewPrivs: true,
		SyscallUserDispatch: &SUD{Mode: "exclusive", Offset: 0x1000, Len: 0x100, Selector: 0x7f00, SelectorValue: 1},
		Sealed: []Mapping{
			{Start: 0x7f0000000000, End: 0x7f0000001000, Perms: "r--p", Sealed: true},
			{Start: 0x7ffd00000000, End: 0x7ffd00002000, Perms: "r-xp", Path: "[vdso]", System: true},
		},
		Programs: []Program{{Index: 0, Instructions: programA, Summary: sums, Disassembly: "L0: ld [4]\n"}},
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport(t).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"process 42 (victim) /usr/bin/victim\n",
		"  seccomp:               filter, 1 filter\n",
		"  no_new_privs:          yes\n",
		"  syscall user dispatch: exclusive, range 0x1000-0x1100, selector 0x7f00 = 1 (block)\n",
		"    00007f0000000000-00007f0000001000 r--p (anonymous)              sealed\n",
		"    00007ffd00000000-00007ffd00002000 r-xp [vdso]                   not sealed\n",
		"\nfilter 0: 12 instructions\n",
		"  x86_64:\n    allow, cached by the kernel: read write open close",
		"    errno EPERM: mount\n",
		"    depends on arguments (allow | errno EINVAL): personality\n",
		"    numbers not in the table: allow\n",
		"  i386: kill-process, every syscall\n",
		"  x32: kill-process, every syscall\n",
		"  other arches: kill-process, every syscall\n",
		"  disassembly:\n    L0: ld [4]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) > textWidth {
			t.Errorf("line longer than %d: %q", textWidth, line)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	r := sampleReport(t)
	r.FilterErr = ErrSkipped
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Pid        int    `json:"pid"`
		Seccomp    string `json:"seccomp"`
		NoNewPrivs bool   `json:"no_new_privs"`
		FilterErr  string `json:"filter_error"`
		SUD        struct {
			Mode, Offset, Selector string
		} `json:"syscall_user_dispatch"`
		Mappings []struct {
			Start  string `json:"start"`
			Sealed bool   `json:"sealed"`
		} `json:"mappings"`
		Programs []struct {
			Instructions []struct {
				Code uint16 `json:"code"`
				K    uint32 `json:"k"`
			} `json:"instructions"`
			Summary []ArchSummary `json:"summary"`
		} `json:"programs"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if got.Pid != 42 || got.Seccomp != "filter" || !got.NoNewPrivs || got.FilterErr != ErrSkipped.Error() {
		t.Errorf("decoded %+v", got)
	}
	if got.SUD.Mode != "exclusive" || got.SUD.Offset != "0x1000" || got.SUD.Selector != "0x7f00" {
		t.Errorf("dispatch %+v", got.SUD)
	}
	if len(got.Mappings) != 2 || got.Mappings[0].Start != "0x7f0000000000" || !got.Mappings[0].Sealed {
		t.Errorf("mappings %+v", got.Mappings)
	}
	if len(got.Programs) != 1 || len(got.Programs[0].Instructions) != len(programA) ||
		got.Programs[0].Instructions[1].K != auditX8664 || got.Programs[0].Instructions[1].Code != programA[1].Op {
		t.Errorf("programs %+v", got.Programs)
	}
	if g, ok := findGroup(got.Programs[0].Summary, "x86_64", "mount"); !ok || g.Action != "errno EPERM" {
		t.Errorf("summary round trip: %+v", g)
	}
}
