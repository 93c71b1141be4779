package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sysgate/sysgate/bpf"
	"github.com/sysgate/sysgate/filter"
	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/region"
	"github.com/sysgate/sysgate/syscalls"
)

// policyFlags are the flags every command that reads a policy shares.
type policyFlags struct {
	arch          string
	ignoreUnknown bool
	caps          string
}

func (pf *policyFlags) register(fs interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
}) {
	pf.arch = ""
	fs.StringVar(&pf.arch, "arch", "", "`arch` to compile for (x86_64, aarch64, ...; i386 means x86_64's i386 ABI); default: this machine's")
	fs.BoolVar(&pf.ignoreUnknown, "ignore-unknown", false, "warn about unknown syscall names in the policy instead of failing")
	fs.StringVar(&pf.caps, "caps", "", "comma-separated `capabilities` for Docker profiles' includes/excludes (default: Docker's default set)")
}

// load reads a policy file (native YAML or Docker/OCI JSON) for the chosen
// arch, printing warnings to stderr. arch is the ABI asked for (it may be
// a sub-ABI such as i386); the policy is resolved for its family.
func (pf *policyFlags) load(path string, stderr io.Writer) (*policy.Policy, *syscalls.Arch, error) {
	arch := syscalls.Native()
	if pf.arch != "" {
		a, err := syscalls.ArchByName(pf.arch)
		if err != nil {
			return nil, nil, usagef("--arch: %v", err)
		}
		arch = a
	}
	opts := policy.Options{Arch: arch.Family(), IgnoreUnknown: pf.ignoreUnknown}
	if pf.caps != "" {
		for _, c := range strings.Split(pf.caps, ",") {
			c = strings.ToUpper(strings.TrimSpace(c))
			if !strings.HasPrefix(c, "CAP_") {
				c = "CAP_" + c
			}
			opts.Caps = append(opts.Caps, c)
		}
	}
	p, warnings, err := loadPolicy(path, opts)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "sysgate: %v\n", w)
	}
	if err != nil {
		return nil, nil, err
	}
	return p, arch, nil
}

// loadPolicy reads a policy from a file, or the built-in one for "default"
// when no such file exists.
func loadPolicy(path string, opts policy.Options) (*policy.Policy, []policy.Warning, error) {
	if path == "default" {
		if _, err := os.Stat(path); err != nil {
			return policy.Parse(defaultPolicy(), "default", opts)
		}
	}
	return policy.Load(path, opts)
}

func cmdCompile(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("compile", stdout)
	var pf policyFlags
	pf.register(fs)
	format := fs.String("format", "asm", "output `format`: raw (struct sock_filter array), asm (annotated disassembly), dot (Graphviz), oci (OCI/Docker JSON), stats")
	out := fs.String("o", "", "write to `file` instead of standard output")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one policy file, got %d arguments", fs.NArg())
	}
	p, arch, err := pf.load(fs.Arg(0), stderr)
	if err != nil {
		return err
	}
	var data []byte
	if *format == "oci" {
		if data, err = p.MarshalOCI(); err != nil {
			return err
		}
	} else {
		prog, err := filter.Compile(p, arch, filter.Options{})
		if err != nil {
			return err
		}
		switch *format {
		case "raw":
			data = bpf.Marshal(prog.Instructions, prog.Arch.ByteOrder())
		case "asm":
			data = []byte(filter.Disassemble(prog))
		case "dot":
			data = []byte(filter.Dot(prog))
		case "stats":
			st := filter.Measure(p, prog)
			data = []byte(st.String())
		default:
			return usagef("unknown --format %q (want raw, asm, dot, oci or stats)", *format)
		}
	}
	if *out == "" {
		_, err = stdout.Write(data)
		return err
	}
	return os.WriteFile(*out, data, 0o644)
}

func cmdCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("check", stdout)
	var pf policyFlags
	pf.register(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pid := fs.Int("pid", 0, "for `pid`'s memory regions: the verdict of a call from each (policies with from: rules)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usagef("want a policy and a syscall")
	}
	if fs.NArg() > 8 {
		return usagef("a syscall has at most 6 arguments, got %d", fs.NArg()-2)
	}
	p, arch, err := pf.load(fs.Arg(0), stderr)
	if err != nil {
		return err
	}
	name := fs.Arg(1)
	nr, ok := arch.Lookup(name)
	if !ok {
		n, err := strconv.ParseUint(name, 0, 32)
		if err != nil {
			if syscalls.Exists(name) {
				return fmt.Errorf("syscall %q does not exist on %s", name, arch.Name)
			}
			return fmt.Errorf("unknown syscall %q", name)
		}
		nr = uint32(n)
		if nn, ok := arch.SyscallName(nr); ok {
			name = nn
		}
	}
	var argv [6]uint64
	for i, s := range fs.Args()[2:] {
		v, err := parseArg(arch.Family(), s)
		if err != nil {
			return fmt.Errorf("argument %d: %v", i, err)
		}
		argv[i] = v
	}
	var regions *region.Map
	if *pid != 0 {
		if regions, err = region.ReadMap(*pid); err != nil {
			return err
		}
	}
	prog, err := filter.Compile(p, arch, filter.Options{Regions: regions})
	if err != nil {
		return err
	}
	var byRegion []regionVerdict
	if regions != nil {
		if byRegion, err = checkRegions(p, prog, arch, nr, argv, regions); err != nil {
			return err
		}
	}
	d := bpf.SeccompData{Nr: nr, Arch: arch.Audit, Args: argv}
	res, err := bpf.RunSeccomp(prog.Instructions, d, prog.Arch.ByteOrder())
	if err != nil {
		return fmt.Errorf("run compiled program: %v", err)
	}
	verdict := policy.ActionFromRet(res.Ret)
	want, rule := p.Decide(arch.Audit, nr, argv)
	if regionDependent(p, name) {
		// From no known code: the supervisor would decide.
		want, rule = policy.Action{Kind: policy.Notify}, -2
	}
	if want.Ret() != res.Ret {
		// The compiler and the policy interpreter disagree: a bug, never a verdict to trust.
		return fmt.Errorf("internal error: compiled program says %v, policy says %v; please report", verdict, want)
	}
	by := "the default verdict"
	switch {
	case rule == -2:
		by = "where it comes from: from code unknown when the filter is installed the supervisor decides (see --pid)"
	case rule >= 0:
		by = fmt.Sprintf("rule at %v", p.Rules[rule].Pos)
	default:
		if s, ok := p.Surface(arch.Audit, nr); !ok || !containsArch(p.Arches, s) {
			by = fmt.Sprintf("the bad-arch verdict (the policy does not allow the %s ABI)", arch.Name)
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"arch": arch.Name, "syscall": name, "nr": nr, "args": argv,
			"verdict": verdict.String(), "ret": res.Ret, "decided_by": by,
			"executed": res.Executed, "length": len(prog.Instructions), "regions": byRegion,
		})
	}
	fmt.Fprintf(stdout, "%s(%s) on %s: %v\ndecided by %s\nexecuted %d of %d BPF instructions\n",
		name, fmtArgs(argv[:max(0, fs.NArg()-2)]), arch.Name, verdict, by, res.Executed, len(prog.Instructions))
	if byRegion != nil {
		printRegions(stdout, byRegion)
	}
	return nil
}

func containsArch(as []*syscalls.Arch, a *syscalls.Arch) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

func fmtArgs(a []uint64) string {
	s := make([]string, len(a))
	for i, v := range a {
		s[i] = fmt.Sprintf("%#x", v)
	}
	return strings.Join(s, ", ")
}

// parseArg reads a syscall argument: a number (negative numbers are two's
// complement) or constants joined with "|".
func parseArg(arch *syscalls.Arch, s string) (uint64, error) {
	var v uint64
	for _, part := range strings.Split(s, "|") {
		part = strings.TrimSpace(part)
		if n, err := strconv.ParseUint(part, 0, 64); err == nil {
			v |= n
			continue
		}
		if n, err := strconv.ParseInt(part, 0, 64); err == nil {
			v |= uint64(n)
			continue
		}
		c, ok := syscalls.Const(arch, part)
		if !ok {
			return 0, fmt.Errorf("%q is neither a number nor a known constant", part)
		}
		v |= c
	}
	return v, nil
}
