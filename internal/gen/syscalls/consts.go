package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Kinds of constant, as package syscalls names them.
const (
	kindInt    = "constInt"
	kindErrno  = "constErrno"
	kindSignal = "constSignal"
)

type constVal struct {
	val  uint64 // negative values sign-extended
	kind string
}

type errnoRow struct {
	num        int
	name, text string
}

// constFile is what one x/sys source file holds.
type constFile struct {
	consts map[string]constVal
	errors []errnoRow // errorList
}

// parseConstFile reads the integer constants of a golang.org/x/sys/unix
// source file. keep filters names (nil keeps all).
func parseConstFile(path string, keep func(string) bool) (*constFile, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	cf := &constFile{consts: map[string]constVal{}}
	refs := map[string]string{} // NAME = OTHER
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range gd.Specs {
			vs, ok := spec.(*ast.ValueSpec)
			if !ok {
				continue
			}
			if gd.Tok == token.VAR {
				for i, n := range vs.Names {
					if n.Name == "errorList" && i < len(vs.Values) {
						rows, err := parseErrorList(vs.Values[i])
						if err != nil {
							return nil, fmt.Errorf("%s: errorList: %w", path, err)
						}
						cf.errors = rows
					}
				}
				continue
			}
			if gd.Tok != token.CONST {
				continue
			}
			for i, n := range vs.Names {
				if i >= len(vs.Values) || (keep != nil && !keep(n.Name)) {
					continue
				}
				if id, ok := vs.Values[i].(*ast.Ident); ok {
					refs[n.Name] = id.Name
					continue
				}
				if v, ok := evalConst(vs.Values[i]); ok {
					cf.consts[n.Name] = v
				}
			}
		}
	}
	for name, other := range refs {
		if v, ok := cf.consts[other]; ok {
			cf.consts[name] = v
		}
	}
	return cf, nil
}

// evalConst evaluates 0x1, -0x64, syscall.Errno(0x1) and syscall.Signal(0x9);
// anything else (strings, runes, expressions) is not a policy constant.
func evalConst(e ast.Expr) (constVal, bool) {
	kind := kindInt
	if call, ok := e.(*ast.CallExpr); ok && len(call.Args) == 1 {
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return constVal{}, false
		}
		switch sel.Sel.Name {
		case "Errno":
			kind = kindErrno
		case "Signal":
			kind = kindSignal
		default:
			return constVal{}, false
		}
		e = call.Args[0]
	}
	neg := false
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.SUB {
		neg = true
		e = u.X
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return constVal{}, false
	}
	v, err := strconv.ParseUint(lit.Value, 0, 64)
	if err != nil {
		return constVal{}, false
	}
	if neg {
		v = uint64(-int64(v))
	}
	return constVal{v, kind}, true
}

func parseErrorList(e ast.Expr) ([]errnoRow, error) {
	cl, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil, fmt.Errorf("not a composite literal")
	}
	var rows []errnoRow
	for _, elt := range cl.Elts {
		row, ok := elt.(*ast.CompositeLit)
		if !ok || len(row.Elts) != 3 {
			return nil, fmt.Errorf("unexpected row %T", elt)
		}
		var lits [3]string
		for i, x := range row.Elts {
			bl, ok := x.(*ast.BasicLit)
			if !ok {
				return nil, fmt.Errorf("unexpected field %T", x)
			}
			lits[i] = bl.Value
		}
		num, err := strconv.ParseInt(lits[0], 0, 32)
		if err != nil {
			return nil, err
		}
		name, err1 := strconv.Unquote(lits[1])
		text, err2 := strconv.Unquote(lits[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad strings in row %d", num)
		}
		rows = append(rows, errnoRow{int(num), name, text})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].num < rows[j].num })
	return rows, nil
}

