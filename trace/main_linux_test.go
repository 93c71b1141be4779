package trace

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sysgate/sysgate/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.RunHelper()
	os.Exit(m.Run())
}

// requireTool skips when a program the comparison needs is missing (.ci/run
// installs strace and gcc).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed: needed to compare with strace 6.1 (install it with apt-get)", name)
	}
	return p
}

// buildProg compiles testdata/prog.c.
func buildProg(t *testing.T) string {
	t.Helper()
	gcc := requireTool(t, "gcc")
	out := filepath.Join(t.TempDir(), "prog")
	cmd := exec.Command(gcc, "-O1", "-pthread", "-o", out, "testdata/prog.c")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}
