package bpf

import (
	"errors"
	"fmt"
)

// ErrInvalidProgram is matched (with [errors.Is]) by every [*ProgramError]:
// the program is one the kernel would refuse, or one that went wrong while
// running.
var ErrInvalidProgram = errors.New("invalid bpf program")

// ProgramError reports why a program is invalid, found by [Validate] before
// running or by the interpreter while running.
type ProgramError struct {
	PC  int    // instruction at fault; -1 for the program as a whole
	Msg string // what is wrong, lower-case, no trailing period
}

func (e *ProgramError) Error() string {
	if e.PC < 0 {
		return e.Msg
	}
	return fmt.Sprintf("pc %d: %s", e.PC, e.Msg)
}

// Is makes errors.Is(err, ErrInvalidProgram) true.
func (e *ProgramError) Is(target error) bool { return target == ErrInvalidProgram }

func progErr(pc int, format string, args ...any) *ProgramError {
	return &ProgramError{PC: pc, Msg: fmt.Sprintf(format, args...)}
}

// SyntaxError reports a line [Assemble] cannot read.
type SyntaxError struct {
	Line int    // 1-based line number in the assembler text
	Msg  string // what is wrong
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }
