package seal_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sysgate/sysgate/features"
	"github.com/sysgate/sysgate/internal/victim"
	"github.com/sysgate/sysgate/ptrace"
	"github.com/sysgate/sysgate/sandbox"
	"github.com/sysgate/sysgate/seal"
)

func TestMain(m *testing.M) {
	sandbox.RunHelper()
	victim.MaybeRun()
	os.Exit(m.Run())
}

func requireMseal(tb testing.TB) {
	tb.Helper()
	if err := features.HaveMseal(); err != nil {
		tb.Skipf("mseal(2) (Linux 6.10): %v", err)
	}
}

func TestSystemMappings(t *testing.T) {
	maps := `5600-5700 r--p 00000000 08:01 12 /usr/bin/x
5700-5800 rw-p 00000000 00:00 0                          [heap]
7f00-7f04 r--p 00000000 00:00 0                          [vvar]
7f04-7f06 r--p 00000000 00:00 0                          [vvar_vclock]
7f06-7f08 r-xp 00000000 00:00 0                          [vdso]
7f10-7f11 rw-p 00000000 00:00 0                          [anon:buf]
7ffd-7ffe rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]
`
	var got []string
	for _, m := range seal.SystemMappings([]byte(maps)) {
		got = append(got, fmt.Sprintf("%s %x-%x", m.Name, m.Start, m.End))
	}
	want := "[vvar] 7f00-7f04,[vvar_vclock] 7f04-7f06,[vdso] 7f06-7f08,[vsyscall] ffffffffff600000-ffffffffff601000"
	if strings.Join(got, ",") != want {
		t.Errorf("got %s\nwant %s", strings.Join(got, ","), want)
	}
}

// start runs the test binary (a Go, statically linked program) traced, stopped at exec.
func start(tb testing.TB, tr *ptrace.Tracer) *sandbox.Process {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	p, err := sandbox.Start(&sandbox.Config{Path: exe, Args: []string{exe, victim.Arg, "syscall", strconv.Itoa(unix.SYS_GETPID)}, Tracer: tr})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestSealGoTarget: every special mapping of the stopped target reads
// "sl" in smaps after SealSystemMappings, and the report says so.
func TestSealGoTarget(t *testing.T) {
	requireMseal(t)
	tr := ptrace.NewTracer()
	defer tr.Close()
	p := start(t, tr)
	var r seal.Report
	err := tr.Do(func() error {
		var err error
		r, err = seal.SealSystemMappings(p.Pid)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	smaps, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/smaps")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range r.Mappings {
		if m.Name == "[vsyscall]" {
			if m.Sealed || m.Advice == "" {
				t.Errorf("[vsyscall]: %+v", m)
			}
			continue
		}
		n++
		i := strings.Index(string(smaps), fmt.Sprintf("%x-%x ", m.Start, m.End))
		j := strings.Index(string(smaps[i:]), "VmFlags:")
		flags, _, _ := strings.Cut(string(smaps[i+j:]), "\n")
		if !m.Sealed || !strings.Contains(flags+" ", " sl ") {
			t.Errorf("%s: report %+v, smaps %q", m.Name, m, flags)
		}
	}
	if n == 0 || !strings.Contains(r.String(), "sealed [") {
		t.Errorf("report %s", r)
	}
	tr.Do(func() error { return unix.PtraceDetach(p.Pid) })
	if ps, err := p.Wait(); err != nil || sandbox.ExitCode(ps) != 0 {
		t.Fatalf("target: %v %v", ps, err)
	}
}

// BenchmarkSealAtExec is the start-up cost sealing adds to one exec: seal
// every special mapping of a target stopped at its exec stop, and detach.
func BenchmarkSealAtExec(b *testing.B) {
	requireMseal(b)
	tr := ptrace.NewTracer()
	defer tr.Close()
	var total time.Duration
	for b.Loop() {
		p, err := sandbox.Start(&sandbox.Config{Path: "/bin/true", Tracer: tr})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		err = tr.Do(func() error {
			if _, err := seal.SealSystemMappings(p.Pid); err != nil {
				return err
			}
			return unix.PtraceDetach(p.Pid)
		})
		total += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		p.Wait()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs-seal/exec")
}
