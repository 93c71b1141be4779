package policy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sysgate/sysgate/syscalls"
)

// Reading OCI runtime-spec seccomp objects and Docker/Moby profiles.
//
// The meaning given to a profile is the one runc gives it through
// libseccomp after Docker (or Podman) has resolved it:
//
//   - includes/excludes are resolved as moby's profiles/seccomp does:
//     arches against the native arch's libseccomp name ("amd64", "arm64",
//     ...), caps against [Options.Caps] (all includes.caps must be held, any
//     held excludes.caps drops the entry), minKernel against the kernel
//     version's first two numbers.
//   - The native arch is always allowed (libseccomp's seccomp_init adds it
//     and runc never removes it); "architectures" adds the listed arches of
//     the native family, an "archMap" entry for the native arch adds its
//     subArchitectures. Arches of other families can never be seen and are
//     ignored. Syscalls from any other arch get BadArch, kill-process.
//   - Entries whose action equals the default action are dropped (runc
//     skips them: libseccomp refuses such rules).
//   - errnoRet defaults to EPERM for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, as
//     the runtime spec says (defaultErrnoRet only applies to defaultAction);
//     errnoRet on any other action is an error, as the spec requires.
//   - The args of one entry are ANDed, except that when two of them compare
//     the same argument runc adds each as a rule of its own, so they are
//     ORed (a warning says so).
//   - The first unconditional entry for a syscall decides it: libseccomp
//     silently drops every later rule for that syscall, and replaces its
//     earlier conditional rules. So a later unconditional entry with
//     another action only draws a warning (Podman's default profile has
//     one: setns allowed, then denied without CAP_SYS_ADMIN). Conditional
//     entries keep file order. The rules come out unconditional first.
//   - flags: SECCOMP_FILTER_FLAG_TSYNC is what sysgate always does; the
//     other known flags are not part of a policy and draw a warning;
//     unknown flags are errors. listenerPath draws a warning (sysgate's own
//     supervisor receives notifications); listenerMetadata is ignored.
//   - Unknown fields are errors. Keys are matched exactly (encoding/json
//     would also take "Names" for "names"; here that is an error with a
//     suggestion). containers/common's "errno"/"defaultErrno" names are
//     read and must agree with errnoRet/defaultErrnoRet.
//   - A profile without defaultAction is an error (moby would run the
//     container unconfined).
//   - Syscall names must exist on some ABI (see [Options.IgnoreUnknown]);
//     names the allowed arches lack (chown32 on x86_64) are kept silently,
//     since profiles are written for many arches.

// dockerDefaultCaps is the capability set Docker gives a container by
// default (moby daemon/pkg/oci/caps defaults), used when Options.Caps is nil.
var dockerDefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// DockerDefaultCaps returns the capabilities Docker grants a container by
// default; [Options.Caps] nil means these.
func DockerDefaultCaps() []string { return slices.Clone(dockerDefaultCaps) }

// scmpArchNames are the architecture names of the runtime spec (libseccomp
// v2.6.0), plus SCMP_ARCH_NATIVE.
var scmpArchNames = []string{
	"SCMP_ARCH_NATIVE",
	"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
	"SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
	"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
	"SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE",
	"SCMP_ARCH_S390", "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
	"SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
	"SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
}

// nativeFilterNames are the names moby may compare includes/excludes arches
// with on native arch a: libseccomp's name for it (moby's goToNative of
// GOARCH), plus moby's own spellings where they differ.
func nativeFilterNames(a *syscalls.Arch) []string {
	switch a {
	case syscalls.X86_64:
		return []string{"amd64"}
	case syscalls.I386:
		return []string{"x86"}
	case syscalls.AArch64:
		return []string{"arm64"}
	case syscalls.LoongArch64:
		return []string{"loong64", "loongarch64"}
	case syscalls.MIPSEL64N32:
		return []string{"mipsel64n32", "mips3l64n32"}
	}
	return []string{a.Name}
}

// filterArchNames are the names includes/excludes arches may use; others
// draw a warning, since such an entry can never apply.
var filterArchNames = []string{
	"x86", "amd64", "x32", "arm", "arm64", "mips", "mipsel", "mips64",
	"mipsel64", "mips64n32", "mipsel64n32", "mips3l64n32", "ppc", "ppc64",
	"ppc64le", "s390", "s390x", "parisc", "parisc64", "riscv64", "loong64",
	"loongarch64", "m68k", "sh", "sheb",
}

