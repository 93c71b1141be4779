package region

import (
	"fmt"
	"os"
	"strconv"
)

// ReadMaps reads /proc/PID/maps. pid may be a thread id: threads share
// the map.
func ReadMaps(pid int) ([]Mapping, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return nil, fmt.Errorf("read memory map of %d: %w", pid, err)
	}
	defer f.Close()
	ms, err := ParseMaps(f)
	if err != nil {
		return nil, fmt.Errorf("memory map of %d: %w", pid, err)
	}
	return ms, nil
}

// ReadMap reads the memory map and the main program's path of a process.
// Reading another process's map needs ptrace access to it
// (PTRACE_MODE_READ_FSCREDS, proc(5)).
func ReadMap(pid int) (*Map, error) {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return nil, fmt.Errorf("program of %d: %w", pid, err)
	}
	ms, err := ReadMaps(pid)
	if err != nil {
		return nil, err
	}
	return &Map{Exe: exe, Mappings: ms}, nil
}
