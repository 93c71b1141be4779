package notify_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/notify"
	"github.com/sysgate/sysgate/seccomp"
)

func TestMain(m *testing.M) {
	if os.Getenv(envVictim) != "" {
		os.Exit(runVictim())
	}
	// Start the netpoller now, so that its own fds predate the leak checks.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	os.Exit(m.Run())
}

// requireNotifyTarget skips where the test victim cannot build its filter.
func requireNotifyTarget(tb testing.TB) {
	tb.Helper()
	if _, ok := nativeArch(); !ok {
		tb.Skipf("notify tests: no AUDIT_ARCH for GOARCH=%s in the test filter (amd64, arm64, riscv64)", runtime.GOARCH)
	}
}

// checkLeaks fails the test if it leaves fds or child processes behind.
// Call it first, so that its cleanup runs last.
func checkLeaks(tb testing.TB) {
	tb.Helper()
	before := openFDs(tb)
	tb.Cleanup(func() {
		after := openFDs(tb)
		for fd, what := range after {
			if before[fd] != what {
				tb.Errorf("fd %d leaked: %s", fd, what)
			}
		}
		if kids := children(tb); len(kids) > 0 {
			tb.Errorf("child processes left behind: %v", kids)
		}
	})
}

func openFDs(tb testing.TB) map[int]string {
	tb.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatal(err)
	}
	m := make(map[int]string)
	for _, e := range ents {
		fd, _ := strconv.Atoi(e.Name())
		if link, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil {
			m[fd] = link
		}
	}
	return m
}

func children(tb testing.TB) []string {
	tb.Helper()
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	var kids []string
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err == nil {
			kids = append(kids, strings.Fields(string(b))...)
		}
	}
	return kids
}

// victim is a running target: the test binary under a filter whose
// listener the test holds.
type victim struct {
	cmd      *exec.Cmd
	listener *os.File
	stdin    io.WriteCloser
	lines    chan string
	stderr   *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startVictim runs script (steps separated by ';') in a new victim and
// receives its listener.
func startVictim(tb testing.TB, script string, openat bool) *victim {
	tb.Helper()
	return startVictimWith(tb, script, victimOpts{openat: openat})
}

// victimOpts are the less common ways to start a victim.
type victimOpts struct {
	openat bool                 // notify openat too
	nrs    []uint32             // notify these syscalls too
	attr   *syscall.SysProcAttr // namespaces, credentials
	env    []string             // more environment
}

func startVictimWith(tb testing.TB, script string, o victimOpts) *victim {
	tb.Helper()
	openat := o.openat
	requireNotifyTarget(tb)
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(pair[0]), "sock"), os.NewFile(uintptr(pair[1]), "sock")
	v := &victim{lines: make(chan string, 16), stderr: new(lockedBuffer)}
	v.cmd = exec.Command(os.Args[0], "-test.run=^$")
	v.cmd.Env = append(os.Environ(), envVictim+"="+script)
	if openat {
		v.cmd.Env = append(v.cmd.Env, envOpenat+"=1")
	}
	if len(o.nrs) > 0 {
		var nrs []string
		for _, nr := range o.nrs {
			nrs = append(nrs, strconv.Itoa(int(nr)))
		}
		v.cmd.Env = append(v.cmd.Env, envNrs+"="+strings.Join(nrs, ","))
	}
	v.cmd.SysProcAttr = o.attr
	v.cmd.Env = append(v.cmd.Env, o.env...)
	v.cmd.ExtraFiles = []*os.File{theirs}
	v.cmd.Stderr = v.stderr
	stdout, err := v.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if v.stdin, err = v.cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	if err := v.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	theirs.Close()
	go func() {
		defer close(v.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			v.lines <- sc.Text()
		}
	}()

	conn, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	uc := conn.(*net.UnixConn)
	uc.SetDeadline(time.Now().Add(10 * time.Second))
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
	if err == nil && oobn == 0 {
		err = io.EOF
	}
	if err != nil {
		v.cmd.Process.Kill()
		v.cmd.Wait()
		msg := v.stderr.String()
		if strings.Contains(msg, "install filter") && strings.Contains(msg, "invalid argument") {
			tb.Skipf("notify tests: filter flags NEW_LISTENER|TSYNC|TSYNC_ESRCH|WAIT_KILLABLE_RECV need Linux >= 5.19: %s", msg)
		}
		tb.Fatalf("receive listener from victim: %v; victim stderr: %s", err, msg)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		tb.Fatalf("parse listener message: %v (%d messages)", err, len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		tb.Fatalf("parse listener rights: %v (%d fds)", err, len(fds))
	}
	v.listener = os.NewFile(uintptr(fds[0]), "seccomp-listener")
	tb.Cleanup(func() {
		v.listener.Close()
		if v.cmd.ProcessState == nil {
			v.cmd.Process.Kill()
			v.cmd.Wait()
		}
	})
	return v
}

// next returns the victim's next output line.
func (v *victim) next(tb testing.TB) string {
	tb.Helper()
	select {
	case l, ok := <-v.lines:
		if !ok {
			tb.Fatalf("victim ended early; stderr: %s", v.stderr.String())
		}
		return l
	case <-time.After(20 * time.Second):
		tb.Fatalf("victim silent for 20 s; stderr: %s", v.stderr.String())
	}
	return ""
}

// finish collects the remaining output and reaps the victim.
func (v *victim) finish(tb testing.TB) []string {
	tb.Helper()
	var out []string
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-v.lines:
			if ok {
				out = append(out, l)
				continue
			}
			if err := v.cmd.Wait(); err != nil {
				tb.Fatalf("victim: %v; stderr: %s", err, v.stderr.String())
			}
			return out
		case <-timeout:
			tb.Fatalf("victim still running after 30 s; output so far %q; stderr: %s", out, v.stderr.String())
		}
	}
}

