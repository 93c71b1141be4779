package sandbox_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/ptrace"
	"github.com/sysgate/sysgate/sandbox"
)

// requireNamespaces skips where this kernel or caller cannot make the
// user and mount namespaces the tests ask for.
func requireNamespaces(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		t.Skipf("user namespaces (CONFIG_USER_NS, Linux 3.8) unavailable: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("namespace tests map uid 1000 and make a shared mount: they need root")
	}
}

// sharedMount mounts a tmpfs on a new directory and makes it shared, so
// that a target can tell whether its copy still propagates.
func sharedMount(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("sysgate-test", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	if err := unix.Mount("none", dir, "", unix.MS_SHARED, ""); err != nil {
		t.Fatalf("make %s shared: %v", dir, err)
	}
	return dir
}

func nsLink(t *testing.T, ns string) string {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNamespaces(t *testing.T) {
	requireX86_64(t)
	requireNamespaces(t)
	mnt := sharedMount(t)
	user, mntNS := nsLink(t, "user"), nsLink(t, "mnt")
	filter := onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM))
	denied := fmt.Sprintf("getppid ret=-1 errno=%d", unix.EPERM)
	tests := []struct {
		name            string
		userNS, mountNS bool
		uidMap, gidMap  []sandbox.IDMap
		want            []string // lines the target must print
		newUser         bool
		newMnt          bool
	}{
		{name: "none", want: []string{"uid=0 gid=0", `uid_map="0 0 4294967295"`, "shared=true", denied}},
		{name: "user", userNS: true, newUser: true,
			want: []string{"uid=0 gid=0", `uid_map="0 0 1"`, `gid_map="0 0 1"`, `setgroups="allow"`, "shared=true", denied}},
		{name: "user with maps", userNS: true, newUser: true,
			uidMap: []sandbox.IDMap{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}},
			gidMap: []sandbox.IDMap{{ContainerID: 0, HostID: 1000, Size: 1}},
			want:   []string{"uid=0 gid=0", `uid_map="0 1000 1 1 100000 65536"`, `gid_map="0 1000 1"`, denied}},
		{name: "mount", mountNS: true, newMnt: true,
			want: []string{"uid=0 gid=0", `uid_map="0 0 4294967295"`, "shared=false", denied}},
		{name: "user and mount", userNS: true, mountNS: true, newUser: true, newMnt: true,
			want: []string{"uid=0 gid=0", `uid_map="0 0 1"`, "shared=false", denied}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, out := victim(t, "namespaces", filter)
			cfg.Env = append(cfg.Env, "SANDBOX_TEST_MOUNT="+mnt)
			cfg.UserNS, cfg.MountNS, cfg.UIDMap, cfg.GIDMap = tt.userNS, tt.mountNS, tt.uidMap, tt.gidMap
			if tt.uidMap != nil {
				// Root inside is uid 1000 outside, which may not reach
				// the test binary's private build directory.
				cfg.Path = publicCopy(t, cfg.Path)
			}
			got, code := run(t, cfg, out)
			checkNamespaces(t, got, code, tt.want, user, mntNS, tt.newUser, tt.newMnt)
		})
	}
}

// publicCopy copies the executable at path to a directory anyone may
// search and returns the copy's path.
func publicCopy(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sysgate-victim-") // t.TempDir's parent is private
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copied := dir + "/victim"
	if err := os.WriteFile(copied, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return copied
}

// checkNamespaces checks the "namespaces" victim's output.
func checkNamespaces(t *testing.T, got string, code int, want []string, user, mnt string, newUser, newMnt bool) {
	t.Helper()
	lines := strings.Split(got, "\n")
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("target output lacks %q:\n%s", w, got)
		}
	}
	if in := slices.Contains(lines, "user="+user); in == newUser {
		t.Errorf("target in our user namespace %s: %v, want %v:\n%s", user, in, !newUser, got)
	}
	if in := slices.Contains(lines, "mnt="+mnt); in == newMnt {
		t.Errorf("target in our mount namespace %s: %v, want %v:\n%s", mnt, in, !newMnt, got)
	}
	if code != 0 {
		t.Errorf("target exited %d", code)
	}
}

// TestNamespacesTraced: a traced start composes with new namespaces: the
// target stops at its exec inside them.
func TestNamespacesTraced(t *testing.T) {
	requireX86_64(t)
	requireNamespaces(t)
	tr := ptrace.NewTracer()
	defer tr.Close()
	cfg, out := victim(t, "namespaces", onSyscall(unix.SYS_GETPPID, unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM)))
	cfg.Tracer, cfg.UserNS, cfg.MountNS = tr, true, true
	p, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "State:\tt (tracing stop)") {
		t.Errorf("target not stopped at its exec:\n%s", status)
	}
	if err := tr.Do(func() error { return unix.PtraceDetach(p.Pid) }); err != nil {
		t.Fatal(err)
	}
	got, code := wait(t, p, cfg, out)
	checkNamespaces(t, got, code, []string{"uid=0 gid=0", `uid_map="0 0 1"`, fmt.Sprintf("getppid ret=-1 errno=%d", unix.EPERM)},
		nsLink(t, "user"), nsLink(t, "mnt"), true, true)
}

func TestNamespaceErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  sandbox.Config
		want string
	}{
		{"map without userns", sandbox.Config{Path: "/bin/true", UIDMap: []sandbox.IDMap{{Size: 1}}}, "without a user namespace"},
		{"empty range", sandbox.Config{Path: "/bin/true", UserNS: true, UIDMap: []sandbox.IDMap{{Size: 0}}}, "uid map line 1 (0 0 0)"},
		{"0 unmapped", sandbox.Config{Path: "/bin/true", UserNS: true, UIDMap: []sandbox.IDMap{{ContainerID: 1, HostID: 1000, Size: 1}}}, "uid map maps no id to 0"},
		{"range past 32 bits", sandbox.Config{Path: "/bin/true", UserNS: true, GIDMap: []sandbox.IDMap{{HostID: 1 << 32, Size: 1}}}, "gid map line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sandbox.Start(&tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start: %v, want an error with %q", err, tt.want)
			}
		})
	}
	t.Run("kernel refuses the map", func(t *testing.T) {
		requireNamespaces(t)
		// Two lines mapping the same inside id: the kernel's EINVAL or
		// EPERM, reported as a failure to start in a user namespace.
		cfg := sandbox.Config{Path: "/bin/true", UserNS: true,
			UIDMap: []sandbox.IDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 0, HostID: 1, Size: 1}}}
		_, err := sandbox.Start(&cfg)
		var errno syscall.Errno
		if err == nil || !strings.Contains(err.Error(), "new user namespace") || !errors.As(err, &errno) {
			t.Fatalf("Start: %v, want an errno starting in a new user namespace", err)
		}
	})
}

// TestNamespacesUnprivileged: a caller without capabilities gets its own
// ids mapped to root, with setgroups denied as the kernel demands.
func TestNamespacesUnprivileged(t *testing.T) {
	requireX86_64(t)
	requireNamespaces(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(publicCopy(t, exe))
	cmd.Env = []string{envVictim + "=unprivileged-start"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("unprivileged caller: %v\n%s", err, out)
	}
	for _, want := range []string{"uid=0 gid=0", `uid_map="0 65534 1"`, `gid_map="0 65534 1"`, `setgroups="deny"`} {
		if !slices.Contains(strings.Split(string(out), "\n"), want) {
			t.Errorf("target output lacks %q:\n%s", want, out)
		}
	}
}
