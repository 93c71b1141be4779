package features

import (
	"errors"
	"testing"
)

// TestProbeCache checks that definite answers are cached and inconclusive
// ones are asked again.
func TestProbeCache(t *testing.T) {
	tests := []struct {
		name      string
		results   []error // what fn returns on each call
		wantCalls int     // after three result() calls
		wantLast  error
	}{
		{"supported", []error{nil}, 1, nil},
		{"unsupported", []error{ErrNotSupported}, 1, ErrNotSupported},
		{"inconclusive then supported", []error{errors.New("EPERM"), nil}, 2, nil},
		{"always inconclusive", []error{errors.New("x"), errors.New("y"), errors.New("z")}, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			p := &probe{name: "thing", minKernel: "9.9", fn: func() error {
				err := tt.results[calls]
				calls++
				return err
			}}
			var err error
			for range 3 {
				err = p.result()
			}
			if calls != tt.wantCalls {
				t.Errorf("fn called %d times, want %d", calls, tt.wantCalls)
			}
			if tt.wantLast == nil && tt.name == "always inconclusive" {
				if err == nil || errors.Is(err, ErrNotSupported) {
					t.Errorf("inconclusive result = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantLast) || (tt.wantLast == nil) != (err == nil) {
				t.Errorf("result = %v, want %v", err, tt.wantLast)
			}
			if errors.Is(err, ErrNotSupported) && err.Error() != "thing: not supported by this kernel (needs Linux >= 9.9)" {
				t.Errorf("unsupported error text %q", err)
			}
		})
	}
}
