package inspect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sysgate/sysgate/bpf"
)

// Errors callers can branch on with errors.Is.
var (
	// ErrNoProcess: the PID names no process (or it exited before /proc was read).
	ErrNoProcess = errors.New("no such process")
	// ErrExited: the process exited while it was being inspected.
	ErrExited = errors.New("process exited during inspection")
	// ErrPermission: the kernel refused; the message says what is needed.
	ErrPermission = errors.New("permission denied")
	// ErrTraced: another tracer (strace, gdb, a sysgate tracer) holds the process.
	ErrTraced = errors.New("process is already traced")
	// ErrSkipped: reading was turned off by [Options.NoStop].
	ErrSkipped = errors.New("stopping the process was turned off (NoStop)")
)

// Options tunes [Inspect].
type Options struct {
	// NoStop leaves the process alone: no ptrace stop, hence no filter
	// programs and no Syscall User Dispatch state, only what /proc shows.
	NoStop bool
	// NoDisassembly leaves Program.Disassembly empty.
	NoDisassembly bool
}

// Report is what a process is subject to.
type Report struct {
	Pid   int    `json:"pid"`
	Comm  string `json:"comm"`
	Exe   string `json:"exe,omitempty"`   // empty when the link cannot be read (kernel threads)
	State string `json:"state,omitempty"` // the State: line of /proc/PID/status, before inspection

	Seccomp    string `json:"seccomp"` // "disabled", "strict" or "filter"
	Filters    int    `json:"filters"` // filters attached (Seccomp_filters:, Linux 5.9; -1 when not shown)
	NoNewPrivs bool   `json:"no_new_privs"`
	// Threads lists the other threads whose seccomp state differs from
	// this one's: filters are per thread unless installed with TSYNC.
	Threads []Thread `json:"threads_differing,omitempty"`

	// SyscallUserDispatch is nil when dispatch is off or was not read
	// (then SUDErr says why).
	SyscallUserDispatch *SUD `json:"syscall_user_dispatch,omitempty"`

	// Sealed lists the mappings sealed with mseal(2) and every
	// kernel-provided special mapping ([vdso], [vvar], [vsyscall], ...),
	// sealed or not, in address order.
	Sealed []Mapping `json:"mappings"`

	// Regions are the executable mappings, named as a policy's from:
	// names them ("exe", "lib:/usr/lib/x86_64-linux-gnu/libc.so.6",
	// "vdso", "anon"): where the process's syscalls can come from.
	Regions []Region `json:"regions,omitempty"`

	// Programs are the installed filters in the order they were
	// installed: index 0 is the oldest, the last the newest.
	Programs []Program `json:"programs,omitempty"`
	// Effective is the stack of Programs combined as the kernel runs it;
	// set only when there are two or more.
	Effective []ArchSummary `json:"effective,omitempty"`

	// FilterErr says why Programs is missing or incomplete although the
	// process has filters (see [ErrPermission], [ErrTraced], [ErrExited],
	// [ErrSkipped]); SUDErr and MapsErr likewise.
	FilterErr error `json:"-"`
	SUDErr    error `json:"-"`
	MapsErr   error `json:"-"`
}

// Region is one executable mapping and its region name.
type Region struct {
	Start, End uint64
	Name       string
}

// MarshalJSON writes addresses as hexadecimal strings.
func (g Region) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Start string `json:"start"`
		End   string `json:"end"`
		Name  string `json:"name"`
	}{hex(g.Start), hex(g.End), g.Name})
}

// Thread is the seccomp state of one thread of the process.
type Thread struct {
	Tid     int    `json:"tid"`
	Seccomp string `json:"seccomp"`
	Filters int    `json:"filters"`
}

