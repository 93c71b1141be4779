package trace

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/sysgate/sysgate/syscalls"
)

// Memory reads a tracee's memory and names its file descriptors. The
// tracer's implementation uses process_vm_readv(2) and /proc/PID/fd.
type Memory interface {
	// ReadMemory reads up to len(p) bytes at addr of pid; it may return
	// fewer (a short read at an unmapped page) and an error only if
	// nothing could be read.
	ReadMemory(pid int, addr uint64, p []byte) (int, error)
	// FDPath returns what fd of pid refers to ("/etc/passwd",
	// "socket:[1234]"), or "" if unknown.
	FDPath(pid, fd int) string
}

// Call is one syscall as the tracer saw it: filled by the tracer, decoded
// by a [Decoder] at its entry and exit stops.
type Call struct {
	Pid   int
	Arch  *syscalls.Arch
	Nr    uint32 // as the ABI numbers it (NrBase included)
	Name  string
	Args  [6]uint64
	Ret   int64 // the raw return value: -errno on failure
	Done  bool  // the exit stop was seen (Ret is valid)
	Entry time.Time
	Exit  time.Time

	abi  *abi
	sig  *sig
	text []byte // decoded arguments, argument i ending at ends[i]
	ends []int
	ret  []byte // decoded return value
}

// Errno returns the error number of a failed call, or 0.
func (c *Call) Errno() int {
	if c.Done && c.Ret < 0 && c.Ret >= -4095 {
		return int(-c.Ret)
	}
	return 0
}

// Failed reports whether the call returned an error.
func (c *Call) Failed() bool { return c.Errno() != 0 && c.sigRet() != rHex }

func (c *Call) sigRet() ret {
	if c.sig == nil {
		return rInt
	}
	return c.sig.ret
}

// NumArgs returns how many decoded arguments the call has.
func (c *Call) NumArgs() int { return len(c.ends) }

// Arg returns decoded argument i.
func (c *Call) Arg(i int) []byte {
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.text[start:c.ends[i]]
}

// RetText returns the decoded return value ("3", "-1 ENOENT (No such file
// or directory)", "?").
func (c *Call) RetText() []byte { return c.ret }

// Decoder turns a Call's raw arguments into strace's notation.
type Decoder struct {
	StrSize int    // -s: how many bytes of a string or buffer to show (strace's default is 32)
	FDPaths bool   // -y: show the path of every file descriptor
	Mem     Memory // nil: no memory is read, pointers are shown as addresses

	scratch [4096]byte
}

// Reset prepares c for a new syscall of arch: the tracer reuses one Call
// per thread so that a stop allocates nothing.
func (c *Call) Reset(pid int, arch *syscalls.Arch, nr uint32, args [6]uint64) {
	a := abiFor(arch)
	c.Pid, c.Arch, c.Nr, c.Args, c.abi = pid, arch, nr, args, a
	c.Done, c.Ret = false, 0
	c.Name = a.name(nr)
	c.sig = nil
	if n := nr - arch.NrBase; int64(n) < int64(len(a.sigs)) {
		c.sig = a.sigs[n]
	}
	if a.bits == 32 {
		for i := range c.Args {
			c.Args[i] &= 0xffffffff
		}
	}
	c.text, c.ends, c.ret = c.text[:0], c.ends[:0], c.ret[:0]
}

func (c *Call) nargs() int {
	if c.sig != nil {
		return len(c.sig.args)
	}
	n := c.Nr - c.Arch.NrBase
	if int64(n) < int64(len(c.abi.nargs)) {
		return int(c.abi.nargs[n])
	}
	return 6
}

