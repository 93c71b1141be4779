package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/sysgate/sysgate/region"
	"github.com/sysgate/sysgate/syscalls"
)

// SealSystemMappings is the seal: value that asks for the system mappings
// (vdso, vvar, vsyscall, ...) of the target to be sealed with mseal(2).
const SealSystemMappings = "system-mappings"

var knownSeals = []string{SealSystemMappings}

// AllSyscalls is the syscalls: entry naming every syscall of the policy's
// ABIs, for rules such as "anything from anonymous code traps".
const AllSyscalls = "%all"

var topKeys = []string{"default", "arches", "bad-arch", "seal", "rules"}

var ruleKeys = []string{
	"allow", "errno", "kill-process", "kill-thread", "trap", "log", "trace", "notify",
	"syscalls", "when", "comment", "reason",
	// handler keys: see handlerKeys
	"handler", "format", "paths", "read-only", "deny-errno", "devices",
	"from",
}

// yamlParser turns a YAML document into a Policy.
type yamlParser struct {
	file   string
	lines  [][]rune // the source, for positions inside scalars
	opts   Options
	arch   *syscalls.Arch // opts.Arch resolved
	warns  []Warning
	arches []*syscalls.Arch // the policy's arches, once known
}

func parseYAML(data []byte, file string, opts Options) (*Policy, []Warning, error) {
	p := &yamlParser{file: file, opts: opts, arch: opts.Arch}
	for _, l := range strings.Split(string(data), "\n") {
		p.lines = append(p.lines, []rune(strings.TrimSuffix(l, "\r")))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, errorf(Pos{File: file}, "empty policy")
		}
		return nil, nil, p.yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, nil, errorf(p.pos(&extra), "a policy is one YAML document; found another")
	} else if !errors.Is(err, io.EOF) {
		return nil, nil, p.yamlError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	pol, err := p.policy(root)
	if err != nil {
		return nil, nil, err
	}
	return pol, p.warns, nil
}

// yamlLineRE is compiled on first use: only errors need it, and a
// package-level regexp costs every start of sysgate its compilation. (A
// sync.Once, not a package-level sync.OnceValue: making that is work for
// package init too.)
func yamlLineRE() *regexp.Regexp {
	yamlLine.once.Do(func() { yamlLine.re = regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })
	return yamlLine.re
}

var yamlLine struct {
	once sync.Once
	re   *regexp.Regexp
}

// yamlError turns a YAML syntax error into an *Error with its line.
func (p *yamlParser) yamlError(err error) error {
	msg := err.Error()
	if m := yamlLineRE().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return errorf(Pos{File: p.file, Line: line}, "YAML: %s", m[2])
	}
	return errorf(Pos{File: p.file}, "YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

func (p *yamlParser) pos(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line, Col: n.Column} }

func (p *yamlParser) errorf(n *yaml.Node, format string, args ...any) *Error {
	return errorf(p.pos(n), format, args...)
}

