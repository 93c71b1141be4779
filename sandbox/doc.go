// Package sandbox starts a program under seccomp filters: the launcher that
// composes package seccomp with a policy's compiled programs.
//
// # Launching
//
// A filter must be installed in the target before it execs, and Go cannot
// run code between fork and exec. So [Start] (unless it launches in
// process, below) re-executes the current binary
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
// composes with both: the helper is seized (PTRACE_SEIZE) after it joined them,
// and a tracer in the parent user namespace has every capability over the
// new one.
//
// # Launching in process
//
// With [Config].InProcess, Start skips the helper, and with it a second
// start of a Go program (on the 2-CPU VM it was measured on, Start took
// 7.1 ms through the helper and 0.75 ms in process). It locks a new
// goroutine to its OS thread, sets no_new_privs and installs the filters
// on that thread only (no TSYNC), hands the listener to OnListener, and
// starts the target with syscall.ForkExec from that same thread (not
// os/exec: os.StartProcess first asks, once per process, whether pidfds
// work, by cloning a child). This is correct because of three kernel
// rules: seccomp filters and no_new_privs belong to a task, not a process;
// a child made by clone (Go forks with clone(CLONE_VM|CLONE_VFORK|SIGCHLD),
// not clone3) starts with a copy of its parent thread's; and execve keeps
// them (seccomp(2), prctl(2)). The launcher's
// goroutine never unlocks its thread, so the runtime ends the thread when
// the goroutine returns, filters and all; on the main thread, which the
// runtime never ends, it launches from a second goroutine instead.
//
// The caveats:
//
//   - The filters see the launcher thread's own syscalls from the install
//     until the thread exits: ForkExec's pipe2, clone, read and close, the
//     runtime's futex, mmap, rt_sigprocmask, sigaltstack, rt_sigreturn and
//     exit, and, in the child before its execve, rt_sigaction, fcntl,
//     dup3, prlimit64. The runtime takes a failed sigaltstack or
//     rt_sigprocmask as fatal, and a notified futex would hold the
//     launcher's P. So Start first runs every filter over those calls with
//     the bpf interpreter and launches in process only if each answers
//     ALLOW or LOG; otherwise it uses the helper ([CheckInProcess] says
//     why). A policy that denies what Go's fork and exec need thus still
//     starts cleanly.
//   - A supervisor must answer notifications from the launcher thread
//     ([IsLauncher]) with Continue, and must not kill its caller's thread
//     group: that is this process. For the same reason a filter whose
//     kill verdicts the kernel applies itself (no listener to name them)
//     is best launched by the helper.
//   - Every fd of this process above 2 is marked close-on-exec, since
//     nothing can run in the child to do it for the target alone.
//   - A traced start and new namespaces need the helper, and get it
//     (but see below).
//
// # Tracing without the helper
//
// With [Config].Tracer and [Config].DirectTrace, a start without Filters,
// Listener or namespaces skips the helper too (about 10 ms per launch on
// the VM above): the tracer thread sets no_new_privs on itself (a thread's
// attribute, inherited at fork, so the target has it before its execve)
// and starts the target with syscall.ForkExec and PTRACE_TRACEME. A tracee that
// was not seized cannot hold group stops (PTRACE_LISTEN) and passes that on
// to the children it auto-attaches, so Start then turns it into a seized
// one without letting it reach user mode: it takes the exec's SIGTRAP,
// detaches with SIGSTOP (the target enters a group stop on its way out of
// execve), seizes the stopped target with the options, sends SIGCONT and
// resumes the PTRACE_EVENT_STOPs up to the SIGCONT's signal-delivery stop,
// where Start returns: before the target's first instruction, as with the
// helper, but not in its PTRACE_EVENT_EXEC stop. Signals that arrive
// meanwhile are held back and queued again.
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
