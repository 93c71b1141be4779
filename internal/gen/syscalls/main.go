// Command syscalls generates the tables of package syscalls: per-ABI syscall
// numbers (zsyscalls.go), strace-style syscall classes (zclasses.go) and
// symbolic constants (zconsts.go).
//
// It reads only pinned copies in this directory (see SOURCES.md) and
// golang.org/x/sys from the module cache, so it runs offline:
//
//	go run ./internal/gen/syscalls -data internal/gen/syscalls -out syscalls
//
// (package syscalls runs it through go:generate).
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Pins of the sources, printed in the headers of the generated files.
const (
	libseccompPin = "libseccomp src/syscalls.csv, commit 90d3f7dd"
	straceRepo    = "strace/strace"
	generatorCmd  = "go run ./internal/gen/syscalls"
)

// archSpec is one ABI a seccomp filter (and a Docker profile) can name.
type archSpec struct {
	name      string // canonical name
	varName   string // Go variable in package syscalls
	column    string // libseccomp CSV column
	audit     uint32 // AUDIT_ARCH_* (include/uapi/linux/audit.h)
	base      uint32 // added to the CSV numbers
	bigEndian bool
	bits      int
	goarch    string // Go's GOARCH, "" when Go has no port
	docker    string // SCMP_ARCH_* of libseccomp, Docker and OCI
	family    string // native ABI a filter for this ABI runs under
	constArch string // x/sys GOARCH whose constants apply
	exact     bool   // constArch's constants are this ABI's own
	aliases   []string
	doc       string
}

