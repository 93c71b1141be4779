package features

import (
	"errors"
	"fmt"
	"sync"

	"github.com/sysgate/sysgate/seccomp"
)

// ErrNotSupported is wrapped by the errors of features the kernel lacks. It
// is the same value as seccomp.ErrNotSupported.
var ErrNotSupported = seccomp.ErrNotSupported

// probe is one cached feature test.
type probe struct {
	name      string       // "seccomp filter flag TSYNC"
	minKernel string       // "3.17"
	fn        func() error // nil, an error wrapping ErrNotSupported, or inconclusive

	mu   sync.Mutex
	done bool
	err  error
}

// result runs the probe once; only definite answers are kept.
func (p *probe) result() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return p.err
	}
	err := p.fn()
	switch {
	case err == nil:
	case errors.Is(err, ErrNotSupported):
		err = p.unsupported()
	default:
		return fmt.Errorf("probe %s: %w", p.name, err)
	}
	p.done, p.err = true, err
	return err
}

// record stores a definite answer found elsewhere (a listener probe).
func (p *probe) record(supported bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.err = true, nil
	if !supported {
		p.err = p.unsupported()
	}
}

func (p *probe) unsupported() error {
	if p.minKernel == "" {
		return fmt.Errorf("%s: %w (unknown to sysgate)", p.name, ErrNotSupported)
	}
	return fmt.Errorf("%s: %w (needs Linux >= %s)", p.name, ErrNotSupported, p.minKernel)
}

// Feature is one line of [Report].
type Feature struct {
	Name      string // what is probed: "seccomp action user_notif", "mseal"
	MinKernel string // first Linux version that has it, "5.0"; "" if unknown
	// Err is nil when the feature works, wraps ErrNotSupported when the
	// kernel lacks it, and says why otherwise (the probe could not tell).
	Err error
}

// Status is "yes", "no" or "unknown: <why>".
func (f Feature) Status() string {
	switch {
	case f.Err == nil:
		return "yes"
	case errors.Is(f.Err, ErrNotSupported):
		return "no"
	}
	return "unknown: " + f.Err.Error()
}

// feature runs p and returns its Report line.
func (p *probe) feature() Feature {
	return Feature{Name: p.name, MinKernel: p.minKernel, Err: p.result()}
}
