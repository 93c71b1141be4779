// Package inspect reports what a running process is subject to: its
// seccomp mode and filters, no_new_privs, Syscall User Dispatch, and which
// of its mappings are sealed. It backs `sysgate inspect PID`.
//
// # What is read, and from where
//
// Everything that /proc shows comes from /proc/PID/status (Seccomp,
// Seccomp_filters, NoNewPrivs) and /proc/PID/smaps (the "sl" VmFlag, Linux
// 6.10). The filter programs and the Syscall User Dispatch configuration
// are only available through ptrace: [Inspect] seizes the target,
// interrupts it, reads every filter with PTRACE_SECCOMP_GET_FILTER (Linux
// 4.4, needs CAP_SYS_ADMIN and an inspector not itself under seccomp) and
// the dispatch state with PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG (Linux
// 6.4), then detaches. The target is left as it was: a running process runs
// on, a stopped one stays stopped, and a signal that arrived meanwhile is
// delivered. When ptrace is not possible the rest of the [Report] is still
// filled and [Report.FilterErr] says why the programs are missing.
//
// # Reading a filter as a policy
//
// Each program is run through the BPF interpreter for every syscall of
// every ABI of the native family (x86_64, i386 and x32 on x86_64) and the
// results are grouped by verdict, like a policy: "allow: read write …",
// "errno EPERM: mount …". A syscall is marked as depending on its arguments
// when probes with different arguments and instruction pointers give
// different verdicts; probing cannot prove independence, so a filter that
// singles out one exact argument value may show only its common verdict.
// Allowed syscalls are also marked cacheable when the kernel's action
// cache (Linux 5.11) can skip the filter for them. With several filters
// stacked, [Report.Effective] combines them as the kernel does: the most
// severe action wins, the newest filter first among equals.
//
// # Filter numbering
//
// Programs are numbered as PTRACE_SECCOMP_GET_FILTER numbers them, which
// is in the order they were installed: index 0 is the oldest filter, the
// last index the newest (kernel/seccomp.c: get_nth_filter counts back
// from the newest by len-1-index). ptrace(2) says the opposite; the
// kernel, checked by this package's tests, is what counts.
package inspect
