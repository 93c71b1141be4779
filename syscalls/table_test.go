package syscalls

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// packTable packs list, sorted by number, as the generator does (see
// sysTable): equal names in list order.
func packTable(list []Syscall) sysTable {
	order := make([]int, len(list))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return strings.Compare(list[i].Name, list[j].Name) })
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(list)))
	for _, s := range list {
		b = binary.LittleEndian.AppendUint32(b, s.Nr)
	}
	end := 0
	for _, s := range list {
		end += len(s.Name)
		b = binary.LittleEndian.AppendUint16(b, uint16(end))
	}
	for _, k := range order {
		b = binary.LittleEndian.AppendUint16(b, uint16(k))
	}
	for _, s := range list {
		b = append(b, s.Name...)
	}
	return sysTable(b)
}

// TestTablesSorted checks what the searches rely on: every ABI's table is
// sorted by number, with no number or name twice, and is packed as sysTable
// describes.
func TestTablesSorted(t *testing.T) {
	for _, a := range Arches() {
		t.Run(a.Name, func(t *testing.T) {
			list := a.Syscalls()
			if len(list) == 0 {
				t.Fatal("no syscalls")
			}
			names := map[string]bool{}
			for i, s := range list {
				if i > 0 && list[i-1].Nr >= s.Nr {
					t.Errorf("not strictly ascending at %d: %v then %v", i, list[i-1], s)
				}
				if names[s.Name] {
					t.Errorf("%s twice", s.Name)
				}
				names[s.Name] = true
			}
			if got, want := a.table, packTable(list); got != want {
				t.Errorf("table is not packed as sysTable describes (%d bytes, want %d)", len(got), len(want))
			}
			n, _, ends, order, blob := a.table.parts()
			for i := 1; i < n; i++ {
				if x, y := entryName(ends, blob, order.u16(i-1)), entryName(ends, blob, order.u16(i)); x >= y {
					t.Fatalf("name order: %q at %d before %q", x, i-1, y)
				}
			}
		})
	}
}

// absentNames are names no ABI has.
var absentNames = []string{"", "nosuchcall", "READ", "read ", " read", "\x00", "~", "zzzz", "_", "a"}

// TestLookupMatchesMap checks Lookup and SyscallName against maps built
// from Syscalls in table order (what they replace: the last entry wins), for
// every entry, names next to them and absent ones, and every number from
// below the ABI's first to past its last, with and without NrBase.
func TestLookupMatchesMap(t *testing.T) {
	for _, a := range Arches() {
		t.Run(a.Name, func(t *testing.T) {
			list := a.Syscalls()
			byName := map[string]uint32{}
			byNr := map[uint32]string{}
			for _, s := range list {
				byName[s.Name] = s.Nr
				byNr[s.Nr] = s.Name
			}
			checkName := func(name string) {
				t.Helper()
				want, wantOK := byName[name]
				if got, ok := a.Lookup(name); got != want || ok != wantOK {
					t.Errorf("Lookup(%q) = %d, %v; want %d, %v", name, got, ok, want, wantOK)
				}
			}
			checkNr := func(nr uint32) {
				t.Helper()
				want, wantOK := byNr[nr]
				if got, ok := a.SyscallName(nr); got != want || ok != wantOK {
					t.Errorf("SyscallName(%#x) = %q, %v; want %q, %v", nr, got, ok, want, wantOK)
				}
			}
			for _, s := range list {
				checkName(s.Name)
				checkName(s.Name + "x")
				checkName(s.Name[:len(s.Name)-1])
				checkName(strings.ToUpper(s.Name))
				checkNr(s.Nr)
				checkNr(s.Nr + 1)
				checkNr(s.Nr - 1)
				if a.NrBase != 0 {
					checkNr(s.Nr - a.NrBase) // the number without the base
				}
			}
			for _, n := range absentNames {
				if _, ok := byName[n]; ok {
					t.Fatalf("%q is not absent", n)
				}
				checkName(n)
			}
			first, last := list[0].Nr, list[len(list)-1].Nr
			for _, nr := range []uint32{0, 1, a.NrBase - 1, a.NrBase, first - 1, last + 1, last + 2, last + 1000, a.NrBase + 1<<16, 1<<31 - 1, 1 << 31, 1<<32 - 1} {
				checkNr(nr)
			}
			// Every number in the ABI's range (arm's private calls at
			// 0xf0000 make its range the longest, ~1M).
			for nr := first - min(first, 16); nr <= last+16; nr++ {
				want, wantOK := byNr[nr]
				if got, ok := a.SyscallName(nr); got != want || ok != wantOK {
					t.Fatalf("SyscallName(%#x) = %q, %v; want %q, %v", nr, got, ok, want, wantOK)
				}
			}
		})
	}
}

