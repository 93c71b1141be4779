package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sysgate/sysgate/bpf"
)

// The helper's job travels in a sealed memfd (never argv or env): a magic,
// a mode, the target's path, argv and environment, and the filters with
// the exact flags each is installed with. Parent and helper are the same
// binary, so the format needs no compatibility beyond the magic.
const configMagic = "SGSB2\x00"

// Helper modes.
const (
	modeExec  byte = 1 // install the filters and exec the target
	modeProbe byte = 2 // install an allow-all listener filter, hand it over, exit
)

// helperFilter is one filter and its seccomp flags (uint32, as the kernel's).
type helperFilter struct {
	Prog  []bpf.Instruction
	Flags uint32
}

// helperConfig is what the helper needs, read in full before it installs
// anything.
type helperConfig struct {
	Mode byte
	// MountPrivate makes every mount of the helper's (new) mount namespace
	// private before anything else.
	MountPrivate bool
	Path         string
	Args         []string
	Env          []string
	Filters      []helperFilter
}

var order = binary.LittleEndian

func (c *helperConfig) marshal() []byte {
	b := []byte(configMagic)
	b = append(b, c.Mode)
	b = append(b, boolByte(c.MountPrivate))
	str := func(s string) {
		b = order.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	strs := func(ss []string) {
		b = order.AppendUint32(b, uint32(len(ss)))
		for _, s := range ss {
			str(s)
		}
	}
	str(c.Path)
	strs(c.Args)
	strs(c.Env)
	b = order.AppendUint32(b, uint32(len(c.Filters)))
	for _, f := range c.Filters {
		b = order.AppendUint32(b, f.Flags)
		b = order.AppendUint32(b, uint32(len(f.Prog)))
		b = append(b, bpf.Marshal(f.Prog, order)...)
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

var errShortConfig = errors.New("truncated")

// configReader decodes with bounds checks; the first error sticks.
type configReader struct {
	b   []byte
	err error
}

func (r *configReader) take(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errShortConfig
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *configReader) u32() uint32 {
	p := r.take(4)
	if p == nil {
		return 0
	}
	return order.Uint32(p)
}

func (r *configReader) str() string { return string(r.take(uint64(r.u32()))) }

func (r *configReader) strs() []string {
	n := r.u32()
	if uint64(n) > uint64(len(r.b))/4 { // each string takes at least 4 bytes
		r.err = errShortConfig
		return nil
	}
	ss := make([]string, 0, n)
	for range n {
		ss = append(ss, r.str())
	}
	return ss
}

func unmarshalConfig(b []byte) (*helperConfig, error) {
	if len(b) < len(configMagic)+2 || string(b[:len(configMagic)]) != configMagic {
		return nil, fmt.Errorf("sandbox helper config: bad magic")
	}
	r := &configReader{b: b[len(configMagic):]}
	c := &helperConfig{Mode: r.take(1)[0]}
	switch r.take(1)[0] {
	case 0:
	case 1:
		c.MountPrivate = true
	default:
		return nil, fmt.Errorf("sandbox helper config: bad mount flag")
	}
	c.Path = r.str()
	c.Args = r.strs()
	c.Env = r.strs()
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		raw := r.take(8 * uint64(r.u32()))
		if r.err != nil {
			break
		}
		prog, err := bpf.Unmarshal(raw, order)
		if err != nil {
			return nil, fmt.Errorf("sandbox helper config: filter %d: %w", i+1, err)
		}
		c.Filters = append(c.Filters, helperFilter{Prog: prog, Flags: flags})
	}
	if r.err != nil {
		return nil, fmt.Errorf("sandbox helper config: %w", r.err)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("sandbox helper config: %d trailing bytes", len(r.b))
	}
	return c, nil
}

// Messages from the helper on the status socket (SOCK_SEQPACKET, one
// message per send). The socket is close-on-exec in the helper, so EOF
// without an error message means the target's execve succeeded.
const (
	msgListener byte = 'L' // carries the listener fd (SCM_RIGHTS)
	msgError    byte = 'E' // a failure: kind, errno, text
)

// Error kinds.
const (
	errKindSetup        byte = 1 // before or while installing: "install filter 2 of 2: ..."
	errKindExec         byte = 2 // execve of the target failed
	errKindNotSupported byte = 3 // setup error wrapping seccomp.ErrNotSupported
)

func marshalError(kind byte, errno uint32, text string) []byte {
	b := []byte{msgError, kind}
	b = order.AppendUint32(b, errno)
	return append(b, text...)
}

func unmarshalError(b []byte) (kind byte, errno uint32, text string, err error) {
	if len(b) < 6 || b[0] != msgError {
		return 0, 0, "", fmt.Errorf("malformed error message from sandbox helper (%d bytes)", len(b))
	}
	return b[1], order.Uint32(b[2:]), string(b[6:]), nil
}
