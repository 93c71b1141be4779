package runner

// Syscall User Dispatch (PR_SET_SYSCALL_USER_DISPATCH, Linux 5.11) as the
// mechanism of a memory-area policy, where it fits: the code the policy
// lets call is one contiguous range, and every call from anywhere else is
// trapped. The kernel checks the range at syscall entry, before seccomp,
// so calls from the range pay no filter that reads the instruction
// pointer: the filter installed beside it decides them as the policy does
// from inside the range, without from: conditions, so the kernel can cache
// its verdicts.
//
// Three properties of Syscall User Dispatch shape the mode:
//   - the kernel clears it on fork, clone and exec (measured on 6.18: a
//     new thread's calls from outside the range are not dispatched), so
//     sysgate stays the target's tracer (fork, clone and exec events, no
//     syscall stops) and sets it on every new task before it runs, and
//     plans again at the entry point of every program executed;
//   - it can only trap: a dispatched call is not made and the thread gets
//     SIGSYS with si_code SYS_USER_DISPATCH (2), not SYS_SECCOMP (1);
//   - it is a range, not a list of mappings: code later mapped inside
//     the range (over the program's own text, with MAP_FIXED) is not
//     dispatched.
// It is not a security boundary on its own (the target can turn it off
// with prctl); the seccomp filter beside it is.

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/ptrace"
	"github.com/sysgate/sysgate/region"
	"github.com/sysgate/sysgate/syscalls"
)

// prSetSyscallUserDispatch and prSysDispatchOn are from
// include/uapi/linux/prctl.h.
const (
	prSetSyscallUserDispatch = 59
	prSysDispatchOn          = 1
)

// sudPlan is how a memory-area policy runs under Syscall User Dispatch on
// one memory map: calls from [Lo, Hi) go on to the filter compiled from
// Inside; every other call is trapped.
type sudPlan struct {
	Lo, Hi uint64
	// Inside is the policy as it decides calls from the range: the rules
	// whose from: selects the range's code, without their from:.
	Inside *policy.Policy
	// Kept are the indexes in the original policy of Inside's rules.
	Kept []int
}

// trappedFrom says whether the policy traps every call from code in m,
// whatever the syscall and its arguments: for every syscall of arch, the
// first rule that applies to a call from m must be an unconditional trap
// (or, with none, the default must be trap). When not, it names a syscall
// and what it gets. Calls no syscall of arch names (numbers no table has,
// other ABIs) are trapped by the dispatch too, whatever the policy's
// default or bad-arch verdict: the call is not made either way, but a
// kill verdict becomes a SIGSYS the program may handle.
func trappedFrom(p *policy.Policy, arch *syscalls.Arch, m region.Mapping, exe string) (bool, string) {
	for _, sc := range arch.Syscalls() {
		a, cond := p.Default, false
		for _, i := range p.RulesFor(sc.Name) {
			r := &p.Rules[i]
			if r.From != nil && !r.From.Match(m, exe) {
				continue
			}
			a, cond = r.Action, r.When != nil
			break
		}
		if a.Kind != policy.Trap || cond {
			what := a.String()
			if cond {
				what = "a verdict that depends on its arguments"
			}
			return false, fmt.Sprintf("%s gets %s", sc.Name, what)
		}
	}
	return true, ""
}

// planSUD works out whether the policy fits Syscall User Dispatch on the
// memory map, and how.
func planSUD(p *policy.Policy, arch *syscalls.Arch, mp *region.Map) (*sudPlan, error) {
	var inside []region.Mapping
	for _, m := range mp.Executable() {
		if m.Path == "[vsyscall]" {
			continue // emulated by the kernel, never a syscall instruction
		}
		if ok, _ := trappedFrom(p, arch, m, mp.Exe); !ok {
			inside = append(inside, m)
		}
	}
	// Code that appears later lies outside the range: the policy must trap
	// anonymous code too.
	anon := region.Mapping{Perms: "r-xp"}
	if ok, w := trappedFrom(p, arch, anon, mp.Exe); !ok {
		return nil, fmt.Errorf("Syscall User Dispatch can only trap calls from outside one range, but the policy does not trap every call from anonymous memory (code made later): %s", w)
	}
	if len(inside) == 0 {
		return nil, fmt.Errorf("the policy traps every call from every mapping: no range to let through")
	}
	plan := &sudPlan{Lo: inside[0].Start, Hi: inside[len(inside)-1].End}
	// The range must hold only code the policy lets call, and no hole a
	// later mapping could fill.
	next := plan.Lo
	for _, m := range mp.Mappings {
		if m.End <= plan.Lo || m.Start >= plan.Hi {
			continue
		}
		if m.Start != next {
			return nil, fmt.Errorf("Syscall User Dispatch allows one contiguous range; the code the policy lets call (%s) spans %#x-%#x, which has a hole at %#x-%#x that later code could fill", names(mp, inside), plan.Lo, plan.Hi, next, m.Start)
		}
		next = m.End
		if m.Exec() && !slices.Contains(inside, m) {
			return nil, fmt.Errorf("Syscall User Dispatch allows one contiguous range; the code the policy lets call (%s) spans %#x-%#x, which holds %s, whose calls it traps", names(mp, inside), plan.Lo, plan.Hi, mp.Name(m))
		}
	}
	// The filter decides the calls from the range, all of them alike.
	for i := range p.Rules {
		r := &p.Rules[i]
		if r.From == nil {
			plan.Kept = append(plan.Kept, i)
			continue
		}
		match := r.From.Match(inside[0], mp.Exe)
		for _, m := range inside[1:] {
			if r.From.Match(m, mp.Exe) != match {
				return nil, fmt.Errorf("the rule at %v tells %s from %s, which share the Syscall User Dispatch range: one filter decides the calls from the range", r.Pos, mp.Name(inside[0]), mp.Name(m))
			}
		}
		if match {
			plan.Kept = append(plan.Kept, i)
		}
	}
	q := *p
	q.Rules = make([]policy.Rule, len(plan.Kept))
	for j, i := range plan.Kept {
		q.Rules[j] = p.Rules[i]
		q.Rules[j].From = nil
	}
	q.BuildIndex()
	plan.Inside = &q
	return plan, nil
}

func names(mp *region.Map, ms []region.Mapping) string {
	var s []string
	for _, m := range ms {
		if n := mp.Name(m); !slices.Contains(s, n) {
			s = append(s, n)
		}
	}
	return strings.Join(s, ", ")
}

// enableSUD makes the stopped tracee tid turn Syscall User Dispatch on
// for itself with the plan's range and no selector. It must be the last
// call injected before the tracee runs: the injection's own syscall
// instruction (in the vDSO) lies outside the range.
func enableSUD(tid int, plan *sudPlan) error {
	_, err := injectOK(tid, "prctl(PR_SET_SYSCALL_USER_DISPATCH)", unix.SYS_PRCTL, prSetSyscallUserDispatch, prSysDispatchOn, plan.Lo, plan.Hi-plan.Lo, 0)
	return err
}

// sudFollower gives Syscall User Dispatch to every task of the target as
// it appears (ptrace.Follow's hooks, on the tracer thread).
type sudFollower struct {
	p      *policy.Policy
	arch   *syscalls.Arch
	first  *sudPlan
	plans  map[int]*sudPlan // by thread group
	report io.Writer
}

// newTask gives a new thread its process's range, and a new process its
// parent's (fork copies the memory map).
func (f *sudFollower) newTask(tid int) error {
	tgid := ptrace.TgidOf(tid)
	plan, ok := f.plans[tgid]
	if !ok && tgid == tid {
		// A new process: fork copied (or vfork shares) its parent's map.
		plan = f.plans[statusField(tgid, "PPid:")]
		f.plans[tgid] = plan
	}
	if plan == nil {
		// A thread of a program not planned yet (made by its loader,
		// before the entry point), or a parent unknown: fail closed.
		err := fmt.Errorf("no Syscall User Dispatch range known for its process")
		fmt.Fprintf(f.report, "sysgate: killed pid %d: %v\n", tid, err)
		return err
	}
	if err := enableSUD(tid, plan); err != nil {
		fmt.Fprintf(f.report, "sysgate: killed pid %d: %v\n", tid, err)
		return err
	}
	return nil
}

// exec plans again at the entry point of the program tid executed: the
// kernel cleared the dispatch, and the filter, which stays, was compiled
// for the first program's range, so the new one must be decided the same
// way from its own.
func (f *sudFollower) exec(tid int) error {
	// The old program's range means nothing in the new one.
	delete(f.plans, tid)
	mp, err := runToEntry(tid)
	if err == nil {
		var plan *sudPlan
		if plan, err = planSUD(f.p, f.arch, mp); err == nil {
			if !slices.Equal(plan.Kept, f.first.Kept) {
				err = fmt.Errorf("its range (%s) is decided by other rules than the first program's, whose filter stays", names(mp, mp.Executable()))
			} else if err = enableSUD(tid, plan); err == nil {
				f.plans[tid] = plan
				return nil
			}
		}
	}
	fmt.Fprintf(f.report, "sysgate: killed pid %d after exec: --sud: %v\n", tid, err)
	return err
}