func (p *yamlParser) warnf(pos Pos, format string, args ...any) {
	p.warns = append(p.warns, Warning{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// at returns a function giving the position of a byte offset inside the
// value of scalar n. Offsets are exact for a scalar written on one line,
// plain or quoted without escapes; otherwise they are n's own position.
func (p *yamlParser) at(n *yaml.Node) func(off int) Pos {
	start := p.pos(n)
	base := 0 // column of the value's first rune, 0 if unknown
	if n.Line >= 1 && n.Line <= len(p.lines) && n.Column >= 1 {
		line := p.lines[n.Line-1]
		if n.Column-1 <= len(line) {
			rest := string(line[n.Column-1:])
			switch n.Style {
			case 0:
				if strings.HasPrefix(rest, n.Value) {
					base = n.Column
				}
			case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
				q := "\""
				if n.Style == yaml.SingleQuotedStyle {
					q = "'"
				}
				if strings.HasPrefix(rest, q+n.Value+q) {
					base = n.Column + 1
				}
			}
		}
	}
	return func(off int) Pos {
		if base == 0 || off < 0 || off > len(n.Value) {
			return start
		}
		return Pos{File: p.file, Line: n.Line, Col: base + utf8.RuneCountInString(n.Value[:off])}
	}
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	}
	return "a YAML alias"
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalar returns the text of n, which must be a scalar.
func (p *yamlParser) scalar(n *yaml.Node, what string) (string, error) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		return "", p.errorf(n, "%s must be a single value, not %s", what, kindName(n))
	}
	if t := n.Tag; strings.HasPrefix(t, "!") && !strings.HasPrefix(t, "!!") {
		return "", p.errorf(n, "unexpected YAML tag %q in %s (quote a value that starts with \"!\")", t, what)
	}
	return n.Value, nil
}

// scalars returns the items of n, a scalar or a list of scalars.
func (p *yamlParser) scalars(n *yaml.Node, what string) ([]*yaml.Node, error) {
	n = deref(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if isNull(n) {
			return nil, nil
		}
		if _, err := p.scalar(n, what); err != nil {
			return nil, err
		}
		return []*yaml.Node{n}, nil
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, c := range n.Content {
			c = deref(c)
			if _, err := p.scalar(c, what); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	return nil, p.errorf(n, "%s must be a name or a list of names, not %s", what, kindName(n))
}

type keyVal struct {
	key, val *yaml.Node
}

// mapping checks that n is a mapping with known, distinct keys and
// returns them by name.
func (p *yamlParser) mapping(n *yaml.Node, what string, known []string) (map[string]keyVal, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, p.errorf(n, "%s must be a mapping (key: value), not %s", what, kindName(n))
	}
	m := make(map[string]keyVal)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		name, err := p.scalar(k, "a key")
		if err != nil {
			return nil, err
		}
		if !contains(known, name) {
			return nil, p.errorf(k, "unknown key %q in %s%s", name, what, suggest(name, known))
		}
		if prev, dup := m[name]; dup {
			return nil, p.errorf(k, "duplicate key %q (first at line %d)", name, prev.key.Line)
		}
		m[name] = keyVal{k, v}
	}
	return m, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *yamlParser) policy(root *yaml.Node) (*Policy, error) {
	if isNull(root) {
		return nil, p.errorf(root, "empty policy")
	}
	top, err := p.mapping(root, "the policy", topKeys)
	if err != nil {
		return nil, err
	}
	pol := &Policy{File: p.file, BadArch: Action{Kind: KillProcess}}

	kv, ok := top["default"]
	if !ok {
		return nil, p.errorf(deref(root), "missing default: the verdict for syscalls no rule names (e.g. default: errno EPERM)")
	}
	if pol.Default, err = p.actionText(kv.val, "default"); err != nil {
		return nil, err
	}
	if kv, ok := top["bad-arch"]; ok {
		if pol.BadArch, err = p.actionText(kv.val, "bad-arch"); err != nil {
			return nil, err
		}
	}

	if kv, ok := top["arches"]; ok {
		if pol.Arches, err = p.archList(kv); err != nil {
			return nil, err
		}
	} else {
		pol.Arches = []*syscalls.Arch{p.arch}
	}
	p.arches = pol.Arches

	if kv, ok := top["seal"]; ok {
		items, err := p.scalars(kv.val, "seal")
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if !contains(knownSeals, it.Value) {
				return nil, p.errorf(it, "unknown seal %q (known: %s)", it.Value, strings.Join(knownSeals, ", "))
			}
			if !contains(pol.Seal, it.Value) {
				pol.Seal = append(pol.Seal, it.Value)
			}
		}
	}

	var explicit []map[string]bool
	if kv, ok := top["rules"]; ok && !isNull(kv.val) {
		list := deref(kv.val)
		if list.Kind != yaml.SequenceNode {
			return nil, p.errorf(list, "rules must be a list (each item starting with \"- \"), not %s", kindName(list))
		}
		for _, item := range list.Content {
			r, named, err := p.rule(item)
			if err != nil {
				return nil, err
			}
			if r != nil {
				pol.Rules = append(pol.Rules, *r)
				explicit = append(explicit, named)
			}
		}
	}
	p.shadowed(pol.Rules, explicit)
	pol.BuildIndex()
	return pol, nil
}

