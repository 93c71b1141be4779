// Package bpf is classic BPF as seccomp uses it: instructions, the kernel's
// load-time checks, an interpreter over struct seccomp_data, the kernel's
// action-cache analysis, a bpf_asm assembler and disassembler, and Graphviz
// output. It is pure Go and makes no system calls; installing a filter is
// the seccomp package's business.
//
// # Instructions
//
// An [Instruction] is the kernel's struct sock_filter. [Marshal] and
// [Unmarshal] convert programs to and from the bytes the kernel takes, in
// the target machine's byte order. [SeccompData] is the filter's input;
// [ArgLow], [ArgHigh], [IPLow] and [IPHigh] give the offsets of the 32-bit
// halves of its 64-bit fields, which depend on the byte order.
//
// # Validation
//
// [Validate] applies the rules of net/core/filter.c (bpf_check_classic,
// check_load_and_stores) and kernel/seccomp.c (seccomp_check_filter): a
// program it accepts is one the kernel loads. Errors are [*ProgramError]s
// naming the pc.
//
// # Interpreter
//
// [Run] and [RunSeccomp] execute a program as the kernel does: 32-bit A and
// X starting at 0, sixteen scratch words, ld [k] reading native-endian words
// of seccomp_data, division by a zero X returning 0. They count the
// instructions executed and do not allocate; [RunCover] adds per-pc hit
// counts for coverage checks and [RunTrace] records the path.
//
// # Action cache
//
// Since Linux 5.11 the kernel skips a filter for the (arch, nr) pairs it can
// prove always ALLOW from nr and arch alone. [ConstAllow] repeats that proof
// (seccomp_is_const_allow) so a compiler can check its output is cacheable.
//
// # Assembler syntax
//
// [Instruction.String], [Disassemble] and [Assemble] use the syntax of the
// kernel's bpf_asm (tools/bpf/bpf_exp.y), with these conventions:
//
//   - Constants are written #0x… in hex (ld #0x0, jeq #0xc000003e, ret
//     #0x7fff0000); load offsets and scratch indexes in decimal (ld [16],
//     st M[3]).
//   - The registers are x and a; ld #len is the input length (64).
//   - Conditional jumps always show both targets: jeq #k, Ttrue, Tfalse.
//   - [Instruction.String] gives targets as counts of instructions to skip
//     ("jeq #0x3b, 0, 3", "ja 5"), since it knows no pc. [Disassemble]
//     starts every line with a label L<pc>: and gives targets as those
//     labels ("jeq #0x3b, L12, L7"), so its output is readable and still
//     valid bpf_asm input.
//   - Comments follow ";": the disassembler puts the seccomp_data field a
//     load reads there ("; arg0 low"), or what a caller's annotator returns.
//   - An opcode classic BPF does not know prints as "raw op, jt, jf, k".
//
// Fields an opcode ignores (Jt of a load, K of ret a) are not printed, so
// Assemble(Disassemble(p)) is [Canonical](p); the kernel ignores them too.
//
// # Graphs
//
// [Dot] draws the control-flow graph, per instruction or per basic block,
// optionally with coverage counts from [RunCover].
package bpf
