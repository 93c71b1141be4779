package policy

import (
	"errors"
	"fmt"
	"os"

	"github.com/sysgate/sysgate/syscalls"
)

// Options say how a policy file is resolved.
type Options struct {
	// Arch is the native arch the policy is resolved for: symbolic
	// constants in conditions and errno names take its values, a policy
	// without arches: allows only it, and Docker profiles pick their
	// arch-specific includes by it. nil means [syscalls.Native].
	Arch *syscalls.Arch

	// IgnoreUnknown turns unknown syscall names into Warnings (the name is
	// skipped) instead of errors. Meant for foreign profiles written for
	// other kernels; a hand-written policy should fail on a typo.
	IgnoreUnknown bool

	// Caps are the capabilities a Docker profile's includes/excludes are
	// matched against ("CAP_SYS_ADMIN"); nil means Docker's default set.
	Caps []string

	// Kernel is the kernel version a Docker profile's minKernel is
	// compared with ("6.1"); "" means the running kernel.
	Kernel string
}

// Load reads the policy file at path. A file whose first non-space byte is
// '{' is read as an OCI or Docker seccomp profile (JSON), anything else as
// the native YAML format; see [Parse].
func Load(path string, opts Options) (*Policy, []Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load policy: %w", err)
	}
	return Parse(data, path, opts)
}

// Parse parses a policy from data; file names it in messages and in
// [Policy.File]. Like [Load], it reads JSON (first non-space byte '{') as
// an OCI or Docker seccomp profile and anything else as the native YAML
// format described in the package documentation.
//
// A bad policy yields an *Error naming file:line:col. Warnings describe
// things that load but are likely mistakes, such as rules that never match.
func Parse(data []byte, file string, opts Options) (*Policy, []Warning, error) {
	if opts.Arch == nil {
		opts.Arch = syscalls.Native()
		if opts.Arch == nil {
			return nil, nil, errors.New("parse policy: no native arch known for this machine; set Options.Arch")
		}
	}
	if isJSON(data) {
		return parseOCI(data, file, opts)
	}
	return parseYAML(data, file, opts)
}

// isJSON says whether data starts, after white space, with '{'.
func isJSON(data []byte) bool {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}
