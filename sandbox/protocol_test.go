package sandbox

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sysgate/sysgate/bpf"
)

func TestConfigRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cfg  helperConfig
	}{
		{"exec", helperConfig{
			Mode: modeExec, Path: "/bin/sh", Args: []string{"sh", "-c", "echo é\x00"}, Env: []string{"A=1", ""},
			Filters: []helperFilter{
				{Prog: []bpf.Instruction{bpf.LoadAbs(4), bpf.JumpIf(bpf.JumpJEQ, 0xc000003e, 1, 0), bpf.Ret(0), bpf.Ret(0x7fff0000)}, Flags: 1},
				{Prog: []bpf.Instruction{bpf.Ret(0x7fc00000)}, Flags: 0x39},
			},
		}},
		{"exec in a private mount namespace", helperConfig{Mode: modeExec, MountPrivate: true, Path: "/bin/true", Args: []string{"true"}, Env: []string{}}},
		{"probe", helperConfig{Mode: modeProbe, Args: []string{}, Env: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.cfg.marshal()
			got, err := unmarshalConfig(b)
			if err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.cfg) {
				t.Errorf("round trip:\n got %+v\nwant %+v", *got, tt.cfg)
			}
			// Every truncation and any trailing byte is an error, never
			// a panic or a silently shorter config.
			for i := range len(b) {
				if _, err := unmarshalConfig(b[:i]); err == nil {
					t.Errorf("config cut to %d of %d bytes accepted", i, len(b))
				}
			}
			if _, err := unmarshalConfig(append(b, 0)); err == nil || !strings.Contains(err.Error(), "trailing") {
				t.Errorf("trailing byte: %v", err)
			}
		})
	}
}

func TestConfigHostileCounts(t *testing.T) {
	// A huge string count must not allocate its way into a crash.
	b := []byte(configMagic)
	b = append(b, modeExec, 0) // no private mounts
	b = append(b, 0, 0, 0, 0)  // empty path
	b = append(b, 0xff, 0xff, 0xff, 0xff)
	if _, err := unmarshalConfig(b); err == nil {
		t.Error("accepted 4G args")
	}
}

func TestErrorMessage(t *testing.T) {
	kind, errno, text, err := unmarshalError(marshalError(errKindExec, 2, "no such file or directory"))
	if err != nil || kind != errKindExec || errno != 2 || text != "no such file or directory" {
		t.Errorf("got %d %d %q %v", kind, errno, text, err)
	}
	if _, _, _, err := unmarshalError([]byte{msgError, 1}); err == nil {
		t.Error("short error message accepted")
	}
}