// serve runs s.Serve in the background; the returned function waits for it.
func serve(tb testing.TB, ctx context.Context, s *notify.Supervisor) func() error {
	tb.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	return func() error {
		tb.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			tb.Fatal("Serve did not return within 10 s")
			return nil
		}
	}
}

// errLog collects ErrorLog reports.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) log(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

// byArg0 answers getppid calls by their first argument.
func byArg0(f func(ctx context.Context, r *notify.Request) notify.Response) notify.Handler {
	return notify.HandlerFunc(func(ctx context.Context, r *notify.Request) notify.Response {
		if r.Nr != unix.SYS_GETPPID {
			return notify.Continue()
		}
		return f(ctx, r)
	})
}

func TestResponses(t *testing.T) {
	tests := []struct {
		name    string
		resp    notify.Response
		want    string
		wantErr bool // reported to ErrorLog
	}{
		{name: "continue runs the call", resp: notify.Continue(), want: fmt.Sprintf("%d 0", os.Getpid())},
		{name: "errno", resp: notify.Errno(unix.EACCES), want: "-1 13"},
		{name: "return", resp: notify.Return(42), want: "42 0"},
		{name: "return beyond the errno range", resp: notify.Return(-5000), want: "-5000 0"},
		{name: "zero response denies", resp: notify.Response{}, want: "-1 1"},
		{name: "invalid errno denies", resp: notify.Errno(0), want: "-1 1", wantErr: true},
		{name: "nil file denies", resp: notify.InjectFD(nil, 0), want: "-1 1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			v := startVictim(t, "ppid 0 0", false)
			var log errLog
			s := &notify.Supervisor{
				Listener: v.listener,
				Handler: byArg0(func(context.Context, *notify.Request) notify.Response {
					return tt.resp
				}),
				ErrorLog: log.log,
			}
			wait := serve(t, t.Context(), s)
			out := v.finish(t)
			if err := wait(); err != nil {
				t.Fatalf("Serve after the target exited: %v, want nil", err)
			}
			if len(out) != 1 || out[0] != tt.want {
				t.Errorf("target saw %q, want %q", out, tt.want)
			}
			if errs := log.all(); (len(errs) > 0) != tt.wantErr {
				t.Errorf("ErrorLog got %v, want errors: %v", errs, tt.wantErr)
			}
			st := s.Stats()
			if st.Received != 1 || st.Answered != 1 || !st.SyncWakeUp {
				t.Errorf("Stats = %+v, want 1 received, 1 answered, sync wake-up", st)
			}
		})
	}
}

