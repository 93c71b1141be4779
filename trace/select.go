package trace

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/sysgate/sysgate/syscalls"
)

var errUnknown = errors.New("unknown syscall")

// Selection is the set of syscalls a trace shows, by name, as strace's
// "-e trace=" expression selects them. The zero value selects nothing;
// use [All] or [ParseSelection].
type Selection struct {
	names map[string]bool
	all   bool // every syscall, including names no table knows
}

// All returns the selection of every syscall (strace's default).
func All() *Selection { return &Selection{all: true} }

// ParseSelection parses the value of "-e trace=" (or "-e t=", the part after
// '='): a comma-separated list of syscall names, classes ("%file",
// "%network", "%process", "%signal", "%ipc", "%desc", "%memory", "%creds",
// ...), regular expressions ("/^open") and the words "all" and "none". A
// leading '!' inverts the whole list; a '?' before a token ignores it when
// it matches nothing, instead of failing.
func ParseSelection(expr string) (*Selection, error) {
	s := &Selection{names: map[string]bool{}}
	invert := false
	if strings.HasPrefix(expr, "!") {
		invert, expr = true, expr[1:]
	}
	if expr == "" {
		return nil, fmt.Errorf("empty syscall list")
	}
	for _, tok := range strings.Split(expr, ",") {
		optional := false
		for strings.HasPrefix(tok, "?") {
			optional, tok = true, tok[1:]
		}
		n, err := s.add(tok)
		if optional && errors.Is(err, errUnknown) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 && !optional {
			return nil, fmt.Errorf("%q matches no syscall (prefix it with '?' to allow that)", tok)
		}
	}
	if invert {
		if s.all {
			return &Selection{names: map[string]bool{}}, nil
		}
		inv := map[string]bool{}
		for _, n := range syscalls.Names() {
			if !s.names[n] {
				inv[n] = true
			}
		}
		s.names = inv
	}
	return s, nil
}

// add adds what one token names and returns how many names it matched.
func (s *Selection) add(tok string) (int, error) {
	switch {
	case tok == "":
		return 0, fmt.Errorf("empty syscall name in list")
	case tok == "all":
		s.all = true
		return 1, nil
	case tok == "none":
		return 1, nil
	case strings.HasPrefix(tok, "/"):
		re, err := regexp.Compile(tok[1:])
		if err != nil {
			return 0, fmt.Errorf("bad regular expression %q: %w", tok[1:], err)
		}
		n := 0
		for _, name := range syscalls.Names() {
			if re.MatchString(name) {
				s.names[name] = true
				n++
			}
		}
		return n, nil
	case strings.HasPrefix(tok, "%"):
		members, ok := syscalls.Class(tok)
		if !ok {
			return 0, fmt.Errorf("%w class %q (known: %s)", errUnknown, tok, strings.Join(syscalls.Classes(), " "))
		}
		for _, m := range members {
			s.names[m] = true
		}
		return len(members), nil
	}
	// strace still accepts the old class names without '%'.
	if !syscalls.Exists(tok) {
		if members, ok := syscalls.Class("%" + tok); ok {
			for _, m := range members {
				s.names[m] = true
			}
			return len(members), nil
		}
		return 0, fmt.Errorf("%w %q", errUnknown, tok)
	}
	s.names[tok] = true
	return 1, nil
}

// Has reports whether the selection shows the syscall name.
func (s *Selection) Has(name string) bool { return s.all || s.names[name] }

// IsAll reports whether every syscall is selected.
func (s *Selection) IsAll() bool { return s.all }

// Names returns the selected names that exist on arch, sorted; for [All],
// every syscall of arch.
func (s *Selection) Names(arch *syscalls.Arch) []string {
	var out []string
	for _, sc := range arch.Syscalls() {
		if s.Has(sc.Name) {
			out = append(out, sc.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Numbers returns a table indexed by syscall number (NrBase removed) of
// arch that says whether the number is selected. The tracer looks numbers
// up there on every stop, so no map or string work happens per syscall.
func (s *Selection) Numbers(arch *syscalls.Arch) []bool {
	var max uint32
	scs := arch.Syscalls()
	for _, sc := range scs {
		if n := sc.Nr - arch.NrBase; n > max {
			max = n
		}
	}
	t := make([]bool, max+1)
	for _, sc := range scs {
		t[sc.Nr-arch.NrBase] = s.Has(sc.Name)
	}
	return t
}

// StatusFilter is strace's "-e status=": which finished syscalls to show.
type StatusFilter struct {
	Successful, Failed, Unfinished bool
}

// ParseStatus parses the value of "-e status=": a comma-separated list of
// "successful", "failed", "unfinished", "all" and "none", with a leading '!'
// inverting it. ("unavailable" and "detached" are accepted as synonyms of
// "unfinished": a syscall whose end the tracer never saw.)
func ParseStatus(expr string) (StatusFilter, error) {
	var f StatusFilter
	invert := false
	if strings.HasPrefix(expr, "!") {
		invert, expr = true, expr[1:]
	}
	for _, tok := range strings.Split(expr, ",") {
		switch tok {
		case "successful":
			f.Successful = true
		case "failed":
			f.Failed = true
		case "unfinished", "unavailable", "detached":
			f.Unfinished = true
		case "all":
			f = StatusFilter{true, true, true}
		case "none":
		default:
			return f, fmt.Errorf("unknown status %q (known: successful, failed, unfinished, all, none)", tok)
		}
	}
	if invert {
		f = StatusFilter{!f.Successful, !f.Failed, !f.Unfinished}
	}
	return f, nil
}

// AllStatus shows every syscall.
var AllStatus = StatusFilter{true, true, true}
