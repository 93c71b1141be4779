package policy

import (
	"fmt"
	"strings"

	"github.com/sysgate/sysgate/region"
	"github.com/sysgate/sysgate/syscalls"
)

// ActionKind is what the kernel does with a syscall.
type ActionKind uint8

// The actions, in the kernel's order of precedence (most severe first).
const (
	KillProcess ActionKind = iota // SECCOMP_RET_KILL_PROCESS (4.14)
	KillThread                    // SECCOMP_RET_KILL_THREAD
	Trap                          // SECCOMP_RET_TRAP: SIGSYS to the thread
	Errno                         // SECCOMP_RET_ERRNO: fail with Value as errno
	Notify                        // SECCOMP_RET_USER_NOTIF (5.0): ask the supervisor
	Trace                         // SECCOMP_RET_TRACE: stop for the ptrace tracer
	Log                           // SECCOMP_RET_LOG (4.14): allow and log
	Allow                         // SECCOMP_RET_ALLOW
)

// Seccomp return values (include/uapi/linux/seccomp.h).
const (
	RetKillProcess uint32 = 0x80000000
	RetKillThread  uint32 = 0x00000000
	RetTrap        uint32 = 0x00030000
	RetErrno       uint32 = 0x00050000
	RetUserNotif   uint32 = 0x7fc00000
	RetTrace       uint32 = 0x7ff00000
	RetLog         uint32 = 0x7ffc0000
	RetAllow       uint32 = 0x7fff0000
	RetActionFull  uint32 = 0xffff0000
	RetData        uint32 = 0x0000ffff
)

// Action is a verdict: a kind and, for Errno, Trap and Trace, a 16-bit value
// (the errno, or data for the signal handler or tracer).
type Action struct {
	Kind  ActionKind
	Value uint16
}

// Ret is the 32-bit value a seccomp filter returns for a.
func (a Action) Ret() uint32 {
	switch a.Kind {
	case KillProcess:
		return RetKillProcess
	case KillThread:
		return RetKillThread
	case Trap:
		return RetTrap | uint32(a.Value)
	case Errno:
		return RetErrno | uint32(a.Value)
	case Notify:
		return RetUserNotif
	case Trace:
		return RetTrace | uint32(a.Value)
	case Log:
		return RetLog
	default:
		return RetAllow
	}
}

// ActionFromRet is the inverse of [Action.Ret]. Unknown action values are
// treated by the kernel as KillProcess, and so here.
func ActionFromRet(r uint32) Action {
	v := uint16(r & RetData)
	switch r & RetActionFull {
	case RetKillProcess:
		return Action{Kind: KillProcess}
	case RetKillThread:
		return Action{Kind: KillThread}
	case RetTrap:
		return Action{Kind: Trap, Value: v}
	case RetErrno:
		return Action{Kind: Errno, Value: v}
	case RetUserNotif:
		return Action{Kind: Notify}
	case RetTrace:
		return Action{Kind: Trace, Value: v}
	case RetLog:
		return Action{Kind: Log}
	case RetAllow:
		return Action{Kind: Allow}
	}
	return Action{Kind: KillProcess}
}

var kindNames = [...]string{
	KillProcess: "kill-process",
	KillThread:  "kill-thread",
	Trap:        "trap",
	Errno:       "errno",
	Notify:      "notify",
	Trace:       "trace",
	Log:         "log",
	Allow:       "allow",
}

func (k ActionKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("action(%d)", k)
}

// ParseActionKind maps a policy keyword ("allow", "kill-process", ...) to its kind.
func ParseActionKind(s string) (ActionKind, bool) {
	for k, n := range kindNames {
		if n == s {
			return ActionKind(k), true
		}
	}
	return 0, false
}

// String renders a in the policy syntax: "allow", "errno EPERM", "trace 7".
func (a Action) String() string {
	switch a.Kind {
	case Errno:
		if n := syscalls.ErrnoName(int(a.Value)); n != "" {
			return "errno " + n
		}
		return fmt.Sprintf("errno %d", a.Value)
	case Trap, Trace:
		if a.Value != 0 {
			return fmt.Sprintf("%s %d", a.Kind, a.Value)
		}
	}
	return a.Kind.String()
}

// Op is a comparison operator on a 64-bit argument.
type Op uint8

// The operators. All compare unsigned 64-bit values.
const (
	Eq       Op = iota // arg == Value
	Ne                 // arg != Value
	Lt                 // arg <  Value
	Le                 // arg <= Value
	Gt                 // arg >  Value
	Ge                 // arg >= Value
	MaskedEq           // arg & Mask == Value
)

