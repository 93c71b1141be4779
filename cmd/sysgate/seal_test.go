package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sysgate/sysgate/features"
)

// vdsoProbe prints, for each kernel special mapping in its smaps, whether
// VmFlags has "sl", then tries mprotect, mremap and munmap on its [vdso]
// and prints each result; with arguments it then execs them.
const vdsoProbe = `#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
	char line[512], name[64] = "";
	unsigned long lo = 0, hi = 0, a, b;
	FILE *f = fopen("/proc/self/smaps", "r");
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, ' ') > strchr(line, '-')) {
			char *br = strchr(line, '[');
			name[0] = 0;
			if (br && strcmp(br, "[heap]\n") && strncmp(br, "[stack", 6) && strncmp(br, "[anon", 5)) {
				snprintf(name, sizeof name, "%s", br);
				name[strcspn(name, "\n")] = 0;
			}
			if (!strcmp(name, "[vdso]")) { lo = a; hi = b; }
		} else if (!strncmp(line, "VmFlags:", 8) && name[0]) {
			printf("%s %s\n", name, strstr(line, " sl") ? "sealed" : "unsealed");
		}
	}
	fclose(f);
	errno = 0; int r = mprotect((void *)lo, hi - lo, PROT_READ);
	printf("mprotect=%d errno=%d\n", r, errno);
	errno = 0; void *p = mremap((void *)lo, hi - lo, hi - lo, MREMAP_MAYMOVE);
	printf("mremap=%d errno=%d\n", p == MAP_FAILED ? -1 : 0, errno);
	if (argc > 1) { printf("--\n"); fflush(stdout); execv(argv[1], argv + 1); perror("exec"); return 1; }
	errno = 0; r = munmap((void *)lo, hi - lo);
	printf("munmap=%d errno=%d\n", r, errno);
	printf("still running\n");
	return 0;
}
`

// buildProbes compiles vdsoProbe dynamically and statically linked.
func buildProbes(t *testing.T) (dynamic, static string) {
	t.Helper()
	requireTool(t, "gcc")
	dir := t.TempDir()
	src := filepath.Join(dir, "probe.c")
	if err := os.WriteFile(src, []byte(vdsoProbe), 0o644); err != nil {
		t.Fatal(err)
	}
	dynamic, static = filepath.Join(dir, "probe"), filepath.Join(dir, "probe-static")
	for _, args := range [][]string{{"-O2", "-o", dynamic, src}, {"-O2", "-static", "-o", static, src}} {
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s", args, err, out)
		}
	}
	return dynamic, static
}

func requireMseal(t *testing.T) {
	t.Helper()
	if err := features.HaveMseal(); err != nil {
		t.Skipf("mseal(2) (Linux 6.10): %v", err)
	}
}

// checkProbe checks one probe's output block: sealed says whether every
// special mapping (except [vsyscall], which is no VMA) must be sealed and
// the vDSO calls fail with EPERM, or none sealed and the calls succeed.
func checkProbe(t *testing.T, block string, sealed bool) {
	t.Helper()
	specials := 0
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		name, state, _ := strings.Cut(line, " ")
		switch {
		case strings.HasPrefix(name, "["):
			if name == "[vsyscall]" {
				continue
			}
			specials++
			if want := map[bool]string{true: "sealed", false: "unsealed"}[sealed]; state != want {
				t.Errorf("%s is %s, want %s\n%s", name, state, want, block)
			}
		case strings.HasPrefix(line, "mprotect"), strings.HasPrefix(line, "mremap"), strings.HasPrefix(line, "munmap"):
			want := "=0 errno=0"
			if sealed {
				want = "=-1 errno=1" // EPERM
			}
			if !strings.HasSuffix(line, want) {
				t.Errorf("%s, want %s", line, want)
			}
		}
	}
	if specials == 0 {
		t.Errorf("no special mapping seen:\n%s", block)
	}
}

