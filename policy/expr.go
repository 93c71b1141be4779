package policy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sysgate/sysgate/syscalls"
)

// The condition language of `when:`:
//
//	expr  = and { "||" and }
//	and   = unary { "&&" unary }
//	unary = "!" unary | "(" expr ")" | cmp
//	cmp   = ARG [ "&" value ] ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) value
//	value = term { "|" term }
//	term  = NUMBER | CONSTANT | "-" term | "~" term | "(" value ")"
//
// A masked comparison (with "&") takes only == and !=.

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tNum
	tOp
)

type token struct {
	kind tokKind
	text string
	off  int // byte offset in the source
}

// ops, longest first so that "&&" is not read as two "&".
var exprOps = []string{"==", "!=", "<=", ">=", "&&", "||", "<", ">", "&", "|", "!", "~", "(", ")", "-"}

// exprParser parses one condition.
type exprParser struct {
	src  string
	toks []token
	i    int
	arch *syscalls.Arch    // for symbolic constants
	at   func(off int) Pos // position of a byte offset in src
	cmps []cmpAt           // every comparison, for later checks
}

type cmpAt struct {
	cmp Cmp
	pos Pos
}

// parseExpr parses src, a condition. at maps byte offsets in src to
// positions in the file. It returns the comparisons as written (before
// negation is pushed down) with their positions, for later checks.
func parseExpr(src string, arch *syscalls.Arch, at func(off int) Pos) (*Expr, []cmpAt, error) {
	p := &exprParser{src: src, arch: arch, at: at}
	if err := p.lex(); err != nil {
		return nil, nil, err
	}
	if p.peek().kind == tEOF {
		return nil, nil, p.errAt(p.peek(), "empty condition")
	}
	e, err := p.or()
	if err != nil {
		return nil, nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, nil, p.errAt(t, "unexpected %s after condition", t.describe())
	}
	return e, p.cmps, nil
}

func (p *exprParser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			p.toks = append(p.toks, token{tIdent, s[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			p.toks = append(p.toks, token{tNum, s[i:j], i})
			i = j
		default:
			op := ""
			for _, o := range exprOps {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				r, _ := utf8.DecodeRuneInString(s[i:])
				if r == '=' {
					return errorf(p.at(i), "unexpected \"=\" (compare with ==)")
				}
				return errorf(p.at(i), "unexpected character %q in condition", r)
			}
			p.toks = append(p.toks, token{tOp, op, i})
			i += len(op)
		}
	}
	p.toks = append(p.toks, token{tEOF, "", len(s)})
	return nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func (t token) describe() string {
	if t.kind == tEOF {
		return "end of condition"
	}
	return strconv.Quote(t.text)
}

func (t token) is(op string) bool { return t.kind == tOp && t.text == op }

func (p *exprParser) peek() token { return p.toks[p.i] }

func (p *exprParser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *exprParser) errAt(t token, format string, args ...any) *Error {
	return errorf(p.at(t.off), format, args...)
}

// text is the source from t up to the current token.
func (p *exprParser) text(t token) string {
	return strings.TrimSpace(p.src[t.off:p.peek().off])
}

func (p *exprParser) or() (*Expr, error) {
	e, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek().is("||") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		e = join(ExprOr, e, r)
	}
	return e, nil
}

func (p *exprParser) and() (*Expr, error) {
	e, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek().is("&&") {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		e = join(ExprAnd, e, r)
	}
	return e, nil
}

func (p *exprParser) unary() (*Expr, error) {
	t := p.peek()
	switch {
	case t.is("!"):
		p.next()
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return negate(e), nil
	case t.is("("):
		p.next()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); !c.is(")") {
			return nil, p.errAt(c, "expected \")\" to close the \"(\" at column %d, found %s", p.at(t.off).Col, c.describe())
		}
		p.next()
		return e, nil
	}
	return p.cmp()
}

// cmp parses "argN [& mask] OP value".
func (p *exprParser) cmp() (*Expr, error) {
	t := p.next()
	arg, ok := argIndex(t)
	if !ok {
		if t.kind == tIdent && strings.HasPrefix(t.text, "arg") {
			return nil, p.errAt(t, "no argument %q: syscalls have arguments arg0 to arg5", t.text)
		}
		return nil, p.errAt(t, "expected an argument (arg0 to arg5), found %s", t.describe())
	}
	c := Cmp{Arg: arg}
	masked := false
	if p.peek().is("&") {
		p.next()
		mt := p.peek()
		m, err := p.value()
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return nil, p.errAt(mt, "mask is 0: the comparison would not depend on %s", t.text)
		}
		c.Mask, masked = m, true
	}
	ot := p.next()
	op, ok := cmpOp(ot.text)
	if ot.kind != tOp || !ok {
		return nil, p.errAt(ot, "expected a comparison (== != < <= > >=), found %s", ot.describe())
	}
	vt := p.peek()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	c.Value = v
	neg := false
	if masked {
		switch op {
		case Eq:
		case Ne:
			neg = true
		default:
			return nil, p.errAt(ot, "a masked argument compares only with == or !=, not %s", ot.text)
		}
		c.Op = MaskedEq
		if v&^c.Mask != 0 {
			truth := "never"
			if neg {
				truth = "always"
			}
			return nil, p.errAt(vt, "%s & %#x %s %#x is %s true: the value has bits outside the mask", t.text, c.Mask, ot.text, v, truth)
		}
	} else {
		c.Op = op
		if msg := constantCmp(c); msg != "" {
			return nil, p.errAt(t, "%s %s %s is %s true: arguments compare as unsigned 64-bit numbers", t.text, ot.text, p.text(vt), msg)
		}
	}
	p.cmps = append(p.cmps, cmpAt{c, p.at(t.off)})
	e := &Expr{Kind: ExprCmp, Cmp: c}
	if neg {
		e = &Expr{Kind: ExprNot, Subs: []*Expr{e}}
	}
	return e, nil
}

