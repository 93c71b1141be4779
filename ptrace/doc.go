// Package ptrace is the tracer core: a [Tracer] that performs every ptrace
// request from one locked OS thread, register access, syscall information
// (PTRACE_GET_SYSCALL_INFO) and syscall injection into a stopped tracee.
//
// # One thread
//
// The kernel ties a tracee to the thread that attached it (or that forked a
// PTRACE_TRACEME child): every later request from another thread fails with
// ESRCH (kernel/ptrace.c, ptrace_check_attach). Go moves goroutines between
// threads, so a [Tracer] owns a goroutine locked to its thread for good, and
// [Tracer.Do] runs work there. The helpers of this package ([GetRegs],
// [SetRegs], [GetSyscallInfo], [Inject]) are plain functions on a pid, to be
// called inside Do. Waiting (wait4 with __WALL) may happen on any thread of
// the process, but it is simplest and safe inside Do too.
//
// When the tracer's thread ends ([Tracer.Close]) the kernel detaches its
// tracees, and kills those attached with PTRACE_O_EXITKILL.
//
// # Injection
//
// [Inject] makes a stopped tracee run one system call and puts its registers
// back. It executes a `syscall` instruction the tracee already has (in its
// vDSO) rather than writing code, so no memory changes; see its doc for the
// stops it works from. It is how package seal runs mseal(2) in a target.
package ptrace
