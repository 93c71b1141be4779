package notify

import (
	"context"
	"fmt"
	"syscall"
)

// Handler decides one notified system call. Handle runs on one of the
// supervisor's worker goroutines, concurrently with other calls of the same
// and of other target threads, so it must be safe for concurrent use. The
// target thread waits until it returns, and so does one of the
// [Supervisor.Workers]; a long handler should watch ctx, the one given to
// [Supervisor.Serve], which Serve waits for before it returns.
//
// A panic in Handle fails the call with EPERM; see the package
// documentation.
type Handler interface {
	Handle(ctx context.Context, r *Request) Response
}

// HandlerFunc lets an ordinary function be a [Handler].
type HandlerFunc func(ctx context.Context, r *Request) Response

// Handle calls f(ctx, r).
func (f HandlerFunc) Handle(ctx context.Context, r *Request) Response { return f(ctx, r) }

// Mux dispatches calls to handlers by architecture (AUDIT_ARCH_*) and
// syscall number. Register all handlers before [Supervisor.Serve] starts;
// a Mux is not safe for registration while it serves. The zero Mux is
// ready to use.
type Mux struct {
	handlers map[muxKey]Handler

	// NotFound answers calls no handler was registered for. If nil, they
	// fail with ENOSYS, as they would with nobody listening.
	NotFound Handler
}

type muxKey struct{ arch, nr uint32 }

// Register makes h the handler of syscall nr of arch, replacing any earlier
// one. A nil h removes the entry.
func (m *Mux) Register(arch, nr uint32, h Handler) {
	if h == nil {
		delete(m.handlers, muxKey{arch, nr})
		return
	}
	if m.handlers == nil {
		m.handlers = make(map[muxKey]Handler)
	}
	m.handlers[muxKey{arch, nr}] = h
}

// RegisterFunc is [Mux.Register] for a plain function.
func (m *Mux) RegisterFunc(arch, nr uint32, f func(ctx context.Context, r *Request) Response) {
	m.Register(arch, nr, HandlerFunc(f))
}

// Handle dispatches r to the handler registered for its arch and number.
func (m *Mux) Handle(ctx context.Context, r *Request) Response {
	if h, ok := m.handlers[muxKey{r.Arch, r.Nr}]; ok {
		return h.Handle(ctx, r)
	}
	if m.NotFound != nil {
		return m.NotFound.Handle(ctx, r)
	}
	return Errno(syscall.ENOSYS)
}

// PanicError reports a handler that panicked. The call it was handling
// failed with EPERM.
type PanicError struct {
	ID    uint64 // notification id
	Pid   int    // thread that made the call
	Nr    uint32 // syscall number
	Value any    // what the handler panicked with
	Stack []byte // the handler's goroutine stack at the panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("handler for syscall %d of pid %d panicked: %v", e.Nr, e.Pid, e.Value)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
