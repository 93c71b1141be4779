package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Path globs, as the path handlers of notify rules take them:
//
//	*      any run of characters except "/"
//	?      one character except "/"
//	[a-z]  one character of the class ("[!a-z]" or "[^a-z]" negates); never "/"
//	**     any run of characters, "/" included; "dir/**" also matches dir
//	       itself, and "a/**/b" matches a/b
//	\x     the character x
//
// A glob must be absolute: it is matched against paths that the supervisor
// made absolute (relative ones resolved against the caller's working
// directory or dirfd) and cleaned lexically.

// CheckGlob reports why pattern is not a valid path glob, or nil.
func CheckGlob(pattern string) error {
	if !strings.HasPrefix(pattern, "/") {
		return errors.New("must be absolute (start with /)")
	}
	if strings.ContainsRune(pattern, 0) {
		return errors.New("contains a NUL byte")
	}
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			if i+1 == len(pattern) {
				return errors.New("ends with a lone \\")
			}
			i++
		case '[':
			end, err := classEnd(pattern, i)
			if err != nil {
				return err
			}
			i = end
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				if i+2 < len(pattern) && pattern[i+2] == '*' {
					return fmt.Errorf("*** at offset %d: use * (one component) or ** (any depth)", i)
				}
				i++
			}
		}
	}
	return nil
}

// classEnd returns the index of the "]" closing the class opened at p[i].
func classEnd(p string, i int) (int, error) {
	j := i + 1
	if j < len(p) && (p[j] == '!' || p[j] == '^') {
		j++
	}
	if j < len(p) && p[j] == ']' { // a leading ] is literal
		j++
	}
	for ; j < len(p); j++ {
		switch p[j] {
		case '\\':
			j++
		case ']':
			return j, nil
		case '/':
			return 0, fmt.Errorf("character class at offset %d contains /", i)
		}
	}
	return 0, fmt.Errorf("unclosed [ at offset %d", i)
}

// MatchGlob reports whether the absolute, clean path name matches pattern
// (see [CheckGlob] for the syntax). An invalid pattern matches nothing.
func MatchGlob(pattern, name string) bool {
	if CheckGlob(pattern) != nil {
		return false
	}
	m := matcher{p: pattern, n: name}
	if strings.Count(pattern, "*") > 1 {
		m.memo = make(map[[2]int]bool)
	}
	return m.match(0, 0)
}

type matcher struct {
	p, n string
	memo map[[2]int]bool // failed (pi, ni) pairs, against exponential backtracking
}

func (m *matcher) match(pi, ni int) bool {
	if m.memo != nil {
		if _, failed := m.memo[[2]int{pi, ni}]; failed {
			return false
		}
	}
	ok := m.matchNoMemo(pi, ni)
	if !ok && m.memo != nil {
		m.memo[[2]int{pi, ni}] = true
	}
	return ok
}

func (m *matcher) matchNoMemo(pi, ni int) bool {
	p, n := m.p, m.n
	for pi < len(p) {
		switch c := p[pi]; c {
		case '*':
			if pi+1 < len(p) && p[pi+1] == '*' {
				rest := pi + 2
				// "a/**/b" matches "a/b": the ** and its / stand for nothing.
				if rest < len(p) && p[rest] == '/' && pi > 0 && p[pi-1] == '/' && m.match(rest+1, ni) {
					return true
				}
				for k := ni; k <= len(n); k++ {
					if m.match(rest, k) {
						return true
					}
				}
				return false
			}
			for k := ni; k <= len(n); k++ {
				if m.match(pi+1, k) {
					return true
				}
				if k < len(n) && n[k] == '/' {
					break
				}
			}
			return false
		case '?':
			if ni >= len(n) || n[ni] == '/' {
				return false
			}
			pi, ni = pi+1, ni+1
		case '[':
			end, _ := classEnd(p, pi)
			if ni >= len(n) || n[ni] == '/' || !inClass(p[pi+1:end], n[ni]) {
				return false
			}
			pi, ni = end+1, ni+1
		default:
			if c == '\\' {
				pi++
				c = p[pi]
			}
			if ni >= len(n) || n[ni] != c {
				// "dir/**" matches "dir": the pattern's "/**" stands for nothing.
				if ni == len(n) && p[pi:] == "/**" {
					return true
				}
				return false
			}
			pi, ni = pi+1, ni+1
		}
	}
	return ni == len(n)
}

// inClass matches byte c against the inside of a [...] class.
func inClass(class string, c byte) bool {
	neg := false
	if class != "" && (class[0] == '!' || class[0] == '^') {
		neg, class = true, class[1:]
	}
	found := false
	for i := 0; i < len(class); i++ {
		lo := class[i]
		if lo == '\\' && i+1 < len(class) {
			i++
			lo = class[i]
		}
		hi := lo
		if i+2 < len(class) && class[i+1] == '-' {
			hi = class[i+2]
			if hi == '\\' && i+3 < len(class) {
				hi = class[i+3]
				i++
			}
			i += 2
		}
		if lo <= c && c <= hi {
			found = true
		}
	}
	return found != neg
}

// GlobRoot splits a valid glob into the longest directory that every match
// lies in (no glob characters in it) and whether the pattern is that
// directory's whole tree ("/usr/**" gives "/usr", true; "/etc/*.conf" gives
// "/etc", false; "/tmp/a/ok" gives "/tmp/a", false).
func GlobRoot(pattern string) (dir string, tree bool) {
	meta := strings.IndexAny(pattern, "*?[\\")
	lit := pattern
	if meta >= 0 {
		lit = pattern[:meta]
	}
	slash := strings.LastIndexByte(lit, '/')
	dir = pattern[:slash]
	if dir == "" {
		dir = "/"
	}
	tree = pattern[slash:] == "/**"
	return dir, tree
}
