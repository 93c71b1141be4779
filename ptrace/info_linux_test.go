package ptrace

import (
	"encoding/binary"
	"testing"
)

func TestParseSyscallInfo(t *testing.T) {
	ne := binary.NativeEndian
	mk := func(op byte, union ...uint64) []byte {
		b := make([]byte, sizeofSyscallInfo)
		b[0] = op
		ne.PutUint32(b[4:], 0xc000003e)
		ne.PutUint64(b[8:], 0x1000)
		ne.PutUint64(b[16:], 0x2000)
		for i, v := range union {
			ne.PutUint64(b[24+8*i:], v)
		}
		return b
	}
	seccomp := mk(3, 59, 1, 2, 3, 4, 5, 6)
	ne.PutUint32(seccomp[80:], 0xbeef)
	tests := []struct {
		name string
		b    []byte
		want SyscallInfo
	}{
		{"none", mk(0), SyscallInfo{Op: OpNone, Arch: 0xc000003e, IP: 0x1000, SP: 0x2000}},
		{"entry", mk(1, 1, 10, 11, 12, 13, 14, 15), SyscallInfo{Op: OpEntry, Arch: 0xc000003e, IP: 0x1000, SP: 0x2000, Nr: 1, Args: [6]uint64{10, 11, 12, 13, 14, 15}}},
		{"exit error", mk(2, uint64(^uint64(8)), 1), SyscallInfo{Op: OpExit, Arch: 0xc000003e, IP: 0x1000, SP: 0x2000, Rval: -9, IsError: true}},
		{"seccomp", seccomp, SyscallInfo{Op: OpSeccomp, Arch: 0xc000003e, IP: 0x1000, SP: 0x2000, Nr: 59, Args: [6]uint64{1, 2, 3, 4, 5, 6}, RetData: 0xbeef}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseSyscallInfo(tt.b); *got != tt.want {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
	if got := OpSeccomp.String(); got != "seccomp" {
		t.Errorf("OpSeccomp.String() = %q", got)
	}
}
