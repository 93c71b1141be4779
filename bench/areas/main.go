// Command areas reproduces the measurement of the memory-areas seed in one
// run: sysinfo(2) in a loop, issued from allowed code (the program's own
// text), bare, under sysgate's memory-area policy ("every syscall from
// outside the program, the system libraries and the vDSO traps",
// installed at the entry point by injection), under Syscall User
// Dispatch (allowing the program's text, set up by the program itself
// with its own SIGSYS handler), and under a plain 4-instruction filter
// that loads the instruction pointer (so the kernel cannot cache it, as
// with any filter that decides by region). Then the same program linked
// statically, whose code is one range: bare, under "sysgate run --sud"
// with "every syscall from outside the program traps" (Syscall User
// Dispatch set up by sysgate, beside a filter without from: rules), and
// under the program's own Syscall User Dispatch. Cases alternate for
// several rounds; each reports its median ns per call and overhead
// against its bare run.
//
//	go run ./bench/areas [-n 2000000] [-rounds 7]
//
// Needs gcc (to build the program), root or CAP_SYS_PTRACE, Linux 5.11.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/internal/areas"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/runner"
	"github.com/sysgate/sysgate/sandbox"
)

// seedPolicy traps every syscall from code other than the program, the
// system libraries and the vDSO: the Wine case of the seed.
const seedPolicy = `default: allow
rules:
  - trap: "%all"
    from: ["!exe", "!lib:/usr/lib/**", "!lib:/lib/**", "!vdso"]
`

// exePolicy traps every call from outside the program's own text. With
// the program linked statically (libc in its text) that is one range,
// which "sysgate run --sud" carries out with Syscall User Dispatch.
const exePolicy = `default: allow
rules:
  - trap: "%all"
    from: ["!exe"]
`

// plainFilter is the seed's minimal filter: load the low half of the
// instruction pointer, compare, return.
var plainFilter = []bpf.Instruction{
	bpf.LoadAbs(bpf.OffsetIP),
	bpf.JumpIf(bpf.JumpJGE, 1, 0, 1),
	bpf.Ret(policy.RetAllow),
	bpf.Ret(policy.RetTrap),
}

func main() {
	sandbox.RunHelper()
	n := flag.Int("n", 2000000, "sysinfo calls per measurement")
	rounds := flag.Int("rounds", 7, "rounds; each measures every case once")
	flag.Parse()
	if err := run(*n, *rounds); err != nil {
		fmt.Fprintf(os.Stderr, "areas: %v\n", err)
		os.Exit(1)
	}
}

type bench struct {
	name string
	run  func(args []string) (string, error)
	ns   []float64
}

func run(n, rounds int) error {
	dir, err := os.MkdirTemp("", "sysgate-areas-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := areas.Build(dir)
	if err != nil {
		return err
	}
	pol, _, err := policy.Parse([]byte(seedPolicy), "seed.yaml", policy.Options{})
	if err != nil {
		return err
	}
	exePol, _, err := policy.Parse([]byte(exePolicy), "exe.yaml", policy.Options{})
	if err != nil {
		return err
	}
	out := dir + "/out"
	capture := func(f func(*os.File) error) (string, error) {
		w, err := os.Create(out)
		if err != nil {
			return "", err
		}
		err = f(w)
		w.Close()
		text, _ := os.ReadFile(out)
		return string(text), err
	}
	direct := func(prog string, args []string) (string, error) {
		o, err := exec.Command(prog, args...).CombinedOutput()
		return string(o), err
	}
	gated := func(prog string, p *policy.Policy, sud bool, a []string) (string, error) {
		return capture(func(w *os.File) error {
			res, err := runner.Run(context.Background(), runner.Options{Policy: p, SUD: sud, Path: prog,
				Args: append([]string{prog, "bench"}, a...), Stdout: w, Stderr: w})
			if err == nil && res.ExitCode != 0 {
				err = fmt.Errorf("exit %d", res.ExitCode)
			}
			return err
		})
	}
	// The first four run the dynamically linked program (the seed's
	// case), the last three the static one, against its own bare run.
	cases := []*bench{
		{name: "bare", run: func(a []string) (string, error) { return direct(b.Program, append([]string{"bench"}, a...)) }},
		{name: "sysgate memory areas", run: func(a []string) (string, error) { return gated(b.Program, pol, false, a) }},
		{name: "syscall user dispatch", run: func(a []string) (string, error) { return direct(b.Program, append([]string{"bench-sud"}, a...)) }},
		{name: "plain 4-insn filter", run: func(a []string) (string, error) {
			return capture(func(w *os.File) error {
				p, err := sandbox.Start(&sandbox.Config{Path: b.Program, Args: append([]string{b.Program, "bench"}, a...),
					Stdout: w, Stderr: w, Filters: [][]bpf.Instruction{plainFilter}})
				if err != nil {
					return err
				}
				st, err := p.Wait()
				if err == nil && st.ExitCode() != 0 {
					err = fmt.Errorf("exit %d", st.ExitCode())
				}
				return err
			})
		}},
		{name: "bare, static", run: func(a []string) (string, error) { return direct(b.Static, append([]string{"bench"}, a...)) }},
		{name: "sysgate --sud, static", run: func(a []string) (string, error) { return gated(b.Static, exePol, true, a) }},
		{name: "user dispatch, static", run: func(a []string) (string, error) { return direct(b.Static, append([]string{"bench-sud"}, a...)) }},
	}
	arg := []string{strconv.Itoa(n)}
	for r := 0; r < rounds; r++ {
		for i := range cases {
			c := cases[(i+r)%len(cases)] // rotate who goes first
			text, err := c.run(arg)
			if err != nil {
				return fmt.Errorf("%s: %v\n%s", c.name, err, text)
			}
			var ns float64
			var disp int
			if _, err := fmt.Sscanf(lastLine(text), "ns/op %g dispatched %d", &ns, &disp); err != nil {
				return fmt.Errorf("%s: unexpected output %q", c.name, text)
			}
			if disp != 0 {
				return fmt.Errorf("%s: %d calls were dispatched to the SIGSYS handler: the loop is not in allowed code", c.name, disp)
			}
			c.ns = append(c.ns, ns)
		}
	}
	fmt.Printf("sysinfo(2) from allowed code, %d calls x %d rounds (median ns/call):\n", n, rounds)
	ov := func(i int) float64 {
		bare := median(cases[0].ns)
		if i >= 4 {
			bare = median(cases[4].ns)
		}
		return median(cases[i].ns) - bare
	}
	for i, c := range cases {
		m := median(c.ns)
		fmt.Printf("  %-24s %8.1f ns   overhead %+6.2f%%\n", c.name, m, 100*ov(i)/(m-ov(i)))
	}
	// Overheads near zero make ratios meaningless: the differences in ns
	// per call are printed too.
	fmt.Printf("memory areas, filter:         %+6.1f ns/call over SUD's overhead (ratio %s); %s the plain filter's\n", ov(1)-ov(2), ratio(ov(1), ov(2)), ratio(ov(1), ov(3)))
	fmt.Printf("memory areas, --sud (static): %+6.1f ns/call over SUD's overhead (ratio %s); %s the plain filter's\n", ov(5)-ov(6), ratio(ov(5), ov(6)), ratio(ov(5), ov(3)))
	return nil
}

// ratio is a/b as "1.23x", or "n/a" when b, an overhead, is not above
// zero (within the noise of a bare run).
func ratio(a, b float64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
