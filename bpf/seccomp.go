package bpf

import "encoding/binary"

// SeccompData is the input of a seccomp filter, the kernel's struct
// seccomp_data (include/uapi/linux/seccomp.h), 64 bytes in the machine's
// byte order.
type SeccompData struct {
	Nr                 uint32    // syscall number (int in the kernel; -1 is 0xffffffff)
	Arch               uint32    // AUDIT_ARCH_* value
	InstructionPointer uint64    // address of the syscall instruction
	Args               [6]uint64 // arguments, zero-extended for 32-bit ABIs
}

// Offsets of the fields of struct seccomp_data.
const (
	OffsetNr   = 0
	OffsetArch = 4
	OffsetIP   = 8
	OffsetArgs = 16
	// SeccompDataSize is sizeof(struct seccomp_data).
	SeccompDataSize = 64
)

// ArgLow and ArgHigh return the offsets of the low and high 32-bit halves
// of argument i in a machine of the given byte order.
func ArgLow(i int, order ByteOrder) uint32 {
	if order == binary.BigEndian {
		return uint32(OffsetArgs + 8*i + 4)
	}
	return uint32(OffsetArgs + 8*i)
}

// ArgHigh: see [ArgLow].
func ArgHigh(i int, order ByteOrder) uint32 {
	if order == binary.BigEndian {
		return uint32(OffsetArgs + 8*i)
	}
	return uint32(OffsetArgs + 8*i + 4)
}

// IPLow and IPHigh return the offsets of the halves of the instruction pointer.
func IPLow(order ByteOrder) uint32 {
	if order == binary.BigEndian {
		return OffsetIP + 4
	}
	return OffsetIP
}

// IPHigh: see [IPLow].
func IPHigh(order ByteOrder) uint32 {
	if order == binary.BigEndian {
		return OffsetIP
	}
	return OffsetIP + 4
}

// Bytes lays d out exactly as the kernel does, in the given byte order.
func (d *SeccompData) Bytes(order ByteOrder) []byte {
	b := make([]byte, 0, SeccompDataSize)
	b = order.AppendUint32(b, d.Nr)
	b = order.AppendUint32(b, d.Arch)
	b = order.AppendUint64(b, d.InstructionPointer)
	for _, a := range d.Args {
		b = order.AppendUint64(b, a)
	}
	return b
}

// ByteOrder is a byte order that can both read and append: binary.LittleEndian
// or binary.BigEndian.
type ByteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}