var opNames = [...]string{Eq: "==", Ne: "!=", Lt: "<", Le: "<=", Gt: ">", Ge: ">=", MaskedEq: "&=="}

func (o Op) String() string { return opNames[o] }

// Negate returns the operator whose result is the opposite of o's, and
// false for MaskedEq, which has none among the operators.
func (o Op) Negate() (Op, bool) {
	switch o {
	case Eq:
		return Ne, true
	case Ne:
		return Eq, true
	case Lt:
		return Ge, true
	case Ge:
		return Lt, true
	case Le:
		return Gt, true
	case Gt:
		return Le, true
	}
	return o, false
}

// Cmp is one comparison of a syscall argument with a constant.
type Cmp struct {
	Arg   int // 0..5
	Op    Op
	Mask  uint64 // only for MaskedEq
	Value uint64
}

// Eval applies the comparison to an argument vector.
func (c Cmp) Eval(args [6]uint64) bool {
	a := args[c.Arg]
	switch c.Op {
	case Eq:
		return a == c.Value
	case Ne:
		return a != c.Value
	case Lt:
		return a < c.Value
	case Le:
		return a <= c.Value
	case Gt:
		return a > c.Value
	case Ge:
		return a >= c.Value
	case MaskedEq:
		return a&c.Mask == c.Value
	}
	panic("policy: invalid operator")
}

func (c Cmp) String() string {
	if c.Op == MaskedEq {
		return fmt.Sprintf("arg%d & %#x == %#x", c.Arg, c.Mask, c.Value)
	}
	return fmt.Sprintf("arg%d %s %#x", c.Arg, c.Op, c.Value)
}

// ExprKind tells what an [Expr] node is.
type ExprKind uint8

const (
	ExprCmp ExprKind = iota // a comparison
	ExprAnd                 // all of Subs
	ExprOr                  // any of Subs
	ExprNot                 // not Subs[0]
)

// Expr is a condition on the arguments: a comparison, or a conjunction or
// disjunction of sub-conditions (each with at least two members), or the
// negation of one.
//
// The parser pushes negation down to the comparisons (De Morgan, and
// [Op.Negate]), so in a parsed policy ExprNot only ever wraps a single
// MaskedEq comparison: "arg & M != V", which has no operator of its own.
type Expr struct {
	Kind ExprKind
	Cmp  Cmp     // ExprCmp
	Subs []*Expr // ExprAnd, ExprOr; ExprNot: exactly one
}

// Eval evaluates e on an argument vector. A nil Expr is true.
func (e *Expr) Eval(args [6]uint64) bool {
	if e == nil {
		return true
	}
	switch e.Kind {
	case ExprCmp:
		return e.Cmp.Eval(args)
	case ExprAnd:
		for _, s := range e.Subs {
			if !s.Eval(args) {
				return false
			}
		}
		return true
	case ExprNot:
		return !e.Subs[0].Eval(args)
	default:
		for _, s := range e.Subs {
			if s.Eval(args) {
				return true
			}
		}
		return false
	}
}

func (e *Expr) String() string {
	if e == nil {
		return "true"
	}
	switch e.Kind {
	case ExprCmp:
		return e.Cmp.String()
	case ExprNot:
		if s := e.Subs[0]; s.Kind == ExprCmp && s.Cmp.Op == MaskedEq {
			return fmt.Sprintf("arg%d & %#x != %#x", s.Cmp.Arg, s.Cmp.Mask, s.Cmp.Value)
		}
		return "!(" + e.Subs[0].String() + ")"
	case ExprAnd, ExprOr:
		sep := " && "
		if e.Kind == ExprOr {
			sep = " || "
		}
		parts := make([]string, len(e.Subs))
		for i, s := range e.Subs {
			parts[i] = s.String()
			if s.Kind == ExprAnd || s.Kind == ExprOr {
				parts[i] = "(" + parts[i] + ")"
			}
		}
		return strings.Join(parts, sep)
	}
	return "?"
}

// Pos is a place in a policy file. Line and Col count from 1; zero means unknown.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string {
	s := p.File
	if s == "" {
		s = "<policy>"
	}
	if p.Line > 0 {
		s += fmt.Sprintf(":%d", p.Line)
		if p.Col > 0 {
			s += fmt.Sprintf(":%d", p.Col)
		}
	}
	return s
}

