// Package policy is the model of a syscall policy, its readers and its
// oracle.
//
// A [Policy] says which ABIs a program may use, and for each syscall the
// verdict the kernel gives it, possibly depending on its arguments. [Load]
// and [Parse] read the native YAML format described here, or an OCI/Docker
// seccomp profile (JSON); both validate everything and report problems as
// an [*Error] at file:line:col. [Policy.Decide] interprets the model
// directly: it is the oracle the compiled filters are tested against.
// [Policy.Format] writes a policy back in the native format.
//
// # The native format
//
//	default: errno EPERM          # verdict for any syscall no rule names
//	arches: [x86_64, i386]        # ABIs allowed; default: the native one only
//	bad-arch: kill-process        # verdict for any other ABI (x32 here too)
//	seal: [system-mappings]       # mseal the vdso & co. after exec
//	rules:
//	  - allow: [read, write, close, "%memory", exit_group]
//	  - allow: personality
//	    when: arg0 == 0 || arg0 == 0xffffffff
//	  - errno: EACCES
//	    syscalls: [open, openat]
//	    when: arg2 & O_ACCMODE != O_RDONLY
//	    comment: "read-only"
//	  - kill-process: [ptrace, kexec_load]
//	  - notify: mknodat
//	  - trace: 5
//	    syscalls: [openat]
//
// Top-level keys:
//
//   - default (required): the verdict for a syscall no rule decides.
//   - arches: a name or list of ABIs (x86_64, i386, x32, aarch64, arm, ...;
//     aliases such as amd64 work). Left out, only [Options.Arch] is allowed.
//     On x86_64 the i386 (int 0x80) and x32 ABIs are separate attack
//     surfaces and are allowed only when listed.
//   - bad-arch: the verdict for a syscall from any other ABI; default
//     kill-process.
//   - seal: things to seal in the target after exec; only "system-mappings"
//     ([SealSystemMappings]) is known.
//   - rules: a list of rules; may be empty or left out.
//
// Any other key, here or in a rule, is an error: a typo must not silently
// weaken the sandbox. So is a key given twice, and a second YAML document.
//
// # Verdicts
//
// A verdict is written "allow", "log", "notify", "kill-process",
// "kill-thread", "trap", "trap N", "trace", "trace N", "errno NAME" or
// "errno N". Errno names (EPERM) take the values of [Options.Arch]; numbers
// go from 0 to 4095 ([MaxErrno]). The data of trap and trace (0..65535)
// reaches the signal handler or the tracer.
//
// # Rules
//
// A rule is a mapping with exactly one action key. For allow, log, notify,
// kill-process and kill-thread its value names the syscalls: one name or a
// list. For errno its value is the errno, and the syscalls go under
// syscalls:. trap and trace take either the syscalls, or their data with
// the syscalls under syscalls:. The other keys are when: (a condition on
// the arguments) and comment: (or its synonym reason:), a note carried
// along for messages.
//
// A syscall name must exist on at least one ABI (unless
// [Options.IgnoreUnknown]); one that exists on none of the policy's arches
// is a warning. "%class" names a class of syscalls as strace does
// ("%file", "%network", "%memory", ...); it must be quoted, since YAML
// reserves a leading '%'. Duplicates are dropped. A rule must name at least
// one syscall.
//
// Rules apply in order: the first rule that names a syscall and whose
// condition holds decides it; if none does, default decides. A rule (or a
// syscall named in it) that an earlier unconditional rule already decides
// gets a warning, since it can never match.
//
// # Conditions
//
// when: compares the syscall's arguments arg0 to arg5 with constants:
//
//	arg1 == 5        arg1 != 5
//	arg1 < 5         arg1 <= 5        arg1 > 5        arg1 >= 5
//	arg2 & O_ACCMODE == O_RDONLY      (masked equality)
//	arg2 & O_ACCMODE != O_RDONLY      (its negation)
//
// joined with && and || (&& binds tighter), grouped with parentheses, and
// negated with ! (a condition starting with ! must be quoted in YAML).
// Constants are decimal, hexadecimal (0x1f), octal (0o17 or 017) or binary
// (0b101) numbers, symbolic constants of [Options.Arch] (O_RDONLY,
// AT_FDCWD, CLONE_NEWUSER, ...), combined with | and complemented with ~;
// -N is the 64-bit two's complement of N.
//
// All comparisons are unsigned and 64 bits wide, as the kernel hands the
// arguments to the filter: -1 is 0xffffffffffffffff, and "arg0 < 0" is an
// error since it can never be true. An argument that the C prototype
// declares int may arrive with its upper 32 bits sign-extended, zeroed or
// undefined, depending on the caller; on a 32-bit ABI (i386, arm) every
// argument is zero-extended, so -1 arrives as 0xffffffff. To match a
// 32-bit int robustly, mask it: "arg0 & 0xffffffff == 0xffffffff" (or
// "arg0 & 0xffffffff == AT_FDCWD & 0xffffffff"). A comparison with a value
// wider than 32 bits gets a warning when the policy lists a 32-bit ABI.
//
// A condition that cannot depend on the argument (a mask of 0, a masked
// value with bits outside the mask, arg < 0, arg >= 0) is an error.
//
// # Errors and warnings
//
// Every error names the file, line and column of the offending token,
// inside a when: string too when it is written on one line (plain, or
// quoted without escapes); otherwise the column of the string itself.
package policy
