package inspect_test

import (
	"fmt"
	"strings"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/inspect"
	"github.com/sysgate/sysgate/syscalls"
)

// Summarize reads a filter back as a policy, for every ABI it may meet.
func ExampleSummarize() {
	prog, err := bpf.Assemble(`
		ld [4]                      ; arch
		jeq #0xc000003e, x86_64, kill
	x86_64:
		ld [0]                      ; nr
		jge #0x40000000, kill
		jeq #165, eperm             ; mount
		jeq #56, clone              ; clone
		ret #0x7fff0000
	clone:
		ld [16]                     ; arg0 low: flags
		jset #0x10000000, eperm     ; CLONE_NEWUSER
		ret #0x7fff0000
	eperm:
		ret #0x50001
	kill:
		ret #0x80000000
	`)
	if err != nil {
		fmt.Println(err)
		return
	}
	x86, _ := syscalls.ArchByName("x86_64")
	sums, err := inspect.Summarize([][]bpf.Instruction{prog}, x86)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range sums {
		if s.All != "" {
			fmt.Printf("%s: %s\n", s.Arch, s.All)
			continue
		}
		for _, g := range s.Groups {
			names := strings.Join(g.Syscalls, " ")
			if len(g.Syscalls) > 3 {
				names = strings.Join(g.Syscalls[:3], " ") + " ..."
			}
			fmt.Printf("%s: %s %v cacheable=%v: %s\n", s.Arch, g.Action, g.Seen, g.Cacheable, names)
		}
		fmt.Printf("%s: unknown numbers: %s\n", s.Arch, s.Unknown)
	}
	// Output:
	// x86_64: allow [] cacheable=true: read write open ...
	// x86_64: errno EPERM [] cacheable=false: mount
	// x86_64: depends on arguments [allow errno EPERM] cacheable=false: clone
	// x86_64: unknown numbers: allow
	// i386: kill-process
	// x32: kill-process
	// other: kill-process
}
