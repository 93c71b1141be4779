package runner

import (
	"os"
	"testing"

	"github.com/sysgate/sysgate/sandbox"
)

// TestMain lets the test binary serve as the sandbox's launcher helper.
func TestMain(m *testing.M) {
	sandbox.RunHelper()
	os.Exit(m.Run())
}
