// Package notify is the seccomp user-notification supervisor: it receives
// the system calls a filter sends to user space (SECCOMP_RET_USER_NOTIF),
// hands each to a [Handler], and answers the kernel with a [Response]:
// let the call run ([Continue]), fail it ([Errno]), return a value in its
// place ([Return]) or install a file descriptor in the target and return
// its number ([InjectFD]).
//
// A [Supervisor] serves one listener fd, the one seccomp(2) returns for a
// filter installed with SECCOMP_FILTER_FLAG_NEW_LISTENER (Linux 5.0; Continue
// needs 5.5, InjectFD 5.14). [Mux] dispatches by (arch, syscall number).
//
// # Deciding on pointer arguments: the TOCTOU rule
//
// The target's memory belongs to the target. Between the moment a handler
// reads a path with [Request.ReadString] and the moment the kernel runs the
// call after [Continue], another thread of the target (or any process
// sharing the memory) can rewrite it. So:
//
//   - Deciding on pointer arguments and then answering Continue is not a
//     security boundary. It is fine for auditing, and for "I checked, and the
//     kernel will still enforce its own rules on whatever the call really
//     does". The comment on SECCOMP_USER_NOTIF_FLAG_CONTINUE in
//     include/uapi/linux/seccomp.h and seccomp_unotify(2) say the same: the
//     notifier is a way to do things on behalf of the target, not a way to
//     implement a security policy.
//   - Performing the work in the supervisor and injecting the result is a
//     boundary: read the path once, open it yourself, check what you opened,
//     and answer [InjectFD] (or [Return] / [Errno]). The target's later
//     changes to its memory cannot change what the supervisor did.
//   - Every read of target memory must be followed by a check that the
//     notification is still alive (SECCOMP_IOCTL_NOTIF_ID_VALID): the pid in
//     a notification may have died and been reused while the supervisor was
//     reading "its" memory. [Request.Read] and [Request.ReadString] do this
//     check after the read and fail with [ErrGone] if the call is gone.
//
// Syscalls with only integer arguments (mknod's dev_t, the flags of
// a socket call) carry no such hazard; the BPF filter itself can often
// decide them without a round trip to user space.
//
// # Built-in handlers
//
// [NewHandler] builds the handlers a policy names on its notify rules
// ([policy.Handler]): audit (log decoded arguments as a line or JSON, then
// Continue), deny-path and allow-path (decide on the path argument by glob,
// then Continue or Errno: subject to the TOCTOU rule above, so not a
// boundary), open-broker (open the file in the supervisor and InjectFD: a
// boundary) and mknod (create allowed device nodes for a target in a user
// namespace).
//
// open-broker reads the path once, joins a relative one to the caller's
// working directory or dirfd, and matches the cleaned path against the
// globs. It then opens, with the caller's fsuid, fsgid and groups (set on
// the locked worker thread), the glob's literal directory inside the
// caller's root (/proc/TID/root, RESOLVE_IN_ROOT) and the rest of the path
// beneath it with RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS (Linux 5.6), adding
// RESOLVE_NO_SYMLINKS unless the glob is a whole "dir/**" tree. What the
// target later writes into its buffer cannot change the file it gets
// (TestOpenBrokerTOCTOU). O_PATH opens are refused, because
// SECCOMP_IOCTL_NOTIF_ADDFD cannot pass O_PATH files; openat2 with
// RESOLVE_IN_ROOT gets ENOSYS. A new file gets the caller's mode less its
// umask and less the supervisor's umask.
//
// mknod checks the device against the allow-list first (an integer: no
// TOCTOU), then, on a throw-away thread, unshares CLONE_FS, enters the
// caller's mount namespace, chroots to its root and changes to its working
// directory (or dirfd), checks with the caller's fsuid that it may create
// files there, creates the node, and hands it to the caller's fsuid and
// fsgid through a descriptor checked to be the new node.
//
// # Cost and placement
//
// Every notified call costs a round trip through this process. The kernel
// can make it cheaper: with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6),
// which [Supervisor.Serve] sets on the listener whenever the kernel has it,
// the target wakes the supervisor on the target's CPU and the answer wakes
// the target on the supervisor's CPU, sparing the cross-CPU wake-ups that
// dominate the cost on virtual machines (DESIGN.md: about 45 µs without, 5 µs
// with, on an idle VM). It pays off only when the thread that received a
// notification also answers it, which is how the workers are arranged.
// BenchmarkRoundTrip measures it, and BenchmarkCompare sets it against
// the bare call, ptrace interception and a minimal C supervisor (built with
// gcc; the floor) in one run:
//
//	go test -run XXX -bench RoundTrip -benchtime 20000x ./notify/
//
// On the 2-CPU Linux 6.18 VM this was written on, busy with other builds,
// a getppid answered with Continue cost 18 µs on average with the flag and
// 24 µs without; the fastest batches took 14.5 µs either way, against 1 µs
// for a getpid the filter allows in the kernel, and 12.6 µs for a bare
// receive-and-answer loop without poll(2) (which cannot be stopped, see
// below). Pinning target and supervisor to one CPU did not change the best
// figure: there, the cost is two context switches and the syscalls.
//
// Serve runs [Supervisor.Workers] workers in a leader/follower pattern.
// Exactly one worker, the leader, waits in poll(2) on the listener and
// receives the next notification (it polls first because
// SECCOMP_IOCTL_NOTIF_RECV sleeps until a notification comes and wakes
// neither for POLLHUP nor for anything Go can send it: a blocked receive
// could never be stopped); it handles and answers it in the same
// thread and then receives the next one, so a fast handler never involves
// a second thread. If a handler takes longer than about 50 µs, the leader
// role passes to an idle worker, which goes on receiving: a slow handler
// blocks only its own worker, as long as one is free. Only one thread ever
// sleeps on the listener, so a notification wakes one thread, not a herd.
// Serve must be the only receiver on its listener.
//
// # Failures
//
//   - The target dies (or, without SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, is
//     interrupted by a signal) while a handler works on its call: the answer
//     fails with ENOENT, which Serve counts in [Stats].Gone and otherwise
//     ignores. Handlers doing expensive work may check [Request.Valid].
//   - A signal reaches the caller before the notification is received
//     (Go targets get preemption signals all the time): the kernel withdraws
//     it and the call restarts with a new notification. Serve counts these
//     in [Stats].Withdrawn; nothing is lost.
//   - A signal reaches the supervisor thread while it injects a file with
//     ADDFD+SEND (Go signals its threads to preempt them): the kernel has
//     already marked the call answered, with 0, and if the wait is cut short
//     before the target took the file, it drops the file and the target's
//     call returns 0, as if fd 0 were the file (Linux 6.18,
//     kernel/seccomp.c). Serve blocks every blockable signal on the thread
//     for that ioctl; only a stop signal or the freezer can still cause it.
//   - A handler panics: the call fails with EPERM in the target (the gate is
//     closed, not opened), the panic is reported to [Supervisor.ErrorLog] as
//     a [*PanicError], and the worker carries on.
//   - A [Mux] has no handler for a call: the call fails with ENOSYS, the
//     answer the kernel itself gives when nobody listens.
//   - An invalid [Response] (an errno outside 1..4095, a nil file): EPERM,
//     and the mistake is reported to ErrorLog.
//
// # When the supervisor goes away
//
// Serve returns when its context is cancelled, or nil once the listener
// reports POLLHUP because no task uses the filter any more. On Linux 6.18
// that happens as soon as the last target has exited, before its parent
// reaps it (TestServeReturnsBeforeReap checks it). Cancelling does not
// answer notifications that were not yet received; they stay pending until
// another Serve answers them or the listener is closed.
//
// When the last reference to the listener fd is closed, the kernel answers
// every pending notification (received or not) with ENOSYS, and every later
// call that the filter sends to user space fails at once with ENOSYS. The
// target is not killed. Measured on Linux 6.18 by TestSupervisorGone: a call
// pending in the kernel, a call received but never answered, and a new call
// after the close all return -1/ENOSYS in the target. Note that every copy
// of the fd counts: a launcher that keeps its own copy keeps the calls
// blocked.
package notify
