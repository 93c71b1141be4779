package trace

import (
	"encoding/binary"
	"strconv"
)

// le16, le32 and le64 read the tracee's little-endian words. (Functions, not
// a package-level copy of binary.LittleEndian: copying another package's
// variable is work for package init, at every start of sysgate.)
func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// appendMode appends st_mode as S_IFREG|0644.
func appendMode(b []byte, m uint32) []byte {
	switch m & 0o170000 {
	case 0o140000:
		b = append(b, "S_IFSOCK"...)
	case 0o120000:
		b = append(b, "S_IFLNK"...)
	case 0o100000:
		b = append(b, "S_IFREG"...)
	case 0o060000:
		b = append(b, "S_IFBLK"...)
	case 0o040000:
		b = append(b, "S_IFDIR"...)
	case 0o020000:
		b = append(b, "S_IFCHR"...)
	case 0o010000:
		b = append(b, "S_IFIFO"...)
	default:
		return appendOctal(b, uint64(m))
	}
	b = append(b, '|')
	if m&0o7000 != 0 {
		for _, f := range [...]struct {
			bit  uint32
			name string
		}{{0o4000, "S_ISUID|"}, {0o2000, "S_ISGID|"}, {0o1000, "S_ISVTX|"}} {
			if m&f.bit != 0 {
				b = append(b, f.name...)
			}
		}
	}
	return appendOctal(b, uint64(m&0o777))
}

// appendStatFields appends strace's short form of a stat: the mode, and
// the size or, for devices, the device number.
func appendStatFields(b []byte, mode uint32, size int64, rdev uint64) []byte {
	b = append(b, "{st_mode="...)
	b = appendMode(b, mode)
	if t := mode & 0o170000; t == 0o020000 || t == 0o060000 {
		major := (rdev>>8)&0xfff | (rdev>>32)&^0xfff
		minor := rdev&0xff | (rdev>>12)&^0xff
		b = append(b, ", st_rdev=makedev(0x"...)
		b = strconv.AppendUint(b, major, 16)
		b = append(b, ", 0x"...)
		b = strconv.AppendUint(b, minor, 16)
		b = append(b, ')')
	} else {
		b = append(b, ", st_size="...)
		b = strconv.AppendInt(b, size, 10)
	}
	return append(b, ", ...}"...)
}

// appendStat decodes struct stat (x86_64) or struct stat64 (i386).
func (d *Decoder) appendStat(b []byte, c *Call, addr uint64) []byte {
	if c.abi.bits == 32 && c.Name != "stat" && c.Name != "fstat" && c.Name != "lstat" {
		var s [96]byte
		if d.read(c.Pid, addr, s[:]) != len(s) {
			return appendPtr(b, addr)
		}
		return appendStatFields(b, le32(s[16:]), int64(le64(s[44:])), le64(s[32:]))
	}
	if c.abi.bits == 32 {
		// The old i386 struct stat: 16-bit dev, 32-bit size.
		var s [64]byte
		if d.read(c.Pid, addr, s[:]) != len(s) {
			return appendPtr(b, addr)
		}
		return appendStatFields(b, uint32(le16(s[8:])), int64(int32(le32(s[20:]))), uint64(le16(s[16:])))
	}
	var s [144]byte
	if d.read(c.Pid, addr, s[:]) != len(s) {
		return appendPtr(b, addr)
	}
	return appendStatFields(b, le32(s[24:]), int64(le64(s[48:])), le64(s[40:]))
}

// appendStatx decodes the part of struct statx strace shows by default.
func (d *Decoder) appendStatx(b []byte, c *Call, addr uint64) []byte {
	var s [256]byte
	if d.read(c.Pid, addr, s[:]) != len(s) {
		return appendPtr(b, addr)
	}
	b = append(b, "{stx_mask="...)
	b = appendFlags(b, c.abi.statxmask, uint64(le32(s[0:])), "0")
	b = append(b, ", stx_attributes="...)
	b = appendHex(b, le64(s[8:]))
	b = append(b, ", stx_mode="...)
	b = appendMode(b, uint32(le16(s[28:])))
	b = append(b, ", stx_size="...)
	b = strconv.AppendUint(b, le64(s[40:]), 10)
	return append(b, ", ...}"...)
}

// appendIPv4 appends the 4-byte address a as a dotted quad.
func appendIPv4(b, a []byte) []byte {
	for i, x := range a[:4] {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, uint64(x), 10)
	}
	return b
}