func (p *yamlParser) archList(kv keyVal) ([]*syscalls.Arch, error) {
	items, err := p.scalars(kv.val, "arches")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, p.errorf(deref(kv.val), "arches is empty: list the ABIs the program may use, or leave arches out for the native one (%s)", archName(p.arch))
	}
	var out []*syscalls.Arch
	for _, it := range items {
		a, err := syscalls.ArchByName(it.Value)
		if err != nil || a == nil {
			var names []string
			for _, a := range syscalls.Arches() {
				names = append(names, archName(a))
			}
			return nil, p.errorf(it, "unknown arch %q%s", it.Value, suggest(it.Value, names))
		}
		if !containsArch(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func containsArch(list []*syscalls.Arch, a *syscalls.Arch) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// actionText parses a verdict written as text: "allow", "errno EPERM",
// "errno 38", "trace 5", "kill-process".
func (p *yamlParser) actionText(n *yaml.Node, what string) (Action, error) {
	s, err := p.scalar(n, what)
	if err != nil {
		return Action{}, err
	}
	n = deref(n)
	at := p.at(n)
	words := fieldsAt(s)
	if len(words) == 0 {
		return Action{}, p.errorf(n, "%s is empty: give a verdict such as \"errno EPERM\" or \"kill-process\"", what)
	}
	kind, ok := ParseActionKind(words[0].text)
	if !ok {
		return Action{}, errorf(at(words[0].off), "unknown action %q%s", words[0].text, suggest(words[0].text, kindNames[:]))
	}
	a := Action{Kind: kind}
	if len(words) > 2 {
		return Action{}, errorf(at(words[2].off), "unexpected %q after %s %s", words[2].text, words[0].text, words[1].text)
	}
	switch kind {
	case Errno:
		if len(words) < 2 {
			return Action{}, errorf(at(len(s)), "errno needs a value: \"errno EPERM\" or \"errno 1\"")
		}
		a.Value, err = p.errnoValue(words[1].text, at(words[1].off))
	case Trap, Trace:
		if len(words) == 2 {
			a.Value, err = dataValue(kind, words[1].text, at(words[1].off))
		}
	default:
		if len(words) > 1 {
			return Action{}, errorf(at(words[1].off), "%s takes no value, found %q", kind, words[1].text)
		}
	}
	return a, err
}

type word struct {
	text string
	off  int
}

func fieldsAt(s string) []word {
	var out []word
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		out = append(out, word{s[i:j], i})
		i = j
	}
	return out
}

// MaxErrno is the largest errno a seccomp filter can return (MAX_ERRNO in
// include/linux/err.h); larger values would read as valid return values.
const MaxErrno = 4095

func (p *yamlParser) errnoValue(s string, pos Pos) (uint16, error) {
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil || v > MaxErrno {
			return 0, errorf(pos, "errno %s out of range 0..%d", s, MaxErrno)
		}
		return uint16(v), nil
	}
	v, ok := syscalls.Errno(p.arch, s)
	if !ok {
		return 0, errorf(pos, "unknown errno %q for %s (give a name like EPERM or a number)", s, archName(p.arch))
	}
	if v < 0 || v > MaxErrno {
		return 0, errorf(pos, "errno %s (%d) out of range 0..%d", s, v, MaxErrno)
	}
	return uint16(v), nil
}

// dataValue parses the 16-bit data of a trap or trace verdict.
func dataValue(kind ActionKind, s string, pos Pos) (uint16, error) {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil || v > 0xffff {
		return 0, errorf(pos, "%s data must be a number 0..65535, found %q", kind, s)
	}
	return uint16(v), nil
}

