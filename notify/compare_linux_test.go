package notify_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/notify"
)

// BenchmarkCompare measures, in one run, one getppid intercepted in
// several ways, as seen by the calling thread (ns/call is the mean over
// b.N calls, best-ns/call the fastest batch of 500):
//
//   - bare: a getpid the filter allows in the kernel;
//   - notify/sync, notify/nosync: notified and answered with Continue by
//     this package's Supervisor, with and without
//     SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
//   - ptrace: SECCOMP_RET_TRACE, one seccomp stop, PTRACE_CONT, by a
//     minimal Go tracer;
//   - c/sync, c/nosync: notified and continued by a minimal C supervisor
//     (a blocking RECV/SEND loop, built here with gcc): the floor.
//
// and the throughput of the Supervisor with 1 and 8 target threads
// (calls/s). At the end it logs the ratios to the C floor.
//
//	go test -run XXX -bench Compare -benchtime 20000x ./notify/
func BenchmarkCompare(b *testing.B) {
	requireNotifyTarget(b)
	res := map[string]float64{}
	record := func(b *testing.B, name string, mean, best float64) {
		b.ReportMetric(mean, "ns/call")
		b.ReportMetric(best, "best-ns/call")
		res[name] = best
	}
	b.Run("bare", func(b *testing.B) {
		mean, best := benchVictim(b, "pid", false, 1)
		record(b, "bare", mean, best)
	})
	for _, sync := range []bool{true, false} {
		name := map[bool]string{true: "notify/sync", false: "notify/nosync"}[sync]
		b.Run(name, func(b *testing.B) {
			mean, best := benchVictim(b, "ppid", !sync, 1)
			record(b, name, mean, best)
		})
	}
	b.Run("ptrace", func(b *testing.B) {
		mean, best := benchPtrace(b)
		record(b, "ptrace", mean, best)
	})
	cc, err := exec.LookPath("gcc")
	if err != nil {
		b.Logf("C floor skipped: no gcc: %v", err)
	} else {
		bin := buildCFloor(b, cc)
		for _, sync := range []bool{true, false} {
			name := map[bool]string{true: "c/sync", false: "c/nosync"}[sync]
			b.Run(name, func(b *testing.B) {
				mean, best := runCFloor(b, bin, sync)
				record(b, name, mean, best)
			})
		}
	}
	for _, threads := range []int{1, 8} {
		b.Run(fmt.Sprintf("throughput/threads=%d", threads), func(b *testing.B) {
			b.StopTimer()
			v := startVictim(b, fmt.Sprintf("wait; tbench %d %d", threads, max(b.N/threads, 1)), false)
			s := &notify.Supervisor{Listener: v.listener, Workers: max(threads, 1),
				Handler: notify.HandlerFunc(func(context.Context, *notify.Request) notify.Response { return notify.Continue() })}
			wait := serve(b, b.Context(), s)
			fmt.Fprintln(v.stdin, "go")
			v.next(b)
			b.StartTimer()
			out := v.finish(b)
			b.StopTimer()
			if err := wait(); err != nil {
				b.Fatal(err)
			}
			rate, err := strconv.ParseFloat(out[0], 64)
			if err != nil {
				b.Fatalf("victim said %q", out)
			}
			b.ReportMetric(rate, "calls/s")
		})
	}
	if c := res["c/sync"]; c > 0 {
		b.Logf("best ns/call: bare %.0f, notify/sync %.0f (%.2f x C floor %.0f), notify/nosync %.0f (%.2f x C %.0f), ptrace %.0f; notify/sync / ptrace = %.2f",
			res["bare"], res["notify/sync"], res["notify/sync"]/c, c, res["notify/nosync"], res["notify/nosync"]/res["c/nosync"], res["c/nosync"], res["ptrace"], res["notify/sync"]/res["ptrace"])
	}
}

// benchVictim runs b.N calls in a victim served by a Continue supervisor.
func benchVictim(b *testing.B, call string, noSync bool, workers int) (mean, best float64) {
	b.StopTimer()
	v := startVictim(b, fmt.Sprintf("wait; bench %d %s", b.N, call), false)
	s := &notify.Supervisor{Listener: v.listener, Workers: workers, NoSyncWakeUp: noSync,
		Handler: notify.HandlerFunc(func(context.Context, *notify.Request) notify.Response { return notify.Continue() })}
	wait := serve(b, b.Context(), s)
	fmt.Fprintln(v.stdin, "go")
	v.next(b)
	b.StartTimer()
	out := v.finish(b)
	b.StopTimer()
	if err := wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := fmt.Sscan(out[0], &mean, &best); err != nil {
		b.Fatalf("victim said %q: %v", out, err)
	}
	return mean, best
}

