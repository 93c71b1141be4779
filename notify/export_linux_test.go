package notify

// HasPathArg reports whether the built-in handlers know where the syscall
// keeps its path argument.
func HasPathArg(name string) bool {
	_, ok := layoutOf(name)
	return ok
}