func TestSealSystemMappings(t *testing.T) {
	requireMseal(t)
	dynamic, static := buildProbes(t)
	policy := writePolicy(t, "default: allow\nseal: [system-mappings]\n")
	// A memory-area policy (installed at the entry point) seals too.
	areas := writePolicy(t, "default: allow\nrules:\n  - errno: EPERM\n    syscalls: [getppid]\n    from: anon\n")
	for _, tc := range []struct {
		name   string
		args   []string
		sealed bool
	}{
		{"dynamic unsealed", []string{"run", "--", dynamic}, false},
		{"dynamic sealed", []string{"run", "--seal-system-mappings", "--", dynamic}, true},
		{"static unsealed", []string{"run", "--", static}, false},
		{"static sealed", []string{"run", "--seal-system-mappings", "--", static}, true},
		{"sealed by the policy", []string{"run", "--policy", policy, "--", dynamic}, true},
		{"best effort", []string{"run", "--seal=best-effort", "--", static}, true},
		{"memory areas unsealed", []string{"run", "--policy", areas, "--", dynamic}, false},
		{"memory areas sealed", []string{"run", "--seal-system-mappings", "--policy", areas, "--", dynamic}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := sysgate(t, nil, tc.args...)
			if code != 0 || !strings.HasSuffix(out, "still running\n") {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			checkProbe(t, out, tc.sealed)
			if tc.sealed && strings.Contains(out, "[vsyscall]") && !strings.Contains(errOut, "vsyscall=none") {
				t.Errorf("no advice about [vsyscall] on stderr: %q", errOut)
			}
		})
	}
}

// TestSealFollowExec: with --seal-follow-exec the image a target execs is
// sealed too, also in a forked child; without it only the first one is.
func TestSealFollowExec(t *testing.T) {
	requireMseal(t)
	dynamic, static := buildProbes(t)
	t.Run("exec", func(t *testing.T) {
		for _, follow := range []bool{false, true} {
			args := []string{"run", "--seal-system-mappings"}
			if follow {
				args = append(args, "--seal-follow-exec")
			}
			out, errOut, code := sysgate(t, nil, append(args, "--", static, dynamic)...)
			blocks := strings.Split(out, "--\n")
			if code != 0 || len(blocks) != 2 || !strings.HasSuffix(out, "still running\n") {
				t.Fatalf("follow %v: exit %d\nstdout: %s\nstderr: %s", follow, code, out, errOut)
			}
			checkProbe(t, blocks[0], true)
			checkProbe(t, blocks[1], follow)
		}
	})
	t.Run("fork and exec", func(t *testing.T) {
		out, errOut, code := sysgate(t, nil, "run", "--seal-follow-exec", "--", "sh", "-c", dynamic+"; "+static)
		if code != 0 || strings.Count(out, "still running\n") != 2 {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		checkProbe(t, out, true)
	})
}

func TestSealFlagErrors(t *testing.T) {
	_, errOut, code := sysgate(t, nil, "run", "--seal=sometimes", "--", "true")
	if code != 2 || !strings.Contains(errOut, "best-effort") {
		t.Fatalf("--seal=sometimes: exit %d, %q", code, errOut)
	}
}

// TestSealFollowJobControl: a followed target stopped by SIGSTOP stays
// stopped until SIGCONT, as if it were not traced.
func TestSealFollowJobControl(t *testing.T) {
	if err := features.HaveMseal(); err != nil {
		t.Skipf("needs mseal (Linux 6.10): %v", err)
	}
	cmd := sysgateCmd(t, nil, "run", "--seal-follow-exec", "--", "sh", "-c", "kill -STOP $$; echo resumed")
	outFile := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(outFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout = f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	output := func() string { b, _ := os.ReadFile(outFile); return string(b) }
	target := descendant(t, cmd.Process.Pid, "sh")
	stopped := false
	for i := 0; i < 200 && !stopped; i++ {
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(target) + "/stat")
		f := strings.Fields(string(st))
		stopped = len(f) > 2 && (f[2] == "t" || f[2] == "T")
		time.Sleep(10 * time.Millisecond)
	}
	if !stopped {
		t.Fatal("the target did not stop on SIGSTOP")
	}
	time.Sleep(200 * time.Millisecond)
	if o := output(); o != "" {
		t.Fatalf("the target ran on while stopped: %q", o)
	}
	syscall.Kill(target, syscall.SIGCONT)
	if err := cmd.Wait(); err != nil || output() != "resumed\n" {
		t.Fatalf("after SIGCONT: %v, %q", err, output())
	}
}
