// Package features asks the running kernel what it supports, the way
// cilium/ebpf's package of the same name does: one HaveXxx function per
// feature, each returning nil when the feature works, an error wrapping
// [ErrNotSupported] (naming the feature and the first kernel that has it)
// when it does not, or any other error when the probe could not tell. Only
// the first two answers are cached, so an inconclusive probe is asked again.
//
// Every probe is a harmless call: an unknown seccomp flag or action is
// rejected before anything is installed, mseal(0, 0, 0) seals nothing, and
// PTRACE_GET_SYSCALL_INFO is asked of a throwaway child that never runs.
//
// The listener ioctls (ADDFD, SET_FLAGS) can only be asked of a real
// listener fd, which a Go program cannot make without a child process:
// [ProbeListener] records them from any listener, and package sandbox calls
// it for every listener it receives (sandbox.ProbeFeatures starts a
// throwaway one). Until then [HaveNotifSyncWakeUp], [HaveNotifAddFD] and
// [HaveNotifAddFDSend] return an inconclusive error.
//
// [Report] lists every feature for the `sysgate features` command.
package features