func TestInjectFD(t *testing.T) {
	checkLeaks(t)
	content := "hello from the supervisor"
	path := filepath.Join(t.TempDir(), "injected")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	v := startVictim(t, "open "+magicPath+"; open /sysgate-notify-test/absent", true)
	var paths sync.Map
	s := &notify.Supervisor{
		Listener: v.listener,
		Handler: notify.HandlerFunc(func(ctx context.Context, r *notify.Request) notify.Response {
			if r.Nr != unix.SYS_OPENAT {
				return notify.Continue()
			}
			p, err := r.ReadString(r.Args[1], 4095)
			if err != nil {
				return notify.Errno(unix.EIO)
			}
			paths.Store(p, true)
			if p != magicPath {
				return notify.Continue() // the kernel will say ENOENT itself
			}
			f, err := os.Open(path)
			if err != nil {
				return notify.Errno(unix.EIO)
			}
			return notify.InjectFD(f, unix.O_CLOEXEC)
		}),
		ErrorLog: func(err error) { t.Error(err) },
	}
	wait := serve(t, t.Context(), s)
	out := v.finish(t)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	want := []string{strconv.Quote(content) + " cloexec=true", "err 2"}
	if !slices.Equal(out, want) {
		t.Errorf("target saw %q, want %q", out, want)
	}
	for _, p := range []string{magicPath, "/sysgate-notify-test/absent"} {
		if _, ok := paths.Load(p); !ok {
			t.Errorf("handler never read path %q", p)
		}
	}
}

// TestInjectFDUnderSignals: the supervisor's threads get a storm of
// signals (as Go's preemption sends them) while it injects files. An
// ADDFD+SEND interrupted at the wrong moment makes the kernel answer the
// call with 0 instead of the fd, which the target takes for its file.
func TestInjectFDUnderSignals(t *testing.T) {
	checkLeaks(t)
	path := filepath.Join(t.TempDir(), "injected")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	const calls = 3000
	v := startVictim(t, fmt.Sprintf("opens %d %s", calls, magicPath), true)
	s := &notify.Supervisor{
		Listener: v.listener,
		Handler: notify.HandlerFunc(func(ctx context.Context, r *notify.Request) notify.Response {
			if r.Nr != unix.SYS_OPENAT {
				return notify.Continue()
			}
			if p, err := r.ReadString(r.Args[1], 4095); err != nil || p != magicPath {
				return notify.Continue()
			}
			f, err := os.Open(path)
			if err != nil {
				return notify.Errno(unix.EIO)
			}
			return notify.InjectFD(f, unix.O_CLOEXEC)
		}),
		ErrorLog: func(err error) { t.Errorf("ErrorLog: %v", err) },
	}
	stop := make(chan struct{})
	var storm sync.WaitGroup
	storm.Go(func() {
		pid := os.Getpid()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ents, _ := os.ReadDir("/proc/self/task")
			for _, e := range ents {
				tid, _ := strconv.Atoi(e.Name())
				unix.Tgkill(pid, tid, unix.SIGURG) // what the runtime preempts with; harmless otherwise
			}
			time.Sleep(20 * time.Microsecond)
		}
	})
	wait := serve(t, t.Context(), s)
	out := v.finish(t)
	close(stop)
	storm.Wait()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if want := []string{fmt.Sprintf("%d 0 0", calls)}; !slices.Equal(out, want) {
		t.Errorf("target counted %q (regular files, other fds, errors), want %q; stats %+v", out, want, s.Stats())
	}
}

func TestRead(t *testing.T) {
	checkLeaks(t)
	v := startVictim(t, "edge 77", false)
	s := &notify.Supervisor{
		Listener: v.listener,
		Handler: byArg0(func(ctx context.Context, r *notify.Request) notify.Response {
			switch r.Args[0] {
			case 77, 79:
				max := 4095
				if r.Args[0] == 79 {
					max = 3
				}
				str, err := r.ReadString(r.Args[1], max)
				switch {
				case errors.Is(err, notify.ErrTooLong):
					return notify.Errno(unix.ENAMETOOLONG)
				case errors.Is(err, unix.EFAULT):
					return notify.Errno(unix.EFAULT)
				case err != nil:
					t.Errorf("ReadString: %v", err)
					return notify.Errno(unix.EIO)
				case str != "edge":
					t.Errorf("ReadString = %q, want %q", str, "edge")
				}
				return notify.Return(int64(len(str)))
			case 78:
				var b [4]byte
				if err := r.Read(r.Args[1], b[:]); err != nil {
					t.Errorf("Read: %v", err)
					return notify.Errno(unix.EIO)
				}
				return notify.Return(int64(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24))
			}
			return notify.Errno(unix.EINVAL)
		}),
	}
	wait := serve(t, t.Context(), s)
	out := v.finish(t)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	// NUL right at the page end; string running into an unmapped page;
	// 4 bytes read; the same string with a 3-byte limit.
	want := []string{"4 0 -1 14 4277006349 0 -1 36"}
	if !slices.Equal(out, want) {
		t.Errorf("target saw %q, want %q", out, want)
	}
}