// rule parses one item of rules:. It returns nil for a rule dropped
// because all its syscalls are unknown under IgnoreUnknown, and the names
// written out (not from classes) for the shadowing warnings.
func (p *yamlParser) rule(item *yaml.Node) (*Rule, map[string]bool, error) {
	n := deref(item)
	keys, err := p.mapping(n, "a rule", ruleKeys)
	if err != nil {
		return nil, nil, err
	}
	r := &Rule{Pos: p.pos(n)}
	var act *keyVal
	for _, k := range ruleKeys[:8] {
		if kv, ok := keys[k]; ok {
			if act != nil {
				first, second := act, &kv
				if kv.key.Line < act.key.Line || kv.key.Line == act.key.Line && kv.key.Column < act.key.Column {
					first, second = second, first
				}
				return nil, nil, p.errorf(second.key, "a rule has one action: found %s and %s", first.key.Value, second.key.Value)
			}
			act = &kv
		}
	}
	if act == nil {
		return nil, nil, p.errorf(n, "rule has no action (one of %s)", strings.Join(ruleKeys[:8], ", "))
	}
	kind, _ := ParseActionKind(act.key.Value)
	r.Action.Kind = kind
	listKV, hasList := keys["syscalls"]
	actVal := deref(act.val)
	var list *yaml.Node // the node naming the syscalls
	switch {
	case hasList:
		list = listKV.val
		switch kind {
		case Errno:
			if isNull(actVal) {
				return nil, nil, p.errorf(actVal, "errno needs a value: errno: EPERM, or a number")
			}
			s, err := p.scalar(actVal, "errno")
			if err != nil {
				return nil, nil, err
			}
			if r.Action.Value, err = p.errnoValue(s, p.pos(actVal)); err != nil {
				return nil, nil, err
			}
		case Trap, Trace:
			if !isNull(actVal) {
				s, err := p.scalar(actVal, act.key.Value+" data")
				if err != nil {
					return nil, nil, err
				}
				if r.Action.Value, err = dataValue(kind, s, p.pos(actVal)); err != nil {
					return nil, nil, err
				}
			}
		default:
			if !isNull(actVal) {
				return nil, nil, p.errorf(actVal, "syscalls named both in %s: and in syscalls:; use one", act.key.Value)
			}
		}
	case kind == Errno:
		return nil, nil, p.errorf(act.key, "errno: takes the errno (errno: EPERM); name the syscalls under syscalls:")
	case (kind == Trap || kind == Trace) && actVal.Kind == yaml.ScalarNode && actVal.Value != "" && actVal.Value[0] >= '0' && actVal.Value[0] <= '9':
		return nil, nil, p.errorf(actVal, "%s: %s gives the %s data; name the syscalls under syscalls:", kind, actVal.Value, kind)
	default:
		list = act.val
	}

	named, err := p.syscallList(r, list)
	if err != nil {
		return nil, nil, err
	}
	if r.Syscalls == nil {
		return nil, nil, nil // every name unknown, warned about
	}
	if err := p.handler(r, keys); err != nil {
		return nil, nil, err
	}

	if kv, ok := keys["when"]; ok {
		w := deref(kv.val)
		s, err := p.scalar(w, "when")
		if err != nil {
			return nil, nil, err
		}
		e, cmps, err := parseExpr(s, p.arch, p.at(w))
		if err != nil {
			return nil, nil, err
		}
		r.When = e
		p.check32(cmps)
	}

	if kv, ok := keys["from"]; ok {
		if r.From, err = p.from(kv.val); err != nil {
			return nil, nil, err
		}
	}

	c, hasC := keys["comment"]
	rs, hasR := keys["reason"]
	if hasC && hasR {
		return nil, nil, p.errorf(rs.key, "comment: and reason: are the same thing; give one")
	}
	if hasR {
		c = rs
	}
	if hasC || hasR {
		if r.Comment, err = p.scalar(c.val, c.key.Value); err != nil {
			return nil, nil, err
		}
	}
	return r, named, nil
}

