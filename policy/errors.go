package policy

import (
	"fmt"
	"strings"
)

// Error is a problem with a policy's text: a syntax error, an unknown name,
// a value out of range. Every error [Parse] and [Load] return for a bad
// policy is an *Error (test with errors.As); I/O errors are not.
type Error struct {
	Pos Pos    // where the problem is; Line and Col may be zero if unknown
	Msg string // one line, lower case
}

// Error renders "file:line:col: msg".
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Warning is a problem that does not stop a policy from loading: a rule
// that never matches, an unknown syscall skipped under
// [Options.IgnoreUnknown], a value a 32-bit ABI can never pass.
type Warning struct {
	Pos Pos
	Msg string
}

// String renders "file:line:col: warning: msg".
func (w Warning) String() string { return w.Pos.String() + ": warning: " + w.Msg }

func errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to s,
// or "" if none is close enough to be a likely typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+1 // a third of the letters, at least one
	if bestD > 3 {
		bestD = 3
	}
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c), bestD); d <= bestD && (best == "" || d < bestD) {
			best, bestD = c, d
		}
	}
	if best == "" || best == s {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of a and b (bytes), or a value
// above limit as soon as it is sure to exceed it.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
