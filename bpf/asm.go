package bpf

import (
	"fmt"
	"strconv"
	"strings"
)

// Assemble reads a program in the bpf_asm syntax [Disassemble] and
// [Instruction.String] print, and returns it. Errors are [*SyntaxError]s
// naming the line.
//
// The syntax, one instruction per line:
//
//   - "label:" before an instruction (or alone on the line before it)
//     names it; labels are case-sensitive, mnemonics are not.
//   - Comments start with ";" and run to the end of the line; a line
//     starting with "#" is a comment too, as in bpf_asm.
//   - Numbers are decimal, 0x hexadecimal, 0b binary or 0-prefixed octal;
//     a leading "-" wraps to 32 bits.
//   - Loads: ld #k, ld #len, ld M[k], ld [k], ld [x + k], ldh/ldb [k] and
//     [x + k], ldi #k; ldx #k, ldx #len, ldx M[k], ldxb 4*([k]&0xf), ldxi #k.
//   - Stores: st M[k], stx M[k].
//   - ALU: add, sub, mul, div, mod, and, or, xor, lsh, rsh with #k or x;
//     neg; tax; txa.
//   - Jumps: ja T (also jmp); jeq, jgt, jge, jset with #k or x and then
//     "T" or "Tt, Tf", where a missing false target means the next
//     instruction; jne (jneq), jlt and jle with one target, taken when the
//     condition holds (they encode jeq, jge and jgt with the branches
//     swapped). A target is a label or a number of instructions to skip.
//   - ret #k, ret a, ret x.
//   - raw op, jt, jf, k: any instruction, field by field.
//
// "%x" and "%a" are accepted for x and a. bpf_asm's ancillary loads
// (#proto, #cpu, ...) are not: seccomp has no use for them.
func Assemble(text string) ([]Instruction, error) {
	a := assembler{labels: map[string]labelDef{}}
	for i, line := range strings.Split(text, "\n") {
		if err := a.line(i+1, line); err != nil {
			return nil, err
		}
	}
	if len(a.pending) > 0 {
		return nil, &SyntaxError{Line: a.pendingLine, Msg: fmt.Sprintf("label %s names no instruction", a.pending[0])}
	}
	if len(a.prog) == 0 {
		return nil, &SyntaxError{Line: 1, Msg: "no instructions"}
	}
	for _, f := range a.fixups {
		if err := a.resolve(f); err != nil {
			return nil, err
		}
	}
	return a.prog, nil
}

type labelDef struct{ pc, line int }

// fixup is a jump target given as a label, resolved after the last line.
type fixup struct {
	pc, line int
	field    byte // 't', 'f' or 'k'
	label    string
}

type assembler struct {
	prog        []Instruction
	labels      map[string]labelDef
	pending     []string // labels waiting for their instruction
	pendingLine int
	fixups      []fixup
}

func (a *assembler) resolve(f fixup) error {
	def, ok := a.labels[f.label]
	if !ok {
		return &SyntaxError{Line: f.line, Msg: fmt.Sprintf("no such label %s", f.label)}
	}
	off := def.pc - f.pc - 1
	if off < 0 {
		return &SyntaxError{Line: f.line, Msg: fmt.Sprintf("label %s is not after the jump: classic BPF jumps only forward", f.label)}
	}
	ins := &a.prog[f.pc]
	switch f.field {
	case 'k':
		ins.K = uint32(off)
	default:
		if off > 255 {
			return &SyntaxError{Line: f.line, Msg: fmt.Sprintf("label %s is %d instructions ahead, a conditional jump reaches 255", f.label, off)}
		}
		if f.field == 't' {
			ins.Jt = uint8(off)
		} else {
			ins.Jf = uint8(off)
		}
	}
	return nil
}

