package sandbox

import (
	"fmt"
	"os"

	"github.com/sysgate/sysgate/features"
)

// ProbeFeatures answers the features package's listener questions
// (features.HaveNotifSyncWakeUp, HaveNotifAddFD, HaveNotifAddFDSend), which
// need a real listener fd: it starts a throwaway helper that installs an
// allow-all filter with a listener, hands the fd over and exits. Like
// [Start], it needs [RunHelper] in main.
func ProbeFeatures() error {
	if err := features.HaveUserNotif(); err != nil {
		return err
	}
	cmd, listener, err := startHelper(&helperConfig{Mode: modeProbe}, "", [3]*os.File{}, nil, nil, nil)
	if err != nil {
		return fmt.Errorf("probe listener features: %w", err)
	}
	perr := features.ProbeListener(int(listener.Fd()))
	listener.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("probe listener features: helper: %w", err)
	}
	return perr
}
