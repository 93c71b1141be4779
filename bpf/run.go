package bpf

import (
	"encoding/binary"
	"fmt"
)

// Result is the outcome of one run of a program.
type Result struct {
	Ret      uint32 // the value returned: the seccomp verdict
	Executed int    // instructions executed, the final ret included
	Path     []int  // the pcs executed, in order; filled only by [RunTrace]
}

// Run executes prog over data, a struct seccomp_data laid out in the given
// byte order (64 bytes), as the kernel runs a seccomp filter:
//
//   - A and X start at 0; M[0..15] is scratch memory.
//   - ld [k] reads the aligned 32-bit word at offset k of data in the
//     machine's byte order; ld #len and ldx #len give 64.
//   - ALU operations are 32-bit; shifts by X use its low 5 bits, as the
//     kernel's interpreter and JITs do.
//   - div x with X == 0 ends the program returning 0, like the kernel's
//     translation of classic BPF.
//
// Run checks each instruction as it reaches it and returns a
// [*ProgramError] for one the kernel would have refused (an opcode seccomp
// does not allow, such as mod or ldh; a load outside seccomp_data; a jump
// past the end; a scratch cell read before written, ...) or when the
// program runs off its end. A program that passes [Validate] never makes Run fail.
//
// Run does not allocate.
func Run(prog []Instruction, data []byte, order ByteOrder) (Result, error) {
	var w [16]uint32
	if err := decodeWords(&w, data, order); err != nil {
		return Result{}, err
	}
	return run(prog, &w, nil, nil)
}

// RunSeccomp is [Run] over d laid out in the given byte order.
func RunSeccomp(prog []Instruction, d SeccompData, order ByteOrder) (Result, error) {
	var w [16]uint32
	if err := seccompWords(&w, &d, order); err != nil {
		return Result{}, err
	}
	return run(prog, &w, nil, nil)
}

// RunCover is [Run] that also adds 1 to hits[pc] for every instruction it
// executes, to measure coverage over many runs. hits must have at least
// len(prog) entries.
func RunCover(prog []Instruction, data []byte, order ByteOrder, hits []uint32) (Result, error) {
	if len(hits) < len(prog) {
		return Result{}, fmt.Errorf("coverage table has %d entries for %d instructions", len(hits), len(prog))
	}
	var w [16]uint32
	if err := decodeWords(&w, data, order); err != nil {
		return Result{}, err
	}
	return run(prog, &w, hits, nil)
}

// RunSeccompCover is [RunCover] over d laid out in the given byte order.
func RunSeccompCover(prog []Instruction, d SeccompData, order ByteOrder, hits []uint32) (Result, error) {
	if len(hits) < len(prog) {
		return Result{}, fmt.Errorf("coverage table has %d entries for %d instructions", len(hits), len(prog))
	}
	var w [16]uint32
	if err := seccompWords(&w, &d, order); err != nil {
		return Result{}, err
	}
	return run(prog, &w, hits, nil)
}

// RunTrace is [Run] that also records the pcs executed in Result.Path.
// It allocates the path; use [Run] or [RunCover] in hot loops.
func RunTrace(prog []Instruction, data []byte, order ByteOrder) (Result, error) {
	var w [16]uint32
	if err := decodeWords(&w, data, order); err != nil {
		return Result{}, err
	}
	path := make([]int, 0, 16)
	return run(prog, &w, nil, &path)
}

// decodeWords splits the 64-byte input into the 16 words ld [k] can read.
func decodeWords(w *[16]uint32, data []byte, order ByteOrder) error {
	if len(data) != SeccompDataSize {
		return fmt.Errorf("input is %d bytes, struct seccomp_data is %d", len(data), SeccompDataSize)
	}
	switch order {
	case nil:
		return fmt.Errorf("no byte order given")
	case binary.LittleEndian:
		for i := range w {
			w[i] = binary.LittleEndian.Uint32(data[4*i:])
		}
	case binary.BigEndian:
		for i := range w {
			w[i] = binary.BigEndian.Uint32(data[4*i:])
		}
	default:
		for i := range w {
			w[i] = order.Uint32(data[4*i:])
		}
	}
	return nil
}