// AUDIT_ARCH values: EM_* | __AUDIT_ARCH_64BIT (0x80000000) |
// __AUDIT_ARCH_LE (0x40000000) [| __AUDIT_ARCH_CONVENTION_MIPS64_N32 (0x20000000)],
// as include/uapi/linux/audit.h composes them.
var archSpecs = []archSpec{
	{name: "x86_64", varName: "X86_64", column: "x86_64", audit: 0xc000003e, bits: 64, goarch: "amd64", docker: "SCMP_ARCH_X86_64", family: "x86_64", constArch: "amd64", exact: true, aliases: []string{"x86-64", "amd64"}, doc: "the 64-bit x86 ABI (syscall instruction)"},
	{name: "i386", varName: "I386", column: "x86", audit: 0x40000003, bits: 32, goarch: "386", docker: "SCMP_ARCH_X86", family: "x86_64", constArch: "386", exact: true, aliases: []string{"x86", "386", "i686", "ia32"}, doc: "the 32-bit x86 ABI (int 0x80, also reachable from x86_64 processes)"},
	{name: "x32", varName: "X32", column: "x32", audit: 0xc000003e, base: 0x40000000, bits: 32, docker: "SCMP_ARCH_X32", family: "x86_64", constArch: "amd64", aliases: []string{"x86_x32"}, doc: "the x32 ABI of x86_64: AUDIT_ARCH_X86_64 with __X32_SYSCALL_BIT (0x40000000) in the number"},
	{name: "aarch64", varName: "AArch64", column: "aarch64", audit: 0xc00000b7, bits: 64, goarch: "arm64", docker: "SCMP_ARCH_AARCH64", family: "aarch64", constArch: "arm64", exact: true, aliases: []string{"arm64"}, doc: "64-bit ARM"},
	{name: "arm", varName: "ARM", column: "arm", audit: 0x40000028, bits: 32, goarch: "arm", docker: "SCMP_ARCH_ARM", family: "aarch64", constArch: "arm", exact: true, aliases: []string{"armhf", "armel", "arm32"}, doc: "32-bit ARM EABI (little-endian)"},
	{name: "riscv64", varName: "RISCV64", column: "riscv64", audit: 0xc00000f3, bits: 64, goarch: "riscv64", docker: "SCMP_ARCH_RISCV64", family: "riscv64", constArch: "riscv64", exact: true, doc: "64-bit RISC-V"},
	{name: "ppc64le", varName: "PPC64LE", column: "ppc64", audit: 0xc0000015, bits: 64, goarch: "ppc64le", docker: "SCMP_ARCH_PPC64LE", family: "ppc64le", constArch: "ppc64le", exact: true, aliases: []string{"ppc64el", "powerpc64le"}, doc: "64-bit little-endian POWER"},
	{name: "ppc64", varName: "PPC64", column: "ppc64", audit: 0x80000015, bigEndian: true, bits: 64, goarch: "ppc64", docker: "SCMP_ARCH_PPC64", family: "ppc64", constArch: "ppc64", exact: true, aliases: []string{"powerpc64"}, doc: "64-bit big-endian POWER"},
	{name: "ppc", varName: "PPC", column: "ppc", audit: 0x00000014, bigEndian: true, bits: 32, docker: "SCMP_ARCH_PPC", family: "ppc64", constArch: "ppc", exact: true, aliases: []string{"powerpc"}, doc: "32-bit big-endian POWER"},
	{name: "s390x", varName: "S390X", column: "s390x", audit: 0x80000016, bigEndian: true, bits: 64, goarch: "s390x", docker: "SCMP_ARCH_S390X", family: "s390x", constArch: "s390x", exact: true, doc: "64-bit IBM Z"},
	{name: "s390", varName: "S390", column: "s390", audit: 0x00000016, bigEndian: true, bits: 32, docker: "SCMP_ARCH_S390", family: "s390x", constArch: "s390x", doc: "31-bit IBM S/390 (compat ABI of s390x)"},
	{name: "mips", varName: "MIPS", column: "mips", audit: 0x00000008, base: 4000, bigEndian: true, bits: 32, goarch: "mips", docker: "SCMP_ARCH_MIPS", family: "mips64", constArch: "mips", exact: true, aliases: []string{"mipso32"}, doc: "MIPS o32, big-endian (numbers from 4000)"},
	{name: "mipsel", varName: "MIPSEL", column: "mips", audit: 0x40000008, base: 4000, bits: 32, goarch: "mipsle", docker: "SCMP_ARCH_MIPSEL", family: "mipsel64", constArch: "mipsle", exact: true, aliases: []string{"mipsle"}, doc: "MIPS o32, little-endian (numbers from 4000)"},
	{name: "mips64", varName: "MIPS64", column: "mips64", audit: 0x80000008, base: 5000, bigEndian: true, bits: 64, goarch: "mips64", docker: "SCMP_ARCH_MIPS64", family: "mips64", constArch: "mips64", exact: true, doc: "MIPS n64, big-endian (numbers from 5000)"},
	{name: "mipsel64", varName: "MIPSEL64", column: "mips64", audit: 0xc0000008, base: 5000, bits: 64, goarch: "mips64le", docker: "SCMP_ARCH_MIPSEL64", family: "mipsel64", constArch: "mips64le", exact: true, aliases: []string{"mips64le", "mips64el"}, doc: "MIPS n64, little-endian (numbers from 5000)"},
	{name: "mips64n32", varName: "MIPS64N32", column: "mips64n32", audit: 0xa0000008, base: 6000, bigEndian: true, bits: 32, docker: "SCMP_ARCH_MIPS64N32", family: "mips64", constArch: "mips64", doc: "MIPS n32, big-endian (numbers from 6000)"},
	{name: "mipsel64n32", varName: "MIPSEL64N32", column: "mips64n32", audit: 0xe0000008, base: 6000, bits: 32, docker: "SCMP_ARCH_MIPSEL64N32", family: "mipsel64", constArch: "mips64le", aliases: []string{"mips64len32", "mips64eln32"}, doc: "MIPS n32, little-endian (numbers from 6000)"},
	{name: "loongarch64", varName: "LoongArch64", column: "loongarch64", audit: 0xc0000102, bits: 64, goarch: "loong64", docker: "SCMP_ARCH_LOONGARCH64", family: "loongarch64", constArch: "loong64", exact: true, aliases: []string{"loong64"}, doc: "64-bit LoongArch"},
	{name: "m68k", varName: "M68K", column: "m68k", audit: 0x00000004, bigEndian: true, bits: 32, docker: "SCMP_ARCH_M68K", family: "m68k", constArch: "arm", doc: "Motorola 68000"},
	{name: "parisc", varName: "PARISC", column: "parisc", audit: 0x0000000f, bigEndian: true, bits: 32, docker: "SCMP_ARCH_PARISC", family: "parisc64", constArch: "386", aliases: []string{"hppa"}, doc: "32-bit PA-RISC"},
	{name: "parisc64", varName: "PARISC64", column: "parisc64", audit: 0x8000000f, bigEndian: true, bits: 64, docker: "SCMP_ARCH_PARISC64", family: "parisc64", constArch: "amd64", aliases: []string{"hppa64"}, doc: "64-bit PA-RISC"},
	{name: "sh", varName: "SH", column: "sh", audit: 0x4000002a, bits: 32, docker: "SCMP_ARCH_SH", family: "sh", constArch: "386", aliases: []string{"shel", "sh4"}, doc: "SuperH, little-endian (AUDIT_ARCH_SHEL)"},
	{name: "sheb", varName: "SHEB", column: "sh", audit: 0x0000002a, bigEndian: true, bits: 32, docker: "SCMP_ARCH_SHEB", family: "sheb", constArch: "386", aliases: []string{"sh4eb"}, doc: "SuperH, big-endian (AUDIT_ARCH_SH)"},
}

