package inspect

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// status holds the fields of /proc/PID/status that matter here.
type status struct {
	State      string // "S (sleeping)", "t (tracing stop)", ...
	TracerPid  int
	NoNewPrivs bool
	Seccomp    string // "disabled", "strict", "filter"
	Filters    int    // -1 when the kernel predates Seccomp_filters (5.9)
}

// seccompMode names the value of the Seccomp: line (SECCOMP_MODE_*). (A
// switch, not a map literal: a map literal is built by package init at
// every start of sysgate.)
func seccompMode(val string) string {
	switch val {
	case "0":
		return "disabled"
	case "1":
		return "strict"
	case "2":
		return "filter"
	}
	return "mode " + val
}

// parseStatus reads /proc/PID/status (fs/proc/array.c).
func parseStatus(r io.Reader) (status, error) {
	st := status{Filters: -1}
	seen := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		var err error
		switch key {
		case "State":
			st.State = val
		case "TracerPid":
			st.TracerPid, err = strconv.Atoi(val)
		case "NoNewPrivs":
			st.NoNewPrivs = val == "1"
		case "Seccomp":
			st.Seccomp, seen = seccompMode(val), true
		case "Seccomp_filters":
			st.Filters, err = strconv.Atoi(val)
		}
		if err != nil {
			return st, fmt.Errorf("status line %q: %w", sc.Text(), err)
		}
	}
	if err := sc.Err(); err != nil {
		return st, err
	}
	if !seen {
		// CONFIG_SECCOMP=n kernels print no Seccomp: line at all.
		st.Seccomp = "disabled"
	}
	return st, nil
}

// Mapping is one line of /proc/PID/maps with its seal state.
type Mapping struct {
	Start, End uint64
	Perms      string // "r-xp"
	Offset     uint64
	Path       string // file, "[vdso]", "[stack]", or empty for anonymous memory
	Sealed     bool   // VmFlags has "sl": mseal(2) applied (Linux 6.10)
	System     bool   // a kernel-provided special mapping ([vdso], [vvar], [vsyscall], ...)
}

// systemMappings are the special mappings the kernel installs itself
// (_install_special_mapping and the gate area), which
// CONFIG_MSEAL_SYSTEM_MAPPINGS (6.15) or a supervisor may seal. (A slice,
// not a map literal: a map literal is built by package init at every start
// of sysgate.)
var systemMappings = []string{
	"[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]", "[uprobes]", "[sigpage]", "[vectors]",
}

// parseSmaps reads /proc/PID/smaps and returns every mapping.
func parseSmaps(r io.Reader) ([]Mapping, error) {
	var maps []Mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m, ok, err := parseMapsLine(line); err != nil {
			return nil, err
		} else if ok {
			maps = append(maps, m)
			continue
		}
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			if len(maps) == 0 {
				return nil, fmt.Errorf("smaps: VmFlags before any mapping")
			}
			for _, f := range strings.Fields(flags) {
				if f == "sl" {
					maps[len(maps)-1].Sealed = true
				}
			}
		}
	}
	return maps, sc.Err()
}

// parseMapsLine parses a mapping header ("start-end perms offset dev inode
// path"); ok is false for the "Key: value" lines of smaps.
func parseMapsLine(line string) (m Mapping, ok bool, err error) {
	rng, rest, found := strings.Cut(line, " ")
	lo, hi, isRange := strings.Cut(rng, "-")
	if !found || !isRange || strings.HasSuffix(rng, ":") {
		return m, false, nil
	}
	if m.Start, err = strconv.ParseUint(lo, 16, 64); err != nil {
		return m, false, nil // not a header: smaps keys never parse as hex ranges
	}
	if m.End, err = strconv.ParseUint(hi, 16, 64); err != nil {
		return m, false, fmt.Errorf("maps line %q: bad end address", line)
	}
	// perms offset dev inode [path]; the path may contain spaces.
	f := strings.SplitN(strings.TrimLeft(rest, " "), " ", 4)
	if len(f) < 4 {
		return m, false, fmt.Errorf("maps line %q: too few fields", line)
	}
	m.Perms = f[0]
	if m.Offset, err = strconv.ParseUint(f[1], 16, 64); err != nil {
		return m, false, fmt.Errorf("maps line %q: bad offset", line)
	}
	if _, path, ok := strings.Cut(strings.TrimLeft(f[3], " "), " "); ok {
		m.Path = strings.TrimLeft(path, " ")
	}
	m.System = slices.Contains(systemMappings, m.Path)
	return m, true, nil
}
