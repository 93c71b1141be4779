// Package seal seals the kernel's special mappings of a process with
// mseal(2) (Linux 6.10): [vdso], [vvar], [vvar_vclock], [sigpage],
// [uprobes], [vectors], whatever the kernel maps. A sealed mapping can never
// again be unmapped, moved (mremap), mapped over, have its protection changed
// (mprotect, pkey_mprotect) or be discarded by a destructive madvise; any
// attempt fails with EPERM. That removes tricks that move or replace the
// vDSO, and is what the kernel's CONFIG_MSEAL_SYSTEM_MAPPINGS (6.15) does
// for every process.
//
// # How
//
// mseal only works on the calling process, so [SealSystemMappings] injects
// it into a target stopped by ptrace (ptrace.Inject), right after its execve
// and before it runs one instruction of its own (sandbox.Config.Tracer gives
// that stop). [Follow] keeps the target traced with exec, fork and clone
// events only (no syscall stops) and seals again after each exec, of the
// target and of its descendants.
//
// # Limits
//
//   - [vsyscall] is not a VMA (the x86_64 gate area): it cannot be sealed
//     from user space. Boot with vsyscall=none to remove it.
//   - mseal does not stop writes through /proc/PID/mem or ptrace pokes.
//   - Checkpoint/restore (CRIU) must remap these mappings to restore a
//     process; a sealed process cannot be restored with remapping. Sealing
//     is therefore opt-in.
package seal
