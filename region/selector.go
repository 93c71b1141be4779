package region

import (
	"fmt"
	"sort"
	"strings"
)

// Term is one element of a selector: a kind, for Lib optionally a path
// pattern, possibly negated.
type Term struct {
	Neg  bool
	Kind Kind  // Exe, Lib, VDSO or Anon
	Glob *Glob // Lib only; nil: any library
}

// Match reports whether m (in a process whose program is exe) is what
// the term names, ignoring Neg.
func (t Term) Match(m Mapping, exe string) bool {
	k := m.Kind(exe)
	if k != t.Kind {
		return false
	}
	return t.Kind != Lib || t.Glob == nil || t.Glob.Match(m.File())
}

func (t Term) String() string {
	s := t.Kind.String()
	if t.Kind == Lib && t.Glob != nil {
		s += ":" + t.Glob.String()
	}
	if t.Neg {
		s = "!" + s
	}
	return s
}

// ParseTerm parses "exe", "vdso", "anon", "lib", "lib:GLOB", each
// optionally prefixed with "!".
func ParseTerm(s string) (Term, error) {
	var t Term
	src := s
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "!") {
		t.Neg = true
		s = strings.TrimSpace(s[1:])
	}
	name, glob, hasGlob := strings.Cut(s, ":")
	switch name {
	case "exe":
		t.Kind = Exe
	case "vdso":
		t.Kind = VDSO
	case "anon":
		t.Kind = Anon
	case "lib":
		t.Kind = Lib
		if hasGlob {
			if glob == "" {
				return t, fmt.Errorf("region %q: lib: needs a path pattern, such as lib:/usr/lib/**", src)
			}
			if !strings.HasPrefix(glob, "/") && !strings.HasPrefix(glob, "*") {
				return t, fmt.Errorf("region %q: library patterns match absolute paths; start it with / or *", src)
			}
			g, err := CompileGlob(glob)
			if err != nil {
				return t, fmt.Errorf("region %q: %w", src, err)
			}
			t.Glob = g
		}
	default:
		return t, fmt.Errorf("unknown region %q: want exe, lib, lib:GLOB, vdso or anon, optionally after !", src)
	}
	if hasGlob && t.Kind != Lib {
		return t, fmt.Errorf("region %q: only lib takes a path pattern", src)
	}
	return t, nil
}

// Selector is the value of a `from:` condition: a list of terms. A
// mapping matches when it matches any positive term (or there is none)
// and no negated term.
type Selector struct {
	Terms []Term
}

// ParseSelector parses a list of terms; at least one is required.
func ParseSelector(terms []string) (*Selector, error) {
	if len(terms) == 0 {
		return nil, fmt.Errorf("empty region list: name at least one of exe, lib:GLOB, vdso, anon")
	}
	s := &Selector{}
	for _, x := range terms {
		t, err := ParseTerm(x)
		if err != nil {
			return nil, err
		}
		s.Terms = append(s.Terms, t)
	}
	return s, nil
}

// MustParse is ParseSelector for constant selectors in tests and
// examples; it panics on a malformed term.
func MustParse(terms ...string) *Selector {
	s, err := ParseSelector(terms)
	if err != nil {
		panic(err)
	}
	return s
}

// Match reports whether code in mapping m of a process whose main program
// is exe is selected. Non-executable mappings never are.
func (s *Selector) Match(m Mapping, exe string) bool {
	if !m.Exec() {
		return false
	}
	pos, hit := false, false
	for _, t := range s.Terms {
		if t.Neg {
			if t.Match(m, exe) {
				return false
			}
			continue
		}
		pos = true
		if !hit && t.Match(m, exe) {
			hit = true
		}
	}
	return hit || !pos
}

// MatchIP reports whether a syscall at instruction pointer ip is from
// code the selector names. An ip in no executable mapping of mp (code
// unmapped since the syscall, say) is judged as anonymous memory: code
// sysgate cannot name is treated as foreign.
func (s *Selector) MatchIP(mp *Map, ip uint64) bool {
	m, ok := mp.Find(ip)
	if !ok {
		m = Mapping{Start: ip - 1, End: ip, Perms: "r-xp"}
		return s.Match(m, mp.exeOrEmpty())
	}
	return s.Match(m, mp.Exe)
}

func (m *Map) exeOrEmpty() string {
	if m == nil {
		return ""
	}
	return m.Exe
}

func (s *Selector) String() string {
	parts := make([]string, len(s.Terms))
	for i, t := range s.Terms {
		parts[i] = t.String()
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Range is a closed range of instruction pointers [Lo, Hi]: the code of
// a mapping [Start, End) reports Lo = Start+1 .. Hi = End.
type Range struct {
	Lo, Hi uint64
}

func (r Range) String() string { return fmt.Sprintf("%#x-%#x", r.Lo, r.Hi) }

// IPRange is the range of instruction pointers a syscall from m reports.
func IPRange(m Mapping) Range { return Range{Lo: m.Start + 1, Hi: m.End} }

// Ranges returns the instruction-pointer ranges, sorted and merged, of
// the executable mappings of mp that s selects.
func (s *Selector) Ranges(mp *Map) []Range {
	var ms []Mapping
	for _, m := range mp.Mappings {
		if s.Match(m, mp.Exe) {
			ms = append(ms, m)
		}
	}
	return Merge(ms)
}

// Known returns the instruction-pointer ranges of every executable
// mapping of mp: an instruction pointer outside them is in code that was
// not there when the snapshot was taken.
func (m *Map) Known() []Range { return Merge(m.Executable()) }

// Merge returns the sorted instruction-pointer ranges of the mappings,
// adjacent and overlapping ones joined.
func Merge(ms []Mapping) []Range {
	rs := make([]Range, 0, len(ms))
	for _, m := range ms {
		rs = append(rs, IPRange(m))
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Lo < rs[j].Lo })
	var out []Range
	for _, r := range rs {
		if n := len(out); n > 0 && r.Lo <= out[n-1].Hi+1 {
			out[n-1].Hi = max(out[n-1].Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	return out
}
