package notify_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/sysgate/sysgate/notify"
)

const (
	archX86_64 = 0xc000003e // AUDIT_ARCH_X86_64
	archI386   = 0x40000003 // AUDIT_ARCH_I386
)

func TestMux(t *testing.T) {
	var m notify.Mux
	m.RegisterFunc(archX86_64, 2, func(context.Context, *notify.Request) notify.Response { return notify.Return(2) })
	m.RegisterFunc(archI386, 2, func(context.Context, *notify.Request) notify.Response { return notify.Return(-2) })
	m.RegisterFunc(archX86_64, 3, func(context.Context, *notify.Request) notify.Response { return notify.Return(3) })
	m.Register(archX86_64, 3, nil) // removes it

	withDefault := &notify.Mux{NotFound: notify.HandlerFunc(func(context.Context, *notify.Request) notify.Response {
		return notify.Continue()
	})}
	tests := []struct {
		name string
		mux  *notify.Mux
		arch uint32
		nr   uint32
		want string
	}{
		{name: "registered", mux: &m, arch: archX86_64, nr: 2, want: "return 2"},
		{name: "same number, other arch", mux: &m, arch: archI386, nr: 2, want: "return -2"},
		{name: "removed", mux: &m, arch: archX86_64, nr: 3, want: "errno ENOSYS"},
		{name: "never registered", mux: &m, arch: archX86_64, nr: 4, want: "errno ENOSYS"},
		{name: "NotFound", mux: withDefault, arch: archX86_64, nr: 4, want: "continue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.mux.Handle(context.Background(), &notify.Request{Arch: tt.arch, Nr: tt.nr})
			if got.String() != tt.want {
				t.Errorf("Handle(arch %#x, nr %d) = %v, want %s", tt.arch, tt.nr, got, tt.want)
			}
		})
	}
}

func TestResponseString(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name string
		r    notify.Response
		want string
	}{
		{name: "continue", r: notify.Continue(), want: "continue"},
		{name: "named errno", r: notify.Errno(syscall.EACCES), want: "errno EACCES"},
		{name: "unnamed errno", r: notify.Errno(syscall.Errno(133)), want: "errno 133"},
		{name: "return", r: notify.Return(-7), want: "return -7"},
		{name: "inject", r: notify.InjectFD(f, 0), want: "inject fd " + os.DevNull},
		{name: "inject nil", r: notify.InjectFD(nil, 0), want: "inject fd <nil>"},
		{name: "zero", r: notify.Response{}, want: "deny (zero response: errno EPERM)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPanicError(t *testing.T) {
	cause := errors.New("cause")
	e := &notify.PanicError{Pid: 12, Nr: 39, Value: cause}
	if !errors.Is(e, cause) {
		t.Errorf("errors.Is(%v, cause) = false", e)
	}
	if want := "handler for syscall 39 of pid 12 panicked: cause"; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if errors.Unwrap(&notify.PanicError{Value: "text"}) != nil {
		t.Error("a non-error panic value unwraps to non-nil")
	}
}

// A Mux dispatches by architecture and syscall number; anything not
// registered fails with ENOSYS.
func ExampleMux() {
	const archX86_64, sysMknod, sysMknodat = 0xc000003e, 133, 259
	var mux notify.Mux
	deny := func(ctx context.Context, r *notify.Request) notify.Response {
		return notify.Errno(syscall.EPERM)
	}
	mux.RegisterFunc(archX86_64, sysMknod, deny)
	mux.RegisterFunc(archX86_64, sysMknodat, deny)

	for _, nr := range []uint32{sysMknod, sysMknodat, 0} {
		fmt.Println(nr, mux.Handle(context.Background(), &notify.Request{Arch: archX86_64, Nr: nr}))
	}
	// Output:
	// 133 errno EPERM
	// 259 errno EPERM
	// 0 errno ENOSYS
}