// straceTables are the syscallent.h tables whose flags give the classes;
// their #include lines are followed.
var straceTables = []string{
	"strace/linux/x86_64/syscallent.h",
	"strace/linux/i386/syscallent.h",
	"strace/linux/64/syscallent.h",
}

// skippedIncludes are strace includes not copied: subcallent.h lists the
// socketcall/ipc multiplexer sub-calls under the names of the real calls,
// which the tables above already carry.
var skippedIncludes = map[string]bool{"../32/subcallent.h": true}

// ztypesPrefixes select the few policy-relevant constant families of
// ztypes_linux.go (the rest is netlink and ethtool attributes).
var ztypesPrefixes = []string{"AT_", "PIDFD_", "MPOL_", "RESOLVE_", "FSCONFIG_", "MOVE_MOUNT_", "OPEN_TREE_", "CLOSE_RANGE_", "IPC_", "SYSLOG_", "RWF_"}

func main() {
	data := flag.String("data", ".", "directory with the pinned source files")
	out := flag.String("out", ".", "directory to write zsyscalls.go, zclasses.go and zconsts.go to")
	xsys := flag.String("xsys", "", "golang.org/x/sys module directory (default: from go list -m)")
	xsysVersion := flag.String("xsys-version", "", "version of -xsys to name in the header (default: from go list -m)")
	flag.Parse()
	if err := run(*data, *out, *xsys, *xsysVersion); err != nil {
		fmt.Fprintln(os.Stderr, "gen syscalls:", err)
		os.Exit(1)
	}
}

func run(data, out, xsysDir, xsysVersion string) error {
	tables, csvVersion, err := readCSV(filepath.Join(data, "libseccomp-syscalls.csv"))
	if err != nil {
		return err
	}
	src, err := genSyscalls(tables, csvVersion)
	if err != nil {
		return err
	}
	if err := writeGo(filepath.Join(out, "zsyscalls.go"), src); err != nil {
		return err
	}

	known := map[string]bool{}
	for _, t := range tables {
		for _, s := range t {
			known[s.name] = true
		}
	}
	src, err = genClasses(data, known)
	if err != nil {
		return err
	}
	if err := writeGo(filepath.Join(out, "zclasses.go"), src); err != nil {
		return err
	}

	if xsysDir == "" || xsysVersion == "" {
		dir, ver, err := goListXSys()
		if err != nil {
			return err
		}
		if xsysDir == "" {
			xsysDir = dir
		}
		if xsysVersion == "" {
			xsysVersion = ver
		}
	}
	src, err = genConsts(data, xsysDir, xsysVersion)
	if err != nil {
		return err
	}
	return writeGo(filepath.Join(out, "zconsts.go"), src)
}

func writeGo(path string, src []byte) error {
	formatted, err := format.Source(src)
	if err != nil {
		return fmt.Errorf("format %s: %w", path, err)
	}
	return os.WriteFile(path, formatted, 0o644)
}

// ---- syscall numbers ----

type sysnum struct {
	name string
	nr   uint32
}

