package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunNotifyHandlers: notify rules in a policy are served by the
// built-in handlers under "sysgate run".
func TestRunNotifyHandlers(t *testing.T) {
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed")
	os.MkdirAll(allowed, 0o755)
	os.WriteFile(filepath.Join(allowed, "ok"), []byte("fine\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("nope\n"), 0o644)

	t.Run("open-broker", func(t *testing.T) {
		pol := writePolicy(t, `default: allow
rules:
  - notify: [open, openat]
    handler: open-broker
    paths: ["`+allowed+`/**", "/usr/**", "/lib/**", "/lib64/**", "/etc/**", "/proc/**", "/dev/**"]
`)
		out, errOut, code := sysgate(t, nil, "run", "--policy", pol, "--", "cat", filepath.Join(allowed, "ok"))
		if code != 0 || out != "fine\n" {
			t.Fatalf("allowed file: exit %d, %q, %q", code, out, errOut)
		}
		out, errOut, code = sysgate(t, nil, "run", "--policy", pol, "--", "cat", filepath.Join(dir, "secret"))
		if code == 0 || strings.Contains(out, "nope") || !strings.Contains(errOut, "Permission denied") {
			t.Fatalf("secret file: exit %d, %q, %q", code, out, errOut)
		}
	})
	t.Run("audit", func(t *testing.T) {
		pol := writePolicy(t, `default: allow
rules:
  - notify: [unlinkat, unlink]
`)
		victimFile := filepath.Join(dir, "gone")
		os.WriteFile(victimFile, nil, 0o644)
		_, errOut, code := sysgate(t, nil, "run", "--policy", pol, "--", "rm", victimFile)
		if code != 0 || !strings.Contains(errOut, `"`+victimFile+`"`) || !strings.HasPrefix(errOut, "sysgate: ") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		if _, err := os.Stat(victimFile); !os.IsNotExist(err) {
			t.Fatalf("audit must continue the call: %v", err)
		}
	})
	t.Run("deny-path", func(t *testing.T) {
		pol := writePolicy(t, `default: allow
rules:
  - notify: [openat, open]
    handler: deny-path
    paths: ["`+dir+`/secret"]
    deny-errno: ENOENT
`)
		_, errOut, code := sysgate(t, nil, "run", "--policy", pol, "--", "cat", filepath.Join(dir, "secret"))
		if code == 0 || !strings.Contains(errOut, "No such file or directory") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}