// Enter decodes the arguments known at the entry stop (all but those the
// call fills in). Strings are read now, before the call can change them.
func (d *Decoder) Enter(c *Call) {
	if c.sig == nil {
		for i := 0; i < c.nargs(); i++ {
			c.text = appendHex(c.text, c.Args[i])
			c.ends = append(c.ends, len(c.text))
		}
		return
	}
	switch c.sig.spec {
	case 'f':
		d.fcntl(c)
		return
	case 'c':
		d.clone(c)
		return
	}
	n := c.sig.nIn
	if k := c.sig.args; len(k) > 0 && k[len(k)-1] == kMode && len(k) > 1 && k[len(k)-2] == kOFlags &&
		c.Args[len(k)-2]&(0x40|0x400000) == 0 {
		n-- // open's mode means something only with O_CREAT or O_TMPFILE
	}
	for i := 0; i < n; i++ {
		c.text = d.arg(c.text, c, i, c.sig.args[i])
		c.ends = append(c.ends, len(c.text))
	}
}

// Leave decodes the rest of the arguments and the return value, from
// c.Ret (set by the tracer at the exit stop, with Done).
func (d *Decoder) Leave(c *Call) {
	if c.sig != nil && c.sig.spec == 0 && c.sig.nIn < len(c.sig.args) {
		for i := len(c.ends); i < len(c.sig.args); i++ {
			k := c.sig.args[i]
			if k > kOut && (c.Errno() != 0 || !c.Done) {
				k = kPtr // the call filled nothing
			}
			c.text = d.arg(c.text, c, i, k)
			c.ends = append(c.ends, len(c.text))
		}
	}
	c.ret = d.appendRet(c.ret[:0], c)
}

func (d *Decoder) appendRet(b []byte, c *Call) []byte {
	r := c.sigRet()
	if !c.Done || r == rNone {
		return append(b, '?')
	}
	v := c.Ret
	if c.abi.bits == 32 {
		v = int64(int32(v))
	}
	if e := -v; v < 0 && e <= 4095 && !(r == rHex && e > 4095) {
		if msg := restartErrno(e); msg != "" {
			b = append(b, "? "...)
			return append(b, msg...)
		}
		b = append(b, "-1 "...)
		if name := syscalls.ErrnoNameFor(c.Arch, int(e)); name != "" {
			b = append(b, name...)
			b = append(b, " ("...)
			b = append(b, syscalls.ErrnoString(int(e))...)
			return append(b, ')')
		}
		b = append(b, "E???"...)
		return strconv.AppendInt(append(b, " (errno "...), e, 10)
	}
	switch {
	case r == rHex:
		return appendHex(b, uint64(c.Ret)&c.mask())
	case r == rFD && d.FDPaths:
		return d.appendFD(b, c.Pid, v)
	case c.Name == "fcntl" || c.Name == "fcntl64":
		return d.fcntlRet(b, c, v)
	}
	return strconv.AppendInt(b, v, 10)
}

// restartErrno is strace's text for e if it is one of the kernel's
// internal restart errnos, else "". (A switch, not a map literal: a map
// literal is built by package init at every start of sysgate.)
func restartErrno(e int64) string {
	switch e {
	case 512:
		return "ERESTARTSYS (To be restarted if SA_RESTART is set)"
	case 513:
		return "ERESTARTNOINTR (To be restarted)"
	case 514:
		return "ERESTARTNOHAND (To be restarted if no handler)"
	case 516:
		return "ERESTART_RESTARTBLOCK (Interrupted by signal)"
	}
	return ""
}

func (c *Call) mask() uint64 {
	if c.abi.bits == 32 {
		return 0xffffffff
	}
	return ^uint64(0)
}

// signed returns argument i as the ABI's signed int (32 bits).
func (c *Call) int(i int) int64 { return int64(int32(c.Args[i])) }

// long returns argument i as the ABI's signed long.
func (c *Call) long(i int) int64 {
	if c.abi.bits == 32 {
		return int64(int32(c.Args[i]))
	}
	return int64(c.Args[i])
}