// appendIPv6 appends the 16-byte address a as RFC 5952 writes it, and
// net/netip: lower-case groups without leading zeros, the longest run of
// two or more zero groups (the first of equal ones) as "::", and an
// IPv4-mapped address as ::ffff:a.b.c.d. (Not net/netip itself: its package
// init would cost every start of sysgate.)
func appendIPv6(b, a []byte) []byte {
	if [12]byte(a) == [12]byte{10: 0xff, 11: 0xff} {
		return appendIPv4(append(b, "::ffff:"...), a[12:])
	}
	start, end := -1, -1 // the groups [start, end) become "::"
	for i := 0; i < 8; i++ {
		j := i
		for j < 8 && a[2*j] == 0 && a[2*j+1] == 0 {
			j++
		}
		if j-i >= 2 && j-i > end-start {
			start, end = i, j
		}
	}
	for i := 0; i < 8; i++ {
		if i == start {
			b = append(b, "::"...)
			i = end - 1 // go on at end
			continue
		}
		if i > 0 && i != end {
			b = append(b, ':')
		}
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(a[2*i:])), 16)
	}
	return b
}

// appendSockaddr decodes the struct sockaddr of n bytes at addr.
func (d *Decoder) appendSockaddr(b []byte, c *Call, addr, n uint64) []byte {
	if addr == 0 {
		return append(b, "NULL"...)
	}
	if n < 2 || n > 128 {
		return appendHex(b, addr)
	}
	var s [128]byte
	if d.read(c.Pid, addr, s[:n]) != int(n) {
		return appendPtr(b, addr)
	}
	fam := uint64(le16(s[:]))
	b = append(b, "{sa_family="...)
	b = appendEnum(b, c.abi.afs, fam)
	switch {
	case fam == 1: // AF_UNIX
		path := s[2:n]
		b = append(b, ", sun_path="...)
		if len(path) > 0 && path[0] == 0 {
			b = append(b, '@')
			path = path[1:]
		} else {
			for i, ch := range path {
				if ch == 0 {
					path = path[:i]
					break
				}
			}
		}
		b = appendQuoted(b, path, len(path))
	case fam == 2 && n >= 8: // AF_INET
		b = append(b, ", sin_port=htons("...)
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(s[2:])), 10)
		b = append(b, "), sin_addr=inet_addr(\""...)
		b = appendIPv4(b, s[4:8])
		b = append(b, "\")"...)
	case fam == 10 && n >= 24: // AF_INET6
		b = append(b, ", sin6_port=htons("...)
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(s[2:])), 10)
		b = append(b, "), sin6_flowinfo=htonl("...)
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(s[4:])), 10)
		b = append(b, "), inet_pton(AF_INET6, \""...)
		b = appendIPv6(b, s[8:24])
		b = append(b, "\", &sin6_addr)"...)
		if n >= 28 {
			b = append(b, ", sin6_scope_id="...)
			b = strconv.AppendUint(b, uint64(le32(s[24:])), 10)
		}
	case fam == 16 && n >= 12: // AF_NETLINK
		b = append(b, ", nl_pid="...)
		b = strconv.AppendUint(b, uint64(le32(s[4:])), 10)
		b = append(b, ", nl_groups="...)
		g := strconv.FormatUint(uint64(le32(s[8:])), 16)
		for i := len(g); i < 8; i++ {
			b = append(b, '0')
		}
		b = append(b, g...)
	default:
		b = append(b, ", sa_data="...)
		b = appendQuoted(b, s[2:n], int(n))
	}
	return append(b, '}')
}

// word reads one pointer-sized word of the tracee.
func (d *Decoder) word(c *Call, addr uint64) (uint64, bool) {
	var w [8]byte
	if c.abi.bits == 32 {
		if d.read(c.Pid, addr, w[:4]) != 4 {
			return 0, false
		}
		return uint64(le32(w[:])), true
	}
	if d.read(c.Pid, addr, w[:]) != 8 {
		return 0, false
	}
	return le64(w[:]), true
}

// appendArgv appends a NULL-terminated array of strings, at most -s of
// them (as strace limits arrays).
func (d *Decoder) appendArgv(b []byte, c *Call, addr uint64) []byte {
	if addr == 0 || d.Mem == nil {
		return appendPtr(b, addr)
	}
	ws := uint64(c.abi.bits / 8)
	b = append(b, '[')
	for i := 0; ; i++ {
		p, ok := d.word(c, addr+uint64(i)*ws)
		if !ok || p == 0 {
			break
		}
		if i > 0 {
			b = append(b, ", "...)
		}
		if i >= d.strSize() {
			b = append(b, "..."...)
			break
		}
		b = d.appendString(b, c.Pid, p, d.strSize())
	}
	return append(b, ']')
}

// appendEnvp appends the environment's address and size, as strace does
// by default.
func (d *Decoder) appendEnvp(b []byte, c *Call, addr uint64) []byte {
	b = appendPtr(b, addr)
	if addr == 0 || d.Mem == nil {
		return b
	}
	ws := uint64(c.abi.bits / 8)
	n := 0
	var buf [512]byte
	for n < 1<<16 {
		got := d.read(c.Pid, addr+uint64(n)*ws, buf[:])
		got -= got % int(ws)
		if got == 0 {
			break
		}
		end := false
		for off := 0; off < got; off += int(ws) {
			var p uint64
			if ws == 4 {
				p = uint64(le32(buf[off:]))
			} else {
				p = le64(buf[off:])
			}
			if p == 0 {
				end = true
				break
			}
			n++
		}
		if end {
			break
		}
	}
	b = append(b, " /* "...)
	b = strconv.AppendInt(b, int64(n), 10)
	if n == 1 {
		return append(b, " var */"...)
	}
	return append(b, " vars */"...)
}

