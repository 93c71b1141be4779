package runner

import (
	"slices"
	"testing"

	"github.com/sysgate/sysgate/policies"
	"github.com/sysgate/sysgate/syscalls"
)

// The programs built in are what Prepare compiles from the embedded
// default policy, for every arch they are built for, and there is one for
// this machine (CI also regenerates zbuiltin_linux.go and diffs it).
func TestBuiltinProgramsAreCompiledPolicy(t *testing.T) {
	if policyHash(policies.Default) != builtinHash {
		t.Fatalf("policies/default.yaml changed since zbuiltin_linux.go was generated: run go generate ./runner/")
	}
	for _, b := range builtinPrograms {
		arch, err := syscalls.ArchByName(b.arch)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseDefault(arch)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckBuiltin(p); err != nil {
			t.Fatal(err)
		}
		prog, err := Prepare(p, arch, b.log, true)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(prog.Instructions, b.prog) {
			t.Errorf("%s log=%v: the built-in program (%d instructions) is not the compiled policy (%d)", b.arch, b.log, len(b.prog), len(prog.Instructions))
		}
	}
	for _, log := range []bool{false, true} {
		if builtinProgram(syscalls.Native(), log) == nil {
			t.Errorf("no built-in program for %s (log %v)", syscalls.Native().Name, log)
		}
	}
}

// A default.yaml edited without go generate is compiled, not run from a
// stale program.
func TestBuiltinProgramStale(t *testing.T) {
	saved := policies.Default
	defer func() { policies.Default = saved }()
	policies.Default = append(slices.Clip(saved), "\n# edited\n"...)
	if builtinProgram(syscalls.Native(), false) != nil {
		t.Fatal("a program compiled from another default.yaml was returned")
	}
}
