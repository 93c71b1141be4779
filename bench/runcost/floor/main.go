// Command floor is runcost's floor for a Go launcher: it links the
// libraries sysgate cannot do without (the YAML and OCI profile readers,
// golang.org/x/sys, and the standard packages a CLI that forwards signals
// and starts programs uses), then only starts its arguments as a command
// with syscall.ForkExec and waits for it, with no filter, no signal
// catching and no flags. Whatever sysgate run adds over this is sysgate's
// own work; what this adds over a bare start is what any Go launcher with
// these libraries pays on the machine.
package main

import (
	_ "encoding/json"
	_ "flag"
	_ "fmt"
	"os"
	"os/exec"
	_ "os/signal"
	_ "regexp"
	"syscall"

	_ "github.com/opencontainers/runtime-spec/specs-go"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: floor CMD [ARG...]\n")
		os.Exit(2)
	}
	path, err := exec.LookPath(os.Args[1])
	if err != nil {
		os.Stderr.WriteString("floor: " + err.Error() + "\n")
		os.Exit(127)
	}
	pid, err := syscall.ForkExec(path, os.Args[1:], &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		os.Stderr.WriteString("floor: " + err.Error() + "\n")
		os.Exit(126)
	}
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		os.Exit(1)
	}
	if ws.Signaled() {
		os.Exit(128 + int(ws.Signal()))
	}
	os.Exit(ws.ExitStatus())
}
