// Package sandbox starts a program under seccomp filters: the launcher that
// composes package seccomp with a policy's compiled programs.
//
// # Launching
//
// A filter must be installed in the target before it execs, and Go cannot
// run code between fork and exec. So [Start] re-executes the current binary
// (/proc/self/exe) as a helper, which [RunHelper] recognises: main must call
// RunHelper before anything else. The helper
//
//   - reads its job from a sealed memfd (the filters never pass through
//     argv or the environment),
//   - marks every fd above 2 close-on-exec, so the target gets only stdin,
//     stdout and stderr, even of fds its caller inherited,
//   - locks its OS thread, sets no_new_privs and installs the filters in
//     order with TSYNC (and TSYNC_ESRCH, without which the kernel refuses
//     TSYNC with a listener),
//   - sends the last filter's listener fd to the caller over a unix socket
//     (SCM_RIGHTS), where [Config].OnListener can start serving it before
//     the exec, and
//   - execs the target. An exec failure goes back over the same
//     close-on-exec socket, so [Start] returns "exec /nope: no such file or
//     directory"; EOF means the exec happened.
//
// Everything that can fail is done before the filters go in. After them the
// helper only sends the listener, gives back RLIMIT_NOFILE and execs; see
// [Config].Filters for what a filter must therefore allow.
//
// # Namespaces
//
// With [Config].UserNS and [Config].MountNS the helper is cloned into a new
// user and/or mount namespace (os/exec's Cloneflags; this process writes
// the id maps, then the helper becomes uid 0 and gid 0 of the namespace),
// so it makes its mounts private, sets no_new_privs, installs the filters
// and execs inside them. The helper being this very binary, the
// namespace's root must be able to execute it. A tracer ([Config].Tracer)
// composes with both: PTRACE_TRACEME comes after the helper joined them,
// and a tracer in the parent user namespace has every capability over the
// new one.
//
// # Signals and terminals
//
// The target stays in its caller's process group and session, so a
// terminal's Ctrl-C reaches both, as with a shell running a command. A
// caller should catch SIGINT and SIGQUIT with signal.Notify while the
// target runs (and forward what it receives by other means with
// [Process.Signal]); it should not signal.Ignore them, because ignored
// signals stay ignored across exec, in the target too.
//
// # Exit status
//
// [Process.Wait] returns the target's state and [ExitCode] turns it into a
// shell's $?: the exit status, or 128 plus the signal number.
package sandbox
