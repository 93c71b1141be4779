package inspect

import (
	"bytes"
	"slices"

	"github.com/sysgate/sysgate/bpf"
)

// Syscall numbers and constants the victims use (x86_64).
const (
	auditX8664   = 0xc000003e
	nrPersona    = 135 // personality
	nrChroot     = 161
	nrMount      = 165
	retAllow     = 0x7fff0000
	retErrno     = 0x00050000
	retKillProc  = 0x80000000
	errnoEPERM   = 1
	errnoEACCES  = 13
	errnoEINVAL  = 22
	sudExemptOff = 0x10000
	sudExemptLen = 0x2000
)

// programA allows everything on x86_64 but mount (EPERM) and personality
// with an argument other than 0xffffffff (EINVAL); other arches and x32
// are killed.
var programA = []bpf.Instruction{
	bpf.LoadAbs(bpf.OffsetArch),               // 0
	bpf.JumpIf(bpf.JumpJEQ, auditX8664, 0, 7), // 1 -> 2 / 9
	bpf.LoadAbs(bpf.OffsetNr),                 // 2
	bpf.JumpIf(bpf.JumpJGE, 0x40000000, 5, 0), // 3 -> 9 / 4
	bpf.JumpIf(bpf.JumpJEQ, nrMount, 5, 0),    // 4 -> 10 / 5
	bpf.JumpIf(bpf.JumpJEQ, nrPersona, 0, 2),  // 5 -> 6 / 8
	bpf.LoadAbs(bpf.OffsetArgs),               // 6 arg0 low
	bpf.JumpIf(bpf.JumpJEQ, 0xffffffff, 0, 3), // 7 -> 8 / 11
	bpf.Ret(retAllow),                         // 8
	bpf.Ret(retKillProc),                      // 9
	bpf.Ret(retErrno | errnoEPERM),            // 10
	bpf.Ret(retErrno | errnoEINVAL),           // 11
}

// programB makes chroot fail with EACCES and allows the rest.
var programB = []bpf.Instruction{
	bpf.LoadAbs(bpf.OffsetNr),
	bpf.JumpIf(bpf.JumpJEQ, nrChroot, 0, 1),
	bpf.Ret(retErrno | errnoEACCES),
	bpf.Ret(retAllow),
}

func findGroup(sums []ArchSummary, arch, syscall string) (Verdict, bool) {
	for _, s := range sums {
		if s.Arch != arch {
			continue
		}
		for _, g := range s.Groups {
			if slices.Contains(g.Syscalls, syscall) {
				return g, true
			}
		}
	}
	return Verdict{}, false
}

func findArch(sums []ArchSummary, arch string) ArchSummary {
	for _, s := range sums {
		if s.Arch == arch {
			return s
		}
	}
	return ArchSummary{}
}

func dump(r *Report) string {
	var b bytes.Buffer
	_ = r.WriteText(&b)
	return b.String()
}
