// Package policies holds the policies built into sysgate, embedded in the
// binary and kept here as files that can be read and copied.
package policies

import _ "embed"

// Default is the built-in default policy of "sysgate run", in the native
// YAML format: see default.yaml for what it allows and denies, and why.
//
//go:embed default.yaml
var Default []byte
