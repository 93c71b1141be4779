// Package areas builds the memory-area test program: a small C program
// (testdata/areas.c) that issues raw syscalls from libc, from its own
// text, from an anonymous page it writes at run time, and from a shared
// library (testdata/plug.c) it dlopens after start-up, and that measures
// sysinfo(2) bare and under Syscall User Dispatch. The region, runner and
// bench code use it as their target; it needs gcc.
package areas

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

//go:embed testdata/areas.c
var programSource []byte

//go:embed testdata/plug.c
var pluginSource []byte

// Built is a built copy of the program and its plug-in library.
type Built struct {
	Program string // the areas executable
	Plugin  string // libareas-plug.so, for the origin "lib:" + Plugin
	// Static is the program linked statically: its libc is part of its
	// own text, which makes its code one contiguous range (for Syscall
	// User Dispatch). Its lib: origins cannot work.
	Static string
}

// Build compiles the program and the plug-in into dir with gcc. It fails
// with a message naming gcc when gcc is missing.
func Build(dir string) (*Built, error) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return nil, fmt.Errorf("build the areas test program: needs gcc: %w", err)
	}
	b := &Built{Program: filepath.Join(dir, "areas"), Plugin: filepath.Join(dir, "libareas-plug.so"), Static: filepath.Join(dir, "areas-static")}
	src := filepath.Join(dir, "areas.c")
	plug := filepath.Join(dir, "plug.c")
	if err := os.WriteFile(src, programSource, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(plug, pluginSource, 0o644); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"-O2", "-Wall", "-Werror", "-o", b.Program, src, "-ldl", "-lpthread"},
		{"-O2", "-Wall", "-Werror", "-shared", "-fPIC", "-o", b.Plugin, plug},
		{"-O2", "-Wall", "-Werror", "-static", "-o", b.Static, src, "-ldl", "-lpthread"},
	} {
		if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("gcc %v: %w\n%s", args, err, out)
		}
	}
	return b, nil
}
