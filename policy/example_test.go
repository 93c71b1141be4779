package policy_test

import (
	"fmt"
	"log"

	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/syscalls"
)

func ExampleParse() {
	src := `
default: errno EPERM
arches: [x86_64]
rules:
  - allow: [read, write, exit_group]
  - errno: EACCES
    syscalls: openat
    when: arg2 & O_ACCMODE != O_RDONLY
    comment: read-only
  - allow: openat
`
	p, warnings, err := policy.Parse([]byte(src), "example.yaml", policy.Options{Arch: syscalls.X86_64})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(warnings), "warnings")

	amd64 := syscalls.X86_64
	openat, _ := amd64.Lookup("openat")
	getpid, _ := amd64.Lookup("getpid")
	for _, c := range []struct {
		what  string
		audit uint32
		nr    uint32
		args  [6]uint64
	}{
		{"openat O_RDONLY", amd64.Audit, openat, [6]uint64{0, 0, 0}},
		{"openat O_WRONLY", amd64.Audit, openat, [6]uint64{0, 0, 1}},
		{"getpid", amd64.Audit, getpid, [6]uint64{}},
		{"i386 read", syscalls.I386.Audit, 3, [6]uint64{}},
	} {
		verdict, rule := p.Decide(c.audit, c.nr, c.args)
		fmt.Printf("%-16s %-13s rule %d\n", c.what, verdict, rule)
	}
	// Output:
	// 0 warnings
	// openat O_RDONLY  allow         rule 2
	// openat O_WRONLY  errno EACCES  rule 1
	// getpid           errno EPERM   rule -1
	// i386 read        kill-process  rule -1
}

func ExamplePolicy_Format() {
	src := `default: kill-process
rules:
  - allow: [read, write]
  - errno: EPERM
    syscalls: [openat]
    when: "!(arg2 & O_ACCMODE == O_RDONLY) && arg3 < 0o1000"
`
	p, _, err := policy.Parse([]byte(src), "p.yaml", policy.Options{Arch: syscalls.X86_64})
	if err != nil {
		log.Fatal(err)
	}
	out, err := p.Format()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output:
	// default: kill-process
	// arches: [x86_64]
	// rules:
	//   - allow: [read, write]
	//   - errno: EPERM
	//     syscalls: [openat]
	//     when: arg2 & 0x3 != 0x0 && arg3 < 0x200
}

func ExampleError() {
	src := "default: allow\nrules:\n  - allow: read\n    when: arg2 & O_ACCMODE == O_RDONY\n"
	_, _, err := policy.Parse([]byte(src), "p.yaml", policy.Options{Arch: syscalls.X86_64})
	fmt.Println(err)
	// Output:
	// p.yaml:4:31: unknown constant "O_RDONY" for x86_64
}