// SUD is a Syscall User Dispatch configuration (prctl
// PR_SET_SYSCALL_USER_DISPATCH, Linux 5.11).
type SUD struct {
	// Mode is "exclusive" (PR_SYS_DISPATCH_ON: syscalls outside
	// [Offset, Offset+Len) are dispatched) or "inclusive" (6.16: those
	// inside are), or "mode N" for a value unknown here.
	Mode     string
	Offset   uint64
	Len      uint64
	Selector uint64 // address of the selector byte; 0 means always dispatch
	// SelectorValue is the byte at Selector: 0 allow
	// (SYSCALL_DISPATCH_FILTER_ALLOW), 1 block; -1 when unread.
	SelectorValue int
}

// Program is one installed filter.
type Program struct {
	Index        int               `json:"index"` // the kernel's filter index: 0 is the oldest
	Instructions []bpf.Instruction `json:"-"`
	Log          bool              `json:"log,omitempty"` // installed with SECCOMP_FILTER_FLAG_LOG
	Summary      []ArchSummary     `json:"summary,omitempty"`
	Disassembly  string            `json:"disassembly,omitempty"`
}

func hex(v uint64) string { return fmt.Sprintf("%#x", v) }

// MarshalJSON writes addresses as hexadecimal strings, which survive
// JSON readers that hold numbers as doubles.
func (m Mapping) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Start  string `json:"start"`
		End    string `json:"end"`
		Perms  string `json:"perms"`
		Offset string `json:"offset"`
		Path   string `json:"path,omitempty"`
		Sealed bool   `json:"sealed"`
		System bool   `json:"system,omitempty"`
	}{hex(m.Start), hex(m.End), m.Perms, hex(m.Offset), m.Path, m.Sealed, m.System})
}

// MarshalJSON writes addresses as hexadecimal strings.
func (s SUD) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Mode          string `json:"mode"`
		Offset        string `json:"offset"`
		Len           string `json:"len"`
		Selector      string `json:"selector"`
		SelectorValue int    `json:"selector_value"`
	}{s.Mode, hex(s.Offset), hex(s.Len), hex(s.Selector), s.SelectorValue})
}

// sockFilter is struct sock_filter with the kernel's field names.
type sockFilter struct {
	Code uint16 `json:"code"`
	Jt   uint8  `json:"jt"`
	Jf   uint8  `json:"jf"`
	K    uint32 `json:"k"`
}

// MarshalJSON adds the instructions, as struct sock_filter objects.
func (p Program) MarshalJSON() ([]byte, error) {
	type plain Program
	insns := make([]sockFilter, len(p.Instructions))
	for i, ins := range p.Instructions {
		insns[i] = sockFilter{ins.Op, ins.Jt, ins.Jf, ins.K}
	}
	return json.Marshal(struct {
		plain
		Instructions []sockFilter `json:"instructions"`
	}{plain(p), insns})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// WriteJSON writes r as one indented JSON object; the errors become
// "filter_error", "sud_error" and "maps_error" strings.
func (r *Report) WriteJSON(w io.Writer) error {
	type plain Report
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*plain
		FilterError string `json:"filter_error,omitempty"`
		SUDError    string `json:"sud_error,omitempty"`
		MapsError   string `json:"maps_error,omitempty"`
	}{(*plain)(r), errString(r.FilterErr), errString(r.SUDErr), errString(r.MapsErr)})
}

// textWidth is where syscall lists wrap.
const textWidth = 100