// named is a row of the name tables below, searched with lookup. (Slices,
// not maps: a map literal is built by package init at every start of
// sysgate.)
type named[V any] struct {
	name  string
	value V
}

var ociActions = []named[ActionKind]{
	{"SCMP_ACT_KILL", KillThread}, // libseccomp's SCMP_ACT_KILL is SECCOMP_RET_KILL_THREAD
	{"SCMP_ACT_KILL_THREAD", KillThread},
	{"SCMP_ACT_KILL_PROCESS", KillProcess},
	{"SCMP_ACT_TRAP", Trap},
	{"SCMP_ACT_ERRNO", Errno},
	{"SCMP_ACT_TRACE", Trace},
	{"SCMP_ACT_ALLOW", Allow},
	{"SCMP_ACT_LOG", Log},
	{"SCMP_ACT_NOTIFY", Notify},
}

var ociOps = []named[Op]{
	{"SCMP_CMP_NE", Ne},
	{"SCMP_CMP_LT", Lt},
	{"SCMP_CMP_LE", Le},
	{"SCMP_CMP_EQ", Eq},
	{"SCMP_CMP_GE", Ge},
	{"SCMP_CMP_GT", Gt},
	{"SCMP_CMP_MASKED_EQ", MaskedEq},
}

var ociFlags = []named[bool]{ // flag, honoured
	{"SECCOMP_FILTER_FLAG_TSYNC", true},
	{"SECCOMP_FILTER_FLAG_LOG", false},
	{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", false},
	{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", false},
}

// lookup returns the value of name in table.
func lookup[V any](table []named[V], name string) (V, bool) {
	for _, n := range table {
		if n.name == name {
			return n.value, true
		}
	}
	var zero V
	return zero, false
}

// The fields each object may have.
var (
	seccompFields = []string{"defaultAction", "defaultErrnoRet", "defaultErrno", "architectures",
		"archMap", "syscalls", "flags", "listenerPath", "listenerMetadata"}
	archMapFields = []string{"architecture", "subArchitectures"}
	syscallFields = []string{"names", "name", "action", "errnoRet", "errno", "args", "comment",
		"includes", "excludes"}
	argFields    = []string{"index", "value", "valueTwo", "op"}
	filterFields = []string{"caps", "arches", "minKernel"}
)

// errEPERM is the errno runc uses when a profile gives none.
const errEPERM = 1

// parseOCI reads a Docker/Moby seccomp profile, an OCI runtime-spec
// linux.seccomp object, or a whole OCI config.json, and resolves it for
// opts.Arch, opts.Caps and opts.Kernel as Docker and runc would.
func parseOCI(data []byte, file string, opts Options) (*Policy, []Warning, error) {
	doc, err := parseJSON(data, file)
	if err != nil {
		return nil, nil, err
	}
	r := &ociReader{doc: doc, opts: opts, native: opts.Arch}
	if r.native == nil {
		if r.native = syscalls.Native(); r.native == nil {
			return nil, nil, errors.New("parse OCI profile: no native arch known for this machine; set Options.Arch")
		}
	}
	r.caps = opts.Caps
	if r.caps == nil {
		r.caps = dockerDefaultCaps
	}
	p, err := r.read()
	if err != nil {
		return nil, r.warnings, err
	}
	return p, r.warnings, nil
}

type ociReader struct {
	doc      *jsonDoc
	opts     Options
	native   *syscalls.Arch
	caps     []string
	warnings []Warning

	kernel    [2]uint64 // resolved lazily by kernelAtLeast
	kernelErr error
	kernelSet bool
}

// ociEntry is one syscalls[] entry that applies, resolved.
type ociEntry struct {
	action  Action
	when    *Expr
	names   []string
	namePos []Pos
	pos     Pos
	comment string
}

func (r *ociReader) pos(v *jsonValue) Pos { return r.doc.Pos(v.Off) }

func (r *ociReader) errorf(v *jsonValue, format string, args ...any) *Error {
	return r.doc.errorf(v.Off, format, args...)
}

func (r *ociReader) warnf(v *jsonValue, format string, args ...any) {
	r.warnings = append(r.warnings, Warning{Pos: r.pos(v), Msg: fmt.Sprintf(format, args...)})
}

// present reports whether v holds something (not absent, not null).
func present(v *jsonValue) bool { return v != nil && v.Kind != jsonNull }

func (r *ociReader) want(v *jsonValue, k jsonKind, what string) error {
	if v.Kind != k {
		return r.errorf(v, "%s must be %s %s, not %s", what, article(k), k, article(v.Kind)+" "+v.Kind.String())
	}
	return nil
}

func article(k jsonKind) string {
	if k == jsonArray || k == jsonObject {
		return "an"
	}
	return "a"
}

// checkFields rejects members of obj not in allowed.
func (r *ociReader) checkFields(obj *jsonValue, allowed []string, where string) error {
	for _, m := range obj.Members {
		if !slices.Contains(allowed, m.Key) {
			return r.doc.errorf(m.KeyOff, "unknown field %q in %s%s", m.Key, where, suggest(m.Key, allowed))
		}
	}
	return nil
}

func (r *ociReader) str(v *jsonValue, what string) (string, error) {
	if err := r.want(v, jsonString, what); err != nil {
		return "", err
	}
	return v.Str, nil
}

// uint reads a non-negative integer that fits in bits.
func (r *ociReader) uint(v *jsonValue, bits int, what string) (uint64, error) {
	if err := r.want(v, jsonNumber, what); err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(v.Str, 10, bits)
	if err != nil {
		if strings.ContainsAny(v.Str, "-.eE") {
			return 0, r.errorf(v, "%s must be a non-negative integer, not %s", what, v.Str)
		}
		return 0, r.errorf(v, "%s %s does not fit in %d bits", what, v.Str, bits)
	}
	return n, nil
}

// strings reads an array of strings; null reads as empty.
func (r *ociReader) strings(v *jsonValue, what string) ([]*jsonValue, error) {
	if !present(v) {
		return nil, nil
	}
	if err := r.want(v, jsonArray, what); err != nil {
		return nil, err
	}
	for _, e := range v.Elems {
		if err := r.want(e, jsonString, what+" element"); err != nil {
			return nil, err
		}
	}
	return v.Elems, nil
}

func (r *ociReader) read() (*Policy, error) {
	root := r.doc.Root
	if err := r.want(root, jsonObject, "a seccomp profile"); err != nil {
		return nil, err
	}
	sec := root
	if linux := root.Get("linux"); linux != nil && root.Get("defaultAction") == nil {
		// A whole OCI config.json: only linux.seccomp is ours to read.
		if err := r.want(linux, jsonObject, `"linux"`); err != nil {
			return nil, err
		}
		sec = linux.Get("seccomp")
		if !present(sec) {
			return nil, r.errorf(linux, "OCI config has no linux.seccomp")
		}
		if err := r.want(sec, jsonObject, `"linux.seccomp"`); err != nil {
			return nil, err
		}
	}
	if err := r.checkFields(sec, seccompFields, "seccomp profile"); err != nil {
		return nil, err
	}

	p := &Policy{BadArch: Action{Kind: KillProcess}, File: r.doc.file}
	defV := sec.Get("defaultAction")
	if !present(defV) {
		return nil, r.errorf(sec, `seccomp profile has no "defaultAction"`)
	}
	def, err := r.action(defV, sec.Get("defaultErrnoRet"), sec.Get("defaultErrno"), "defaultErrnoRet")
	if err != nil {
		return nil, err
	}
	p.Default = def

	if p.Arches, err = r.arches(sec); err != nil {
		return nil, err
	}
	if err := r.flags(sec); err != nil {
		return nil, err
	}

	entries, err := r.syscalls(sec.Get("syscalls"), def)
	if err != nil {
		return nil, err
	}
	var warns []Warning
	p.Rules, warns = orderRules(entries)
	r.warnings = append(r.warnings, warns...)
	p.BuildIndex()
	return p, nil
}

// action reads an action name and its errno (errnoRet, or a containers/
// common "errno" name); retField names the number's field for messages.
func (r *ociReader) action(actV, retV, errnoV *jsonValue, retField string) (Action, error) {
	name, err := r.str(actV, "action")
	if err != nil {
		return Action{}, err
	}
	kind, ok := lookup(ociActions, name)
	if !ok {
		return Action{}, r.errorf(actV, "unknown action %q%s", name, suggest(name, nameList(ociActions)))
	}
	a := Action{Kind: kind}
	var (
		val    uint64
		hasVal bool
		at     *jsonValue
	)
	if present(retV) {
		if val, err = r.uint(retV, 16, retField); err != nil {
			return Action{}, err
		}
		hasVal, at = true, retV
	}
	if present(errnoV) {
		en, err := r.str(errnoV, "errno")
		if err != nil {
			return Action{}, err
		}
		n, ok := syscalls.Errno(r.native, en)
		if !ok {
			return Action{}, r.errorf(errnoV, "unknown errno %q", en)
		}
		if hasVal && uint64(n) != val {
			return Action{}, r.errorf(errnoV, "errno %q is %d, but %s says %d", en, n, retField, val)
		}
		val, hasVal = uint64(n), true
		if at == nil {
			at = errnoV
		}
	}
	switch kind {
	case Errno, Trace:
		a.Value = errEPERM
		if hasVal {
			a.Value = uint16(val)
		}
		if kind == Errno && val > MaxErrno {
			return Action{}, r.errorf(at, "%s %d is above %d, the largest errno the kernel returns (MAX_ERRNO)", retField, val, MaxErrno)
		}
	default:
		if hasVal {
			return Action{}, r.errorf(at, "%s given for %s, which takes no errno", retField, name)
		}
	}
	return a, nil
}

// nameList returns the names in table, sorted, for suggest.
func nameList[V any](table []named[V]) []string {
	out := make([]string, 0, len(table))
	for _, n := range table {
		out = append(out, n.name)
	}
	slices.Sort(out)
	return out
}

// arch resolves an SCMP_ARCH_ name; nil (and no error) for an arch the
// runtime spec knows but the syscall tables do not, which therefore
// cannot be the native family.
func (r *ociReader) arch(v *jsonValue, what string) (*syscalls.Arch, error) {
	name, err := r.str(v, what)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(scmpArchNames, name) {
		return nil, r.errorf(v, "unknown architecture %q%s", name, suggest(name, scmpArchNames))
	}
	if name == "SCMP_ARCH_NATIVE" {
		return r.native, nil
	}
	a, err := syscalls.ArchByName(name)
	if err != nil {
		return nil, nil
	}
	return a, nil
}

// arches computes the allowed ABIs: the native arch first, then the
// arches the profile adds that belong to the native family.
func (r *ociReader) arches(sec *jsonValue) ([]*syscalls.Arch, error) {
	out := []*syscalls.Arch{r.native}
	family := r.native.Family()
	add := func(a *syscalls.Arch, v *jsonValue) {
		if a == nil || slices.Contains(out, a) {
			return
		}
		if a.Family() != family {
			r.warnf(v, "architecture %s can never be seen on %s; ignored", v.Str, r.native.Name)
			return
		}
		out = append(out, a)
	}
	list, err := r.strings(sec.Get("architectures"), `"architectures"`)
	if err != nil {
		return nil, err
	}
	archMap := sec.Get("archMap")
	if present(archMap) {
		if err := r.want(archMap, jsonArray, `"archMap"`); err != nil {
			return nil, err
		}
		if len(list) > 0 && len(archMap.Elems) > 0 {
			return nil, r.errorf(archMap, `both "architectures" and "archMap" are given; use one`)
		}
	}
	var resolved []*syscalls.Arch
	for _, v := range list {
		a, err := r.arch(v, "architecture")
		if err != nil {
			return nil, err
		}
		resolved = append(resolved, a)
	}
	for i, v := range list {
		add(resolved[i], v)
	}
	if !present(archMap) {
		return out, nil
	}
	found := false
	for _, e := range archMap.Elems {
		if err := r.want(e, jsonObject, "archMap entry"); err != nil {
			return nil, err
		}
		if err := r.checkFields(e, archMapFields, "archMap entry"); err != nil {
			return nil, err
		}
		av := e.Get("architecture")
		if !present(av) {
			return nil, r.errorf(e, `archMap entry has no "architecture"`)
		}
		a, err := r.arch(av, "architecture")
		if err != nil {
			return nil, err
		}
		subs, err := r.strings(e.Get("subArchitectures"), `"subArchitectures"`)
		if err != nil {
			return nil, err
		}
		var subArches []*syscalls.Arch
		for _, sv := range subs {
			sa, err := r.arch(sv, "sub-architecture")
			if err != nil {
				return nil, err
			}
			subArches = append(subArches, sa)
		}
		// Like moby, the first entry for the native arch is the one used.
		if found || a != r.native {
			continue
		}
		found = true
		for i, sv := range subs {
			add(subArches[i], sv)
		}
	}
	return out, nil
}

func (r *ociReader) flags(sec *jsonValue) error {
	flags, err := r.strings(sec.Get("flags"), `"flags"`)
	if err != nil {
		return err
	}
	for _, f := range flags {
		honoured, ok := lookup(ociFlags, f.Str)
		if !ok {
			return r.errorf(f, "unknown seccomp flag %q%s", f.Str, suggest(f.Str, nameList(ociFlags)))
		}
		if !honoured {
			r.warnf(f, "flag %s is not part of a sysgate policy; ignored", f.Str)
		}
	}
	if v := sec.Get("listenerPath"); present(v) {
		if _, err := r.str(v, `"listenerPath"`); err != nil {
			return err
		}
		r.warnf(v, "listenerPath ignored: sysgate's own supervisor receives SCMP_ACT_NOTIFY requests")
	}
	if v := sec.Get("listenerMetadata"); present(v) {
		if _, err := r.str(v, `"listenerMetadata"`); err != nil {
			return err
		}
	}
	return nil
}

// syscalls reads the syscalls[] entries and keeps those that apply and
// whose action differs from def, in file order.
func (r *ociReader) syscalls(v *jsonValue, def Action) ([]ociEntry, error) {
	if !present(v) {
		return nil, nil
	}
	if err := r.want(v, jsonArray, `"syscalls"`); err != nil {
		return nil, err
	}
	var out []ociEntry
	for _, ev := range v.Elems {
		e, applies, err := r.entry(ev)
		if err != nil {
			return nil, err
		}
		if !applies || e.action == def || len(e.names) == 0 {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// entry reads one syscalls[] entry, checking all of it even if a filter
// excludes it, and tells whether it applies.
func (r *ociReader) entry(ev *jsonValue) (ociEntry, bool, error) {
	var e ociEntry
	if err := r.want(ev, jsonObject, "syscalls entry"); err != nil {
		return e, false, err
	}
	if err := r.checkFields(ev, syscallFields, "syscalls entry"); err != nil {
		return e, false, err
	}
	e.pos = r.pos(ev)

	nameV, namesV := ev.Get("name"), ev.Get("names")
	names, err := r.strings(namesV, `"names"`)
	if err != nil {
		return e, false, err
	}
	if present(nameV) {
		if _, err := r.str(nameV, `"name"`); err != nil {
			return e, false, err
		}
		if len(names) > 0 {
			return e, false, r.errorf(nameV, `both "name" and "names" are given; use "names"`)
		}
		names = []*jsonValue{nameV}
	}
	if len(names) == 0 {
		return e, false, r.errorf(ev, `syscalls entry names no syscall ("names" is missing or empty)`)
	}
	for _, nv := range names {
		switch {
		case nv.Str == "":
			return e, false, r.errorf(nv, "empty syscall name")
		case !syscalls.Exists(nv.Str):
			if !r.opts.IgnoreUnknown {
				return e, false, r.errorf(nv, "unknown syscall %q%s", nv.Str, suggestSyscall(nv.Str))
			}
			r.warnf(nv, "unknown syscall %q ignored", nv.Str)
		case slices.Contains(e.names, nv.Str):
		default:
			e.names = append(e.names, nv.Str)
			e.namePos = append(e.namePos, r.pos(nv))
		}
	}

	actV := ev.Get("action")
	if !present(actV) {
		return e, false, r.errorf(ev, `syscalls entry has no "action"`)
	}
	if e.action, err = r.action(actV, ev.Get("errnoRet"), ev.Get("errno"), "errnoRet"); err != nil {
		return e, false, err
	}
	if e.when, err = r.args(ev.Get("args")); err != nil {
		return e, false, err
	}
	if v := ev.Get("comment"); present(v) {
		if e.comment, err = r.str(v, `"comment"`); err != nil {
			return e, false, err
		}
	}
	inc, err := r.filter(ev.Get("includes"), true)
	if err != nil {
		return e, false, err
	}
	exc, err := r.filter(ev.Get("excludes"), false)
	if err != nil {
		return e, false, err
	}
	return e, inc && exc, nil
}

// suggestSyscall offers the closest native syscall name for a typo.
func suggestSyscall(name string) string {
	return suggest(name, syscalls.Names())
}

// args reads an entry's argument comparisons.
func (r *ociReader) args(v *jsonValue) (*Expr, error) {
	if !present(v) {
		return nil, nil
	}
	if err := r.want(v, jsonArray, `"args"`); err != nil {
		return nil, err
	}
	var (
		cmps    []*Expr
		seen    [6]bool
		repeats = -1
	)
	for _, av := range v.Elems {
		if err := r.want(av, jsonObject, "args entry"); err != nil {
			return nil, err
		}
		if err := r.checkFields(av, argFields, "args entry"); err != nil {
			return nil, err
		}
		iv, vv, v2, ov := av.Get("index"), av.Get("value"), av.Get("valueTwo"), av.Get("op")
		for _, f := range []struct {
			v    *jsonValue
			name string
		}{{iv, "index"}, {vv, "value"}, {ov, "op"}} {
			if !present(f.v) {
				return nil, r.errorf(av, "args entry has no %q", f.name)
			}
		}
		idx, err := r.uint(iv, 64, "index")
		if err != nil {
			return nil, err
		}
		if idx > 5 {
			return nil, r.errorf(iv, "argument index %d out of range 0..5", idx)
		}
		val, err := r.uint(vv, 64, "value")
		if err != nil {
			return nil, err
		}
		var two uint64
		if present(v2) {
			if two, err = r.uint(v2, 64, "valueTwo"); err != nil {
				return nil, err
			}
		}
		opName, err := r.str(ov, "op")
		if err != nil {
			return nil, err
		}
		op, ok := lookup(ociOps, opName)
		if !ok {
			return nil, r.errorf(ov, "unknown operator %q%s", opName, suggest(opName, nameList(ociOps)))
		}
		c := Cmp{Arg: int(idx), Op: op, Value: val}
		if op == MaskedEq {
			c.Mask, c.Value = val, two
			if two&^val != 0 {
				r.warnf(av, "arg%d & %#x can never equal %#x: this comparison never holds", idx, val, two)
			}
		} else if two != 0 {
			r.warnf(v2, "valueTwo is only used by SCMP_CMP_MASKED_EQ; ignored")
		}
		if seen[idx] && repeats < 0 {
			repeats = int(idx)
			r.warnf(av, "argument %d is compared twice in one entry: runc then adds each comparison as a rule of its own, so they are ORed", idx)
		}
		seen[idx] = true
		cmps = append(cmps, &Expr{Kind: ExprCmp, Cmp: c})
	}
	switch {
	case len(cmps) == 0:
		return nil, nil
	case len(cmps) == 1:
		return cmps[0], nil
	case repeats >= 0:
		return &Expr{Kind: ExprOr, Subs: cmps}, nil
	}
	return &Expr{Kind: ExprAnd, Subs: cmps}, nil
}

// filter reads includes (include true) or excludes and tells whether the
// entry survives it.
func (r *ociReader) filter(v *jsonValue, include bool) (bool, error) {
	if !present(v) {
		return true, nil
	}
	where := "includes"
	if !include {
		where = "excludes"
	}
	if err := r.want(v, jsonObject, `"`+where+`"`); err != nil {
		return false, err
	}
	if err := r.checkFields(v, filterFields, `"`+where+`"`); err != nil {
		return false, err
	}
	arches, err := r.strings(v.Get("arches"), `"arches"`)
	if err != nil {
		return false, err
	}
	caps, err := r.strings(v.Get("caps"), `"caps"`)
	if err != nil {
		return false, err
	}
	var minKernel [2]uint64
	hasKernel := false
	if kv := v.Get("minKernel"); present(kv) {
		s, err := r.str(kv, `"minKernel"`)
		if err != nil {
			return false, err
		}
		if s != "" {
			if minKernel, err = parseMinKernel(s); err != nil {
				return false, r.errorf(kv, "%v", err)
			}
			hasKernel = true
		}
	}

	native := nativeFilterNames(r.native)
	archHit := false
	for _, a := range arches {
		if !slices.Contains(filterArchNames, a.Str) {
			r.warnf(a, "unknown arch %q in %s never matches%s", a.Str, where, suggest(a.Str, filterArchNames))
		}
		archHit = archHit || slices.Contains(native, a.Str)
	}
	held := func(c string) bool { return slices.Contains(r.caps, c) }
	if include {
		if len(arches) > 0 && !archHit {
			return false, nil
		}
		for _, c := range caps {
			if !held(c.Str) {
				return false, nil
			}
		}
		if hasKernel {
			ok, err := r.kernelAtLeast(minKernel, v.Get("minKernel"))
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
	if archHit {
		return false, nil
	}
	for _, c := range caps {
		if held(c.Str) {
			return false, nil
		}
	}
	if hasKernel {
		ok, err := r.kernelAtLeast(minKernel, v.Get("minKernel"))
		if err != nil || ok {
			return false, err
		}
	}
	return true, nil
}

// parseMinKernel parses moby's "<kernel>.<major>" version (e.g. "4.8").
func parseMinKernel(s string) ([2]uint64, error) {
	var v [2]uint64
	parts := strings.Split(s, ".")
	if len(parts) != 2 {
		return v, fmt.Errorf(`invalid minKernel %q: want "<kernel>.<major>", e.g. "4.8"`, s)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return v, fmt.Errorf(`invalid minKernel %q: want "<kernel>.<major>", e.g. "4.8"`, s)
		}
		v[i] = n
	}
	if v == [2]uint64{} {
		return v, fmt.Errorf("invalid minKernel %q: version cannot be 0.0", s)
	}
	return v, nil
}

// parseKernelRelease takes the first two numbers of a release such as
// "6.18.0-rc1" or "3.12-1-amd64", as moby does.
func parseKernelRelease(s string) ([2]uint64, error) {
	var v [2]uint64
	rest := s
	for i := range v {
		end := 0
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		n, err := strconv.ParseUint(rest[:end], 10, 32)
		if err != nil {
			return v, fmt.Errorf("parse kernel release %q: want <kernel>.<major>[...]", s)
		}
		v[i] = n
		rest = rest[end:]
		if i == 0 {
			if !strings.HasPrefix(rest, ".") {
				return v, fmt.Errorf("parse kernel release %q: want <kernel>.<major>[...]", s)
			}
			rest = rest[1:]
		}
	}
	return v, nil
}

// kernelAtLeast compares the kernel of Options.Kernel (or the running one)
// with want; at is the minKernel value, for the error position.
func (r *ociReader) kernelAtLeast(want [2]uint64, at *jsonValue) (bool, error) {
	if !r.kernelSet {
		r.kernelSet = true
		rel := r.opts.Kernel
		if rel == "" {
			rel, r.kernelErr = kernelRelease()
		}
		if r.kernelErr == nil {
			r.kernel, r.kernelErr = parseKernelRelease(rel)
		}
	}
	if r.kernelErr != nil {
		return false, r.errorf(at, "minKernel: %v", r.kernelErr)
	}
	k := r.kernel
	return k[0] > want[0] || k[0] == want[0] && k[1] >= want[1], nil
}

// orderRules turns the applying entries into first-match rules with
// libseccomp's meaning: unconditional entries first, each syscall decided
// by the first one naming it (libseccomp silently drops every later rule
// for a syscall that already has an unconditional one, so a later
// conflicting entry only draws a warning), then the conditional ones,
// minus the syscalls already decided, in file order.
func orderRules(entries []ociEntry) ([]Rule, []Warning) {
	type decision struct {
		action Action
		pos    Pos
	}
	var (
		decided = make(map[string]decision)
		rules   []Rule
		warns   []Warning
	)
	for _, e := range entries {
		if e.when != nil {
			continue
		}
		var names []string
		for i, n := range e.names {
			if d, ok := decided[n]; ok {
				if d.action != e.action {
					warns = append(warns, Warning{Pos: e.namePos[i], Msg: fmt.Sprintf(
						"syscall %q gets %s here, but libseccomp keeps the first unconditional rule: %s at %s",
						n, e.action, d.action, d.pos)})
				}
				continue
			}
			decided[n] = decision{e.action, e.namePos[i]}
			names = append(names, n)
		}
		if len(names) > 0 {
			rules = append(rules, Rule{Action: e.action, Syscalls: names, Pos: e.pos, Comment: e.comment})
		}
	}
	for _, e := range entries {
		if e.when == nil {
			continue
		}
		var names []string
		for _, n := range e.names {
			if _, ok := decided[n]; !ok {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			rules = append(rules, Rule{Action: e.action, Syscalls: names, When: e.when, Pos: e.pos, Comment: e.comment})
		}
	}
	return rules, warns
}