// arg appends argument i decoded as k.
func (d *Decoder) arg(b []byte, c *Call, i int, k kind) []byte {
	v := c.Args[i]
	a := c.abi
	switch k {
	case kHex:
		return appendHex(b, v)
	case kInt:
		return strconv.AppendInt(b, c.int(i), 10)
	case kLong:
		return strconv.AppendInt(b, c.long(i), 10)
	case kUint:
		return strconv.AppendUint(b, uint64(uint32(v)), 10)
	case kSize:
		return strconv.AppendUint(b, v, 10)
	case kPtr:
		return appendPtr(b, v)
	case kFD:
		if d.FDPaths {
			return d.appendFD(b, c.Pid, c.int(i))
		}
		return strconv.AppendInt(b, c.int(i), 10)
	case kDirFD:
		if int32(v) == -100 {
			return append(b, "AT_FDCWD"...)
		}
		if d.FDPaths {
			return d.appendFD(b, c.Pid, c.int(i))
		}
		return strconv.AppendInt(b, c.int(i), 10)
	case kPath:
		return d.appendString(b, c.Pid, v, 4096)
	case kStr:
		return d.appendString(b, c.Pid, v, d.strSize())
	case kBufIn:
		return d.appendBuf(b, c.Pid, v, c.Args[i+1]&c.mask())
	case kBufOut:
		n := uint64(c.Ret)
		if c.Name == "getcwd" {
			return d.appendString(b, c.Pid, v, 4096)
		}
		return d.appendBuf(b, c.Pid, v, n)
	case kOFlags:
		return appendOFlags(b, a, v)
	case kMode:
		return appendOctal(b, v)
	case kAtFlags:
		if c.Name == "unlinkat" && v == 0x200 {
			return append(b, "AT_REMOVEDIR"...)
		}
		if c.Name == "faccessat2" && v == 0x200 {
			return append(b, "AT_EACCESS"...)
		}
		if c.Name == "statx" && v == 0 {
			return append(b, "AT_STATX_SYNC_AS_STAT"...)
		}
		return appendFlags(b, a.atflags, v, "0")
	case kAccMode:
		return appendFlags(b, a.accmode, v, "F_OK")
	case kProt:
		return appendFlags(b, a.prot, v, "PROT_NONE")
	case kMapFlags:
		return appendFlags(b, a.mapflags, v, "0")
	case kAF:
		return appendEnum(b, a.afs, v)
	case kSockType:
		b = appendEnum(b, a.socktypes, v&0xf)
		if rest := v &^ 0xf; rest != 0 {
			b = append(b, '|')
			b = appendFlags(b, a.sockflags, rest, "0")
		}
		return b
	case kSockFlags:
		return appendFlags(b, a.sockflags, v, "0")
	case kSig:
		return appendSig(b, a, v)
	case kWaitOpts:
		return appendFlags(b, a.waitopts, v, "0")
	case kWhence:
		return appendEnum(b, a.whences, v)
	case kIoctl:
		if n, ok := a.ioctls[v&0xffffffff]; ok {
			return append(b, n...)
		}
		return appendHex(b, v)
	case kMountFlags:
		return appendFlags(b, a.mountflags, v, "0")
	case kStatxMask:
		return appendFlags(b, a.statxmask, v, "0")
	case kSockaddr:
		return d.appendSockaddr(b, c, v, c.Args[i+1]&0xffffffff)
	case kSockaddrOut:
		var l [4]byte
		if d.read(c.Pid, c.Args[i+1], l[:]) != 4 {
			return appendPtr(b, v)
		}
		return d.appendSockaddr(b, c, v, uint64(binary.LittleEndian.Uint32(l[:])))
	case kSocklenPtr, kIntPtr:
		var l [4]byte
		if v == 0 || d.read(c.Pid, v, l[:]) != 4 {
			return appendPtr(b, v)
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(int32(binary.LittleEndian.Uint32(l[:]))), 10)
		return append(b, ']')
	case kIntPair:
		var l [8]byte
		if d.read(c.Pid, v, l[:]) != 8 {
			return appendPtr(b, v)
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(int32(binary.LittleEndian.Uint32(l[:4]))), 10)
		b = append(b, ", "...)
		b = strconv.AppendInt(b, int64(int32(binary.LittleEndian.Uint32(l[4:]))), 10)
		return append(b, ']')
	case kStat:
		return d.appendStat(b, c, v)
	case kStatx:
		return d.appendStatx(b, c, v)
	case kWstatus:
		var l [4]byte
		if v == 0 || c.Ret <= 0 || d.read(c.Pid, v, l[:]) != 4 {
			return appendPtr(b, v)
		}
		return appendWstatus(b, a, binary.LittleEndian.Uint32(l[:]))
	case kArgv:
		return d.appendArgv(b, c, v)
	case kEnvp:
		return d.appendEnvp(b, c, v)
	case kCloneArgs:
		return d.appendCloneArgs(b, c, v)
	}
	return appendHex(b, v)
}