// readExtra reads uapi-extra.txt: NAME VALUE lines, for every GOARCH until
// a line "@goarch ..." limits the following lines to those GOARCHes. The
// map key "" holds the constants of every GOARCH.
func readExtra(path string) (map[string]map[string]constVal, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	all := map[string]map[string]constVal{"": {}}
	scope := []string{""}
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "@") {
			scope = strings.Fields(line[1:])
			for _, g := range scope {
				if all[g] == nil {
					all[g] = map[string]constVal{}
				}
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"NAME VALUE\"", path, i+1)
		}
		v, err := strconv.ParseInt(f[1], 0, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		for _, g := range scope {
			if _, dup := all[g][f[0]]; dup {
				return nil, fmt.Errorf("%s:%d: %s twice", path, i+1, f[0])
			}
			all[g][f[0]] = constVal{uint64(v), kindInt}
		}
	}
	return all, nil
}

func genConsts(data, xsysDir, xsysVersion string) ([]byte, error) {
	unixDir := filepath.Join(xsysDir, "unix")
	common, err := parseConstFile(filepath.Join(unixDir, "zerrors_linux.go"), nil)
	if err != nil {
		return nil, err
	}
	types, err := parseConstFile(filepath.Join(unixDir, "ztypes_linux.go"), func(name string) bool {
		for _, p := range ztypesPrefixes {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	extra, err := readExtra(filepath.Join(data, "uapi-extra.txt"))
	if err != nil {
		return nil, err
	}
	merged := map[string]constVal{}
	for _, src := range []struct {
		what string
		m    map[string]constVal
	}{{"zerrors_linux.go", common.consts}, {"ztypes_linux.go", types.consts}, {"uapi-extra.txt", extra[""]}} {
		for name, v := range src.m {
			if old, dup := merged[name]; dup && old != v {
				return nil, fmt.Errorf("%s: %s = %#x conflicts with %#x", src.what, name, v.val, old.val)
			}
			merged[name] = v
		}
	}

	goarches := map[string]bool{}
	for _, a := range archSpecs {
		goarches[a.constArch] = true
	}
	perArch := map[string]*constFile{}
	for _, g := range sortedKeys(goarches) {
		cf, err := parseConstFile(filepath.Join(unixDir, "zerrors_linux_"+g+".go"), nil)
		if err != nil {
			return nil, err
		}
		for name, v := range cf.consts {
			if old, dup := merged[name]; dup && old != v {
				return nil, fmt.Errorf("zerrors_linux_%s.go: %s = %#x shadows common %#x", g, name, v.val, old.val)
			}
		}
		for name, v := range extra[g] {
			if _, dup := cf.consts[name]; dup {
				return nil, fmt.Errorf("uapi-extra.txt: %s is in zerrors_linux_%s.go already", name, g)
			}
			cf.consts[name] = v
		}
		delete(extra, g)
		if len(cf.errors) == 0 {
			return nil, fmt.Errorf("zerrors_linux_%s.go: no errorList", g)
		}
		perArch[g] = cf
	}

	delete(extra, "")
	if len(extra) > 0 {
		return nil, fmt.Errorf("uapi-extra.txt: GOARCHes %v are used by no architecture", sortedKeys(extra))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by %q; DO NOT EDIT.\n", generatorCmd)
	fmt.Fprintf(&b, "// Source: golang.org/x/sys %s: unix/zerrors_linux.go, unix/zerrors_linux_{%s}.go,\n", xsysVersion, strings.Join(sortedKeys(goarches), ","))
	fmt.Fprintf(&b, "// unix/ztypes_linux.go (%s* only); internal/gen/syscalls/uapi-extra.txt (FUTEX_*, personality, FIO*).\n", strings.Join(ztypesPrefixes, "*, "))
	b.WriteString("\npackage syscalls\n\n")
	fmt.Fprintf(&b, "// xsysVersion is the golang.org/x/sys version the constants come from.\nconst xsysVersion = %q\n\n", xsysVersion)

	writeTable := func(m map[string]constVal) {
		for _, name := range sortedKeys(m) {
			v := m[name]
			fmt.Fprintf(&b, "\t{%q, %#x, %s},\n", name, v.val, v.kind)
		}
	}
	fmt.Fprintf(&b, "// constsCommon holds the %d constants that are the same on every architecture, sorted by name.\n", len(merged))
	b.WriteString("var constsCommon = [...]constEntry{\n")
	writeTable(merged)
	b.WriteString("}\n\n")

	// Per-arch constants repeat across GOARCHes (1.5k distinct of ~10k), so
	// they are stored once in constPool and listed per GOARCH by index.
	type poolKey struct {
		name string
		v    constVal
	}
	poolSet := map[poolKey]bool{}
	for _, cf := range perArch {
		for name, v := range cf.consts {
			poolSet[poolKey{name, v}] = true
		}
	}
	pool := make([]poolKey, 0, len(poolSet))
	for k := range poolSet {
		pool = append(pool, k)
	}
	sort.Slice(pool, func(i, j int) bool {
		if pool[i].name != pool[j].name {
			return pool[i].name < pool[j].name
		}
		return pool[i].v.val < pool[j].v.val
	})
	if len(pool) > 1<<16 {
		return nil, fmt.Errorf("constant pool of %d entries overflows uint16 indexes", len(pool))
	}
	poolIndex := map[poolKey]int{}
	fmt.Fprintf(&b, "// constPool holds the %d distinct per-GOARCH constants, sorted by name.\n", len(pool))
	b.WriteString("var constPool = [...]constEntry{\n")
	for i, k := range pool {
		poolIndex[k] = i
		fmt.Fprintf(&b, "\t{%q, %#x, %s},\n", k.name, k.v.val, k.v.kind)
	}
	b.WriteString("}\n\n")

	b.WriteString("// constsByArch lists each x/sys GOARCH's own constants as constPool indexes, in name order.\n")
	b.WriteString("// (Arrays, not maps, here: a map literal is built by package init at every start.)\n")
	b.WriteString("var constsByArch = [...]archConsts{\n")
	for _, g := range sortedKeys(perArch) {
		var idx []int
		for name, v := range perArch[g].consts {
			idx = append(idx, poolIndex[poolKey{name, v}])
		}
		sort.Ints(idx)
		fmt.Fprintf(&b, "{%q, []uint16{", g)
		for i, x := range idx {
			if i > 0 {
				b.WriteString(",")
			}
			if i%20 == 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "%d", x)
		}
		b.WriteString(",\n}},\n")
	}
	b.WriteString("}\n\n")

	// Most GOARCHes share one errno table; emit each distinct table once.
	var tables [][]errnoRow
	use := map[string]int{}
	for _, g := range sortedKeys(perArch) {
		rows := perArch[g].errors
		found := -1
		for i, t := range tables {
			if fmt.Sprint(t) == fmt.Sprint(rows) {
				found = i
			}
		}
		if found < 0 {
			tables = append(tables, rows)
			found = len(tables) - 1
		}
		use[g] = found
	}
	for i, t := range tables {
		var users []string
		for _, g := range sortedKeys(use) {
			if use[g] == i {
				users = append(users, g)
			}
		}
		fmt.Fprintf(&b, "// errnoTable%d is the errorList (number, name, strerror text) of %s, by number.\n", i, strings.Join(users, ", "))
		fmt.Fprintf(&b, "var errnoTable%d = []errnoEntry{\n", i)
		for _, r := range t {
			fmt.Fprintf(&b, "\t{%d, %q, %q},\n", r.num, r.name, r.text)
		}
		b.WriteString("}\n\n")
	}
	b.WriteString("// errnosByArch gives each x/sys GOARCH its errno table.\n")
	b.WriteString("// (The errno tables are slice literals, which the compiler lays out; slicing\n")
	b.WriteString("// arrays here, errnoTable0[:], would be work for package init at every start.)\n")
	b.WriteString("var errnosByArch = [...]archErrnos{\n")
	for _, g := range sortedKeys(use) {
		fmt.Fprintf(&b, "\t{%q, errnoTable%d},\n", g, use[g])
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}
