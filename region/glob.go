package region

import (
	"fmt"
	"strings"
)

// Glob is a compiled path pattern: "*" matches any run of characters
// other than "/", "**" any run including "/", "?" one character other
// than "/", "[abc]", "[a-z]" and "[!a-z]" one character of (or not of) a
// set, and "\" quotes the next character.
type Glob struct {
	src  string
	toks []gtok
}

type gtokKind uint8

const (
	gLit gtokKind = iota
	gStar
	gStarStar
	gAny
	gClass
)

type gtok struct {
	kind   gtokKind
	lit    string
	neg    bool
	ranges []rune // pairs lo, hi
}

// CompileGlob compiles a pattern, reporting malformed classes and a
// trailing backslash.
func CompileGlob(pat string) (*Glob, error) {
	g := &Glob{src: pat}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			g.toks = append(g.toks, gtok{kind: gLit, lit: lit.String()})
			lit.Reset()
		}
	}
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '\\':
			if i+1 == len(rs) {
				return nil, fmt.Errorf("glob %q: trailing backslash", pat)
			}
			i++
			lit.WriteRune(rs[i])
		case '*':
			flush()
			if i+1 < len(rs) && rs[i+1] == '*' {
				i++
				for i+1 < len(rs) && rs[i+1] == '*' {
					i++
				}
				g.toks = append(g.toks, gtok{kind: gStarStar})
			} else {
				g.toks = append(g.toks, gtok{kind: gStar})
			}
		case '?':
			flush()
			g.toks = append(g.toks, gtok{kind: gAny})
		case '[':
			flush()
			t := gtok{kind: gClass}
			j := i + 1
			if j < len(rs) && (rs[j] == '!' || rs[j] == '^') {
				t.neg = true
				j++
			}
			first := true
			for ; j < len(rs) && (rs[j] != ']' || first); j++ {
				first = false
				lo := rs[j]
				if lo == '\\' && j+1 < len(rs) {
					j++
					lo = rs[j]
				}
				hi := lo
				if j+2 < len(rs) && rs[j+1] == '-' && rs[j+2] != ']' {
					hi = rs[j+2]
					j += 2
					if hi < lo {
						return nil, fmt.Errorf("glob %q: range %c-%c is reversed", pat, lo, hi)
					}
				}
				t.ranges = append(t.ranges, lo, hi)
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("glob %q: unclosed [", pat)
			}
			i = j
			g.toks = append(g.toks, t)
		default:
			lit.WriteRune(c)
		}
	}
	flush()
	return g, nil
}

func (g *Glob) String() string { return g.src }

// Match reports whether the whole of name matches the pattern.
func (g *Glob) Match(name string) bool { return gmatch(g.toks, []rune(name)) }

func gmatch(toks []gtok, s []rune) bool {
	for len(toks) > 0 {
		t := toks[0]
		switch t.kind {
		case gLit:
			l := []rune(t.lit)
			if len(s) < len(l) || string(s[:len(l)]) != t.lit {
				return false
			}
			s = s[len(l):]
		case gAny:
			if len(s) == 0 || s[0] == '/' {
				return false
			}
			s = s[1:]
		case gClass:
			if len(s) == 0 || s[0] == '/' || t.hasRune(s[0]) == t.neg {
				return false
			}
			s = s[1:]
		case gStar, gStarStar:
			// Try every split; a single star stops at the first "/".
			for i := 0; i <= len(s); i++ {
				if gmatch(toks[1:], s[i:]) {
					return true
				}
				if i < len(s) && s[i] == '/' && t.kind == gStar {
					return false
				}
			}
			return false
		}
		toks = toks[1:]
	}
	return len(s) == 0
}

func (t gtok) hasRune(r rune) bool {
	for i := 0; i+1 < len(t.ranges); i += 2 {
		if t.ranges[i] <= r && r <= t.ranges[i+1] {
			return true
		}
	}
	return false
}