func (d *Decoder) strSize() int {
	if d.StrSize <= 0 {
		return 32
	}
	return d.StrSize
}

// read reads len(p) bytes or fewer and returns how many it got.
func (d *Decoder) read(pid int, addr uint64, p []byte) int {
	if d.Mem == nil || addr == 0 {
		return 0
	}
	n, err := d.Mem.ReadMemory(pid, addr, p)
	if err != nil {
		return 0
	}
	return n
}

// appendString appends the NUL-terminated string at addr, at most max
// bytes of it, followed by "..." if it is longer.
func (d *Decoder) appendString(b []byte, pid int, addr uint64, max int) []byte {
	if addr == 0 {
		return append(b, "NULL"...)
	}
	if d.Mem == nil {
		return appendPtr(b, addr)
	}
	// Read page by page: the string may end just before an unmapped page.
	var got []byte
	buf := d.scratch[:]
	for len(got) <= max {
		a := addr + uint64(len(got))
		chunk := int(4096 - a%4096)
		if room := len(buf) - len(got); chunk > room {
			chunk = room
		}
		if chunk == 0 {
			break
		}
		n := d.read(pid, a, buf[len(got):len(got)+chunk])
		if n == 0 {
			if len(got) == 0 {
				return appendPtr(b, addr)
			}
			break
		}
		seg := buf[len(got) : len(got)+n]
		for j, ch := range seg {
			if ch == 0 {
				return appendQuoted(b, buf[:len(got)+j], max)
			}
		}
		got = buf[:len(got)+n]
		if n < chunk {
			break
		}
	}
	if len(got) > max {
		return append(appendQuoted(b, got[:max], max), "..."...)
	}
	return appendQuoted(b, got, max)
}

// appendBuf appends n bytes at addr as a string, at most -s of them.
func (d *Decoder) appendBuf(b []byte, pid int, addr, n uint64) []byte {
	max := d.strSize()
	want := n
	if want > uint64(max) {
		want = uint64(max)
	}
	if want > uint64(len(d.scratch)) {
		want = uint64(len(d.scratch))
	}
	if d.Mem == nil || addr == 0 {
		return appendPtr(b, addr)
	}
	got := d.read(pid, addr, d.scratch[:want])
	if uint64(got) < want {
		return appendPtr(b, addr)
	}
	b = appendQuoted(b, d.scratch[:got], max)
	if n > want {
		b = append(b, "..."...)
	}
	return b
}

// appendQuoted appends s in double quotes with strace's escapes.
func appendQuoted(b, s []byte, _ int) []byte {
	b = append(b, '"')
	for i, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\v':
			b = append(b, '\\', 'v')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c >= ' ' && c < 0x7f:
			b = append(b, c)
		default:
			// Octal, as short as possible unless a digit follows.
			b = append(b, '\\')
			next := i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'
			if next || c >= 0100 {
				b = append(b, '0'+c>>6)
			}
			if next || c >= 010 {
				b = append(b, '0'+(c>>3)&7)
			}
			b = append(b, '0'+c&7)
		}
	}
	return append(b, '"')
}

func appendHex(b []byte, v uint64) []byte {
	b = append(b, "0x"...)
	return strconv.AppendUint(b, v, 16)
}

func appendPtr(b []byte, v uint64) []byte {
	if v == 0 {
		return append(b, "NULL"...)
	}
	return appendHex(b, v)
}

func appendOctal(b []byte, v uint64) []byte {
	b = append(b, '0')
	if v == 0 {
		return append(b, '0', '0', '0')
	}
	s := strconv.FormatUint(v, 8)
	for len(s) < 3 {
		s = "0" + s
	}
	return append(b, s...)
}

// appendFlags appends the names of the bits set in v, joined by '|', any
// unnamed rest in hex, or zero when v is 0.
func appendFlags(b []byte, fl []flag, v uint64, zero string) []byte {
	if v == 0 {
		return append(b, zero...)
	}
	first := true
	for _, f := range fl {
		if v&f.val == f.val {
			if !first {
				b = append(b, '|')
			}
			b = append(b, f.name...)
			first = false
			v &^= f.val
		}
	}
	if v != 0 {
		if !first {
			b = append(b, '|')
		}
		b = appendHex(b, v)
	}
	return b
}

func appendEnum(b []byte, m map[uint64]string, v uint64) []byte {
	if n, ok := m[v]; ok {
		return append(b, n...)
	}
	return strconv.AppendUint(b, v, 10)
}

func appendSig(b []byte, a *abi, v uint64) []byte {
	if v == 0 {
		return append(b, '0')
	}
	if n, ok := a.signals[v]; ok {
		return append(b, n...)
	}
	if v >= 32 && v <= 64 {
		b = append(b, "SIGRT_"...)
		return strconv.AppendUint(b, v-32, 10)
	}
	return strconv.AppendUint(b, v, 10)
}

// appendOFlags appends open(2) flags: the access mode always, then the
// other bits.
func appendOFlags(b []byte, a *abi, v uint64) []byte {
	switch v & 3 {
	case 0:
		b = append(b, "O_RDONLY"...)
	case 1:
		b = append(b, "O_WRONLY"...)
	case 2:
		b = append(b, "O_RDWR"...)
	default:
		b = append(b, "O_ACCMODE"...)
	}
	if rest := v &^ 3; rest != 0 {
		b = append(b, '|')
		b = appendFlags(b, a.oflags, rest, "0")
	}
	return b
}

func (d *Decoder) appendFD(b []byte, pid int, fd int64) []byte {
	b = strconv.AppendInt(b, fd, 10)
	if fd < 0 || d.Mem == nil {
		return b
	}
	if p := d.Mem.FDPath(pid, int(fd)); p != "" {
		b = append(b, '<')
		b = append(b, p...)
		b = append(b, '>')
	}
	return b
}

func appendWstatus(b []byte, a *abi, s uint32) []byte {
	b = append(b, "[{"...)
	switch {
	case s&0x7f == 0: // exited
		b = append(b, "WIFEXITED(s) && WEXITSTATUS(s) == "...)
		b = strconv.AppendUint(b, uint64(s>>8&0xff), 10)
	case s == 0xffff:
		b = append(b, "WIFCONTINUED(s)"...)
	case s&0xff == 0x7f: // stopped
		b = append(b, "WIFSTOPPED(s) && WSTOPSIG(s) == "...)
		b = appendSig(b, a, uint64(s>>8&0xff))
		if s>>16 != 0 {
			b = append(b, " && s>>16 == "...)
			b = strconv.AppendUint(b, uint64(s>>16), 10)
		}
	default:
		b = append(b, "WIFSIGNALED(s) && WTERMSIG(s) == "...)
		b = appendSig(b, a, uint64(s&0x7f))
		if s&0x80 != 0 {
			b = append(b, " && WCOREDUMP(s)"...)
		}
	}
	return append(b, "}]"...)
}