// WriteText writes r for people: the /proc facts, the mappings, then each
// filter read as a policy and disassembled.
func (r *Report) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.f("process %d (%s)", r.Pid, r.Comm)
	if r.Exe != "" {
		p.f(" %s", r.Exe)
	}
	p.f("\n")
	if r.State != "" {
		p.f("  state:                 %s\n", r.State)
	}
	p.f("  seccomp:               %s", r.Seccomp)
	switch {
	case r.Filters == 1:
		p.f(", 1 filter")
	case r.Filters >= 0 && r.Seccomp == "filter":
		p.f(", %d filters", r.Filters)
	}
	p.f("\n  no_new_privs:          %s\n", yesNo(r.NoNewPrivs))
	for _, t := range r.Threads {
		p.f("  thread %d differs:     seccomp %s, %d filters\n", t.Tid, t.Seccomp, t.Filters)
	}
	p.f("  syscall user dispatch: ")
	switch sud := r.SyscallUserDispatch; {
	case sud != nil:
		p.f("%s, range %#x-%#x, selector %#x", sud.Mode, sud.Offset, sud.Offset+sud.Len, sud.Selector)
		switch sud.SelectorValue {
		case -1:
		case 0:
			p.f(" = 0 (allow)")
		case 1:
			p.f(" = 1 (block)")
		default:
			p.f(" = %d", sud.SelectorValue)
		}
		p.f("\n")
	case r.SUDErr != nil:
		p.f("unknown: %v\n", r.SUDErr)
	default:
		p.f("off\n")
	}

	p.f("  mappings (sealed, and the kernel's special ones):\n")
	if r.MapsErr != nil {
		p.f("    not read: %v\n", r.MapsErr)
	}
	for _, m := range r.Sealed {
		seal := "not sealed"
		if m.Sealed {
			seal = "sealed"
		}
		name := m.Path
		if name == "" {
			name = "(anonymous)"
		}
		p.f("    %016x-%016x %s %-24s %s\n", m.Start, m.End, m.Perms, name, seal)
	}

	if len(r.Regions) > 0 {
		p.f("  code regions (where syscalls can come from):\n")
		for _, g := range r.Regions {
			p.f("    %016x-%016x %s\n", g.Start, g.End, g.Name)
		}
	}

	if r.FilterErr != nil {
		p.f("  filters:               not read: %v\n", r.FilterErr)
	}
	for _, prog := range r.Programs {
		p.f("\nfilter %d", prog.Index)
		if len(r.Programs) > 1 {
			switch prog.Index {
			case 0:
				p.f(" (oldest)")
			case len(r.Programs) - 1:
				p.f(" (newest)")
			}
		}
		p.f(": %d instructions", len(prog.Instructions))
		if prog.Log {
			p.f(", log")
		}
		p.f("\n")
		p.summary(prog.Summary)
		if prog.Disassembly != "" {
			p.f("  disassembly:\n")
			for _, line := range strings.SplitAfter(strings.TrimSuffix(prog.Disassembly, "\n"), "\n") {
				p.f("    %s", line)
			}
			p.f("\n")
		}
	}
	if len(r.Effective) > 0 {
		p.f("\nall %d filters together, as the kernel applies them:\n", len(r.Programs))
		p.summary(r.Effective)
	}
	return p.err
}

// printer keeps the first write error, so the report reads straight.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) summary(sums []ArchSummary) {
	for _, s := range sums {
		name := s.Arch
		if name == "other" {
			name = "other arches"
		}
		if s.All != "" {
			p.f("  %s: %s, every syscall\n", name, s.All)
			continue
		}
		if len(s.Groups) == 0 {
			p.f("  %s: %s\n", name, s.Unknown)
			continue
		}
		p.f("  %s:\n", name)
		for _, g := range s.Groups {
			label := g.Action
			switch {
			case g.Dependent:
				label += " (" + strings.Join(g.Seen, " | ") + ")"
			case g.Cacheable:
				label += ", cached by the kernel"
			}
			p.list("    "+label+":", g.Syscalls)
		}
		if s.Unknown != "" {
			p.f("    numbers not in the table: %s\n", s.Unknown)
		}
	}
}

// list prints label and the names, wrapped with a hanging indent.
func (p *printer) list(label string, names []string) {
	line := label
	indent := strings.Repeat(" ", 6)
	for _, n := range names {
		if len(line)+1+len(n) > textWidth && line != label {
			p.f("%s\n", line)
			line = indent + n
			continue
		}
		line += " " + n
	}
	p.f("%s\n", line)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
