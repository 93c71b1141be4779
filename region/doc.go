// Package region names the code a syscall comes from. The area of a
// syscall is its instruction pointer; this package reads the memory map of
// a process (/proc/PID/maps), classifies each executable mapping, and
// turns region selectors (the `from:` values of a policy) into sorted,
// merged address ranges that the filter compiler turns into
// instruction-pointer checks.
//
// # Kinds
//
// Every executable mapping is exactly one of:
//
//   - exe: the main program's text (the file /proc/PID/exe names)
//   - lib: any other file-backed code (shared libraries, the dynamic
//     loader, code a JIT maps from a file)
//   - vdso: the kernel's [vdso] (and the legacy [vsyscall] page)
//   - anon: anonymous executable memory: JIT output, injected code,
//     executable [heap] or [stack]
//
// # Selectors
//
// A [Selector] is a list of terms: "exe", "vdso", "anon", "lib" (any
// library) or "lib:GLOB" (a library whose path matches GLOB, where "*"
// and "?" stay within one path component and "**" crosses "/"). A term
// prefixed with "!" excludes. A mapping matches a selector when it
// matches one of the positive terms (or there are none) and none of the
// negated ones, so ["!lib:/usr/lib/**", "!exe"] is "outside the system
// libraries and the program".
//
// # Instruction pointers
//
// The kernel reports the address after the syscall instruction (as
// seccomp_data.instruction_pointer and as Syscall User Dispatch compare
// it), so a syscall whose instruction ends a mapping reports the
// mapping's end. [Map.Find] and [Ranges] therefore place an instruction
// pointer ip in the mapping that holds ip-1, the last byte of the
// instruction; ranges are given in instruction-pointer terms, (Start, End].
//
// Linux-only functions ([ReadMaps], [ReadMap]) read /proc; the rest is
// pure and builds anywhere.
package region
