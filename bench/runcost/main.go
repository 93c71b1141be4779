// Command runcost measures what "sysgate run" costs a program, in one run
// so that the machine's noise hits both sides alike: a syscall-heavy
// workload bare and under the default policy, alternating, several
// rounds; and the start-up cost of "sysgate run -- true" over a bare
// "true".
//
//	go build -o /tmp/sysgate ./cmd/sysgate && go run ./bench/runcost -sysgate /tmp/sysgate
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
	rounds := flag.Int("rounds", 7, "rounds of the workload, each bare and under sysgate")
	starts := flag.Int("starts", 200, "starts of `true`, each bare and under sysgate")
	workload := flag.String("workload", "find /usr/lib /usr/share", "the syscall-heavy command")
	flag.Parse()

	argv := strings.Fields(*workload)
	var bare, gated []time.Duration
	for i := 0; i < *rounds; i++ {
		// Alternate which goes first so neither always gets a warm cache.
		gatedArgv := append([]string{*sysgate, "run", "--"}, argv...)
		var a, b time.Duration
		if i%2 == 0 {
			a, b = run(argv), run(gatedArgv)
		} else {
			b, a = run(gatedArgv), run(argv)
		}
		bare, gated = append(bare, a), append(gated, b)
	}
	// Two reference points for the start-up: the start of an empty Go
	// program (what any Go tool pays) and sysgate's own start doing
	// nothing ("sysgate help").
	empty, cleanup := buildEmpty()
	defer cleanup()
	var sb, sg, se, sh []time.Duration
	for i := 0; i < *starts; i++ {
		sb = append(sb, run([]string{"true"}))
		sg = append(sg, run([]string{*sysgate, "run", "--", "true"}))
		se = append(se, run([]string{empty}))
		sh = append(sh, run([]string{*sysgate, "help"}))
	}
	mb, mg := median(bare), median(gated)
	fmt.Printf("workload %q, %d rounds (median):\n", *workload, *rounds)
	fmt.Printf("  bare            %8.3f s\n", mb.Seconds())
	fmt.Printf("  sysgate run     %8.3f s\n", mg.Seconds())
	fmt.Printf("  ratio           %8.3f\n", mg.Seconds()/mb.Seconds())
	ms, mgs := median(sb), median(sg)
	fmt.Printf("start-up, `true`, %d starts (median):\n", *starts)
	fmt.Printf("  bare            %8.2f ms\n", ms.Seconds()*1000)
	fmt.Printf("  sysgate run     %8.2f ms\n", mgs.Seconds()*1000)
	fmt.Printf("  added           %8.2f ms\n", (mgs-ms).Seconds()*1000)
	fmt.Printf("reference starts (median):\n")
	fmt.Printf("  empty Go program %7.2f ms (+%.2f ms over true)\n", median(se).Seconds()*1000, (median(se)-ms).Seconds()*1000)
	fmt.Printf("  sysgate help     %7.2f ms (+%.2f ms over true)\n", median(sh).Seconds()*1000, (median(sh)-ms).Seconds()*1000)
}

// buildEmpty builds a Go program whose main does nothing, with the Go
// toolchain that runs this benchmark.
func buildEmpty() (path string, cleanup func()) {
	dir, err := os.MkdirTemp("", "runcost")
	if err != nil {
		fmt.Fprintf(os.Stderr, "runcost: %v\n", err)
		os.Exit(1)
	}
	cleanup = func() { os.RemoveAll(dir) }
	src := filepath.Join(dir, "main.go")
	path = filepath.Join(dir, "empty")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		cleanup()
		fmt.Fprintf(os.Stderr, "runcost: %v\n", err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", path, src)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		cleanup()
		fmt.Fprintf(os.Stderr, "runcost: build the empty program: %v\n", err)
		os.Exit(1)
	}
	return path, cleanup
}

func run(argv []string) time.Duration {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "runcost: %v: %v\n", argv, err)
		os.Exit(1)
	}
	return time.Since(start)
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
