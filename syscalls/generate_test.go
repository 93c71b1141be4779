package syscalls

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGenerateUpToDate runs the generator into a temporary directory and
// demands the committed z*.go files be byte-identical: an edited source
// (CSV, strace table, go.mod's x/sys version) without `go generate` fails.
func TestGenerateUpToDate(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run the generator: %v", err)
	}
	out := t.TempDir()
	cmd := exec.Command(goTool, "run", "../internal/gen/syscalls", "-data", "../internal/gen/syscalls", "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, msg)
	}
	for _, f := range []string{"zsyscalls.go", "zclasses.go", "zconsts.go"} {
		want, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./syscalls/", f)
		}
	}
}
