package syscalls

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// constKind tells an errno or a signal from other constants.
type constKind uint8

const (
	constInt constKind = iota
	constErrno
	constSignal
)

type constEntry struct {
	name string
	val  uint64
	kind constKind
}

type errnoEntry struct {
	num  int
	name string
	text string
}

// archConsts and archErrnos are rows of constsByArch and errnosByArch
// (zconsts.go), by x/sys GOARCH.
type archConsts struct {
	goarch string
	idx    []uint16
}

type archErrnos struct {
	goarch string
	table  []errnoEntry
}

// constsFor returns the constPool indexes of goarch's own constants.
func constsFor(goarch string) []uint16 {
	for _, c := range constsByArch {
		if c.goarch == goarch {
			return c.idx
		}
	}
	return nil
}

// errnosFor returns goarch's errno table.
func errnosFor(goarch string) []errnoEntry {
	for _, e := range errnosByArch {
		if e.goarch == goarch {
			return e.table
		}
	}
	return nil
}

func findConst(table []constEntry, name string) (constEntry, bool) {
	i := sort.Search(len(table), func(i int) bool { return table[i].name >= name })
	if i < len(table) && table[i].name == name {
		return table[i], true
	}
	return constEntry{}, false
}

// findPooled is findConst over constPool entries listed by index.
func findPooled(idx []uint16, name string) (constEntry, bool) {
	i := sort.Search(len(idx), func(i int) bool { return constPool[idx[i]].name >= name })
	if i < len(idx) && constPool[idx[i]].name == name {
		return constPool[idx[i]], true
	}
	return constEntry{}, false
}

func (a *Arch) lookupConst(name string) (constEntry, bool) {
	if e, ok := findPooled(constsFor(a.constArch), name); ok {
		return e, true
	}
	return findConst(constsCommon[:], name)
}

// Const returns the value of a symbolic constant (O_RDONLY, AT_FDCWD,
// CLONE_NEWUSER, AF_INET, SOCK_STREAM, PROT_EXEC, MAP_SHARED, MS_BIND,
// PR_SET_NO_NEW_PRIVS, FUTEX_WAIT, TIOCSTI, EPERM, SIGKILL, PER_LINUX, ...)
// on the ABI a. Negative values (AT_FDCWD) are sign-extended to 64 bits.
//
// Values come from golang.org/x/sys/unix for the GOARCH in [Arch.ConstSource].
// ABIs x/sys has no port for borrow the closest one: x32 uses amd64, s390
// uses s390x and MIPS n32 uses n64 (ioctl numbers that encode sizeof(long)
// differ there); m68k uses arm, parisc uses 386/amd64 and sh/sheb use 386,
// which is wrong for parisc's own errno, O_*, MAP_*, SOCK_* and signal
// values and for sh's ioctls. ConstSource says which.
func Const(a *Arch, name string) (uint64, bool) {
	e, ok := a.lookupConst(name)
	return e.val, ok
}

// ConstSource returns the golang.org/x/sys GOARCH whose constants [Const]
// uses for a, and whether they are a's own (false: borrowed from the closest
// port, see Const).
func (a *Arch) ConstSource() (goarch string, exact bool) {
	return a.constArch, a.constExact
}

// ConstNames returns every constant name [Const] knows on a, sorted.
func ConstNames(a *Arch) []string {
	own := constsFor(a.constArch)
	out := make([]string, 0, len(constsCommon)+len(own))
	for _, e := range constsCommon {
		out = append(out, e.name)
	}
	for _, i := range own {
		out = append(out, constPool[i].name)
	}
	sort.Strings(out)
	return out
}

// Errno returns the number of the errno named name (EPERM, EWOULDBLOCK, ...)
// on a; errno numbers differ on MIPS (and on parisc, see [Const]).
func Errno(a *Arch, name string) (int, bool) {
	e, ok := a.lookupConst(name)
	if !ok || e.kind != constErrno {
		return 0, false
	}
	return int(e.val), true
}

// Signal returns the number of the signal named name (SIGKILL, SIGSYS, ...) on a.
func Signal(a *Arch, name string) (int, bool) {
	e, ok := a.lookupConst(name)
	if !ok || e.kind != constSignal {
		return 0, false
	}
	return int(e.val), true
}

func findErrno(table []errnoEntry, num int) (errnoEntry, bool) {
	i := sort.Search(len(table), func(i int) bool { return table[i].num >= num })
	if i < len(table) && table[i].num == num {
		return table[i], true
	}
	return errnoEntry{}, false
}

// ErrnoName returns the name of errno e with the numbers of x86 and the
// generic ABIs ("EPERM" for 1), or "" if there is none. Use [ErrnoNameFor]
// for MIPS, whose numbers above 34 differ.
func ErrnoName(e int) string {
	return ErrnoNameFor(X86_64, e)
}

// ErrnoNameFor returns the name of errno e on a, or "" if there is none.
func ErrnoNameFor(a *Arch, e int) string {
	r, _ := findErrno(errnosFor(a.constArch), e)
	return r.name
}

// ErrnoString returns the strerror text of errno e with x86 numbers
// ("Operation not permitted" for 1), or "" if there is none. The texts are
// x/sys's (those of syscall.Errno.Error) with a capital first letter, as
// glibc writes them.
func ErrnoString(e int) string {
	r, ok := findErrno(errnosFor(X86_64.constArch), e)
	if !ok {
		return ""
	}
	first, size := utf8.DecodeRuneInString(r.text)
	return string(unicode.ToUpper(first)) + r.text[size:]
}
