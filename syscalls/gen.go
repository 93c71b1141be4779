package syscalls

// The tables are generated from pinned copies of their sources; see
// internal/gen/syscalls/SOURCES.md. Regenerate with `go generate ./syscalls/`.

//go:generate go run ../internal/gen/syscalls -data ../internal/gen/syscalls -out .
