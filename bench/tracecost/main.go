// Command tracecost measures what "sysgate trace" costs a program against
// strace's seccomp-assisted mode, in one run so that the machine's noise
// hits every case alike. For each traced set it runs the workload,
// alternating, several rounds of:
//
//   - bare,
//   - under an allow-all seccomp filter (sysgate run with "default: allow"):
//     the floor for any seccomp-assisted tracer, since every syscall then
//     takes the kernel's seccomp path,
//   - strace -f --seccomp-bpf -e trace=SET -o FILE,
//   - sysgate trace -e trace=SET -o FILE,
//
// and prints medians and ratios.
//
//	go build -o /tmp/sysgate ./cmd/sysgate && go run ./bench/tracecost -sysgate /tmp/sysgate
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	sysgate := flag.String("sysgate", "sysgate", "path to the sysgate binary")
	strace := flag.String("strace", "strace", "path to strace")
	rounds := flag.Int("rounds", 7, "rounds of each case")
	workload := flag.String("workload", "find /usr/lib /usr/share", "the syscall-heavy command")
	sets := flag.String("sets", "execve;openat,newfstatat", "traced sets, separated by ';'")
	flag.Parse()

	dir, err := os.MkdirTemp("", "tracecost")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	allow := filepath.Join(dir, "allow.yaml")
	if err := os.WriteFile(allow, []byte("default: allow\narches: [x86_64, i386, x32]\n"), 0o644); err != nil {
		fail(err)
	}
	out := filepath.Join(dir, "trace.out")
	argv := strings.Fields(*workload)
	fmt.Printf("workload %q, %d rounds each, medians:\n\n", *workload, *rounds)
	fmt.Printf("| traced set | bare | allow-all floor | strace --seccomp-bpf | sysgate trace | sysgate / floor | sysgate / strace |\n")
	fmt.Printf("|---|---|---|---|---|---|---|\n")
	for _, set := range strings.Split(*sets, ";") {
		cases := [][]string{
			argv,
			append([]string{*sysgate, "run", "--policy", allow, "--"}, argv...),
			append([]string{*strace, "-f", "--seccomp-bpf", "-e", "trace=" + set, "-o", out}, argv...),
			append([]string{*sysgate, "trace", "-e", "trace=" + set, "-o", out, "--"}, argv...),
		}
		times := make([][]time.Duration, len(cases))
		for r := 0; r < *rounds; r++ {
			for i := range cases {
				// Rotate the order so that no case always runs first.
				c := (i + r) % len(cases)
				times[c] = append(times[c], run(cases[c]))
			}
		}
		m := make([]float64, len(cases))
		for i := range m {
			m[i] = median(times[i]).Seconds()
		}
		fmt.Printf("| `%s` | %.3f s | %.3f s | %.3f s | %.3f s | %.3f | %.3f |\n", set, m[0], m[1], m[2], m[3], m[3]/m[1], m[3]/m[2])
	}
}

func run(argv []string) time.Duration {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fail(fmt.Errorf("%v: %w", argv, err))
	}
	return time.Since(start)
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "tracecost: %v\n", err)
	os.Exit(1)
}