// syscallList fills r.Syscalls from n, expanding classes, and returns the
// names written out. r.Syscalls stays nil if all were unknown and skipped.
func (p *yamlParser) syscallList(r *Rule, n *yaml.Node) (map[string]bool, error) {
	items, err := p.scalars(n, "syscalls")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, p.errorf(deref(n), "rule names no syscalls")
	}
	named := make(map[string]bool)
	seen := make(map[string]bool)
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			r.Syscalls = append(r.Syscalls, name)
		}
	}
	skipped := 0
	for _, it := range items {
		name := strings.TrimSpace(it.Value)
		if name == AllSyscalls {
			for _, m := range syscalls.Names() {
				if p.onListedArch(m) {
					add(m)
				}
			}
			continue
		}
		if strings.HasPrefix(name, "%") {
			members, ok := syscalls.Class(name)
			if !ok {
				return nil, p.errorf(it, "unknown syscall class %q%s", name, suggest(name, syscalls.Classes()))
			}
			for _, m := range members {
				add(m)
			}
			continue
		}
		if !syscalls.Exists(name) {
			msg := fmt.Sprintf("unknown syscall %q%s", name, suggest(name, syscalls.Names()))
			if !p.opts.IgnoreUnknown {
				return nil, p.errorf(it, "%s", msg)
			}
			p.warnf(p.pos(it), "%s: skipped", msg)
			skipped++
			continue
		}
		if !p.onListedArch(name) {
			p.warnf(p.pos(it), "syscall %q does not exist on %s", name, archNames(p.arches))
		}
		named[name] = true
		add(name)
	}
	if r.Syscalls == nil && skipped > 0 {
		p.warnf(r.Pos, "rule dropped: it names only unknown syscalls")
	}
	return named, nil
}

func (p *yamlParser) onListedArch(name string) bool {
	for _, a := range p.arches {
		if _, ok := a.Lookup(name); ok {
			return true
		}
	}
	return false
}

func archNames(arches []*syscalls.Arch) string {
	var names []string
	for _, a := range arches {
		names = append(names, archName(a))
	}
	return strings.Join(names, ", ")
}

// audit32 is __AUDIT_ARCH_64BIT: an audit arch without it passes 32-bit
// arguments, zero-extended into seccomp_data.args.
const audit64Bit = 0x80000000

// check32 warns about comparisons that a 32-bit ABI among the policy's
// arches can never satisfy as the author probably meant: its arguments are
// zero-extended, so -1 arrives as 0xffffffff, never 0xffffffffffffffff.
func (p *yamlParser) check32(cmps []cmpAt) {
	var narrow []*syscalls.Arch
	for _, a := range p.arches {
		if a.Audit&audit64Bit == 0 {
			narrow = append(narrow, a)
		}
	}
	if len(narrow) == 0 {
		return
	}
	for _, c := range cmps {
		if c.cmp.Value>>32 == 0 || c.cmp.Op == Lt || c.cmp.Op == Le {
			continue
		}
		p.warnf(c.pos, "value %#x does not fit the 32-bit arguments of %s; for a 32-bit int compare arg%d & 0xffffffff == %#x",
			c.cmp.Value, archNames(narrow), c.cmp.Arg, c.cmp.Value&0xffffffff)
	}
}

// shadowed warns about rules, or syscalls in rules, that an earlier
// unconditional rule already decides.
func (p *yamlParser) shadowed(rules []Rule, explicit []map[string]bool) {
	decided := make(map[string]int) // syscall -> index of the unconditional rule
	for i, r := range rules {
		var dead []string
		by := -1
		for _, s := range r.Syscalls {
			if j, ok := decided[s]; ok {
				dead = append(dead, s)
				if by < 0 {
					by = j
				}
			}
		}
		if len(dead) == len(r.Syscalls) {
			p.warnf(r.Pos, "rule never matches: earlier rule at %s decides %s unconditionally", rules[by].Pos, shortList(dead))
		} else {
			var named []string
			for _, s := range dead {
				if explicit[i][s] {
					named = append(named, s)
				}
			}
			if len(named) > 0 {
				j := decided[named[0]]
				p.warnf(r.Pos, "%s never matches in this rule: earlier rule at %s decides it unconditionally", shortList(named), rules[j].Pos)
			}
		}
		if r.Unconditional() {
			for _, s := range r.Syscalls {
				if _, ok := decided[s]; !ok {
					decided[s] = i
				}
			}
		}
	}
}

