package filter

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/syscalls"
)

// profiles are the real container profiles the compiler is measured on
// (verbatim copies, see policy/testdata/oci/SOURCES.txt).
var profiles = []string{"moby-default.json", "containers-common-seccomp.json"}

func loadProfile(t testing.TB, name string, arch *syscalls.Arch) *policy.Policy {
	t.Helper()
	p, _, err := policy.Load(filepath.Join("..", "policy", "testdata", "oci", name), policy.Options{Arch: arch, Kernel: "6.18"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProfilesAgreeWithOracle(t *testing.T) {
	for _, name := range profiles {
		for _, arch := range []*syscalls.Arch{syscalls.X86_64, syscalls.AArch64, syscalls.S390X, syscalls.RISCV64, syscalls.PPC64LE} {
			t.Run(name+"/"+arch.Name, func(t *testing.T) {
				p := loadProfile(t, name, arch)
				prog, err := Compile(p, arch, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := bpf.Validate(prog.Instructions); err != nil {
					t.Fatalf("invalid program: %v", err)
				}
				hits := checkAgainstOracle(t, p, prog, argVectors(p, rand.New(rand.NewPCG(9, 10))))
				for pc, h := range hits {
					if h == 0 {
						t.Errorf("instruction %d never executed: dead code?\n%s", pc, Disassemble(prog))
						break
					}
				}
				st := Measure(p, prog)
				if st.Cacheable < st.ArgIndependentAllow {
					t.Errorf("%d pairs allowed whatever the arguments but only %d cacheable", st.ArgIndependentAllow, st.Cacheable)
				}
			})
		}
	}
}

// libseccomp 2.5.4 on Docker's default profile, binary-tree optimisation
// (issue 2): 15.3 mean, 24 max executed; 17.2 mean over uncached syscalls.
const (
	libseccompMean         = 15.3
	libseccompMax          = 24
	libseccompUncachedMean = 17.2
)

func TestDockerProfileTargets(t *testing.T) {
	p := loadProfile(t, "moby-default.json", syscalls.X86_64)
	prog, err := Compile(p, syscalls.X86_64, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := Measure(p, prog)
	t.Logf("\n%s", st)
	if st.All.Mean > libseccompMean || st.All.Max > libseccompMax {
		t.Errorf("executed %v; libseccomp's binary tree: mean %.1f, max %d", st.All, libseccompMean, libseccompMax)
	}
	if st.Uncached.Mean > 0.8*libseccompUncachedMean {
		t.Errorf("uncached %v; target 0.8 x libseccomp's %.1f = %.2f", st.Uncached, libseccompUncachedMean, 0.8*libseccompUncachedMean)
	}
}

// BenchmarkProfiles compiles each profile and reports the program's
// measures next to the time to compile.
func BenchmarkProfiles(b *testing.B) {
	for _, name := range profiles {
		b.Run(name, func(b *testing.B) {
			p := loadProfile(b, name, syscalls.X86_64)
			var prog *Program
			for b.Loop() {
				var err error
				if prog, err = Compile(p, syscalls.X86_64, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			st := Measure(p, prog)
			b.ReportMetric(float64(st.Length), "insns")
			b.ReportMetric(st.All.Mean, "mean-exec")
			b.ReportMetric(st.All.Median, "median-exec")
			b.ReportMetric(float64(st.All.Max), "max-exec")
			b.ReportMetric(st.Uncached.Mean, "uncached-mean-exec")
			b.ReportMetric(float64(st.Uncached.Max), "uncached-max-exec")
			b.ReportMetric(float64(st.Cacheable), "cacheable-pairs")
			b.ReportMetric(float64(st.ArgIndependentAllow), "allow-pairs")
		})
	}
}