// benchPtrace runs b.N getppid calls that the filter sends to a tracer
// (SECCOMP_RET_TRACE): a Go tracer seizes the calling thread and answers
// every seccomp stop with PTRACE_CONT.
func benchPtrace(b *testing.B) (mean, best float64) {
	b.StopTimer()
	v := startVictimWith(b, fmt.Sprintf("lock; wait; bench %d ppid", b.N), victimOpts{env: []string{envTrace + "=1"}})
	tid, err := strconv.Atoi(v.next(b))
	if err != nil {
		b.Fatal(err)
	}
	ready, done := make(chan error, 1), make(chan error, 1)
	go func() {
		// Every ptrace request must come from the thread that attached.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		// PTRACE_SEIZE takes the options itself (PTRACE_SETOPTIONS would
		// need a stopped tracee).
		var err error
		if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(tid), 0,
			unix.PTRACE_O_TRACESECCOMP|unix.PTRACE_O_EXITKILL, 0, 0); e != 0 {
			err = e
		}
		ready <- err
		if err != nil {
			return
		}
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(tid, &ws, unix.WALL, nil); err != nil {
				if err == unix.ECHILD { // the thread exited and was reaped with its process
					err = nil
				}
				done <- err
				return
			}
			if ws.Exited() || ws.Signaled() {
				done <- nil
				return
			}
			sig := 0
			if ws.Stopped() && ws.StopSignal() != unix.SIGTRAP {
				sig = int(ws.StopSignal()) // a real signal: deliver it
			}
			if ws.Stopped() && ws.StopSignal() == unix.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_STOP {
				sig = 0
			}
			if err := unix.PtraceCont(tid, sig); err != nil {
				done <- nil // the thread is gone
				return
			}
		}
	}()
	if err := <-ready; err != nil {
		b.Fatalf("seize %d: %v", tid, err)
	}
	fmt.Fprintln(v.stdin, "go")
	v.next(b)
	b.StartTimer()
	out := v.next(b)
	b.StopTimer()
	// Not v.finish: if the traced thread is the thread-group leader, the
	// tracer's wait4 reaps the process before exec.Cmd.Wait can.
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if _, err := fmt.Sscan(out, &mean, &best); err != nil {
		b.Fatalf("victim said %q: %v", out, err)
	}
	return mean, best
}

// cFloor is the minimal supervisor: a child installs a filter that sends
// getppid to user space and passes the listener up; the parent answers
// each notification with CONTINUE in a blocking RECV/SEND loop.
const cFloor = `#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1UL
#endif

static long long now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	long n = atol(argv[1]);
	int sync = atoi(argv[2]);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv)) { perror("socketpair"); return 1; }
	pid_t pid = fork();
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {sizeof f / sizeof f[0], f};
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		int fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
		if (fd < 0) { perror("seccomp"); _exit(1); }
		char c = 'L', cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {&c, 1};
		struct msghdr m = {0};
		m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = cbuf; m.msg_controllen = sizeof cbuf;
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET; cm->cmsg_type = SCM_RIGHTS; cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof fd);
		if (sendmsg(sv[1], &m, 0) < 0) { perror("sendmsg"); _exit(1); }
		close(fd);
		if (read(sv[1], &c, 1) != 1) _exit(1);
		long long best = -1, start = now();
		for (long done = 0; done < n;) {
			long k = n - done < 500 ? n - done : 500;
			long long t0 = now();
			for (long i = 0; i < k; i++) syscall(SYS_getppid);
			long long d = (now() - t0) / k;
			if (k == 500 && (best < 0 || d < best)) best = d;
			done += k;
		}
		long long mean = (now() - start) / (n > 0 ? n : 1);
		printf("%lld %lld\n", mean, best < 0 ? mean : best);
		fflush(stdout);
		_exit(0);
	}
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&c, 1};
	struct msghdr m = {0};
	m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = cbuf; m.msg_controllen = sizeof cbuf;
	if (recvmsg(sv[0], &m, 0) < 1) { perror("recvmsg"); return 1; }
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
	if (sync && ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)) { perror("set sync wake-up"); return 1; }
	if (write(sv[0], "g", 1) != 1) return 1;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	for (long i = 0; i < n;) {
		memset(&req, 0, sizeof req);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
			if (errno == EINTR || errno == ENOENT) continue;
			perror("recv"); return 1;
		}
		memset(&resp, 0, sizeof resp);
		resp.id = req.id;
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0) i++;
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
`

func buildCFloor(b *testing.B, cc string) string {
	dir := b.TempDir()
	src, bin := filepath.Join(dir, "floor.c"), filepath.Join(dir, "floor")
	if err := os.WriteFile(src, []byte(cFloor), 0o644); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command(cc, "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		b.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

func runCFloor(b *testing.B, bin string, sync bool) (mean, best float64) {
	b.StopTimer()
	s := "0"
	if sync {
		s = "1"
	}
	b.StartTimer()
	out, err := exec.Command(bin, strconv.Itoa(b.N), s).CombinedOutput()
	b.StopTimer()
	if err != nil {
		b.Fatalf("C floor: %v\n%s", err, out)
	}
	if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &mean, &best); err != nil {
		b.Fatalf("C floor said %q: %v", out, err)
	}
	return mean, best
}
