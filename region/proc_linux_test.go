package region

import (
	"os"
	"reflect"
	"testing"
)

// TestReadMapSelf reads the test's own map: its text is exe, and the
// address of a function in it classifies as exe.
func TestReadMapSelf(t *testing.T) {
	mp, err := ReadMap(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	pc := reflect.ValueOf(TestReadMapSelf).Pointer()
	m, ok := mp.Find(uint64(pc) + 1)
	if !ok {
		t.Fatalf("no executable mapping holds %#x", pc)
	}
	if k := m.Kind(mp.Exe); k != Exe {
		t.Errorf("test function in %s (%s), want exe %s", m, k, mp.Exe)
	}
	if rs := MustParse("vdso").Ranges(mp); len(rs) == 0 || len(rs) > 2 {
		t.Errorf("want the vdso (and vsyscall) ranges in %v", mp.Executable())
	}
	if _, err := ReadMap(-1); err == nil {
		t.Error("ReadMap(-1) succeeded")
	}
}
