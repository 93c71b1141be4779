package runner

import (
	"errors"
	"hash/fnv"
	"slices"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policies"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/syscalls"
)

//go:generate go run ../internal/gen/builtin -out zbuiltin_linux.go

// builtin is the built-in default policy compiled ahead of time for one
// arch (zbuiltin_linux.go).
type builtin struct {
	arch string
	log  bool
	prog []bpf.Instruction
}

// ParseDefault parses the built-in default policy (policies.Default) for
// arch's family, named "default" in positions.
func ParseDefault(arch *syscalls.Arch) (*policy.Policy, error) {
	p, _, err := policy.Parse(policies.Default, "default", policy.Options{Arch: arch.Family()})
	return p, err
}

// CheckBuiltin says whether a policy can be run from a program compiled
// ahead of time, with the policy itself parsed only when a notification
// needs it: nothing of it may be needed before the target starts but its
// program (no from: rules, no notify handlers, no sealing).
func CheckBuiltin(p *policy.Policy) error {
	if p.HasFrom() {
		return errors.New("the built-in policy has from: rules")
	}
	if len(p.Seal) > 0 {
		return errors.New("the built-in policy seals")
	}
	for _, r := range p.Rules {
		if r.Action.Kind == policy.Notify {
			return errors.New("the built-in policy has notify rules")
		}
	}
	return nil
}

// builtinProgram returns the program [Prepare] builds from the built-in
// default policy for arch (with log), compiled by go generate, or nil when
// there is none for arch or the embedded policy is not the one it was
// compiled from (default.yaml edited without go generate): then the
// caller compiles.
func builtinProgram(arch *syscalls.Arch, log bool) []bpf.Instruction {
	if policyHash(policies.Default) != builtinHash {
		return nil
	}
	for _, b := range builtinPrograms {
		if b.arch == arch.Name && b.log == log {
			return slices.Clone(b.prog)
		}
	}
	return nil
}

// policyHash tells the embedded policy from the one the built-in programs
// were compiled from: FNV-1a, as it guards against a forgotten go
// generate, not an adversary (who could change the programs as well), and
// crypto/sha256 would cost sysgate's start-up its FIPS module's init.
func policyHash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}
