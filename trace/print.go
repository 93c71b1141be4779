package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/sysgate/sysgate/syscalls"
)

// Printer writes what a trace shows: strace's lines, or one JSON object per
// line, or nothing but the counts for [Printer.Summary]. It buffers: call
// Flush at the end (the tracer also flushes before it blocks).
type Printer struct {
	JSON       bool         // one JSON object per syscall or event
	Timestamps bool         // -tt: wall-clock time of day with microseconds
	Durations  bool         // -T: time spent in each syscall
	Count      bool         // -c: count only, print the table at the end
	PidPrefix  bool         // "[pid N] " before lines of other processes than the first (-f)
	Status     StatusFilter // -e status=

	w     *bufio.Writer
	line  []byte
	first int // the first tracee's pid: printed without a prefix while alone
	stats map[string]*CallStats
}

// NewPrinter returns a Printer writing to w.
func NewPrinter(w io.Writer) *Printer {
	return &Printer{Status: AllStatus, w: bufio.NewWriterSize(w, 64<<10), stats: map[string]*CallStats{}}
}

// SetFirst names the first tracee, whose lines have no pid prefix.
func (p *Printer) SetFirst(pid int) { p.first = pid }

// Flush writes out what is buffered.
func (p *Printer) Flush() error { return p.w.Flush() }

func (p *Printer) prefix(pid int, t time.Time) {
	p.line = p.line[:0]
	if p.PidPrefix && pid != p.first {
		p.line = append(p.line, "[pid "...)
		p.line = strconv.AppendInt(p.line, int64(pid), 10)
		p.line = append(p.line, "] "...)
	}
	if p.Timestamps {
		p.line = t.AppendFormat(p.line, "15:04:05.000000 ")
	}
}

// Call prints a finished (or never finishing) call.
func (p *Printer) Call(c *Call) {
	if p.Count {
		p.count(c)
		return
	}
	switch {
	case !c.Done && !p.Status.Unfinished && c.sigRet() != rNone:
		return
	case c.Done && c.Failed() && !p.Status.Failed:
		return
	case c.Done && !c.Failed() && !p.Status.Successful:
		return
	}
	if p.JSON {
		p.jsonCall(c)
		return
	}
	p.prefix(c.Pid, c.Entry)
	p.line = append(p.line, c.Name...)
	p.line = append(p.line, '(')
	for i := 0; i < c.NumArgs(); i++ {
		if i > 0 {
			p.line = append(p.line, ", "...)
		}
		p.line = append(p.line, c.Arg(i)...)
	}
	p.line = append(p.line, ") = "...)
	p.line = append(p.line, c.ret...)
	if p.Durations && c.Done {
		p.line = append(p.line, " <"...)
		p.line = strconv.AppendFloat(p.line, c.Exit.Sub(c.Entry).Seconds(), 'f', 6, 64)
		p.line = append(p.line, '>')
	}
	p.line = append(p.line, '\n')
	p.w.Write(p.line)
}

type jsonCall struct {
	Pid      int      `json:"pid"`
	Time     float64  `json:"time"`
	Arch     string   `json:"arch"`
	Syscall  string   `json:"syscall"`
	Args     []string `json:"args"`
	Ret      *int64   `json:"ret"` // null: the call never returned
	Errno    string   `json:"errno,omitempty"`
	Text     string   `json:"text"` // the return value as strace shows it
	Duration float64  `json:"duration,omitempty"`
}

func (p *Printer) jsonCall(c *Call) {
	j := jsonCall{Pid: c.Pid, Time: float64(c.Entry.UnixMicro()) / 1e6, Arch: c.Arch.Name, Syscall: c.Name,
		Args: make([]string, c.NumArgs()), Text: string(c.ret)}
	for i := range j.Args {
		j.Args[i] = string(c.Arg(i))
	}
	if c.Done && c.sigRet() != rNone {
		r := c.Ret
		if c.abi.bits == 32 && c.sigRet() != rHex {
			r = int64(int32(r))
		}
		j.Ret = &r
		if e := c.Errno(); e != 0 && c.Failed() {
			j.Errno = syscalls.ErrnoNameFor(c.Arch, e)
		}
		j.Duration = c.Exit.Sub(c.Entry).Seconds()
	}
	p.writeJSON(j)
}

func (p *Printer) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	p.w.Write(b)
	p.w.WriteByte('\n')
}

type jsonEvent struct {
	Pid    int     `json:"pid"`
	Time   float64 `json:"time"`
	Event  string  `json:"event"` // "signal", "stopped", "exited", "killed", "note"
	Signal string  `json:"signal,omitempty"`
	Status *int    `json:"status,omitempty"`
	Text   string  `json:"text"`
}

