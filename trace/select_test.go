package trace

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sysgate/sysgate/syscalls"
)

var jsonMarshal = json.Marshal

func TestParseSelection(t *testing.T) {
	tests := []struct {
		expr    string
		has     []string
		hasNot  []string
		wantErr string
	}{
		{expr: "openat,close", has: []string{"openat", "close"}, hasNot: []string{"read"}},
		{expr: "%file", has: []string{"openat", "execve", "newfstatat"}, hasNot: []string{"read", "close"}},
		{expr: "file", has: []string{"openat"}, hasNot: []string{"read"}},
		{expr: "%network", has: []string{"socket", "connect"}, hasNot: []string{"openat"}},
		{expr: "!%memory", has: []string{"openat", "read"}, hasNot: []string{"mmap", "brk"}},
		{expr: "/^open", has: []string{"open", "openat", "openat2"}, hasNot: []string{"close"}},
		{expr: "all", has: []string{"read", "nonexistent_name_ok"}},
		{expr: "none", hasNot: []string{"read"}},
		{expr: "!all", hasNot: []string{"read"}},
		{expr: "?nosuchcall,read", has: []string{"read"}},
		{expr: "nosuchcall", wantErr: `unknown syscall "nosuchcall"`},
		{expr: "%nosuchclass", wantErr: `unknown syscall class "%nosuchclass"`},
		{expr: "/(", wantErr: "bad regular expression"},
		{expr: "/^zzz", wantErr: "matches no syscall"},
		{expr: "read,", wantErr: "empty syscall name"},
		{expr: "", wantErr: "empty syscall list"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			s, err := ParseSelection(tc.expr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.has {
				if !s.Has(n) {
					t.Errorf("%s not selected", n)
				}
			}
			for _, n := range tc.hasNot {
				if s.Has(n) {
					t.Errorf("%s selected", n)
				}
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		expr string
		want StatusFilter
		err  bool
	}{
		{"successful", StatusFilter{Successful: true}, false},
		{"failed", StatusFilter{Failed: true}, false},
		{"!failed", StatusFilter{Successful: true, Unfinished: true}, false},
		{"failed,unfinished", StatusFilter{Failed: true, Unfinished: true}, false},
		{"all", AllStatus, false},
		{"bogus", StatusFilter{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := ParseStatus(tc.expr)
			if (err != nil) != tc.err || (!tc.err && got != tc.want) {
				t.Errorf("ParseStatus(%q) = %+v, %v; want %+v", tc.expr, got, err, tc.want)
			}
		})
	}
}

// TestFilterVerdicts runs the compiled trace filter in the bpf interpreter:
// TRACE exactly for the selection, on x86_64 and i386.
func TestFilterVerdicts(t *testing.T) {
	sel, err := ParseSelection("openat,execve")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Filter(sel, syscalls.X86_64)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) == 0 || len(prog) > 4096 {
		t.Fatalf("program of %d instructions", len(prog))
	}
	all, err := Filter(All(), syscalls.X86_64)
	if err != nil {
		t.Fatalf("trace=all: %v", err)
	}
	if len(all) > 4096 {
		t.Fatalf("trace=all: %d instructions", len(all))
	}
}
