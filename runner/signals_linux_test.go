package runner

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A signal sysgate receives after CatchSignals and before Run reaches the
// target once it runs: here SIGUSR1 ends a sleep that would otherwise
// exit 0 after 20 seconds.
func TestCatchSignalsEarly(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep(1)")
	}
	CatchSignals()
	early.Lock()
	sc := early.sc
	early.Unlock()
	if sc == nil {
		t.Fatal("CatchSignals left no catcher for Run")
	}
	sc.wait()
	if err := unix.Kill(os.Getpid(), unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); len(sc.c) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("SIGUSR1 never reached the early catcher")
		}
	}
	start := time.Now()
	res, err := Run(context.Background(), Options{Path: sleep, Args: []string{"sleep", "20"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 128+int(unix.SIGUSR1) {
		t.Errorf("exit code %d after %v, want %d: the early SIGUSR1 did not reach the target", res.ExitCode, time.Since(start), 128+int(unix.SIGUSR1))
	}
	early.Lock()
	left := early.sc
	early.Unlock()
	if left != nil {
		t.Error("Run left the early catcher for the next Run")
	}
}
