package bpf

// SeccompRetAllow is SECCOMP_RET_ALLOW (include/uapi/linux/seccomp.h), the
// only verdict the kernel's action cache records.
const SeccompRetAllow = 0x7fff0000

// ConstAllow reports whether the kernel's seccomp action cache (Linux
// 5.11+) would mark the syscall nr of architecture arch as always allowed
// by prog, so that the filter is skipped for it. It follows
// seccomp_is_const_allow in kernel/seccomp.c exactly: starting from A = 0,
// it steps through prog knowing only nr and arch, and understands ld [0]
// (nr), ld [4] (arch), ja, jeq/jgt/jge/jset with a constant, and #k, and
// ret #k; the answer is true only if that walk reaches ret #k with k equal
// to [SeccompRetAllow]. Any other instruction on the path (a load of an
// argument or of the instruction pointer, anything using X or scratch
// memory, ret a, ...) makes the pair uncacheable.
//
// The byte order does not matter (nr and arch are whole 32-bit words at
// offsets 0 and 4 in both); it is taken so callers pass what they pass to
// [Run]. Two things the kernel adds on top are not modelled: the cache is
// kept only for the native and compat architectures, for numbers below
// their syscall counts, and on x86_64 the native uretprobe and uprobe
// syscalls are always allowed whatever the filter says (Linux 6.11+).
//
// Unlike the kernel, which only sees validated programs, ConstAllow is
// safe on any input: a walk that leaves the program answers false.
func ConstAllow(prog []Instruction, arch, nr uint32, order ByteOrder) bool {
	_ = order
	var a uint32
	n := uint64(len(prog))
	for pc := uint64(0); pc < n; pc++ {
		ins := prog[pc]
		k := ins.K
		switch ins.Op {
		case ClassLD | SizeW | ModeABS:
			switch k {
			case OffsetNr:
				a = nr
			case OffsetArch:
				a = arch
			default:
				return false // a value the cache cannot know
			}
		case ClassRET | RetK:
			return k == SeccompRetAllow
		case ClassJMP | JumpJA:
			pc += uint64(k)
		case ClassJMP | JumpJEQ | SrcK, ClassJMP | JumpJGE | SrcK,
			ClassJMP | JumpJGT | SrcK, ClassJMP | JumpJSET | SrcK:
			var taken bool
			switch ins.Op & 0xf0 {
			case JumpJEQ:
				taken = a == k
			case JumpJGE:
				taken = a >= k
			case JumpJGT:
				taken = a > k
			default: // JumpJSET
				taken = a&k != 0
			}
			if taken {
				pc += uint64(ins.Jt)
			} else {
				pc += uint64(ins.Jf)
			}
		case ClassALU | AluAND | SrcK:
			a &= k
		default:
			return false
		}
	}
	return false // ran off the end; the kernel warns
}
