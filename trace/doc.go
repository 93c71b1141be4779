// Package trace is sysgate's strace: strace-style decoding and printing of
// syscalls, the "-e trace=" and "-e status=" grammars, the -c summary and
// JSON lines, and the tracer loop that drives package ptrace.
//
// # Stopping only where asked
//
// [Launch] runs a program under a seccomp filter ([Filter]) that returns
// TRACE for the selected syscalls and ALLOW, cacheable by the kernel, for the
// rest. The filter is injected into the target where sandbox.Start leaves it,
// stopped before its first instruction ([InstallFilter]), so the launcher's
// own last syscalls stay untraced. The
// tracer resumes with PTRACE_CONT between interesting syscalls: each traced
// syscall costs two stops (the seccomp stop, then the exit stop asked for with
// PTRACE_SYSCALL), every other syscall none. The stop order (seccomp stop
// after the syscall-entry stop since Linux 4.8) is probed on the first traced
// syscall from PTRACE_GET_SYSCALL_INFO's op, and both orders are handled.
// Children inherit the filter, so -f is implied. [Attach] seizes a running
// process (PTRACE_SEIZE), into which no filter can be put: it stops at every
// syscall.
//
// # Cost per stop
//
// A stop costs tens of microseconds when tracer and tracee sit on different
// CPUs of this VM and a few when they share one, so [Options.SameCPU] puts
// both on one CPU. Per stop the tracer makes wait4 (without the Go
// scheduler's hand-off), one PTRACE_GET_SYSCALL_INFO, the resume, and
// process_vm_readv for what it decodes; the output is buffered.
//
// # Decoding
//
// [Decoder] follows strace's notation: names, errno names and texts,
// escaped strings cut at -s, flags (O_RDONLY|O_CLOEXEC), structs for stat,
// statx, sockaddr, clone3's clone_args and wait statuses, for the syscalls
// of %file, %network, %process and %desc and more. Syscalls without a
// signature print their arguments in hex, as many as strace's tables give.
// i386 tracees decode through PTRACE_GET_SYSCALL_INFO's arch, with their
// own constants and struct layouts.
package trace