// seccompWords lays d out as words without going through bytes for the
// two usual orders.
func seccompWords(w *[16]uint32, d *SeccompData, order ByteOrder) error {
	switch order {
	case nil:
		return fmt.Errorf("no byte order given")
	case binary.LittleEndian:
		w[0], w[1] = d.Nr, d.Arch
		w[2], w[3] = uint32(d.InstructionPointer), uint32(d.InstructionPointer>>32)
		for i, a := range d.Args {
			w[4+2*i], w[5+2*i] = uint32(a), uint32(a>>32)
		}
		return nil
	case binary.BigEndian:
		w[0], w[1] = d.Nr, d.Arch
		w[2], w[3] = uint32(d.InstructionPointer>>32), uint32(d.InstructionPointer)
		for i, a := range d.Args {
			w[4+2*i], w[5+2*i] = uint32(a>>32), uint32(a)
		}
		return nil
	default:
		var b [SeccompDataSize]byte
		return decodeWords(w, append(b[:0], d.Bytes(order)...), order)
	}
}

// run is the interpreter proper. Every check that Validate makes before
// loading is made here as the instruction is reached, so an invalid
// program ends in an error instead of a panic.
func run(prog []Instruction, w *[16]uint32, hits []uint32, path *[]int) (Result, error) {
	var (
		a, x     uint32
		mem      [16]uint32
		memValid uint16 // bit i: M[i] has been written
		n        = len(prog)
		executed int
	)
	if n == 0 {
		return Result{}, progErr(-1, "empty program")
	}
	if n > MaxInstructions {
		return Result{}, progErr(-1, "%d instructions, the kernel allows at most %d", n, MaxInstructions)
	}
	for pc := 0; pc < n; pc++ {
		ins := prog[pc]
		executed++
		if hits != nil {
			hits[pc]++
		}
		if path != nil {
			*path = append(*path, pc)
		}
		k := ins.K
		// Dispatch on the class first: a dense switch the compiler turns
		// into a jump table, then on the exact opcode, since the kernel
		// refuses any stray bit.
		switch ins.Op & 0x07 {
		case ClassLD:
			switch ins.Op {
			case ClassLD | SizeW | ModeABS:
				if k >= SeccompDataSize || k&3 != 0 {
					return result(0, executed, path), loadErr(pc, k)
				}
				a = w[k>>2]
			case ClassLD | ModeIMM:
				a = k
			case ClassLD | SizeW | ModeLEN:
				a = SeccompDataSize
			case ClassLD | ModeMEM:
				if err := checkMem(pc, ins, memValid); err != nil {
					return result(0, executed, path), err
				}
				a = mem[k]
			default:
				return result(0, executed, path), opErr(pc, ins)
			}
		case ClassLDX:
			switch ins.Op {
			case ClassLDX | ModeIMM:
				x = k
			case ClassLDX | SizeW | ModeLEN:
				x = SeccompDataSize
			case ClassLDX | ModeMEM:
				if err := checkMem(pc, ins, memValid); err != nil {
					return result(0, executed, path), err
				}
				x = mem[k]
			default:
				return result(0, executed, path), opErr(pc, ins)
			}
		case ClassST, ClassSTX:
			if ins.Op > ClassSTX {
				return result(0, executed, path), opErr(pc, ins)
			}
			if k >= 16 {
				return result(0, executed, path), memIndexErr(pc, k)
			}
			if ins.Op == ClassST {
				mem[k] = a
			} else {
				mem[k] = x
			}
			memValid |= 1 << k
		case ClassALU:
			if !info(ins.Op).seccomp() {
				return result(0, executed, path), opErr(pc, ins)
			}
			v := k
			if ins.Op&SrcX != 0 {
				v = x
			}
			switch ins.Op & 0xf0 {
			case AluADD:
				a += v
			case AluSUB:
				a -= v
			case AluMUL:
				a *= v
			case AluDIV:
				if v == 0 {
					if ins.Op&SrcX == 0 {
						return result(0, executed, path), progErr(pc, "division by constant zero")
					}
					// bpf_convert_filter: "for cBPF programs, this was
					// always return 0".
					return result(0, executed, path), nil
				}
				a /= v
			case AluAND:
				a &= v
			case AluOR:
				a |= v
			case AluXOR:
				a ^= v
			case AluLSH, AluRSH:
				if ins.Op&SrcX == 0 && k >= 32 {
					return result(0, executed, path), shiftErr(pc, k)
				}
				// Shifts by X use the low 5 bits, as the kernel's
				// interpreter and the JITs do.
				if ins.Op&0xf0 == AluLSH {
					a <<= v & 31
				} else {
					a >>= v & 31
				}
			case AluNEG:
				a = -a
			}
		case ClassJMP:
			if ins.Op == ClassJMP|JumpJA {
				if uint64(k) >= uint64(n-pc-1) {
					return result(0, executed, path), jumpErr(pc, uint64(pc)+1+uint64(k), n)
				}
				pc += int(k)
				continue
			}
			if !info(ins.Op).known() {
				return result(0, executed, path), opErr(pc, ins)
			}
			v := k
			if ins.Op&SrcX != 0 {
				v = x
			}
			var taken bool
			switch ins.Op & 0xf0 {
			case JumpJEQ:
				taken = a == v
			case JumpJGT:
				taken = a > v
			case JumpJGE:
				taken = a >= v
			default: // JumpJSET
				taken = a&v != 0
			}
			off := int(ins.Jf)
			if taken {
				off = int(ins.Jt)
			}
			if pc+off+1 >= n {
				return result(0, executed, path), jumpErr(pc, uint64(pc+off+1), n)
			}
			pc += off
		case ClassRET:
			switch ins.Op {
			case ClassRET | RetK:
				return result(k, executed, path), nil
			case ClassRET | RetA:
				return result(a, executed, path), nil
			}
			return result(0, executed, path), opErr(pc, ins)
		case ClassMISC:
			switch ins.Op {
			case ClassMISC | MiscTAX:
				x = a
			case ClassMISC | MiscTXA:
				a = x
			default:
				return result(0, executed, path), opErr(pc, ins)
			}
		}
	}
	return result(0, executed, path), progErr(n-1, "program runs off its end after %s", prog[n-1])
}

