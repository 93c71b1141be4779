package region

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Kind is what an executable mapping is.
type Kind uint8

// The kinds of executable code. None is for mappings that are not
// executable, which no syscall can come from.
const (
	None Kind = iota
	Exe       // the main program's text
	Lib       // other file-backed code
	VDSO      // [vdso], [vsyscall]
	Anon      // anonymous executable memory
)

var kindNames = [...]string{None: "none", Exe: "exe", Lib: "lib", VDSO: "vdso", Anon: "anon"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Mapping is one line of /proc/PID/maps.
type Mapping struct {
	Start, End uint64 // [Start, End)
	Perms      string // "r-xp"
	Offset     uint64
	Dev        string // "fe:00"
	Inode      uint64
	// Path is the file name, "" for anonymous memory, or a pseudo-path
	// such as "[vdso]" or "[heap]". The kernel's " (deleted)" suffix is
	// kept; see [Mapping.File].
	Path string
}

// Exec reports whether the mapping is executable.
func (m Mapping) Exec() bool { return len(m.Perms) >= 3 && m.Perms[2] == 'x' }

// File is the path of the backing file, without the " (deleted)" suffix
// the kernel adds for a file removed since it was mapped, and "" for
// anonymous and pseudo mappings. Memory that only looks file-backed counts
// as anonymous: memfds ("/memfd:NAME (deleted)", how JITs double-map
// code), shared anonymous memory ("/dev/zero (deleted)") and System V
// shared memory ("/SYSV…").
func (m Mapping) File() string {
	if !strings.HasPrefix(m.Path, "/") {
		return ""
	}
	p := strings.TrimSuffix(m.Path, " (deleted)")
	if strings.HasPrefix(p, "/memfd:") || strings.HasPrefix(p, "/SYSV") || (p == "/dev/zero" && p != m.Path) {
		return ""
	}
	return p
}

// Kind classifies m for a process whose main program is exe (the path
// /proc/PID/exe names).
func (m Mapping) Kind(exe string) Kind {
	if !m.Exec() {
		return None
	}
	switch {
	case m.Path == "[vdso]" || m.Path == "[vsyscall]":
		return VDSO
	case m.File() != "":
		if m.File() == strings.TrimSuffix(exe, " (deleted)") {
			return Exe
		}
		return Lib
	}
	// "", [heap], [stack], anon_inode:…, memfds.
	return Anon
}

func (m Mapping) String() string {
	return fmt.Sprintf("%x-%x %s %s", m.Start, m.End, m.Perms, m.Path)
}

// ParseMaps parses the text of /proc/PID/maps. The mappings come out in
// the file's order, which the kernel keeps sorted by address.
func ParseMaps(r io.Reader) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		m, err := parseLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("maps line %d: %w", line, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read maps: %w", err)
	}
	if !sort.SliceIsSorted(out, func(i, j int) bool { return out[i].Start < out[j].Start }) {
		sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	}
	return out, nil
}

// parseLine parses "start-end perms offset dev inode   path". The path
// is everything after the inode and its padding, spaces included.
func parseLine(s string) (Mapping, error) {
	var m Mapping
	rest := s
	field := func() string {
		rest = strings.TrimLeft(rest, " ")
		i := strings.IndexByte(rest, ' ')
		if i < 0 {
			f := rest
			rest = ""
			return f
		}
		f := rest[:i]
		rest = rest[i+1:]
		return f
	}
	addr, perms, off, dev, inode := field(), field(), field(), field(), field()
	lo, hi, ok := strings.Cut(addr, "-")
	if !ok {
		return m, fmt.Errorf("address range %q: want start-end", addr)
	}
	var err error
	if m.Start, err = strconv.ParseUint(lo, 16, 64); err != nil {
		return m, fmt.Errorf("start address %q: %w", lo, err)
	}
	if m.End, err = strconv.ParseUint(hi, 16, 64); err != nil {
		return m, fmt.Errorf("end address %q: %w", hi, err)
	}
	if m.End <= m.Start {
		return m, fmt.Errorf("address range %q is empty", addr)
	}
	if len(perms) != 4 {
		return m, fmt.Errorf("permissions %q: want four letters like r-xp", perms)
	}
	m.Perms = perms
	if m.Offset, err = strconv.ParseUint(off, 16, 64); err != nil {
		return m, fmt.Errorf("offset %q: %w", off, err)
	}
	if !strings.Contains(dev, ":") {
		return m, fmt.Errorf("device %q: want major:minor", dev)
	}
	m.Dev = dev
	if m.Inode, err = strconv.ParseUint(inode, 10, 64); err != nil {
		return m, fmt.Errorf("inode %q: %w", inode, err)
	}
	m.Path = strings.TrimLeft(rest, " ")
	return m, nil
}

// Map is a snapshot of a process's memory map with the path of its main
// program: everything needed to classify an instruction pointer.
type Map struct {
	Exe      string    // /proc/PID/exe's target
	Mappings []Mapping // sorted by address
}

// Find returns the mapping an instruction pointer reported by the kernel
// belongs to: the executable mapping that holds ip-1 (see the package
// doc). ok is false when no executable mapping does.
func (m *Map) Find(ip uint64) (Mapping, bool) {
	if m == nil || ip == 0 {
		return Mapping{}, false
	}
	a := ip - 1
	i := sort.Search(len(m.Mappings), func(i int) bool { return m.Mappings[i].End > a })
	if i < len(m.Mappings) && m.Mappings[i].Start <= a && m.Mappings[i].Exec() {
		return m.Mappings[i], true
	}
	return Mapping{}, false
}

// Executable returns the executable mappings, in address order.
func (m *Map) Executable() []Mapping {
	var out []Mapping
	for _, x := range m.Mappings {
		if x.Exec() {
			out = append(out, x)
		}
	}
	return out
}

// Name is the short name of a mapping's region as a policy writes it:
// "exe", "vdso", "anon", or "lib:PATH".
func (m *Map) Name(x Mapping) string {
	k := x.Kind(m.Exe)
	if k == Lib {
		return "lib:" + x.File()
	}
	return k.String()
}