// readCSV returns, per arch name, the syscalls sorted by number, with the
// bases added.
func readCSV(path string) (map[string][]sysnum, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	r := csv.NewReader(f)
	rows, err := r.ReadAll()
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(rows) < 2 || !strings.HasPrefix(rows[0][0], "#syscall") {
		return nil, "", fmt.Errorf("%s: no #syscall header row", path)
	}
	version := strings.Trim(strings.TrimPrefix(rows[0][0], "#syscall"), " ()")
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	tables := map[string][]sysnum{}
	for _, a := range archSpecs {
		ci, ok := col[a.column]
		if !ok {
			return nil, "", fmt.Errorf("%s: no column %q for %s", path, a.column, a.name)
		}
		byNr := map[uint32]string{}
		seen := map[string]bool{}
		var list []sysnum
		for line, row := range rows[1:] {
			name, v := row[0], row[ci]
			if v == "PNR" {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return nil, "", fmt.Errorf("%s:%d: %s on %s: %w", path, line+2, name, a.name, err)
			}
			nr := uint32(n) + a.base
			if other, dup := byNr[nr]; dup {
				return nil, "", fmt.Errorf("%s: %s and %s share number %d on %s", path, other, name, nr, a.name)
			}
			if seen[name] {
				return nil, "", fmt.Errorf("%s:%d: %s twice on %s", path, line+2, name, a.name)
			}
			byNr[nr] = name
			seen[name] = true
			list = append(list, sysnum{name, nr})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].nr < list[j].nr })
		tables[a.name] = list
	}
	return tables, version, nil
}

func genSyscalls(tables map[string][]sysnum, csvVersion string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by %q; DO NOT EDIT.\n", generatorCmd)
	fmt.Fprintf(&b, "// Source: internal/gen/syscalls/libseccomp-syscalls.csv (%s, %s).\n", libseccompPin, csvVersion)
	fmt.Fprintf(&b, "// AUDIT_ARCH values: include/uapi/linux/audit.h.\n\n")
	b.WriteString("package syscalls\n\n")

	for _, a := range archSpecs {
		fmt.Fprintf(&b, "// %s is %s.\n", a.varName, a.doc)
		fmt.Fprintf(&b, "var %s = &Arch{Name: %q, Audit: %#x, NrBase: %#x, BigEndian: %v, Bits: %d, GOARCH: %q, docker: %q, family: %q, aliases: %#v, constArch: %q, constExact: %v, table: %s}\n\n",
			a.varName, a.name, a.audit, a.base, a.bigEndian, a.bits, a.goarch, a.docker, a.family, a.aliases, a.constArch, a.exact, tableVar(a.column))
	}
	b.WriteString("// arches is every ABI, in a stable order.\nvar arches = []*Arch{")
	for i, a := range archSpecs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.varName)
	}
	b.WriteString("}\n\n")

	// Endianness variants (ppc64/ppc64le, mips/mipsel, ...) share a column
	// and so a table.
	names := map[string]bool{}
	done := map[string]bool{}
	for _, a := range archSpecs {
		if done[a.column] {
			continue
		}
		done[a.column] = true
		var users []string
		for _, o := range archSpecs {
			if o.column == a.column {
				users = append(users, o.name)
			}
		}
		list := tables[a.name]
		for _, s := range list {
			names[s.name] = true
		}
		if err := writeTable(&b, tableVar(a.column), strings.Join(users, " and "), list); err != nil {
			return nil, err
		}
	}
	all := sortedKeys(names)
	fmt.Fprintf(&b, "// allNames are the %d syscall names with a number on at least one ABI, sorted.\n", len(all))
	b.WriteString("var allNames = [...]string{\n")
	for _, n := range all {
		fmt.Fprintf(&b, "\t%q,\n", n)
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

func tableVar(column string) string {
	return "sys_" + column
}

// writeTable writes list, sorted by number, as a sysTable constant (see
// syscalls/table.go for the layout).
func writeTable(b *bytes.Buffer, name, users string, list []sysnum) error {
	if len(list) == 0 {
		return fmt.Errorf("%s: no syscalls", name)
	}
	order, err := nameOrder(list)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var nrs, ends, byName []byte
	end := 0
	for _, s := range list {
		nrs = binary.LittleEndian.AppendUint32(nrs, s.nr)
		end += len(s.name)
		if end >= 1<<16 {
			return fmt.Errorf("%s: names too long for uint16 offsets", name)
		}
		ends = binary.LittleEndian.AppendUint16(ends, uint16(end))
	}
	for _, k := range order {
		byName = binary.LittleEndian.AppendUint16(byName, uint16(k))
	}
	fmt.Fprintf(b, "// %s holds the %d syscalls of %s by number, packed as sysTable describes.\n", name, len(list), users)
	fmt.Fprintf(b, "const %s sysTable = %s + // count\n", name, hexString(binary.LittleEndian.AppendUint16(nil, uint16(len(list)))))
	for _, part := range []struct {
		what string
		data []byte
	}{{"numbers", nrs}, {"ends of the names", ends}, {"name order", byName}} {
		fmt.Fprintf(b, "\t// %s\n", part.what)
		for data := part.data; len(data) > 0; {
			line := data[:min(16, len(data))]
			data = data[len(line):]
			fmt.Fprintf(b, "\t%s +\n", hexString(line))
		}
	}
	b.WriteString("\t// names\n")
	for i, s := range list {
		plus := " +"
		if i == len(list)-1 {
			plus = ""
		}
		fmt.Fprintf(b, "\t%q%s // %d\n", s.name, plus, s.nr)
	}
	b.WriteString("\n")
	return nil
}

// hexString returns data as a Go string literal of \x escapes.
func hexString(data []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range data {
		fmt.Fprintf(&b, "\\x%02x", c)
	}
	b.WriteByte('"')
	return b.String()
}

// nameOrder returns the indexes of list (a table sorted by number) ordered
// by name, as Go compares strings, ties (which readCSV rejects) in table
// order: Arch.Lookup takes the last of equal names, as a map filled in table
// order would.
func nameOrder(list []sysnum) ([]int, error) {
	if len(list) >= 1<<16 {
		return nil, fmt.Errorf("%d syscalls: too many for uint16 indexes", len(list))
	}
	order := make([]int, len(list))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return list[order[i]].name < list[order[j]].name })
	return order, nil
}

