package notify_test

import "unsafe"

// unsafePointer is the address of b's first byte, for passing to the
// supervisor as a syscall argument.
func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }
