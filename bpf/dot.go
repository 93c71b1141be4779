package bpf

import (
	"fmt"
	"strconv"
	"strings"
)

// DotOptions controls [Dot].
type DotOptions struct {
	// Name is the graph's name; "bpf" when empty.
	Name string
	// Order, when set, names the seccomp_data fields loads read, as in
	// [DisasmOptions].
	Order ByteOrder
	// Label, when set, returns extra text for the instruction at pc, shown
	// under it (a verdict name, a syscall name). "" adds nothing.
	Label func(pc int, ins Instruction) string
	// BasicBlocks draws one node per basic block (straight-line code
	// entered only at its top) instead of one per instruction.
	BasicBlocks bool
	// Hits, when it has an entry per instruction, is coverage from
	// [RunCover]: counts are shown and instructions never run are filled
	// grey.
	Hits []uint32
}

// Dot returns the control-flow graph of prog in Graphviz syntax. Edges of
// conditional jumps are labelled "true" (green) and "false" (red, dashed);
// nodes ending in ret are ellipses, others boxes; instructions no path
// reaches are drawn dotted. A jump out of the program or a fall off its
// end points at a red "invalid" node.
func Dot(prog []Instruction, opts DotOptions) string {
	name := opts.Name
	if name == "" {
		name = "bpf"
	}
	n := len(prog)
	live := Reachable(prog)
	hits := opts.Hits
	if len(hits) < n {
		hits = nil
	}

	// Block leaders: pc 0, jump targets, and what follows a jump or ret.
	leader := make([]bool, n+1)
	if n > 0 {
		leader[0] = true
	}
	for pc, ins := range prog {
		succ, _ := successors(pc, ins, n)
		if len(succ) != 1 || succ[0].to != pc+1 || ins.Class() == ClassJMP {
			leader[pc+1] = true
			for _, s := range succ {
				if s.to >= 0 && s.to < n {
					leader[s.to] = true
				}
			}
		}
	}
	if !opts.BasicBlocks {
		for i := range leader {
			leader[i] = true
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotID(name))
	b.WriteString("\tnode [shape=box, fontname=\"monospace\"];\n")
	invalid := false
	for start := 0; start < n; {
		end := start + 1
		for end < n && !leader[end] {
			end++
		}
		last := end - 1
		var label strings.Builder
		for pc := start; pc <= last; pc++ {
			ins := prog[pc]
			line := strconv.Itoa(pc) + ": " + ins.format(pc, n)
			if hits != nil {
				line += fmt.Sprintf("  [%d]", hits[pc])
			}
			label.WriteString(dotEscape(line) + `\l`)
			extra := ""
			if opts.Label != nil {
				extra = opts.Label(pc, ins)
			}
			if extra == "" && opts.Order != nil && ins.Op == ClassLD|SizeW|ModeABS {
				extra = FieldName(ins.K, opts.Order)
			}
			for _, l := range strings.Split(extra, "\n") {
				if l != "" {
					label.WriteString(dotEscape("    "+l) + `\l`)
				}
			}
		}
		attrs := []string{`label="` + label.String() + `"`}
		if prog[last].Class() == ClassRET {
			attrs = append(attrs, "shape=ellipse")
		}
		if !live[start] {
			attrs = append(attrs, "style=dotted")
		} else if hits != nil && hits[start] == 0 {
			attrs = append(attrs, "style=filled", "fillcolor=lightgrey")
		}
		fmt.Fprintf(&b, "\tn%d [%s];\n", start, strings.Join(attrs, ", "))

		succ, _ := successors(last, prog[last], n)
		for _, s := range succ {
			to := "invalid"
			if s.to >= 0 && s.to < n {
				to = "n" + strconv.Itoa(s.to)
			} else {
				invalid = true
			}
			var ea []string
			switch s.kind {
			case 't':
				ea = append(ea, `label="true"`, "color=darkgreen")
			case 'f':
				ea = append(ea, `label="false"`, "color=red", "style=dashed")
			}
			if len(ea) > 0 {
				fmt.Fprintf(&b, "\tn%d -> %s [%s];\n", start, to, strings.Join(ea, ", "))
			} else {
				fmt.Fprintf(&b, "\tn%d -> %s;\n", start, to)
			}
		}
		start = end
	}
	if invalid {
		b.WriteString("\tinvalid [label=\"out of program\", shape=octagon, color=red];\n")
	}
	b.WriteString("}\n")
	return b.String()
}

type edge struct {
	to   int  // target pc; >= n or < 0 when out of the program
	kind byte // 't', 'f' or 0 for unconditional
}

// successors lists where control goes after pc; ok is false for a ret.
func successors(pc int, ins Instruction, n int) ([]edge, bool) {
	clamp := func(t uint64) int {
		if t >= uint64(n) {
			return n
		}
		return int(t)
	}
	switch {
	case ins.Class() == ClassRET:
		return nil, false
	case ins.Op == ClassJMP|JumpJA:
		return []edge{{to: clamp(uint64(pc) + 1 + uint64(ins.K))}}, true
	case ins.IsConditionalJump() && info(ins.Op).known():
		return []edge{
			{to: clamp(uint64(pc) + 1 + uint64(ins.Jt)), kind: 't'},
			{to: clamp(uint64(pc) + 1 + uint64(ins.Jf)), kind: 'f'},
		}, true
	}
	return []edge{{to: pc + 1}}, true
}

func dotID(s string) string { return `"` + dotEscape(s) + `"` }

func dotEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\l`)
	return r.Replace(s)
}
