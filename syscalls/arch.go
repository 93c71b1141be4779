package syscalls

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
)

// Arch is one syscall ABI that a seccomp filter can meet: the pair
// (seccomp_data.arch, number space) it checks first.
//
// The values are shared and must not be modified.
type Arch struct {
	Name      string // canonical: "x86_64", "i386", "x32", "aarch64", "arm", "riscv64", "ppc64le", ...
	Audit     uint32 // AUDIT_ARCH_* that seccomp_data.arch holds for this ABI
	NrBase    uint32 // already added to the numbers: 0x40000000 for x32, 4000/5000/6000 for MIPS o32/n64/n32
	BigEndian bool
	Bits      int    // 32 or 64: the ABI's pointer size
	GOARCH    string // Go's name when Go has a port ("amd64", "386", "arm64", ...), else ""

	docker     string   // SCMP_ARCH_* name of libseccomp, Docker and OCI
	family     string   // Name of the native ABI a filter for this ABI runs under
	aliases    []string // other accepted names
	constArch  string   // x/sys GOARCH whose constants Const uses
	constExact bool     // constArch's constants are this ABI's own
	table      sysTable // generated, sorted by number; see table.go
}

// Syscall is one system call of an ABI.
type Syscall struct {
	Name string
	Nr   uint32 // with the ABI's NrBase
}

// ErrUnknownArch is returned, wrapped, by [ArchByName] for names it does not know.
var ErrUnknownArch = errors.New("unknown architecture")

// ByteOrder reads and appends in one byte order; binary.LittleEndian and
// binary.BigEndian satisfy it (and so does the bpf package's ByteOrder).
type ByteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// Arches returns every ABI in a stable order: x86_64, i386, x32, aarch64,
// arm, riscv64, then the rest. The slice is a copy.
func Arches() []*Arch {
	return append([]*Arch(nil), arches...)
}

// ArchByName finds an ABI by its canonical name ("x86_64"), its Docker/OCI
// name ("SCMP_ARCH_X86_64"), its GOARCH ("amd64", "arm64", "386") or a
// common alias ("x86" for i386, "arm64" for aarch64). Case does not matter.
// Unknown names give an error wrapping [ErrUnknownArch] that lists the valid
// names.
func ArchByName(name string) (*Arch, error) {
	// A search, not an index: a map built at init would cost every start
	// of sysgate, and the names are few and rarely looked up.
	lower := strings.ToLower(strings.TrimSpace(name))
	for _, a := range arches {
		if a.hasName(lower) {
			return a, nil
		}
	}
	valid := make([]string, len(arches))
	for i, a := range arches {
		valid[i] = a.Name
	}
	return nil, fmt.Errorf("%w %q (valid: %s, or their SCMP_ARCH_* and GOARCH names)", ErrUnknownArch, name, strings.Join(valid, ", "))
}

// hasName reports whether lower, a name in lower case, is one of a's names
// for [ArchByName].
func (a *Arch) hasName(lower string) bool {
	is := func(n string) bool { return n != "" && strings.ToLower(n) == lower }
	return is(a.Name) || is(a.docker) || is(a.GOARCH) || slices.ContainsFunc(a.aliases, is)
}

// Native returns the ABI this program runs as, from runtime.GOARCH, or nil
// on a GOARCH without a seccomp ABI here.
func Native() *Arch {
	for _, a := range arches {
		if a.GOARCH == runtime.GOARCH {
			return a
		}
	}
	return nil
}

// DockerName returns the libseccomp/Docker/OCI name, e.g. "SCMP_ARCH_X86_64".
func (a *Arch) DockerName() string { return a.docker }

// String returns the canonical name.
func (a *Arch) String() string { return a.Name }

// Family returns the native ABI under which a filter for a runs: a kernel
// built for the family also accepts a's syscalls (i386 and x32 on x86_64,
// arm on aarch64, s390 on s390x, ppc on ppc64, MIPS o32 and n32 on the n64
// of the same endianness, parisc on parisc64). Other ABIs are their own family.
func (a *Arch) Family() *Arch {
	for _, f := range arches {
		if f.Name == a.family {
			return f
		}
	}
	return a
}

// SubArches returns, for a native ABI, the other ABIs a filter installed on
// it may see (x86_64: i386 and x32), in the order of [Arches]. It is empty
// for ABIs that are not a family head.
func (a *Arch) SubArches() []*Arch {
	var out []*Arch
	for _, s := range arches {
		if s != a && s.family == a.Name && a.family == a.Name {
			out = append(out, s)
		}
	}
	return out
}

// ByteOrder returns the ABI's byte order, the order of seccomp_data fields.
func (a *Arch) ByteOrder() ByteOrder {
	if a.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Lookup returns the number of the named syscall on a (NrBase included),
// and false when the ABI does not have it.
//
// It is a binary search of a table sorted when it was generated: it builds
// nothing, so even the first call is cheap.
func (a *Arch) Lookup(name string) (nr uint32, ok bool) {
	return a.table.lookup(name)
}

// SyscallName returns the name of syscall number nr on a (NrBase included).
// (A method Name would clash with the field.)
func (a *Arch) SyscallName(nr uint32) (string, bool) {
	return a.table.syscallName(nr)
}

// Syscalls returns a's syscalls sorted by number. The slice is a copy.
func (a *Arch) Syscalls() []Syscall {
	return a.table.syscalls()
}

// Exists reports whether a syscall of that name exists on any ABI.
func Exists(name string) bool {
	i := sort.SearchStrings(allNames[:], name)
	return i < len(allNames) && allNames[i] == name
}

// Names returns every syscall name of every ABI, sorted. The slice is a copy.
func Names() []string {
	return append([]string(nil), allNames[:]...)
}