func (a *assembler) line(no int, line string) error {
	if i := strings.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return nil
	}
	toks, err := tokenize(line)
	if err != nil {
		return &SyntaxError{Line: no, Msg: err.Error()}
	}
	for len(toks) >= 2 && toks[0].kind == tokIdent && toks[1].is(":") {
		name := toks[0].text
		if def, dup := a.labels[name]; dup {
			return &SyntaxError{Line: no, Msg: fmt.Sprintf("label %s already defined on line %d", name, def.line)}
		}
		a.labels[name] = labelDef{pc: len(a.prog), line: no}
		if len(a.pending) == 0 {
			a.pendingLine = no
		}
		a.pending = append(a.pending, name)
		toks = toks[2:]
	}
	if len(toks) == 0 {
		return nil
	}
	if len(a.prog) >= MaxInstructions {
		return &SyntaxError{Line: no, Msg: fmt.Sprintf("more than %d instructions", MaxInstructions)}
	}
	p := parser{toks: toks}
	ins, fix, err := p.instruction()
	if err == nil && !p.done() {
		err = fmt.Errorf("unexpected %s after the instruction", p.peek())
	}
	if err != nil {
		return &SyntaxError{Line: no, Msg: err.Error()}
	}
	pc := len(a.prog)
	for _, f := range fix {
		f.pc, f.line = pc, no
		a.fixups = append(a.fixups, f)
	}
	a.prog = append(a.prog, ins)
	a.pending = a.pending[:0]
	return nil
}

type tokKind int

const (
	tokIdent tokKind = iota
	tokNumber
	tokPunct
)

type token struct {
	kind tokKind
	text string
	num  uint32
}

func (t token) is(p string) bool { return t.kind == tokPunct && t.text == p }

// word reports whether t is the identifier w, ignoring case.
func (t token) word(w string) bool { return t.kind == tokIdent && strings.EqualFold(t.text, w) }

func (t token) String() string {
	if t.kind == tokPunct {
		return strconv.Quote(t.text)
	}
	return t.text
}

func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && (isIdentStart(s[j]) || isDigit(s[j])) {
				j++
			}
			toks = append(toks, token{kind: tokIdent, text: s[i:j]})
			i = j
		case isDigit(c) || c == '-' && i+1 < len(s) && isDigit(s[i+1]):
			j := i + 1
			for j < len(s) && (isIdentStart(s[j]) || isDigit(s[j])) {
				j++
			}
			n, err := parseNumber(s[i:j])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokNumber, text: s[i:j], num: n})
			i = j
		case strings.IndexByte("#[]():,+*&%", c) >= 0:
			toks = append(toks, token{kind: tokPunct, text: s[i : i+1]})
			i++
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return toks, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseNumber reads a bpf_asm number into 32 bits.
func parseNumber(s string) (uint32, error) {
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(s, "-")
	base := 10
	switch {
	case len(digits) > 2 && (digits[:2] == "0x" || digits[:2] == "0X"):
		base, digits = 16, digits[2:]
	case len(digits) > 2 && (digits[:2] == "0b" || digits[:2] == "0B"):
		base, digits = 2, digits[2:]
	case len(digits) > 1 && digits[0] == '0':
		base, digits = 8, digits[1:]
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		return 0, fmt.Errorf("bad number %s: must fit in 32 bits", s)
	}
	if neg {
		if v > 1<<31 {
			return 0, fmt.Errorf("bad number %s: below -2147483648", s)
		}
		return uint32(-int64(v)), nil
	}
	return uint32(v), nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) done() bool { return p.pos >= len(p.toks) }

func (p *parser) peek() token {
	if p.done() {
		return token{kind: tokPunct, text: "end of line"}
	}
	return p.toks[p.pos]
}