func shortList(names []string) string {
	if len(names) > 4 {
		return strings.Join(names[:4], ", ") + fmt.Sprintf(" and %d more", len(names)-4)
	}
	return strings.Join(names, ", ")
}

// Format writes p in the native YAML format: rules in order, classes
// expanded, conditions with hexadecimal values. Errno names are those of
// the native arch. Parsing the result gives a policy that decides every
// syscall as p does.
func (p *Policy) Format() ([]byte, error) {
	var b strings.Builder
	def, err := formatAction(p.Default)
	if err != nil {
		return nil, fmt.Errorf("format default: %w", err)
	}
	fmt.Fprintf(&b, "default: %s\n", def)
	if len(p.Arches) == 0 {
		return nil, errors.New("format policy: no arches")
	}
	var names []string
	for _, a := range p.Arches {
		if a == nil {
			return nil, errors.New("format policy: nil arch")
		}
		names = append(names, archName(a))
	}
	fmt.Fprintf(&b, "arches: [%s]\n", strings.Join(names, ", "))
	if p.BadArch != (Action{Kind: KillProcess}) {
		bad, err := formatAction(p.BadArch)
		if err != nil {
			return nil, fmt.Errorf("format bad-arch: %w", err)
		}
		fmt.Fprintf(&b, "bad-arch: %s\n", bad)
	}
	if len(p.Seal) > 0 {
		for _, s := range p.Seal {
			if !contains(knownSeals, s) {
				return nil, fmt.Errorf("format policy: unknown seal %q", s)
			}
		}
		fmt.Fprintf(&b, "seal: [%s]\n", strings.Join(p.Seal, ", "))
	}
	if len(p.Rules) == 0 {
		b.WriteString("rules: []\n")
		return []byte(b.String()), nil
	}
	b.WriteString("rules:\n")
	for i, r := range p.Rules {
		if err := formatRule(&b, r); err != nil {
			return nil, fmt.Errorf("format rule %d (%s): %w", i+1, r.Pos, err)
		}
	}
	return []byte(b.String()), nil
}

func formatRule(b *strings.Builder, r Rule) error {
	if len(r.Syscalls) == 0 {
		return errors.New("no syscalls")
	}
	for _, s := range r.Syscalls {
		if !isName(s) {
			return fmt.Errorf("invalid syscall name %q", s)
		}
	}
	if err := checkExpr(r.When); err != nil {
		return err
	}
	kind := r.Action.Kind
	if int(kind) >= len(kindNames) {
		return fmt.Errorf("invalid action %d", kind)
	}
	switch {
	case kind == Errno:
		v, err := formatAction(r.Action)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "  - errno: %s\n", strings.TrimPrefix(v, "errno "))
		fmt.Fprintf(b, "    syscalls: %s\n", flowList(r.Syscalls, len("    syscalls: ")))
	case (kind == Trap || kind == Trace) && r.Action.Value != 0:
		fmt.Fprintf(b, "  - %s: %d\n", kind, r.Action.Value)
		fmt.Fprintf(b, "    syscalls: %s\n", flowList(r.Syscalls, len("    syscalls: ")))
	default:
		if r.Action.Value != 0 {
			return fmt.Errorf("%s with value %d", kind, r.Action.Value)
		}
		prefix := fmt.Sprintf("  - %s: ", kind)
		fmt.Fprintf(b, "%s%s\n", prefix, flowList(r.Syscalls, len(prefix)))
	}
	if r.When != nil {
		fmt.Fprintf(b, "    when: %s\n", yamlString(r.When.String()))
	}
	if r.From != nil {
		if len(r.From.Terms) == 0 {
			return errors.New("from: with no regions")
		}
		terms := make([]string, len(r.From.Terms))
		for i, t := range r.From.Terms {
			terms[i] = strconv.Quote(t.String())
		}
		fmt.Fprintf(b, "    from: [%s]\n", strings.Join(terms, ", "))
	}
	if r.Handler != nil {
		if kind != Notify {
			return fmt.Errorf("handler %s on a %s rule", r.Handler.Name, kind)
		}
		if err := formatHandler(b, r.Handler); err != nil {
			return err
		}
	}
	if r.Comment != "" {
		fmt.Fprintf(b, "    comment: %s\n", strconv.Quote(r.Comment))
	}
	return nil
}