// ---- classes ----

var (
	entryRE   = regexp.MustCompile(`^\[\s*(?:BASE_NR\s*\+\s*)?\d+(?:\s*\.\.\.\s*\d+)?\s*\]\s*=\s*\{\s*(.*)\}\s*,?\s*(?:/\*.*\*/)?\s*$`)
	bodyRE    = regexp.MustCompile(`^\d+\s*,\s*([A-Za-z0-9_|\s]+?)\s*,\s*SEN\(\w+\)\s*,\s*"(\w+)"\s*$`)
	includeRE = regexp.MustCompile(`^#\s*include\s+"([^"]+)"`)
	defineRE  = regexp.MustCompile(`^#\s*define\s+(\w+)\s+(\w+)\s*$`)
)

type classEntry struct {
	name string
	flag string
}

func genClasses(data string, known map[string]bool) ([]byte, error) {
	letters, err := readShorthand(filepath.Join(data, "strace/src/sysent_shorthand_defs.h"))
	if err != nil {
		return nil, err
	}
	classes, err := readClassList(filepath.Join(data, "classes.txt"))
	if err != nil {
		return nil, err
	}
	// flags[name] = set of TRACE_* over every table entry of that name.
	flags := map[string]map[string]bool{}
	seen := map[string]bool{}
	var files []string
	var parse func(path string) error
	parse = func(path string) error {
		if seen[path] {
			return nil
		}
		seen[path] = true
		rel, _ := filepath.Rel(data, path)
		files = append(files, filepath.ToSlash(rel))
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(text), "\n") {
			line = strings.TrimSpace(line)
			if m := includeRE.FindStringSubmatch(line); m != nil {
				if skippedIncludes[m[1]] {
					continue
				}
				inc, err := resolveInclude(data, filepath.Dir(path), m[1])
				if err != nil {
					return fmt.Errorf("%s:%d: %w", path, i+1, err)
				}
				if err := parse(inc); err != nil {
					return err
				}
				continue
			}
			m := entryRE.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			body := strings.TrimSpace(m[1])
			if body == "" { // [222 ... 223] = { },
				continue
			}
			bm := bodyRE.FindStringSubmatch(body)
			if bm == nil {
				return fmt.Errorf("%s:%d: cannot parse entry %q", path, i+1, line)
			}
			name := bm[2]
			if flags[name] == nil {
				flags[name] = map[string]bool{}
			}
			for _, l := range strings.Split(bm[1], "|") {
				l = strings.TrimSpace(l)
				if l == "0" {
					continue
				}
				tr, ok := letters[l]
				if !ok {
					return fmt.Errorf("%s:%d: unknown flag %q", path, i+1, l)
				}
				flags[name][tr] = true
			}
		}
		return nil
	}
	for _, t := range straceTables {
		if err := parse(filepath.Join(data, t)); err != nil {
			return nil, err
		}
	}

	var dropped []string
	members := map[string][]string{}
	for _, name := range sortedKeys(flags) {
		if !known[name] {
			dropped = append(dropped, name)
			continue
		}
		for _, c := range classes {
			if flags[name][c.flag] {
				members[c.name] = append(members[c.name], name)
			}
		}
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by %q; DO NOT EDIT.\n", generatorCmd)
	fmt.Fprintf(&b, "// Source: %s syscall tables copied to internal/gen/syscalls/ (commits in SOURCES.md):\n", straceRepo)
	for _, f := range files {
		fmt.Fprintf(&b, "//   %s\n", f)
	}
	fmt.Fprintf(&b, "// Class names: internal/gen/syscalls/classes.txt (strace src/filter_qualify.c).\n")
	if len(dropped) > 0 {
		fmt.Fprintf(&b, "// Names in the strace tables but not in the syscall tables, left out: %s.\n", strings.Join(dropped, ", "))
	}
	b.WriteString("\npackage syscalls\n\n")
	b.WriteString("// classTable gives each class name, without its leading '%', its members, sorted.\n")
	b.WriteString("// (An array, not a map: a map literal is built by package init at every start.)\n")
	b.WriteString("var classTable = [...]class{\n")
	for _, c := range classes {
		fmt.Fprintf(&b, "\t{%q, []string{", c.name)
		for i, m := range members[c.name] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", m)
		}
		b.WriteString("}},\n")
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

func resolveInclude(data, dir, inc string) (string, error) {
	for _, cand := range []string{filepath.Join(dir, inc), filepath.Join(data, "strace/linux/generic", inc)} {
		if _, err := os.Stat(cand); err == nil {
			return cand, nil
		}
	}
	return "", fmt.Errorf("include %q: not found (copy it next to the others or list it in skippedIncludes)", inc)
}

// readShorthand maps flag letters (TD, TF, ...) to TRACE_* names, from the
// non-test half of sysent_shorthand_defs.h.
func readShorthand(path string) (map[string]string, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	inElse := false
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#else") {
			inElse = true
			continue
		}
		if !inElse {
			continue
		}
		if d := defineRE.FindStringSubmatch(line); d != nil {
			m[d[1]] = d[2]
		}
	}
	if m["TF"] != "TRACE_FILE" || m["TN"] != "TRACE_NETWORK" {
		return nil, fmt.Errorf("%s: flag letters not found", path)
	}
	return m, nil
}

func readClassList(path string) ([]classEntry, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []classEntry
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"class TRACE_FLAG\"", path, i+1)
		}
		out = append(out, classEntry{f[0], f[1]})
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- x/sys location ----

func goListXSys() (dir, version string, err error) {
	cmd := exec.Command("go", "list", "-m", "-json", "golang.org/x/sys")
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("go list -m golang.org/x/sys: %w", err)
	}
	var m struct{ Dir, Version string }
	if err := json.Unmarshal(outb, &m); err != nil {
		return "", "", fmt.Errorf("go list -m golang.org/x/sys: %w", err)
	}
	if m.Dir == "" {
		return "", "", errors.New("golang.org/x/sys is not in the module cache: run go mod download golang.org/x/sys")
	}
	return m.Dir, m.Version, nil
}
