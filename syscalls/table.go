package syscalls

// sysTable is one ABI's syscalls, sorted by number, packed by the generator
// into a string constant that [Arch.Lookup] and [Arch.SyscallName] search in
// place, so nothing is built at run time (maps built on the first call cost
// each run of sysgate ~9 page faults). A constant also lies in the binary's
// read-only data, whose pages start-up mostly maps already (a read fault on
// them maps their neighbours too), and holds no pointers for the garbage
// collector to scan; a []Syscall literal lies in .data, whose pages start-up
// writes and so copies one at a time.
//
// With n syscalls, in little-endian order:
//
//	[0:2]       n (uint16)
//	[2:2+4n]    the numbers (uint32, NrBase included), ascending
//	[2+4n:2+6n] the ends of the names (uint16): entry k's name is
//	            names[end(k-1):end(k)], with end(-1) = 0
//	[2+6n:2+8n] the entries in ascending order of name (uint16 indexes)
//	[2+8n:]     names: the names, concatenated in entry order
//
// The generator rejects repeated numbers and names (TestTablesSorted checks
// too). Were there repeats, the
// searches would return the last of the equal entries in table order, as the
// maps filled in table order that they replace did: the name order lists
// equal names in entry order, and both searches take the last entry not
// after the key.
type sysTable string

// u16 returns the i-th little-endian uint16 of s.
func (s sysTable) u16(i int) int {
	return int(s[2*i]) | int(s[2*i+1])<<8
}

// u32 returns the i-th little-endian uint32 of s.
func (s sysTable) u32(i int) uint32 {
	b := s[4*i : 4*i+4]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// parts returns the number of entries and the sections of t. (Separate
// values, not a struct: the compiler keeps these in registers, a struct of
// four strings in memory.)
func (t sysTable) parts() (n int, nrs, ends, order, names sysTable) {
	n = t.u16(0)
	return n, t[2 : 2+4*n], t[2+4*n : 2+6*n], t[2+6*n : 2+8*n], t[2+8*n:]
}

// entryName returns entry k's name, a substring of names.
func entryName(ends, names sysTable, k int) string {
	start := 0
	if k > 0 {
		start = ends.u16(k - 1)
	}
	return string(names[start:ends.u16(k)])
}

// lookup returns the number of the last entry named name.
func (t sysTable) lookup(name string) (uint32, bool) {
	n, nrs, ends, order, names := t.parts()
	// i becomes the first position in name order whose name is after
	// name; the entry before it is the last whose name is not.
	i, j := 0, n
	for i < j {
		h := int(uint(i+j) >> 1)
		if entryName(ends, names, order.u16(h)) <= name {
			i = h + 1
		} else {
			j = h
		}
	}
	if i > 0 {
		if k := order.u16(i - 1); entryName(ends, names, k) == name {
			return nrs.u32(k), true
		}
	}
	return 0, false
}

// syscallName returns the name of the last entry numbered nr.
func (t sysTable) syscallName(nr uint32) (string, bool) {
	n, nrs, ends, _, names := t.parts()
	i, j := 0, n
	for i < j {
		h := int(uint(i+j) >> 1)
		if nrs.u32(h) <= nr {
			i = h + 1
		} else {
			j = h
		}
	}
	if i > 0 && nrs.u32(i-1) == nr {
		return entryName(ends, names, i-1), true
	}
	return "", false
}

// syscalls returns the entries, in order, in a new slice; the names are
// substrings of t.
func (t sysTable) syscalls() []Syscall {
	n, nrs, ends, _, names := t.parts()
	out := make([]Syscall, n)
	for k := range out {
		out[k] = Syscall{Name: entryName(ends, names, k), Nr: nrs.u32(k)}
	}
	return out
}