func TestSlowHandlerDoesNotBlockOthers(t *testing.T) {
	checkLeaks(t)
	v := startVictim(t, "ppid2 7 0 8 0", false)
	release := make(chan struct{})
	s := &notify.Supervisor{
		Listener: v.listener,
		Workers:  2,
		Handler: byArg0(func(ctx context.Context, r *notify.Request) notify.Response {
			if r.Args[0] == 8 {
				close(release)
				return notify.Return(8)
			}
			select {
			case <-release: // the other call got through while this one waited
				return notify.Return(7)
			case <-time.After(10 * time.Second):
				return notify.Errno(unix.ETIMEDOUT)
			}
		}),
	}
	wait := serve(t, t.Context(), s)
	out := v.finish(t)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"7 0 8 0"}; !slices.Equal(out, want) {
		t.Errorf("target saw %q, want %q", out, want)
	}
}

func TestHandlerPanics(t *testing.T) {
	checkLeaks(t)
	v := startVictim(t, "ppid 13 0; ppid 14 0", false)
	var log errLog
	s := &notify.Supervisor{
		Listener: v.listener,
		Workers:  1, // the same worker must survive to answer the second call
		Handler: byArg0(func(ctx context.Context, r *notify.Request) notify.Response {
			if r.Args[0] == 13 {
				panic("boom")
			}
			return notify.Return(int64(r.Args[0]))
		}),
		ErrorLog: log.log,
	}
	wait := serve(t, t.Context(), s)
	out := v.finish(t)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"-1 1", "14 0"}; !slices.Equal(out, want) {
		t.Errorf("target saw %q, want %q", out, want)
	}
	errs := log.all()
	var pe *notify.PanicError
	if len(errs) != 1 || !errors.As(errs[0], &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
		t.Errorf("ErrorLog got %v, want one *PanicError with value boom and a stack", errs)
	}
	if st := s.Stats(); st.Panics != 1 || st.Answered != 2 {
		t.Errorf("Stats = %+v, want 1 panic, 2 answered", st)
	}
}

// TestTargetDies kills a child of the victim (under the same filter) while
// its call is being handled: the answer fails with ENOENT, and the
// supervisor goes on to answer the parent.
func TestTargetDies(t *testing.T) {
	checkLeaks(t)
	v := startVictim(t, "child ppid 99 0; ppid 5 0", false)
	var sawGone atomic.Bool
	s := &notify.Supervisor{
		Listener: v.listener,
		Handler: byArg0(func(ctx context.Context, r *notify.Request) notify.Response {
			if r.Args[0] != 99 {
				return notify.Return(int64(r.Args[0]))
			}
			if err := r.Valid(); err != nil {
				t.Errorf("Valid before the kill: %v", err)
			}
			// r.Pid is a thread id; kill(2) takes the whole thread group.
			if err := unix.Kill(r.Pid, unix.SIGKILL); err != nil {
				t.Errorf("kill: %v", err)
			}
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if err := r.Valid(); errors.Is(err, notify.ErrGone) {
					sawGone.Store(true)
					break
				}
			}
			var b [1]byte
			if err := r.Read(r.IP, b[:]); !errors.Is(err, notify.ErrGone) {
				t.Errorf("Read after the kill: %v, want ErrGone", err)
			}
			return notify.Return(1)
		}),
		ErrorLog: func(err error) { t.Errorf("ErrorLog: %v", err) },
	}
	wait := serve(t, t.Context(), s)
	out := v.finish(t)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"child signal: killed", "5 0"}; !slices.Equal(out, want) {
		t.Errorf("target saw %q, want %q", out, want)
	}
	if !sawGone.Load() {
		t.Error("Valid never reported ErrGone after the kill")
	}
	if st := s.Stats(); st.Gone != 1 || st.Answered != 1 || st.Failed != 0 {
		t.Errorf("Stats = %+v, want 1 gone, 1 answered, 0 failed", st)
	}
}

