package bpf

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

var dotFilter = `
	ld [4]
	jeq #0xc000003e, 0, kill
	ld [0]
	jeq #1, args, 0
	jeq #60, allow, deny
args:	ld [16]
	jeq #2, allow, deny
	ld [8]
	ret a
allow:	ret #0x7fff0000
deny:	ret #0x50001
kill:	ret #0x80000000`

func TestDotStructure(t *testing.T) {
	prog := mustAsm(t, dotFilter)
	out := Dot(prog, DotOptions{Order: le, Label: func(pc int, ins Instruction) string {
		if pc == 10 {
			return `say "deny"`
		}
		return ""
	}})
	for pc, ins := range prog {
		node := "\tn" + itoa(pc) + " ["
		if !strings.Contains(out, node) {
			t.Errorf("no node for pc %d:\n%s", pc, out)
		}
		if !strings.Contains(out, dotEscape(itoa(pc)+": "+ins.format(pc, len(prog)))) {
			t.Errorf("instruction %d (%s) not shown", pc, ins)
		}
	}
	for _, want := range []string{
		"n1 -> n2 [label=\"true\"", "n1 -> n11 [label=\"false\"", "n4 -> n9 [label=\"true\"",
		"n8 [label=", "shape=ellipse", "style=dotted", // pc 7 and 8 are unreachable
		`say \"deny\"`, "arg0 low", "nr",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "invalid") {
		t.Errorf("a valid program got an invalid node:\n%s", out)
	}
	if got := strings.Count(out, " -> "); got != 12 {
		t.Errorf("%d edges, want 12:\n%s", got, out)
	}

	blocks := Dot(prog, DotOptions{BasicBlocks: true})
	// Blocks start at 0, 2, 4, 5, 7, 9, 10, 11.
	if got := strings.Count(blocks, "label=\"") - strings.Count(blocks, "label=\"true\"") - strings.Count(blocks, "label=\"false\""); got != 8 {
		t.Errorf("%d blocks, want 8:\n%s", got, blocks)
	}
	if !strings.Contains(blocks, `n5 [label="5: ld [16]\l6: jeq #0x2, L9, L10\l"`) {
		t.Errorf("block at 5 not merged:\n%s", blocks)
	}
}

func TestDotInvalid(t *testing.T) {
	out := Dot([]Instruction{JumpIf(JumpJEQ, 0, 5, 0), LoadAbs(0)}, DotOptions{Name: `my "graph"`})
	for _, want := range []string{`digraph "my \"graph\""`, "n0 -> invalid", "n1 -> invalid", "invalid [label="} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

func TestDotCoverage(t *testing.T) {
	prog := mustAsm(t, dotFilter)
	hits := make([]uint32, len(prog))
	for _, nr := range []uint32{1, 60} {
		if _, err := RunSeccompCover(prog, SeccompData{Arch: auditArchX86_64, Nr: nr}, le, hits); err != nil {
			t.Fatal(err)
		}
	}
	out := Dot(prog, DotOptions{Hits: hits})
	if !strings.Contains(out, `0: ld [4]  [2]`) || !strings.Contains(out, "fillcolor=lightgrey") {
		t.Errorf("coverage not shown:\n%s", out)
	}
}

// The output must be accepted by Graphviz itself.
func TestDotParses(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz dot not installed (apt-get install graphviz); structural tests still ran")
	}
	prog := mustAsm(t, dotFilter)
	for _, opts := range []DotOptions{{}, {BasicBlocks: true, Order: le}, {Name: "x\\y\"z"}} {
		for _, p := range [][]Instruction{prog, {JumpIf(JumpJEQ, 0, 5, 0), LoadAbs(0)}} {
			cmd := exec.Command(dot, "-Tsvg")
			cmd.Stdin = strings.NewReader(Dot(p, opts))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil || stderr.Len() > 0 {
				t.Errorf("dot rejected the graph: %v %s\n%s", err, stderr.String(), Dot(p, opts))
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