// Rule gives Action to the syscalls it names when its condition holds.
type Rule struct {
	Action   Action
	Syscalls []string // syscall names, classes already expanded, no duplicates
	When     *Expr    // nil: unconditional
	Pos      Pos      // where the rule starts
	Comment  string   // optional reason given in the policy
	Handler  *Handler // notify rules only: the supervisor's handler; nil means audit as a line
	// From limits the rule to syscalls issued from the code it selects
	// (by instruction pointer); nil: from anywhere. See [Policy.DecideAt].
	From *region.Selector
}

// Unconditional reports whether the rule applies to every call of its
// syscalls: no argument condition and no region condition.
func (r *Rule) Unconditional() bool { return r.When == nil && r.From == nil }

// HasFrom reports whether any rule has a from: condition: such a policy
// is decided with [Policy.DecideAt] and run by injection at the target's
// entry point.
func (p *Policy) HasFrom() bool {
	for i := range p.Rules {
		if p.Rules[i].From != nil {
			return true
		}
	}
	return false
}

// Policy is a validated, resolved policy: the model that the compiler
// compiles and that [Policy.Decide] interprets.
//
// Semantics: a syscall on an arch the policy does not name gets BadArch.
// Otherwise the first rule (in order) that names the syscall and whose
// condition holds decides; if none does, Default decides.
type Policy struct {
	Default Action
	BadArch Action           // for arches not in Arches; KillProcess unless said otherwise
	Arches  []*syscalls.Arch // the syscall surfaces allowed (e.g. x86_64, i386)
	Rules   []Rule           // in order of precedence
	Seal    []string         // things to seal at start ("system-mappings")
	File    string           // where the policy came from, for messages

	index map[string][]int // syscall name -> indexes of rules naming it
}

// RulesFor returns the indexes of the rules that name syscall, in order.
func (p *Policy) RulesFor(name string) []int {
	if p.index == nil {
		p.BuildIndex()
	}
	return p.index[name]
}

// BuildIndex (re)builds the name index; call it after changing Rules.
func (p *Policy) BuildIndex() {
	p.index = make(map[string][]int)
	for i, r := range p.Rules {
		for _, s := range r.Syscalls {
			p.index[s] = append(p.index[s], i)
		}
	}
}

// X32Bit is __X32_SYSCALL_BIT: x32 syscalls arrive with AUDIT_ARCH_X86_64
// and this bit set in the number.
const X32Bit = 0x40000000

// Surface finds the ABI whose syscalls a seccomp_data with this audit arch
// and number belongs to, and whether the policy allows that ABI. On
// x86_64, numbers at or above the x32 bit (except -1, the number a tracer
// writes to skip a call) are the x32 surface, allowed or not on its own.
func (p *Policy) Surface(audit, nr uint32) (*syscalls.Arch, bool) {
	var found *syscalls.Arch
	for _, a := range syscalls.Arches() {
		if a.Audit != audit {
			continue
		}
		x32 := nr >= X32Bit && nr != 0xffffffff
		if a.Audit == syscalls.X86_64.Audit && (a == syscalls.X32) != x32 {
			continue
		}
		found = a
		break
	}
	if found == nil {
		return nil, false
	}
	for _, a := range p.Arches {
		if a == found {
			return found, true
		}
	}
	return found, false
}

// Decide is the oracle: the verdict the policy gives a syscall, and the
// index of the rule that gave it (-1 for the default or bad-arch verdict).
// It knows nothing of where the call came from: rules with a from:
// condition do not apply. Use [Policy.DecideAt] for policies that have
// them.
func (p *Policy) Decide(audit, nr uint32, args [6]uint64) (Action, int) {
	return p.decide(audit, nr, args, func(r *Rule) bool { return r.From == nil })
}

// DecideAt is the oracle for a syscall issued at instruction pointer ip
// (as the kernel reports it: the address after the syscall instruction)
// in a process whose memory map is regions. A rule with from: applies
// when its selector matches the mapping that holds the instruction;
// an ip in no executable mapping is judged as anonymous code
// ([region.Selector.MatchIP]).
func (p *Policy) DecideAt(audit, nr uint32, args [6]uint64, ip uint64, regions *region.Map) (Action, int) {
	return p.decide(audit, nr, args, func(r *Rule) bool { return r.From == nil || r.From.MatchIP(regions, ip) })
}

func (p *Policy) decide(audit, nr uint32, args [6]uint64, from func(*Rule) bool) (Action, int) {
	arch, ok := p.Surface(audit, nr)
	if !ok {
		return p.BadArch, -1
	}
	name, ok := arch.SyscallName(nr)
	if !ok {
		return p.Default, -1
	}
	for _, i := range p.RulesFor(name) {
		if r := &p.Rules[i]; from(r) && r.When.Eval(args) {
			return r.Action, i
		}
	}
	return p.Default, -1
}