// TestManyThreads: 16 target threads make 100,000 calls; each call's
// answer encodes its thread and sequence number, so both sides can tell a
// lost, doubled or misdelivered answer.
func TestManyThreads(t *testing.T) {
	checkLeaks(t)
	const threads, perThread = 16, 6250
	v := startVictim(t, fmt.Sprintf("stress %d %d", threads, perThread), false)
	var seen [threads][perThread]atomic.Uint32
	var bad atomic.Uint64
	s := &notify.Supervisor{
		Listener: v.listener,
		Handler: byArg0(func(ctx context.Context, r *notify.Request) notify.Response {
			th, i := r.Args[0], r.Args[1]
			if th >= threads || i >= perThread {
				bad.Add(1)
				return notify.Errno(unix.EINVAL)
			}
			seen[th][i].Add(1)
			return notify.Return(int64(th<<32 | i))
		}),
		ErrorLog: func(err error) { t.Errorf("ErrorLog: %v", err) },
	}
	start := time.Now()
	wait := serve(t, t.Context(), s)
	out := v.finish(t)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if want := []string{fmt.Sprintf("%d 0", threads*perThread)}; !slices.Equal(out, want) {
		t.Errorf("target counted %q (good, bad), want %q", out, want)
	}
	var missing, doubled int
	for th := range seen {
		for i := range seen[th] {
			switch n := seen[th][i].Load(); {
			case n == 0:
				missing++
			case n > 1:
				doubled++
			}
		}
	}
	if missing > 0 || doubled > 0 || bad.Load() > 0 {
		t.Errorf("supervisor side: %d calls never seen, %d seen twice, %d unknown", missing, doubled, bad.Load())
	}
	st := s.Stats()
	if st.Received != threads*perThread || st.Answered != threads*perThread || st.Gone != 0 || st.Failed != 0 {
		t.Errorf("Stats = %+v, want %d received and answered", st, threads*perThread)
	}
	t.Logf("%d calls from %d threads in %v (%v per call)", threads*perThread, threads, elapsed, elapsed/(threads*perThread))
}

// TestSupervisorGone records what the target sees when the listener is
// closed: ENOSYS for a call received but never answered, for a call still
// queued, and for every later call.
func TestSupervisorGone(t *testing.T) {
	checkLeaks(t)
	v := startVictim(t, "ppid2 1 0 2 0; ppid 3 0", false)
	lfd := int(v.listener.Fd())
	waitPending := func() {
		t.Helper()
		pfd := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 10000); err != nil || n != 1 || pfd[0].Revents&unix.POLLIN == 0 {
			t.Fatalf("no notification pending: poll = %d, %v, revents %#x", n, err, pfd[0].Revents)
		}
	}
	waitPending()
	var n seccomp.Notif
	if err := seccomp.NotifRecv(lfd, &n); err != nil {
		t.Fatal(err)
	}
	waitPending() // the other thread's call, queued and not received
	v.listener.Close()
	out := v.finish(t)
	if want := []string{"-1 38 -1 38", "-1 38"}; !slices.Equal(out, want) {
		t.Errorf("target saw %q, want ENOSYS (38) everywhere: %q", out, want)
	}
}

