// Command runcost measures what "sysgate run" costs a program, in one run
// so that the machine's noise hits both sides alike: a syscall-heavy
// workload bare and under the default policy, alternating, several
// rounds; and the start-up cost of "sysgate run -- true" over a bare
// "true", with three reference starts: an empty Go program, the floor of a
// Go launcher (./floor: sysgate's libraries linked, the command started
// with syscall.ForkExec and waited for, nothing else) and "sysgate help".
// Run it from the repository: it builds the floor from there.
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
	// Three reference points for the start-up: the start of an empty Go
	// program (what any Go tool pays), the Go launcher floor (what any Go
	// program with sysgate's libraries pays to start a command and wait)
	// and sysgate's own start doing nothing ("sysgate help").
	empty, floor, cleanup := buildReferences()
	defer cleanup()
	startCmds := [][]string{
		{"true"},
		{*sysgate, "run", "--", "true"},
		{empty},
		{floor, "true"},
		{*sysgate, "help"},
	}
	// A few starts of each first, so that every binary is in the page
	// cache and none pays for its first read.
	for range 10 {
		for _, c := range startCmds {
			run(c)
		}
	}
	startTimes := make([][]time.Duration, len(startCmds))
	for i := 0; i < *starts; i++ {
		for k := range startCmds {
			// Alternate the order too: each start runs right after
			// a different one in every other round.
			j := k
			if i%2 == 1 {
				j = len(startCmds) - 1 - k
			}
			startTimes[j] = append(startTimes[j], run(startCmds[j]))
		}
	}
	sb, sg, se, sf, sh := startTimes[0], startTimes[1], startTimes[2], startTimes[3], startTimes[4]
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
	fmt.Printf("  Go launcher floor%7.2f ms (+%.2f ms over true)\n", median(sf).Seconds()*1000, (median(sf)-ms).Seconds()*1000)
	fmt.Printf("  sysgate help     %7.2f ms (+%.2f ms over true)\n", median(sh).Seconds()*1000, (median(sh)-ms).Seconds()*1000)
	fmt.Printf("sysgate run over the floor: +%.2f ms\n", (mgs-median(sf)).Seconds()*1000)
}

// buildReferences builds, with the Go toolchain that runs this benchmark,
// a Go program whose main does nothing and the launcher floor (./floor).
func buildReferences() (empty, floor string, cleanup func()) {
	dir, err := os.MkdirTemp("", "runcost")
	if err != nil {
		fmt.Fprintf(os.Stderr, "runcost: %v\n", err)
		os.Exit(1)
	}
	cleanup = func() { os.RemoveAll(dir) }
	fail := func(format string, args ...any) {
		cleanup()
		fmt.Fprintf(os.Stderr, "runcost: "+format+"\n", args...)
		os.Exit(1)
	}
	src := filepath.Join(dir, "main.go")
	empty = filepath.Join(dir, "empty")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		fail("%v", err)
	}
	floor = filepath.Join(dir, "floor")
	for _, b := range [][]string{
		{"go", "build", "-o", empty, src},
		{"go", "build", "-o", floor, "github.com/sysgate/sysgate/bench/runcost/floor"},
	} {
		build := exec.Command(b[0], b[1:]...)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fail("%s: %v", strings.Join(b, " "), err)
		}
	}
	return empty, floor, cleanup
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
