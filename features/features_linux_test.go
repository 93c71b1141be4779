package features_test

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/features"
	"github.com/sysgate/sysgate/sandbox"
	"github.com/sysgate/sysgate/seccomp"
)

func TestMain(m *testing.M) {
	sandbox.RunHelper() // sandbox.ProbeFeatures re-executes this binary
	os.Exit(m.Run())
}

var testedBefore bool

// Every probe must say yes on the machine the project tests on (Linux 6.18);
// a probe that lies is a failure, not a skip. The listener probes are
// inconclusive until a listener has been seen.
func TestProbes(t *testing.T) {
	listenerProbes := []struct {
		name string
		fn   func() error
	}{
		{"HaveNotifSyncWakeUp", features.HaveNotifSyncWakeUp},
		{"HaveNotifAddFD", features.HaveNotifAddFD},
		{"HaveNotifAddFDSend", features.HaveNotifAddFDSend},
	}
	for _, p := range listenerProbes {
		if testedBefore {
			break // -count > 1: the answers are cached from the last run
		}
		if err := p.fn(); err == nil || errors.Is(err, features.ErrNotSupported) {
			t.Errorf("%s before any listener = %v, want an inconclusive error", p.name, err)
		}
	}
	testedBefore = true
	if err := sandbox.ProbeFeatures(); err != nil {
		t.Fatalf("sandbox.ProbeFeatures: %v", err)
	}

	tests := []struct {
		name string
		fn   func() error
	}{
		{"HaveUserNotif", features.HaveUserNotif},
		{"HaveWaitKillableRecv", features.HaveWaitKillableRecv},
		{"HaveMseal", features.HaveMseal},
		{"HaveSyscallUserDispatch", features.HaveSyscallUserDispatch},
		{"HavePtraceGetSyscallInfo", features.HavePtraceGetSyscallInfo},
		{"HaveFilterFlag(all)", func() error {
			return features.HaveFilterFlag(seccomp.FlagTSync | seccomp.FlagLog | seccomp.FlagSpecAllow |
				seccomp.FlagNewListener | seccomp.FlagTSyncESRCH | seccomp.FlagWaitKillableRecv)
		}},
		{"HaveAction(KILL_PROCESS)", func() error { return features.HaveAction(unix.SECCOMP_RET_KILL_PROCESS) }},
		{"HaveAction(ERRNO|EPERM)", func() error { return features.HaveAction(unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)) }},
		{"HaveAction(USER_NOTIF)", func() error { return features.HaveAction(unix.SECCOMP_RET_USER_NOTIF) }},
		{"HaveAction(LOG)", func() error { return features.HaveAction(unix.SECCOMP_RET_LOG) }},
	}
	tests = append(tests, listenerProbes...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.fn(); err != nil {
				t.Errorf("%s = %v, want nil on Linux 6.18", tt.name, err)
			}
		})
	}

	seen := map[string]bool{}
	for _, f := range features.Report() {
		if f.Status() != "yes" {
			t.Errorf("Report: %s (Linux %s): %s", f.Name, f.MinKernel, f.Status())
		}
		if f.MinKernel == "" || f.Name == "" || seen[f.Name] {
			t.Errorf("Report line %+v: empty or repeated", f)
		}
		seen[f.Name] = true
	}
	if len(seen) < 20 {
		t.Errorf("Report lists %d features, want every action, flag and probe", len(seen))
	}
}

func TestUnsupported(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown action", features.HaveAction(0x00010000), "seccomp action 0x10000: not supported by this kernel (unknown to sysgate)"},
		{"unknown flag", features.HaveFilterFlag(1 << 20), "seccomp filter flag 0x100000: not supported by this kernel (unknown to sysgate)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, features.ErrNotSupported) || tt.err.Error() != tt.want {
				t.Errorf("got %v, want %q wrapping ErrNotSupported", tt.err, tt.want)
			}
		})
	}
}

func TestProbeListenerNotListener(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := features.ProbeListener(int(r.Fd())); err == nil || errors.Is(err, features.ErrNotSupported) {
		t.Errorf("ProbeListener(pipe) = %v, want a plain error", err)
	}
}