// TestRepeatsLastWins pins what the searches would do were a table to
// repeat a number or a name (the generated ones do not): return the last
// entry in table order, as a map filled in table order did.
func TestRepeatsLastWins(t *testing.T) {
	list := []Syscall{{"a", 1}, {"b", 1}, {"c", 2}, {"x", 3}, {"x", 4}, {"d", 5}, {"x", 6}, {"e", 6}}
	a := &Arch{Name: "test", table: packTable(list)}
	byName := map[string]uint32{}
	byNr := map[uint32]string{}
	for _, s := range list {
		byName[s.Name] = s.Nr
		byNr[s.Nr] = s.Name
	}
	if name, _ := a.SyscallName(1); name != "b" {
		t.Errorf("SyscallName(1) = %q, want b", name)
	}
	if name, _ := a.SyscallName(6); name != "e" {
		t.Errorf("SyscallName(6) = %q, want e", name)
	}
	if nr, _ := a.Lookup("x"); nr != 6 {
		t.Errorf("Lookup(x) = %d, want 6", nr)
	}
	for name, want := range byName {
		if nr, ok := a.Lookup(name); !ok || nr != want {
			t.Errorf("Lookup(%q) = %d, %v; want %d", name, nr, ok, want)
		}
	}
	for nr, want := range byNr {
		if name, ok := a.SyscallName(nr); !ok || name != want {
			t.Errorf("SyscallName(%d) = %q, %v; want %q", nr, name, ok, want)
		}
	}
	if !slices.Equal(a.Syscalls(), list) {
		t.Errorf("Syscalls() = %v, want %v", a.Syscalls(), list)
	}
}

// TestLookupNoAlloc checks that the searches allocate nothing.
func TestLookupNoAlloc(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		X86_64.Lookup("openat")
		X86_64.Lookup("nosuchcall")
		X86_64.SyscallName(257)
		X32.SyscallName(0x40000000 | 515)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run", allocs)
	}
}

// BenchmarkLookup reports the cost of a lookup once warm; the first call's
// cost, the reason for the generated tables, is in page faults that a
// benchmark cannot see.
func BenchmarkLookup(b *testing.B) {
	for _, a := range []*Arch{X86_64, I386, X32} {
		// Every entry, in an order shuffled deterministically so that the
		// branch predictor does not learn the search path.
		list := a.Syscalls()
		names := make([]string, len(list))
		nrs := make([]uint32, len(list))
		for i := range list {
			s := list[(i*7919)%len(list)]
			names[i], nrs[i] = s.Name, s.Nr
		}
		b.Run(fmt.Sprintf("Lookup/%s", a.Name), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, ok := a.Lookup(names[i%len(names)]); !ok {
					b.Fatal("not found")
				}
			}
		})
		b.Run(fmt.Sprintf("LookupAbsent/%s", a.Name), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				a.Lookup(absentNames[i%len(absentNames)])
			}
		})
		b.Run(fmt.Sprintf("SyscallName/%s", a.Name), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, ok := a.SyscallName(nrs[i%len(nrs)]); !ok {
					b.Fatal("not found")
				}
			}
		})
	}
}
