package notify_test

import (
	"context"
	"errors"
	"log"
	"os"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/notify"
)

// A supervisor that serves openat by doing the work itself: it reads the
// path once, opens the file in its own process and injects the descriptor,
// so the target cannot swap the path after the check (see the package
// documentation on TOCTOU). listener is the fd from the launcher.
func ExampleSupervisor() {
	var listener *os.File // from seccomp.Install with FlagNewListener, via the launcher

	var mux notify.Mux
	mux.RegisterFunc(unix.AUDIT_ARCH_X86_64, unix.SYS_OPENAT, func(ctx context.Context, r *notify.Request) notify.Response {
		path, err := r.ReadString(r.Args[1], 4095)
		if errors.Is(err, notify.ErrGone) {
			return notify.Errno(unix.ENOENT) // nobody is waiting for the answer
		}
		if err != nil || path != "/etc/hostname" {
			return notify.Errno(unix.EACCES)
		}
		f, err := os.Open(path)
		if err != nil {
			return notify.Errno(unix.EIO)
		}
		return notify.InjectFD(f, unix.O_CLOEXEC) // Serve closes f
	})
	s := &notify.Supervisor{Listener: listener, Handler: &mux, ErrorLog: func(err error) { log.Print(err) }}
	if err := s.Serve(context.Background()); err != nil {
		log.Fatal(err)
	}
}