// formatAction renders a verdict as "default:" takes it, with an errno
// name only where the name means the same number on the native arch.
func formatAction(a Action) (string, error) {
	switch a.Kind {
	case Errno:
		if a.Value > MaxErrno {
			return "", fmt.Errorf("errno %d out of range 0..%d", a.Value, MaxErrno)
		}
		if native := syscalls.Native(); native != nil {
			if n := syscalls.ErrnoNameFor(native, int(a.Value)); n != "" {
				return "errno " + n, nil
			}
		}
		return fmt.Sprintf("errno %d", a.Value), nil
	case Trap, Trace:
		if a.Value != 0 {
			return fmt.Sprintf("%s %d", a.Kind, a.Value), nil
		}
		return a.Kind.String(), nil
	}
	if int(a.Kind) >= len(kindNames) {
		return "", fmt.Errorf("invalid action %d", a.Kind)
	}
	if a.Value != 0 {
		return "", fmt.Errorf("%s with value %d", a.Kind, a.Value)
	}
	return a.Kind.String(), nil
}

func isName(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

// flowList writes names as a YAML flow list, wrapped before column 80;
// continuation lines are indented past the rule's keys.
func flowList(names []string, col int) string {
	var b strings.Builder
	b.WriteByte('[')
	col++
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
			col++
			if col+1+len(n)+1 > 80 {
				b.WriteString("\n      ")
				col = 6
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(n)
		col += len(n)
	}
	b.WriteByte(']')
	return b.String()
}

// yamlString writes s as a plain scalar where YAML reads it back as the
// same string, else double-quoted.
func yamlString(s string) string {
	if s == "" || strings.ContainsAny(s[:1], "!&*|>'\"%@`#,[]{}?:-") ||
		strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.ContainsAny(s, "\n\t") {
		return strconv.Quote(s)
	}
	return s
}

// archName is the canonical name of a.
func archName(a *syscalls.Arch) string { return a.Name }

// from parses a from: value: one region term or a list of them
// ("anon", [exe, "lib:/usr/lib/**"], "!lib:/usr/lib/**"). Unquoted,
// "!anon" is a YAML tag on an empty scalar; it is taken as meant.
func (p *yamlParser) from(n *yaml.Node) (*region.Selector, error) {
	v := deref(n)
	items := []*yaml.Node{v}
	switch {
	case v.Kind == yaml.SequenceNode:
		items = v.Content
	case v.Kind != yaml.ScalarNode:
		return nil, p.errorf(v, "from must be a region or a list of regions, not %s", kindName(v))
	}
	if len(items) == 0 {
		return nil, p.errorf(v, "from: names no regions; give exe, lib:GLOB, vdso or anon (optionally after !)")
	}
	sel := &region.Selector{}
	for _, it := range items {
		it = deref(it)
		var term string
		if tag := it.Tag; strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") && it.Kind == yaml.ScalarNode {
			if it.Value != "" {
				return nil, p.errorf(it, "from: %s %s reads as a YAML tag; quote negated regions: \"!...\"", tag, it.Value)
			}
			term = tag
		} else {
			s, err := p.scalar(it, "from")
			if err != nil {
				return nil, err
			}
			term = s
		}
		t, err := region.ParseTerm(term)
		if err != nil {
			return nil, p.errorf(it, "%s", err)
		}
		sel.Terms = append(sel.Terms, t)
	}
	return sel, nil
}
