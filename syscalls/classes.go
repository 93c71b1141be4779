package syscalls

import (
	"sort"
	"strings"
)

// Class returns the members of a syscall class as strace names it, sorted:
// "%file" or "file", "%network" (or "%net"), "%process", "%signal", "%ipc",
// "%desc", "%memory", "%creds", "%clock", "%pure", "%stat", "%lstat",
// "%fstat", "%%stat", "%statfs", "%fstatfs", "%%statfs". A syscall belongs to
// a class when strace's table of any ABI gives it the class's flag, so a
// member need not exist on every ABI. The slice is a copy.
func Class(name string) ([]string, bool) {
	name = strings.TrimPrefix(name, "%")
	for _, c := range classTable {
		if c.name == name {
			return append([]string(nil), c.members...), true
		}
	}
	return nil, false
}

// class is a row of classTable (zclasses.go).
type class struct {
	name    string
	members []string
}

// Classes returns the class names with their leading '%', sorted.
func Classes() []string {
	out := make([]string, 0, len(classTable))
	for _, c := range classTable {
		out = append(out, "%"+c.name)
	}
	sort.Strings(out)
	return out
}