func (p *parser) accept(punct string) bool {
	if !p.done() && p.toks[p.pos].is(punct) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) acceptWord(w string) bool {
	if !p.done() && p.toks[p.pos].word(w) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(punct string) error {
	if !p.accept(punct) {
		return fmt.Errorf("expected %q, found %s", punct, p.peek())
	}
	return nil
}

func (p *parser) number() (uint32, error) {
	t := p.peek()
	if t.kind != tokNumber {
		return 0, fmt.Errorf("expected a number, found %s", t)
	}
	p.pos++
	return t.num, nil
}

// register reads "x" or "%x" (or a for reg 'a').
func (p *parser) register(reg string) bool {
	save := p.pos
	p.accept("%")
	if p.acceptWord(reg) {
		return true
	}
	p.pos = save
	return false
}

// bracketed reads "[k]" or "[x + k]" after the '[' is seen.
func (p *parser) bracketed() (k uint32, indirect bool, err error) {
	if p.register("x") {
		indirect = true
		if err = p.expect("+"); err != nil {
			return
		}
	}
	if k, err = p.number(); err != nil {
		return
	}
	err = p.expect("]")
	return
}

// mem reads "M[k]".
func (p *parser) mem() (uint32, error) {
	if !p.acceptWord("M") {
		return 0, fmt.Errorf("expected M[k], found %s", p.peek())
	}
	if err := p.expect("["); err != nil {
		return 0, err
	}
	k, err := p.number()
	if err != nil {
		return 0, err
	}
	return k, p.expect("]")
}

// msh reads "4*([k]&0xf)".
func (p *parser) msh() (uint32, error) {
	four, err := p.number()
	if err != nil {
		return 0, err
	}
	if four != 4 {
		return 0, fmt.Errorf("ldxb takes 4*([k]&0xf)")
	}
	for _, s := range []string{"*", "(", "["} {
		if err := p.expect(s); err != nil {
			return 0, err
		}
	}
	k, err := p.number()
	if err != nil {
		return 0, err
	}
	if err := p.expect("]"); err != nil {
		return 0, err
	}
	if err := p.expect("&"); err != nil {
		return 0, err
	}
	if m, err := p.number(); err != nil || m != 0xf {
		return 0, fmt.Errorf("ldxb takes 4*([k]&0xf)")
	}
	return k, p.expect(")")
}

// immediate reads "#k".
func (p *parser) immediate() (uint32, error) {
	if err := p.expect("#"); err != nil {
		return 0, err
	}
	return p.number()
}

// source reads "#k" or "x" and returns the SrcK/SrcX bit with k.
func (p *parser) source() (uint16, uint32, error) {
	if p.register("x") {
		return SrcX, 0, nil
	}
	if !p.peek().is("#") {
		return 0, 0, fmt.Errorf("expected #k or x, found %s", p.peek())
	}
	k, err := p.immediate()
	return SrcK, k, err
}

// target reads a label or a skip count into field 't', 'f' or 'k'.
func (p *parser) target(ins *Instruction, field byte, fix *[]fixup) error {
	t := p.peek()
	switch t.kind {
	case tokIdent:
		p.pos++
		*fix = append(*fix, fixup{field: field, label: t.text})
		return nil
	case tokNumber:
		p.pos++
		switch field {
		case 'k':
			ins.K = t.num
		default:
			if t.num > 255 {
				return fmt.Errorf("jump offset %d does not fit in 8 bits", t.num)
			}
			if field == 't' {
				ins.Jt = uint8(t.num)
			} else {
				ins.Jf = uint8(t.num)
			}
		}
		return nil
	}
	return fmt.Errorf("expected a jump target, found %s", t)
}

// mnemonic pairs a bpf_asm name with the operation bits it stands for.
// The tables of them are slices, not maps: a map literal is built by
// package init at every start of sysgate.
type mnemonic struct {
	name string
	op   uint16
}

var aluOps = []mnemonic{
	{"add", AluADD}, {"sub", AluSUB}, {"mul", AluMUL}, {"div", AluDIV}, {"mod", AluMOD},
	{"and", AluAND}, {"or", AluOR}, {"xor", AluXOR}, {"lsh", AluLSH}, {"rsh", AluRSH},
}

var condOps = []mnemonic{
	{"jeq", JumpJEQ}, {"jgt", JumpJGT}, {"jge", JumpJGE}, {"jset", JumpJSET},
}

// negatedOps are bpf_asm's one-target jumps taken when the condition is
// false: the opcode to encode it with.
var negatedOps = []mnemonic{
	{"jne", JumpJEQ}, {"jneq", JumpJEQ}, {"jlt", JumpJGE}, {"jle", JumpJGT},
}

// opOf returns the operation named name in table.
func opOf(table []mnemonic, name string) (uint16, bool) {
	for _, m := range table {
		if m.name == name {
			return m.op, true
		}
	}
	return 0, false
}

// nameOf returns the name of op in table, or "".
func nameOf(table []mnemonic, op uint16) string {
	for _, m := range table {
		if m.op == op {
			return m.name
		}
	}
	return ""
}

func (p *parser) instruction() (Instruction, []fixup, error) {
	var (
		ins Instruction
		fix []fixup
		err error
	)
	head := p.peek()
	if head.kind != tokIdent {
		return ins, nil, fmt.Errorf("expected an instruction, found %s", head)
	}
	p.pos++
	m := strings.ToLower(head.text)
	if op, ok := opOf(aluOps, m); ok {
		var src uint16
		src, ins.K, err = p.source()
		ins.Op = ClassALU | op | src
		return ins, nil, err
	}
	if op, ok := opOf(condOps, m); ok {
		var src uint16
		if src, ins.K, err = p.source(); err != nil {
			return ins, nil, err
		}
		ins.Op = ClassJMP | op | src
		if err = p.expect(","); err != nil {
			return ins, nil, err
		}
		if err = p.target(&ins, 't', &fix); err != nil {
			return ins, nil, err
		}
		if p.accept(",") {
			err = p.target(&ins, 'f', &fix)
		}
		return ins, fix, err
	}
	if op, ok := opOf(negatedOps, m); ok {
		var src uint16
		if src, ins.K, err = p.source(); err != nil {
			return ins, nil, err
		}
		ins.Op = ClassJMP | op | src
		if err = p.expect(","); err != nil {
			return ins, nil, err
		}
		return ins, fix, p.target(&ins, 'f', &fix)
	}
	switch m {
	case "ld", "ldh", "ldb":
		size := SizeW
		switch m {
		case "ldh":
			size = SizeH
		case "ldb":
			size = SizeB
		}
		switch {
		case p.accept("["):
			k, ind, err := p.bracketed()
			mode := ModeABS
			if ind {
				mode = ModeIND
			}
			return Instruction{Op: ClassLD | size | mode, K: k}, nil, err
		case m != "ld":
			return ins, nil, fmt.Errorf("%s takes [k] or [x + k]", m)
		case p.acceptWord("len"):
			return Instruction{Op: ClassLD | SizeW | ModeLEN}, nil, nil
		case p.accept("#"):
			if p.acceptWord("len") {
				return Instruction{Op: ClassLD | SizeW | ModeLEN}, nil, nil
			}
			ins.K, err = p.number()
			ins.Op = ClassLD | ModeIMM
			return ins, nil, err
		default:
			ins.K, err = p.mem()
			ins.Op = ClassLD | ModeMEM
			return ins, nil, err
		}
	case "ldx":
		switch {
		case p.acceptWord("len"):
			return Instruction{Op: ClassLDX | SizeW | ModeLEN}, nil, nil
		case p.accept("#"):
			if p.acceptWord("len") {
				return Instruction{Op: ClassLDX | SizeW | ModeLEN}, nil, nil
			}
			ins.K, err = p.number()
			ins.Op = ClassLDX | ModeIMM
			return ins, nil, err
		case p.peek().kind == tokNumber:
			ins.K, err = p.msh()
			ins.Op = ClassLDX | SizeB | ModeMSH
			return ins, nil, err
		default:
			ins.K, err = p.mem()
			ins.Op = ClassLDX | ModeMEM
			return ins, nil, err
		}
	case "ldi", "ldxi":
		p.accept("#")
		ins.K, err = p.number()
		ins.Op = ClassLD | ModeIMM
		if m == "ldxi" {
			ins.Op = ClassLDX | ModeIMM
		}
		return ins, nil, err
	case "ldxb":
		ins.K, err = p.msh()
		ins.Op = ClassLDX | SizeB | ModeMSH
		return ins, nil, err
	case "st", "stx":
		ins.K, err = p.mem()
		ins.Op = ClassST
		if m == "stx" {
			ins.Op = ClassSTX
		}
		return ins, nil, err
	case "ja", "jmp":
		ins.Op = ClassJMP | JumpJA
		return ins, fix, p.target(&ins, 'k', &fix)
	case "neg":
		return Instruction{Op: ClassALU | AluNEG}, nil, nil
	case "tax":
		return Instruction{Op: ClassMISC | MiscTAX}, nil, nil
	case "txa":
		return Instruction{Op: ClassMISC | MiscTXA}, nil, nil
	case "ret":
		switch {
		case p.register("a"):
			return Instruction{Op: ClassRET | RetA}, nil, nil
		case p.register("x"):
			return Instruction{Op: ClassRET | 0x08}, nil, nil
		}
		ins.K, err = p.immediate()
		ins.Op = ClassRET | RetK
		return ins, nil, err
	case "raw":
		var f [4]uint32
		for i := range f {
			if i > 0 {
				if err := p.expect(","); err != nil {
					return ins, nil, err
				}
			}
			if f[i], err = p.number(); err != nil {
				return ins, nil, err
			}
		}
		if f[0] > 0xffff || f[1] > 0xff || f[2] > 0xff {
			return ins, nil, fmt.Errorf("raw fields out of range: op is 16 bits, jt and jf 8")
		}
		return Instruction{Op: uint16(f[0]), Jt: uint8(f[1]), Jf: uint8(f[2]), K: f[3]}, nil, nil
	}
	return ins, nil, fmt.Errorf("unknown instruction %s", head.text)
}
