package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// requireUserns skips where "sysgate run --userns" cannot work here.
func requireUserns(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		t.Skipf("user namespaces (CONFIG_USER_NS, Linux 3.8) unavailable: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("the mknod handler creates device nodes: sysgate must run as root (CAP_MKNOD)")
	}
	for _, tool := range []string{"sh", "mknod", "ls", "id", "mount"} {
		requireTool(t, tool)
	}
}

// runIn runs sysgate with args in dir and returns stdout, stderr and the
// exit code.
func runIn(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := sysgateCmd(t, nil, args...)
	cmd.Dir = dir
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code := 0
	if err := cmd.Run(); err != nil {
		code = cmd.ProcessState.ExitCode()
		if code < 0 {
			t.Fatalf("sysgate %v: %v", args, err)
		}
	}
	return out.String(), errOut.String(), code
}

// checkDevice fails unless path is a character device major:minor.
func checkDevice(t *testing.T, path string, major, minor uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatalf("the node is not there: %v", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != major || unix.Minor(st.Rdev) != minor {
		t.Fatalf("%s: mode %#o rdev %d:%d, want a character device %d:%d", path, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), major, minor)
	}
}

// TestRunUsernsMknod: issue 6's use case. A target in a user namespace may
// not make device nodes (mknod(2) needs CAP_MKNOD in the initial user
// namespace); the policy's mknod handler makes the allowed ones for it.
func TestRunUsernsMknod(t *testing.T) {
	requireUserns(t)
	pol := writePolicy(t, `default: allow
rules:
  - notify: [mknod, mknodat]
    handler: mknod
    devices: ["c 1:3", "c 1:5"]
`)
	plain := writePolicy(t, "default: allow\n")

	t.Run("allowed device", func(t *testing.T) {
		dir := t.TempDir()
		out, errOut, code := runIn(t, dir, "run", "--userns", "--policy", pol, "--", "sh", "-c", "mknod null c 1 3 && echo ok > null && ls -l null")
		if code != 0 || !strings.HasPrefix(out, "crw") || !strings.Contains(out, "1, 3") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		checkDevice(t, filepath.Join(dir, "null"), 1, 3)
	})
	t.Run("device not allowed", func(t *testing.T) {
		dir := t.TempDir()
		out, errOut, code := runIn(t, dir, "run", "--userns", "--policy", pol, "--", "mknod", "sda", "b", "8", "0")
		if code == 0 || !strings.Contains(errOut, "Operation not permitted") || !strings.Contains(errOut, "b 8:0 not allowed") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if _, err := os.Lstat(filepath.Join(dir, "sda")); !os.IsNotExist(err) {
			t.Fatalf("a refused node exists: %v", err)
		}
	})
	t.Run("no notify rule", func(t *testing.T) {
		// The kernel refuses in the user namespace what it allows the
		// same (root) caller outside.
		dir := t.TempDir()
		out, errOut, code := runIn(t, dir, "run", "--userns", "--policy", plain, "--", "mknod", "null", "c", "1", "3")
		if code == 0 || !strings.Contains(errOut, "Operation not permitted") {
			t.Fatalf("in a user namespace: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if _, err := os.Lstat(filepath.Join(dir, "null")); !os.IsNotExist(err) {
			t.Fatalf("the kernel made the node after all: %v", err)
		}
		out, errOut, code = runIn(t, dir, "run", "--policy", plain, "--", "mknod", "null", "c", "1", "3")
		if code != 0 {
			t.Fatalf("outside a user namespace: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		checkDevice(t, filepath.Join(dir, "null"), 1, 3)
	})
	t.Run("mount namespace", func(t *testing.T) {
		// With --mountns the target's own mounts stay its own, and the
		// handler makes the node in them: invisible outside.
		dir := t.TempDir()
		out, errOut, code := runIn(t, dir, "run", "--userns", "--mountns", "--policy", pol, "--",
			"sh", "-c", "mount -t tmpfs none "+dir+" && cd "+dir+" && mknod zero c 1 5 && ls -l zero")
		if code != 0 || !strings.HasPrefix(out, "crw") || !strings.Contains(out, "1, 5") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
			t.Fatalf("the target's mount or node leaked out: %v %v", ents, err)
		}
	})
}

// TestRunUserns: --userns makes the target root of a new user namespace
// holding only the caller's ids; --mountns gives it a mount namespace.
func TestRunUserns(t *testing.T) {
	requireUserns(t)
	ours := func(ns string) string {
		l, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	script := "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user /proc/self/ns/mnt"
	tests := []struct {
		name  string
		flags []string
		want  []string
	}{
		{"userns", []string{"--userns"}, []string{"0", "0", "0 0 1", "0 0 1", "!" + ours("user"), ours("mnt")}},
		{"userns and mountns", []string{"--userns", "--mountns"}, []string{"0", "0", "0 0 1", "0 0 1", "!" + ours("user"), "!" + ours("mnt")}},
		{"mountns", []string{"--mountns"}, []string{"0", "0", "0 0 4294967295", "0 0 4294967295", ours("user"), "!" + ours("mnt")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"run"}, tt.flags...), "--", "sh", "-c", script)
			out, errOut, code := runIn(t, t.TempDir(), args...)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			for i := range lines {
				lines[i] = strings.Join(strings.Fields(lines[i]), " ")
			}
			if code != 0 || len(lines) != len(tt.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			for i, w := range tt.want {
				if not, ok := strings.CutPrefix(w, "!"); ok && lines[i] == not || !ok && lines[i] != w {
					t.Errorf("line %d: %q, want %q\nstdout %q", i+1, lines[i], w, out)
				}
			}
		})
	}
}