// TestServeCancel: cancelling stops Serve with ctx's error while the target
// lives on; calls after that wait in the kernel until the listener closes.
func TestServeCancel(t *testing.T) {
	checkLeaks(t)
	v := startVictim(t, "ppid 1 0; wait; ppid 2 0", false)
	ctx, cancel := context.WithCancel(t.Context())
	s := &notify.Supervisor{
		Listener: v.listener,
		Handler: byArg0(func(ctx context.Context, r *notify.Request) notify.Response {
			return notify.Return(int64(r.Args[0]))
		}),
	}
	wait := serve(t, ctx, s)
	if got := v.next(t); got != "1 0" {
		t.Fatalf("first call: target saw %q, want %q", got, "1 0")
	}
	cancel()
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve after cancel = %v, want context.Canceled", err)
	}
	fmt.Fprintln(v.stdin, "go")
	if got := v.next(t); got != "waited go" {
		t.Fatalf("target said %q", got)
	}
	// The call is now pending with nobody serving; closing answers ENOSYS.
	pfd := []unix.PollFd{{Fd: int32(v.listener.Fd()), Events: unix.POLLIN}}
	if _, err := unix.Poll(pfd, 10000); err != nil || pfd[0].Revents&unix.POLLIN == 0 {
		t.Fatalf("second call not pending: %v, revents %#x", err, pfd[0].Revents)
	}
	v.listener.Close()
	if out := v.finish(t); !slices.Equal(out, []string{"-1 38"}) {
		t.Errorf("target saw %q after the listener closed, want ENOSYS", out)
	}
}

// TestServeReturnsBeforeReap checks what the package documentation says:
// the listener hangs up once the target has exited, while it is still a
// zombie waiting for its parent.
func TestServeReturnsBeforeReap(t *testing.T) {
	checkLeaks(t)
	v := startVictim(t, "ppid 1 0", false)
	s := &notify.Supervisor{
		Listener: v.listener,
		Handler:  byArg0(func(context.Context, *notify.Request) notify.Response { return notify.Return(1) }),
	}
	wait := serve(t, t.Context(), s)
	if got := v.next(t); got != "1 0" {
		t.Fatalf("target saw %q", got)
	}
	var info unix.Siginfo
	// WNOWAIT: wait for the exit but leave the zombie unreaped.
	if err := unix.Waitid(unix.P_PID, v.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Errorf("Serve with a zombie target = %v, want nil", err)
	}
	v.finish(t)
}

func TestServeErrors(t *testing.T) {
	h := notify.HandlerFunc(func(context.Context, *notify.Request) notify.Response { return notify.Continue() })
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name string
		s    *notify.Supervisor
		want string
	}{
		{name: "no listener", s: &notify.Supervisor{Handler: h}, want: "no listener"},
		{name: "no handler", s: &notify.Supervisor{Listener: f}, want: "no handler"},
		{name: "not a listener", s: &notify.Supervisor{Listener: f, Handler: h}, want: "serve notifications"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Serve(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Serve = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// BenchmarkRoundTrip compares a getppid answered with Continue by the
// supervisor against a getpid the filter allows in the kernel, with and
// without SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, with one and four workers.
// The figures that matter are measured inside the target: ns/call, the
// mean, and best-ns/call, the mean of the fastest batch of 500 calls, which
// a busy machine disturbs less.
func BenchmarkRoundTrip(b *testing.B) {
	cases := []struct {
		name    string
		call    string
		workers int
		noSync  bool
	}{
		{name: "bare", call: "pid", workers: 1},
		{name: "continue/sync/workers=1", call: "ppid", workers: 1},
		{name: "continue/sync/workers=4", call: "ppid", workers: 4},
		{name: "continue/nosync/workers=1", call: "ppid", workers: 1, noSync: true},
		{name: "continue/nosync/workers=4", call: "ppid", workers: 4, noSync: true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.StopTimer()
			v := startVictim(b, fmt.Sprintf("wait; bench %d %s", b.N, c.call), false)
			s := &notify.Supervisor{
				Listener:     v.listener,
				Workers:      c.workers,
				NoSyncWakeUp: c.noSync,
				Handler:      notify.HandlerFunc(func(context.Context, *notify.Request) notify.Response { return notify.Continue() }),
			}
			wait := serve(b, b.Context(), s)
			fmt.Fprintln(v.stdin, "go")
			v.next(b)
			b.StartTimer()
			out := v.finish(b)
			b.StopTimer()
			if err := wait(); err != nil {
				b.Fatal(err)
			}
			var mean, best float64
			if _, err := fmt.Sscan(out[0], &mean, &best); err != nil {
				b.Fatalf("victim said %q: %v", out, err)
			}
			b.ReportMetric(mean, "ns/call")
			b.ReportMetric(best, "best-ns/call")
		})
	}
}
