package notify_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/notify"
	"github.com/sysgate/sysgate/policy"
)

// syncBuffer is a log the handlers write to from several workers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fileTree makes dir/allowed/ok ("ok"), dir/secret ("secret"),
// dir/conf/b.conf ("conf"), and symlinks that try to leave the trees.
func fileTree(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sysgate-notify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "allowed", "sub"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "conf"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "allowed", "ok"), []byte("ok"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "allowed", "private"), []byte("private"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "secret"), []byte("secret"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "conf", "b.conf"), []byte("conf"), 0o644))
	must(os.Symlink(filepath.Join(dir, "secret"), filepath.Join(dir, "allowed", "abs-escape")))
	must(os.Symlink("../secret", filepath.Join(dir, "allowed", "rel-escape")))
	must(os.Symlink("../ok", filepath.Join(dir, "allowed", "sub", "inside")))
	must(os.Symlink("../secret", filepath.Join(dir, "conf", "a.conf")))
	must(os.Symlink("b.conf", filepath.Join(dir, "conf", "c.conf")))
	return dir
}

// runHandler serves a victim running script with h and returns its output.
func runHandler(t *testing.T, h notify.Handler, script string, o victimOpts) []string {
	t.Helper()
	v := startVictimWith(t, script, o)
	var log errLog
	s := &notify.Supervisor{Listener: v.listener, Handler: h, ErrorLog: log.log}
	wait := serve(t, t.Context(), s)
	out := v.finish(t)
	if err := wait(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if errs := log.all(); len(errs) > 0 {
		t.Errorf("ErrorLog: %v", errs)
	}
	return out
}

func newHandler(t *testing.T, spec *policy.Handler, log io.Writer) notify.Handler {
	t.Helper()
	h, err := notify.NewHandler(spec, log)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAuditHandler(t *testing.T) {
	checkLeaks(t)
	dir := fileTree(t)
	ok := filepath.Join(dir, "allowed", "ok")
	script := fmt.Sprintf("open %s; cd %s; openf allowed/ok 0x80000", ok, dir) // 0x80000: O_CLOEXEC

	t.Run("line", func(t *testing.T) {
		var log syncBuffer
		out := runHandler(t, newHandler(t, nil, &log), script, victimOpts{openat: true})
		if want := []string{`"ok" cloexec=false`, "cd", `"ok" cloexec=true`}; !equalLines(out, want) {
			t.Errorf("target saw %q, want %q", out, want)
		}
		for _, want := range []string{
			fmt.Sprintf(": openat(AT_FDCWD, %q, O_RDONLY)\n", ok),
			fmt.Sprintf(`: openat(AT_FDCWD, "allowed/ok", O_RDONLY|O_CLOEXEC) [%s]`, ok),
		} {
			if !strings.Contains(log.String(), want) {
				t.Errorf("audit log lacks %q:\n%s", want, log.String())
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		var log syncBuffer
		runHandler(t, newHandler(t, &policy.Handler{Name: policy.HandlerAudit, Format: "json"}, &log), script, victimOpts{openat: true})
		var found bool
		for line := range strings.SplitSeq(strings.TrimSpace(log.String()), "\n") {
			var rec struct {
				Pid     int
				Syscall string
				Path    string
				Abs     string
				Flags   string
				Args    []string
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("audit JSON %q: %v", line, err)
			}
			if rec.Path == "allowed/ok" {
				found = true
				if rec.Syscall != "openat" || rec.Abs != ok || rec.Flags != "O_RDONLY|O_CLOEXEC" || rec.Pid <= 0 || len(rec.Args) != 3 || rec.Args[0] != "AT_FDCWD" {
					t.Errorf("audit record %s", line)
				}
			}
		}
		if !found {
			t.Errorf("no record of the relative open:\n%s", log.String())
		}
	})
}

func equalLines(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func TestPathHandlers(t *testing.T) {
	checkLeaks(t)
	dir := fileTree(t)
	p := func(s string) string { return filepath.Join(dir, s) }
	tests := []struct {
		name   string
		spec   policy.Handler
		script string
		want   []string
	}{
		{
			name:   "deny-path",
			spec:   policy.Handler{Name: policy.HandlerDenyPath, Paths: []string{p("secret"), p("conf/**")}},
			script: fmt.Sprintf("open %s; open %s; open %s; cd %s; open secret; open allowed/../secret; stat secret; stat allowed", p("secret"), p("allowed/ok"), p("conf/b.conf"), dir),
			want:   []string{"err 13", `"ok" cloexec=false`, "err 13", "cd", "err 13", "err 13", "err 13", "ok"},
		},
		{
			name:   "allow-path with errno",
			spec:   policy.Handler{Name: policy.HandlerAllowPath, Paths: []string{p("allowed/**")}, Errno: uint16(unix.ENOENT)},
			script: fmt.Sprintf("open %s; open %s; cd %s/allowed; open ok; open ../secret; stat .; stat ..", p("secret"), p("allowed/ok"), dir),
			want:   []string{"err 2", `"ok" cloexec=false`, "cd", `"ok" cloexec=false`, "err 2", "ok", "err 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log syncBuffer
			out := runHandler(t, newHandler(t, &tt.spec, &log), tt.script, victimOpts{openat: true, nrs: []uint32{unix.SYS_NEWFSTATAT}})
			if !equalLines(out, tt.want) {
				t.Errorf("target saw\n%q, want\n%q\nlog:\n%s", out, tt.want, log.String())
			}
			if !strings.Contains(log.String(), "refused") {
				t.Errorf("no refusal logged:\n%s", log.String())
			}
		})
	}
}

func TestOpenBroker(t *testing.T) {
	checkLeaks(t)
	dir := fileTree(t)
	p := func(s string) string { return filepath.Join(dir, s) }
	spec := policy.Handler{Name: policy.HandlerOpenBroker, Paths: []string{p("allowed/**"), p("conf/*.conf")}}
	umask := currentUmask(t)
	tests := []struct {
		name   string
		spec   policy.Handler
		script string
		want   []string
	}{
		{name: "allowed", script: "openf " + p("allowed/ok") + " 0", want: []string{`"ok" cloexec=false`}},
		{name: "cloexec as asked", script: "openf " + p("allowed/ok") + " 0x80000", want: []string{`"ok" cloexec=true`}},
		{name: "not in the globs", script: "openf " + p("secret") + " 0", want: []string{"err 13"}},
		{name: "dot-dot out", script: "openf " + p("allowed") + "/../secret 0", want: []string{"err 13"}},
		{name: "missing file", script: "openf " + p("allowed/none") + " 0", want: []string{"err 2"}},
		{name: "absolute symlink out", script: "openf " + p("allowed/abs-escape") + " 0", want: []string{"err 13"}},
		{name: "relative symlink out", script: "openf " + p("allowed/rel-escape") + " 0", want: []string{"err 13"}},
		{name: "symlink inside the tree", script: "openf " + p("allowed/sub/inside") + " 0", want: []string{`"ok" cloexec=false`}},
		{name: "glob file", script: "openf " + p("conf/b.conf") + " 0", want: []string{`"conf" cloexec=false`}},
		{name: "glob file through a symlink", script: "openf " + p("conf/c.conf") + " 0", want: []string{"err 13"}},
		{name: "glob symlink out", script: "openf " + p("conf/a.conf") + " 0", want: []string{"err 13"}},
		{name: "relative to cwd", script: "cd " + p("allowed") + "; openf ok 0; openf ../secret 0", want: []string{"cd", `"ok" cloexec=false`, "err 13"}},
		{name: "openat2 relative to a dirfd", script: "openat2 " + p("allowed") + " sub/../ok 0; openat2 " + p("allowed") + " ../secret 0; openat2 " + p("allowed") + " ../allowed/ok 8",
			want: []string{`"ok"`, "err 13", "err 18"}}, // 8: RESOLVE_BENEATH, whose ".." the kernel refuses with EXDEV
		{name: "O_PATH cannot be injected", script: "openf " + p("allowed/ok") + " 0x200000", want: []string{"err 13"}},
		{name: "create", script: "create " + p("allowed/new") + " hello; openf " + p("allowed/new") + " 0",
			want: []string{fmt.Sprintf("created %o", 0o666&^umask), `"hello" cloexec=false`}},
		{name: "create outside", script: "create " + p("new") + " hello", want: []string{"err 13"}},
		{name: "read-only", spec: policy.Handler{Name: policy.HandlerOpenBroker, Paths: spec.Paths, ReadOnly: true},
			script: "create " + p("allowed/new2") + " x; openf " + p("allowed/ok") + " 2; openf " + p("allowed/ok") + " 0",
			want:   []string{"err 13", "err 13", `"ok" cloexec=false`}},
		{name: "as the caller's fsuid", script: "openas 1000 " + p("allowed/private") + "; openas 1000 " + p("allowed/ok") + "; openas 0 " + p("allowed/private"),
			want: []string{"err 13", `"ok"`, `"private"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec
			if tt.spec.Name != "" {
				s = tt.spec
			}
			var log syncBuffer
			out := runHandler(t, newHandler(t, &s, &log), tt.script, victimOpts{openat: true, nrs: []uint32{unix.SYS_OPENAT2}})
			if !equalLines(out, tt.want) {
				t.Errorf("target saw\n%q, want\n%q\nlog:\n%s", out, tt.want, log.String())
			}
		})
	}
	if b, err := os.ReadFile(p("new")); err == nil {
		t.Errorf("refused create made %s: %q", p("new"), b)
	}
}

// currentUmask reads the process umask. Not from /proc/self/status: that
// is the main thread's, which the Go runtime may have parked with a
// private umask after a locked goroutine exited on it.
func currentUmask(t *testing.T) uint32 {
	t.Helper()
	u := unix.Umask(0o22)
	unix.Umask(u)
	return uint32(u)
}

// TestOpenBrokerTOCTOU: a second target thread flips the path buffer between
// an allowed file and a secret one while the calls are being decided. With
// open-broker every file the target gets is the allowed one (or the call
// failed); with allow-path, which continues, the secret may slip through,
// which is why that is not a security boundary.
func TestOpenBrokerTOCTOU(t *testing.T) {
	checkLeaks(t)
	dir := fileTree(t)
	ok, secret := filepath.Join(dir, "allowed", "ok"), filepath.Join(dir, "secret")
	script := fmt.Sprintf("flip 3000 %s %s", ok, secret)
	for _, name := range []string{policy.HandlerOpenBroker, policy.HandlerAllowPath} {
		t.Run(name, func(t *testing.T) {
			h := newHandler(t, &policy.Handler{Name: name, Paths: []string{filepath.Join(dir, "allowed", "**")}}, nil)
			out := runHandler(t, h, script, victimOpts{openat: true})
			if len(out) != 1 || !strings.Contains(out[0], "flips>0=true") || !strings.Contains(out[0], "ok:") {
				t.Fatalf("target said %q", out)
			}
			t.Logf("%s: %s", name, out[0])
			if name == policy.HandlerOpenBroker && strings.Contains(out[0], "secret:") {
				t.Errorf("open-broker gave the target the secret file: %s", out[0])
			}
		})
	}
}

// requireUserns skips where this kernel cannot give the victim a user namespace.
func requireUserns(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		t.Skipf("mknod tests: user namespaces (CONFIG_USER_NS, Linux 3.8) unavailable: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("mknod tests: the supervisor must be root (CAP_MKNOD, CAP_SYS_ADMIN for setns)")
	}
}

func usernsAttr(extra uintptr) *syscall.SysProcAttr {
	ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 1000, HostID: 1000, Size: 1}}
	return &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER | extra, UidMappings: ids, GidMappings: ids}
}

func TestMknodHandler(t *testing.T) {
	requireUserns(t)
	checkLeaks(t)
	dir, err := os.MkdirTemp("", "sysgate-mknod-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	perm := 0o666 &^ currentUmask(t)
	spec := &policy.Handler{Name: policy.HandlerMknod, Devices: []policy.Device{{Major: 1, Minor: 3}, {Major: 1, Minor: 5}, {Major: 136, AnyMinor: true}}}
	var log syncBuffer
	h := newHandler(t, spec, &log)
	script := "cd " + dir + "; mknod null c 1 3 1000; statdev null; devwrite null; mknod sda b 8 0 1000; mknod mem c 1 1 0; " +
		"mknod fifo p 0 0 1000; statdev fifo; mknod " + dir + "/zero c 1 5 0; statdev zero; mknod null c 1 3 0; mknod pts c 136 7 0; statdev pts"
	out := runHandler(t, h, script, victimOpts{nrs: []uint32{unix.SYS_MKNODAT}, attr: usernsAttr(0)})
	want := []string{"cd",
		"0", fmt.Sprintf("c 1:3 uid=1000 gid=1000 perm=%o", perm), "wrote 1",
		"err 1", "err 1",
		"0", fmt.Sprintf("p 0:0 uid=1000 gid=1000 perm=%o", perm),
		"0", fmt.Sprintf("c 1:5 uid=0 gid=0 perm=%o", perm),
		"err 17",
		"0", fmt.Sprintf("c 136:7 uid=0 gid=0 perm=%o", perm)}
	if !equalLines(out, want) {
		t.Errorf("target saw\n%q, want\n%q\nlog:\n%s", out, want, log.String())
	}
	if !strings.Contains(log.String(), "device b 8:0 not allowed") {
		t.Errorf("refusal not logged:\n%s", log.String())
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "null"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) || st.Uid != 1000 {
		t.Errorf("node seen by the test: %+v, %v", st, err)
	}

	t.Run("the caller's permissions", func(t *testing.T) {
		locked := filepath.Join(dir, "locked")
		os.Mkdir(locked, 0o755) // root's: fsuid 1000 may not write
		out := runHandler(t, h, "mknod "+locked+"/null c 1 3 1000; mknod "+locked+"/null c 1 3 0", victimOpts{nrs: []uint32{unix.SYS_MKNODAT}, attr: usernsAttr(0)})
		if want := []string{"err 13", "0"}; !equalLines(out, want) {
			t.Errorf("target saw %q, want %q", out, want)
		}
	})
}

// TestMknodMountNamespace: the node lands in the target's own mount
// namespace, on a tmpfs the supervisor's namespace does not have, for a
// relative and an absolute path.
func TestMknodMountNamespace(t *testing.T) {
	requireUserns(t)
	checkLeaks(t)
	dir, err := os.MkdirTemp("", "sysgate-mknod-ns-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := newHandler(t, &policy.Handler{Name: policy.HandlerMknod, Devices: []policy.Device{{Major: 1, Minor: 3}}}, nil)
	script := "mounttmpfs " + dir + "; cd " + dir + "; mknod null c 1 3 0; statdev null; mknod " + dir + "/null2 c 1 3 0; statdev " + dir + "/null2"
	out := runHandler(t, h, script, victimOpts{nrs: []uint32{unix.SYS_MKNODAT}, attr: usernsAttr(syscall.CLONE_NEWNS)})
	perm := 0o666 &^ currentUmask(t)
	want := []string{"mounted", "cd", "0", fmt.Sprintf("c 1:3 uid=0 gid=0 perm=%o", perm), "0", fmt.Sprintf("c 1:3 uid=0 gid=0 perm=%o", perm)}
	if !equalLines(out, want) {
		t.Errorf("target saw\n%q, want\n%q", out, want)
	}
	for _, n := range []string{"null", "null2"} {
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s was made in the supervisor's mount namespace", n)
		}
	}
}

func TestNewHandlerErrors(t *testing.T) {
	tests := []struct {
		name string
		spec policy.Handler
		msg  string
	}{
		{"unknown", policy.Handler{Name: "nope"}, `unknown handler "nope"`},
		{"deny-path without paths", policy.Handler{Name: policy.HandlerDenyPath}, "no paths"},
		{"broker without paths", policy.Handler{Name: policy.HandlerOpenBroker}, "no paths"},
		{"mknod without devices", policy.Handler{Name: policy.HandlerMknod}, "no devices"},
		{"relative glob", policy.Handler{Name: policy.HandlerAllowPath, Paths: []string{"tmp/**"}}, "must be absolute"},
		{"bad format", policy.Handler{Name: policy.HandlerAudit, Format: "xml"}, `format "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := notify.NewHandler(&tt.spec, nil)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("NewHandler: %v, want %q", err, tt.msg)
			}
		})
	}
}

// TestHandlerSyscalls: every syscall a policy may give a handler has an
// argument layout here, so no rule the parser accepts meets "cannot serve".
func TestHandlerSyscalls(t *testing.T) {
	for _, name := range policy.HandlerNames {
		for _, s := range policy.HandlerSyscalls(name) {
			if !notify.HasPathArg(s) {
				t.Errorf("handler %s accepts %s, which has no argument layout", name, s)
			}
		}
	}
}