func result(ret uint32, executed int, path *[]int) Result {
	r := Result{Ret: ret, Executed: executed}
	if path != nil {
		r.Path = *path
	}
	return r
}

// checkMem checks a scratch load: the cell exists and was written.
func checkMem(pc int, ins Instruction, valid uint16) error {
	if ins.K >= 16 {
		return memIndexErr(pc, ins.K)
	}
	if valid&(1<<ins.K) == 0 {
		return progErr(pc, "%s reads M[%d] before any store to it", ins, ins.K)
	}
	return nil
}

func loadErr(pc int, k uint32) *ProgramError {
	if k >= SeccompDataSize {
		return progErr(pc, "ld [%d] reads past struct seccomp_data (%d bytes)", k, SeccompDataSize)
	}
	return progErr(pc, "ld [%d] is not 4-byte aligned", k)
}

func memIndexErr(pc int, k uint32) *ProgramError {
	return progErr(pc, "scratch cell M[%d] does not exist (M[0] to M[15])", k)
}

func shiftErr(pc int, k uint32) *ProgramError {
	return progErr(pc, "shift by %d, the kernel allows 0 to 31", k)
}

func jumpErr(pc int, target uint64, n int) *ProgramError {
	return progErr(pc, "jump to pc %d, past the last instruction (pc %d)", target, n-1)
}

// opErr explains why an opcode is refused.
func opErr(pc int, ins Instruction) *ProgramError {
	in := info(ins.Op)
	switch {
	case ins.Op == ClassRET|0x08:
		return progErr(pc, "ret x is not an instruction the kernel accepts")
	case !in.known():
		return progErr(pc, "unknown opcode %#x", ins.Op)
	case ins.Op&0xe0 == ModeIND && (ins.Class() == ClassLD):
		return progErr(pc, "%s: indirect loads are not allowed in seccomp filters", ins)
	case ins.Class() == ClassLD && ins.Op&0x18 != SizeW:
		return progErr(pc, "%s: seccomp filters load only 32-bit words", ins)
	case ins.Op == ClassLDX|SizeB|ModeMSH:
		return progErr(pc, "%s: ldxb msh is not allowed in seccomp filters", ins)
	case ins.Class() == ClassALU && ins.Op&0xf0 == AluMOD:
		return progErr(pc, "%s: mod is not allowed in seccomp filters", ins)
	}
	return progErr(pc, "%s is not allowed in seccomp filters", ins)
}