// event prints a line between "--- " and " ---" or "+++ " and " +++".
func (p *Printer) event(pid int, kind, signal string, status *int, text string, marks string) {
	if p.Count {
		return
	}
	now := time.Now()
	if p.JSON {
		p.writeJSON(jsonEvent{Pid: pid, Time: float64(now.UnixMicro()) / 1e6, Event: kind, Signal: signal, Status: status, Text: text})
		return
	}
	p.prefix(pid, now)
	p.line = append(p.line, marks...)
	p.line = append(p.line, ' ')
	p.line = append(p.line, text...)
	p.line = append(p.line, ' ')
	p.line = append(p.line, marks...)
	p.line = append(p.line, '\n')
	p.w.Write(p.line)
}

// Signal prints a signal delivered to pid: "--- SIGCHLD {...} ---".
func (p *Printer) Signal(pid int, name, info string) {
	p.event(pid, "signal", name, nil, name+" "+info, "---")
}

// Stopped prints a group stop: "--- stopped by SIGSTOP ---".
func (p *Printer) Stopped(pid int, name string) {
	p.event(pid, "stopped", name, nil, "stopped by "+name, "---")
}

// Exited prints "+++ exited with N +++".
func (p *Printer) Exited(pid, code int) {
	p.event(pid, "exited", "", &code, "exited with "+strconv.Itoa(code), "+++")
}

// Killed prints "+++ killed by SIGKILL +++".
func (p *Printer) Killed(pid int, name string, core bool) {
	text := "killed by " + name
	if core {
		text += " (core dumped)"
	}
	p.event(pid, "killed", name, nil, text, "+++")
}

// Note prints "+++ text +++" (e.g. "superseded by execve in pid 12").
func (p *Printer) Note(pid int, text string) { p.event(pid, "note", "", nil, text, "+++") }

// CallStats are the -c counts of one syscall.
type CallStats struct {
	Name   string
	Calls  int
	Errors int
	Time   time.Duration // wall time from entry stop to exit stop
}

func (p *Printer) count(c *Call) {
	s := p.stats[c.Name]
	if s == nil {
		s = &CallStats{Name: c.Name}
		p.stats[c.Name] = s
	}
	s.Calls++
	if c.Failed() {
		s.Errors++
	}
	if c.Done {
		s.Time += c.Exit.Sub(c.Entry)
	}
}

// Stats returns the -c counts, busiest first (by time, then calls, then name).
func (p *Printer) Stats() []CallStats {
	out := make([]CallStats, 0, len(p.stats))
	for _, s := range p.stats {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Time != out[j].Time {
			return out[i].Time > out[j].Time
		}
		if out[i].Calls != out[j].Calls {
			return out[i].Calls > out[j].Calls
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Summary writes the -c table as strace does (times are the wall time
// between each call's entry and exit stops, as strace -w measures), or a
// JSON object with --json.
func (p *Printer) Summary(w io.Writer) error {
	stats := p.Stats()
	if p.JSON {
		type row struct {
			Syscall string  `json:"syscall"`
			Seconds float64 `json:"seconds"`
			Calls   int     `json:"calls"`
			Errors  int     `json:"errors"`
		}
		rows := make([]row, len(stats))
		for i, s := range stats {
			rows[i] = row{s.Name, s.Time.Seconds(), s.Calls, s.Errors}
		}
		b, err := json.Marshal(map[string]any{"summary": rows})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var total CallStats
	for _, s := range stats {
		total.Calls += s.Calls
		total.Errors += s.Errors
		total.Time += s.Time
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%% time     seconds  usecs/call     calls    errors syscall\n")
	const rule = "------ ----------- ----------- --------- --------- ----------------\n"
	bw.WriteString(rule)
	row := func(s CallStats) {
		pct := 0.0
		if total.Time > 0 {
			pct = 100 * float64(s.Time) / float64(total.Time)
		}
		per := int64(0)
		if s.Calls > 0 {
			per = s.Time.Microseconds() / int64(s.Calls)
		}
		errs := ""
		if s.Errors > 0 {
			errs = strconv.Itoa(s.Errors)
		}
		fmt.Fprintf(bw, "%6.2f %11.6f %11d %9d %9s %s\n", pct, s.Time.Seconds(), per, s.Calls, errs, s.Name)
	}
	for _, s := range stats {
		row(s)
	}
	bw.WriteString(rule)
	total.Name = "total"
	row(total)
	return bw.Flush()
}
