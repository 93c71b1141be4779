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
	var sb, sg []time.Duration
	for i := 0; i < *starts; i++ {
		sb = append(sb, run([]string{"true"}))
		sg = append(sg, run([]string{*sysgate, "run", "--", "true"}))
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
