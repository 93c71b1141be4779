package seal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/features"
	"github.com/sysgate/sysgate/ptrace"
)

// ErrNotSupported is matched by the error of a kernel without mseal(2).
var ErrNotSupported = features.ErrNotSupported

// Mapping is one special mapping of a target and what became of it.
type Mapping struct {
	Name       string // "[vdso]"
	Start, End uint64
	// Sealed is true once mseal succeeded (also when it was sealed
	// already: sealing again is a no-op).
	Sealed bool
	// Err says why it was not sealed: the mseal errno, or ErrNotAVMA.
	Err error
	// Advice says what to do instead, for what user space cannot seal.
	Advice string
}

// ErrNotAVMA is the Err of [vsyscall]: it is the x86_64 gate area, not a
// VMA, so mseal cannot reach it.
var ErrNotAVMA = errors.New("not a VMA (the gate area): mseal cannot seal it")

// Report is what [SealSystemMappings] did, mapping by mapping, in address
// order.
type Report struct {
	Pid      int
	Mappings []Mapping
}

// String is one line: "sealed [vvar] [vdso]; not sealed: [vsyscall] (...)".
func (r Report) String() string {
	var sealed, not []string
	for _, m := range r.Mappings {
		if m.Sealed {
			sealed = append(sealed, m.Name)
			continue
		}
		s := m.Name + " (" + m.Err.Error()
		if m.Advice != "" {
			s += "; " + m.Advice
		}
		not = append(not, s+")")
	}
	var b strings.Builder
	b.WriteString("sealed ")
	if len(sealed) == 0 {
		b.WriteString("nothing")
	}
	b.WriteString(strings.Join(sealed, " "))
	if len(not) > 0 {
		b.WriteString("; not sealed: " + strings.Join(not, ", "))
	}
	return b.String()
}

// Unsealed returns the mappings that could not be sealed, other than those
// user space cannot seal at all ([vsyscall]).
func (r Report) Unsealed() []Mapping {
	var out []Mapping
	for _, m := range r.Mappings {
		if !m.Sealed && !errors.Is(m.Err, ErrNotAVMA) {
			out = append(out, m)
		}
	}
	return out
}

// vsyscallAdvice is what to do about [vsyscall].
const vsyscallAdvice = "boot with vsyscall=none to remove it"

// SealSystemMappings seals every kernel special mapping of the stopped
// tracee pid with mseal(2), injected with ptrace.Inject (so it must be called
// on the tracer thread, inside Tracer.Do, and the tracee must have
// PTRACE_O_TRACESYSGOOD, as sandbox sets). Adjacent mappings are sealed by
// one call. The error is ErrNotSupported (Linux < 6.10), a failure to
// inject, or a summary of the mappings mseal refused (see the Report).
func SealSystemMappings(pid int) (Report, error) {
	r := Report{Pid: pid}
	if err := features.HaveMseal(); err != nil {
		return r, fmt.Errorf("seal system mappings: mseal(2) needs Linux 6.10: %w", err)
	}
	maps, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return r, fmt.Errorf("seal system mappings: %w", err)
	}
	r.Mappings = SystemMappings(maps)
	for i := 0; i < len(r.Mappings); {
		m := &r.Mappings[i]
		if m.Name == "[vsyscall]" {
			m.Err, m.Advice = ErrNotAVMA, vsyscallAdvice
			i++
			continue
		}
		// One call for a run of adjacent mappings.
		j := i + 1
		for j < len(r.Mappings) && r.Mappings[j].Start == r.Mappings[j-1].End && r.Mappings[j].Name != "[vsyscall]" {
			j++
		}
		ret, err := ptrace.Inject(pid, unix.SYS_MSEAL, m.Start, r.Mappings[j-1].End-m.Start, 0)
		if err != nil {
			return r, fmt.Errorf("seal system mappings: %w", err)
		}
		for k := i; k < j; k++ {
			if ret == 0 {
				r.Mappings[k].Sealed = true
			} else {
				r.Mappings[k].Err = unix.Errno(-ret)
			}
		}
		i = j
	}
	if bad := r.Unsealed(); len(bad) > 0 {
		var names []string
		for _, m := range bad {
			names = append(names, fmt.Sprintf("%s: %v", m.Name, m.Err))
		}
		return r, fmt.Errorf("seal system mappings of %d: mseal failed for %s", pid, strings.Join(names, ", "))
	}
	return r, nil
}

// SystemMappings returns the kernel special mappings of a /proc/PID/maps
// text: the bracketed names other than the heap, stacks and named anonymous
// memory, which the kernel gives to its own mappings (_install_special_mapping
// and the gate area).
func SystemMappings(maps []byte) []Mapping {
	var out []Mapping
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 6 || !strings.HasPrefix(f[5], "[") || !strings.HasSuffix(f[5], "]") {
			continue
		}
		name := f[5]
		if name == "[heap]" || strings.HasPrefix(name, "[stack") || strings.HasPrefix(name, "[anon") {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		out = append(out, Mapping{Name: name, Start: start, End: end})
	}
	return out
}
