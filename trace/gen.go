package trace

// znargs.go comes from strace's syscall tables, pinned in
// internal/gen/syscalls/strace.
//go:generate go run ./internal/gennargs