func appendCloneFlags(b []byte, a *abi, v uint64) []byte {
	sig := v & 0xff
	rest := v &^ 0xff
	b = appendFlags(b, a.clone, rest, "")
	if sig != 0 {
		if rest != 0 {
			b = append(b, '|')
		}
		b = appendSig(b, a, sig)
	} else if rest == 0 {
		b = append(b, '0')
	}
	return b
}

// appendCloneArgs decodes clone3's struct clone_args.
func (d *Decoder) appendCloneArgs(b []byte, c *Call, addr uint64) []byte {
	var s [64]byte
	if d.read(c.Pid, addr, s[:]) != len(s) {
		return appendPtr(b, addr)
	}
	b = append(b, "{flags="...)
	b = appendFlags(b, c.abi.clone, le64(s[0:]), "0")
	b = append(b, ", exit_signal="...)
	b = appendSig(b, c.abi, le64(s[32:]))
	b = append(b, ", stack="...)
	b = appendPtr(b, le64(s[40:]))
	b = append(b, ", stack_size="...)
	b = appendHex(b, le64(s[48:]))
	return append(b, ", ...}"...)
}

// clone decodes clone(2) as strace does, with named arguments. The
// argument order differs between x86_64 and i386 (tls and child_tid swap).
func (d *Decoder) clone(c *Call) {
	a := c.abi
	flags := c.Args[0]
	ctid, tls := c.Args[3], c.Args[4]
	if a.bits == 32 {
		ctid, tls = c.Args[4], c.Args[3]
	}
	add := func(name string, f func([]byte) []byte) {
		c.text = append(c.text, name...)
		c.text = f(c.text)
		c.ends = append(c.ends, len(c.text))
	}
	add("child_stack=", func(b []byte) []byte { return appendPtr(b, c.Args[1]) })
	add("flags=", func(b []byte) []byte { return appendCloneFlags(b, a, flags) })
	if flags&0x00100000 != 0 { // CLONE_PARENT_SETTID
		add("parent_tid=", func(b []byte) []byte { return appendPtr(b, c.Args[2]) })
	}
	if flags&0x01200000 != 0 { // CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID
		add("child_tidptr=", func(b []byte) []byte { return appendPtr(b, ctid) })
	}
	if flags&0x00080000 != 0 { // CLONE_SETTLS
		add("tls=", func(b []byte) []byte { return appendPtr(b, tls) })
	}
}

// fcntl decodes fcntl(2): the third argument depends on the command.
func (d *Decoder) fcntl(c *Call) {
	a := c.abi
	c.text = strconv.AppendInt(c.text, c.int(0), 10)
	if d.FDPaths {
		c.text = d.appendFD(c.text[:0], c.Pid, c.int(0))
	}
	c.ends = append(c.ends, len(c.text))
	cmd := c.Args[1] & 0xffffffff
	c.text = appendEnum(c.text, a.fcntlcmds, cmd)
	c.ends = append(c.ends, len(c.text))
	switch a.fcntlcmds[cmd] {
	case "F_GETFD", "F_GETFL", "F_GETOWN", "F_GETSIG", "F_GETLEASE", "F_GETPIPE_SZ", "F_GET_SEALS":
		return
	case "F_SETFD":
		if c.Args[2] == 1 {
			c.text = append(c.text, "FD_CLOEXEC"...)
		} else {
			c.text = strconv.AppendInt(c.text, c.int(2), 10)
		}
	case "F_SETFL":
		c.text = appendOFlags(c.text, a, c.Args[2])
	case "F_GETLK", "F_SETLK", "F_SETLKW", "F_OFD_GETLK", "F_OFD_SETLK", "F_OFD_SETLKW":
		c.text = appendPtr(c.text, c.Args[2])
	default:
		c.text = strconv.AppendInt(c.text, c.long(2), 10)
	}
	c.ends = append(c.ends, len(c.text))
}

// fcntlRet shows the flags F_GETFD and F_GETFL return, as strace does.
func (d *Decoder) fcntlRet(b []byte, c *Call, v int64) []byte {
	switch c.abi.fcntlcmds[c.Args[1]&0xffffffff] {
	case "F_GETFD":
		b = appendHex(b, uint64(v))
		if v&1 != 0 {
			b = append(b, " (flags FD_CLOEXEC)"...)
		}
		return b
	case "F_GETFL":
		b = appendHex(b, uint64(v))
		b = append(b, " (flags "...)
		b = appendOFlags(b, c.abi, uint64(v))
		return append(b, ')')
	case "F_DUPFD", "F_DUPFD_CLOEXEC":
		if d.FDPaths {
			return d.appendFD(b, c.Pid, v)
		}
	}
	return strconv.AppendInt(b, v, 10)
}