// cmpOp returns the comparison operator s writes. MaskedEq has none: it is
// written with "&". (A search of opNames, not a map literal: that would be
// built by package init at every start of sysgate.)
func cmpOp(s string) (Op, bool) {
	for o := Eq; o < MaskedEq; o++ {
		if opNames[o] == s {
			return o, true
		}
	}
	return 0, false
}

// constantCmp says "never" or "always" if c does not depend on the argument.
func constantCmp(c Cmp) string {
	switch {
	case c.Op == Lt && c.Value == 0, c.Op == Gt && c.Value == math.MaxUint64:
		return "never"
	case c.Op == Ge && c.Value == 0, c.Op == Le && c.Value == math.MaxUint64:
		return "always"
	}
	return ""
}

func argIndex(t token) (int, bool) {
	if t.kind != tIdent || len(t.text) != 4 || !strings.HasPrefix(t.text, "arg") {
		return 0, false
	}
	n := t.text[3]
	if n < '0' || n > '5' {
		return 0, false
	}
	return int(n - '0'), true
}

// value parses terms joined by "|".
func (p *exprParser) value() (uint64, error) {
	v, err := p.term()
	if err != nil {
		return 0, err
	}
	for p.peek().is("|") {
		p.next()
		w, err := p.term()
		if err != nil {
			return 0, err
		}
		v |= w
	}
	return v, nil
}

func (p *exprParser) term() (uint64, error) {
	t := p.next()
	switch {
	case t.is("-"):
		nt := p.peek()
		v, err := p.term()
		if err != nil {
			return 0, err
		}
		if v > 1<<63 {
			return 0, p.errAt(nt, "-%s is out of range: below the smallest 64-bit number", p.text(nt))
		}
		return -v, nil
	case t.is("~"):
		v, err := p.term()
		return ^v, err
	case t.is("("):
		v, err := p.value()
		if err != nil {
			return 0, err
		}
		if c := p.peek(); !c.is(")") {
			return 0, p.errAt(c, "expected \")\", found %s", c.describe())
		}
		p.next()
		return v, nil
	case t.kind == tNum:
		v, err := strconv.ParseUint(t.text, 0, 64)
		if errors.Is(err, strconv.ErrRange) {
			return 0, p.errAt(t, "number %s is out of range: arguments are 64 bits", t.text)
		}
		if err != nil {
			return 0, p.errAt(t, "invalid number %q", t.text)
		}
		return v, nil
	case t.kind == tIdent:
		if _, ok := argIndex(t); ok {
			return 0, p.errAt(t, "%s compared with another argument: arguments compare only with constants", t.text)
		}
		v, ok := syscalls.Const(p.arch, t.text)
		if !ok {
			return 0, p.errAt(t, "unknown constant %q for %s", t.text, archName(p.arch))
		}
		return v, nil
	}
	return 0, p.errAt(t, "expected a number or a constant, found %s", t.describe())
}

// join combines two conditions, flattening nested nodes of the same kind.
func join(kind ExprKind, a, b *Expr) *Expr {
	e := &Expr{Kind: kind}
	for _, x := range []*Expr{a, b} {
		if x.Kind == kind {
			e.Subs = append(e.Subs, x.Subs...)
		} else {
			e.Subs = append(e.Subs, x)
		}
	}
	return e
}

// negate returns the negation of e with the negation pushed down to the
// comparisons: De Morgan for && and ||, the opposite operator for a plain
// comparison, and an ExprNot node only over a masked comparison.
func negate(e *Expr) *Expr {
	switch e.Kind {
	case ExprCmp:
		if op, ok := e.Cmp.Op.Negate(); ok {
			c := e.Cmp
			c.Op = op
			return &Expr{Kind: ExprCmp, Cmp: c}
		}
		return &Expr{Kind: ExprNot, Subs: []*Expr{e}}
	case ExprNot:
		return e.Subs[0]
	}
	kind := ExprOr
	if e.Kind == ExprOr {
		kind = ExprAnd
	}
	n := &Expr{Kind: kind}
	for _, s := range e.Subs {
		n.Subs = append(n.Subs, negate(s))
	}
	return n
}

// checkExpr reports what keeps e from being formatted and parsed back.
func checkExpr(e *Expr) error {
	if e == nil {
		return nil
	}
	switch e.Kind {
	case ExprCmp:
		if e.Cmp.Arg < 0 || e.Cmp.Arg > 5 {
			return fmt.Errorf("argument %d out of range 0..5", e.Cmp.Arg)
		}
		if int(e.Cmp.Op) >= len(opNames) {
			return fmt.Errorf("invalid operator %d", e.Cmp.Op)
		}
		return nil
	case ExprNot:
		if len(e.Subs) != 1 {
			return fmt.Errorf("negation of %d conditions", len(e.Subs))
		}
		return checkExpr(e.Subs[0])
	case ExprAnd, ExprOr:
		if len(e.Subs) == 0 {
			return errors.New("empty conjunction or disjunction")
		}
		for _, s := range e.Subs {
			if err := checkExpr(s); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("invalid condition kind %d", e.Kind)
}
