package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"os/exec"

	"github.com/sysgate/sysgate/policy"
	"github.com/sysgate/sysgate/runner"
	"github.com/sysgate/sysgate/syscalls"
)

func cmdRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	runner.CatchSignals()
	fs := newFlags("run", stdout)
	var pf policyFlags
	pf.register(fs)
	policyPath := fs.String("policy", "", "policy `file` (native YAML or Docker/OCI JSON); default: the built-in default policy")
	logDenied := fs.Bool("log", false, "report every denied syscall on stderr, not only the ones that kill")
	sealMappings := fs.Bool("seal-system-mappings", false, "mseal(2) the target's [vdso], [vvar] & co. right after exec (Linux 6.10); as a policy's seal: [system-mappings]")
	sealMode := fs.String("seal", "", "`{required|best-effort}`: what to do where sealing is impossible (fail, or warn and run unsealed); implies --seal-system-mappings")
	sealFollow := fs.Bool("seal-follow-exec", false, "seal again at every exec of the target and its descendants (stays attached with exec/fork events only)")
	userNS := fs.Bool("userns", false, "run the program in a new user namespace as its root (your uid and gid mapped to 0); it cannot make device nodes there, which a policy's mknod notify rule does for it")
	sud := fs.Bool("sud", false, "carry out the policy's from: rules with Syscall User Dispatch (Linux 5.11) where they fit: one contiguous range of code may call, every call from elsewhere is trapped; the target stays traced")
	mountNS := fs.Bool("mountns", false, "run the program in a new mount namespace, all mounts private (needs root, or --userns)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("no program to run")
	}
	switch *sealMode {
	case "":
	case "required", "best-effort":
		*sealMappings = true
	default:
		return usagef("--seal %q: want required or best-effort", *sealMode)
	}
	if pf.arch != "" {
		return usagef("--arch: run always uses this machine's arch")
	}
	// Without --policy: the built-in default, which the runner runs from
	// its program compiled ahead of time (nil Policy).
	var p *policy.Policy
	arch := syscalls.Native()
	if *policyPath != "" {
		var err error
		if p, arch, err = pf.load(*policyPath, stderr); err != nil {
			return err
		}
	}
	argv := fs.Args()
	prog, err := lookProgram("run", argv[0], stderr)
	if err != nil {
		return err
	}
	res, err := runner.Run(ctx, runner.Options{
		Policy: p, Arch: arch, Log: *logDenied,
		Seal: *sealMappings || *sealFollow, SealBestEffort: *sealMode == "best-effort", SealFollowExecs: *sealFollow,
		UserNS: *userNS, MountNS: *mountNS, SUD: *sud,
		Path: prog, Args: argv, Env: os.Environ(),
		Stdin: fileOr(stdin, os.Stdin), Stdout: fileOr(stdout, os.Stdout), Stderr: fileOr(stderr, os.Stderr),
		Report: stderr,
	})
	if err != nil {
		return err
	}
	return &exitError{res.ExitCode}
}

// fileOr returns w when it is an *os.File (the process's own streams),
// else def: the target needs real file descriptors.
func fileOr(w any, def *os.File) *os.File {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return def
}

// lookProgram resolves the program to run as a shell would, and reports a
// missing one as a shell does: one line, exit status 127 (126 when it
// exists but cannot be run).
func lookProgram(cmd, name string, stderr io.Writer) (string, error) {
	prog, err := exec.LookPath(name)
	if err == nil {
		return prog, nil
	}
	var ee *exec.Error
	switch {
	case errors.As(err, &ee) && errors.Is(ee.Err, exec.ErrNotFound):
		fmt.Fprintf(stderr, "sysgate %s: %s: command not found\n", cmd, name)
		return "", &exitError{127}
	case errors.Is(err, iofs.ErrNotExist):
		fmt.Fprintf(stderr, "sysgate %s: %s: no such file or directory\n", cmd, name)
		return "", &exitError{127}
	}
	fmt.Fprintf(stderr, "sysgate %s: %v\n", cmd, err)
	return "", &exitError{126}
}
