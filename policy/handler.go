package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The built-in supervisor handlers a notify rule can name with handler:.
// The notify package implements them.
const (
	HandlerAudit      = "audit"       // log the call with decoded arguments, then continue
	HandlerDenyPath   = "deny-path"   // fail calls whose path matches Paths, continue the rest
	HandlerAllowPath  = "allow-path"  // continue calls whose path matches Paths, fail the rest
	HandlerOpenBroker = "open-broker" // open the file in the supervisor if Paths allow it, inject the fd
	HandlerMknod      = "mknod"       // create device nodes of Devices for a target in a user namespace
)

// HandlerNames lists the built-in handlers.
var HandlerNames = []string{HandlerAudit, HandlerDenyPath, HandlerAllowPath, HandlerOpenBroker, HandlerMknod}

// PathSyscalls are the syscalls whose path argument deny-path and
// allow-path decide on: the open and stat families and the other calls
// taking one path (with or without a dirfd).
var PathSyscalls = []string{
	"open", "openat", "openat2", "creat",
	"stat", "lstat", "stat64", "lstat64", "newfstatat", "fstatat64", "statx",
	"access", "faccessat", "faccessat2",
	"readlink", "readlinkat", "execve", "execveat", "truncate", "truncate64",
	"chdir", "chroot", "mkdir", "mkdirat", "mknod", "mknodat", "unlink", "unlinkat", "rmdir",
	"chmod", "fchmodat", "fchmodat2", "chown", "lchown", "chown32", "lchown32", "fchownat",
	"statfs", "statfs64", "getxattr", "lgetxattr", "setxattr", "lsetxattr",
	"listxattr", "llistxattr", "removexattr", "lremovexattr", "utime", "utimes",
	"utimensat", "futimesat", "uselib", "swapon", "swapoff", "acct", "inotify_add_watch",
}

// OpenSyscalls are the syscalls open-broker performs.
var OpenSyscalls = []string{"open", "openat", "openat2", "creat"}

// MknodSyscalls are the syscalls the mknod handler performs.
var MknodSyscalls = []string{"mknod", "mknodat"}

// HandlerSyscalls returns the syscalls the named handler can serve, and nil
// for audit, which serves any.
func HandlerSyscalls(name string) []string {
	switch name {
	case HandlerDenyPath, HandlerAllowPath:
		return PathSyscalls
	case HandlerOpenBroker:
		return OpenSyscalls
	case HandlerMknod:
		return MknodSyscalls
	}
	return nil
}

// Handler is the built-in supervisor handler of a notify rule and its
// parameters. A notify rule without one (Rule.Handler nil) audits: it logs
// the call as a line and continues it.
type Handler struct {
	Name string // one of HandlerNames

	// Format is audit's output: "line" (the default when empty) or "json".
	Format string

	// Paths are the globs (see [CheckGlob]) of deny-path (paths refused),
	// allow-path (paths let through) and open-broker (paths it opens).
	Paths []string

	// ReadOnly makes open-broker refuse opens for writing, O_CREAT and
	// O_TRUNC.
	ReadOnly bool

	// Errno is the error of a refused call for deny-path, allow-path and
	// open-broker; 0 means EACCES. (mknod refuses with EPERM, as the
	// kernel does.)
	Errno uint16

	// Devices are the device nodes mknod creates.
	Devices []Device

	Pos Pos // where handler: is
}

// Device is an allowed device node: its type, major and minor number.
type Device struct {
	Block    bool   // 'b' (a block device) rather than 'c'
	Major    uint32 // 0..4095
	Minor    uint32 // 0..1048575; ignored if AnyMinor
	AnyMinor bool   // "c 136:*"
}

// String renders d as the policy writes it: "c 1:3", "b 8:0", "c 136:*".
func (d Device) String() string {
	t := "c"
	if d.Block {
		t = "b"
	}
	if d.AnyMinor {
		return fmt.Sprintf("%s %d:*", t, d.Major)
	}
	return fmt.Sprintf("%s %d:%d", t, d.Major, d.Minor)
}

// Matches reports whether a node of that type and number is d.
func (d Device) Matches(block bool, major, minor uint32) bool {
	return d.Block == block && d.Major == major && (d.AnyMinor || d.Minor == minor)
}

// Largest major and minor numbers of the kernel's dev_t (MINORBITS = 20,
// include/linux/kdev_t.h; majors above 4095 cannot pass the 32-bit dev
// argument of mknod(2)).
const (
	MaxMajor = 1<<12 - 1
	MaxMinor = 1<<20 - 1
)

// ParseDevice parses "c 1:3", "b 8:0" or "c 136:*".
func ParseDevice(s string) (Device, error) {
	f := strings.Fields(s)
	if len(f) != 2 || (f[0] != "c" && f[0] != "b") {
		return Device{}, fmt.Errorf("device %q: want \"c MAJOR:MINOR\" or \"b MAJOR:MINOR\" (MINOR may be *)", s)
	}
	d := Device{Block: f[0] == "b"}
	majS, minS, ok := strings.Cut(f[1], ":")
	if !ok {
		return Device{}, fmt.Errorf("device %q: want MAJOR:MINOR after %s", s, f[0])
	}
	maj, err := strconv.ParseUint(majS, 10, 32)
	if err != nil || maj > MaxMajor {
		return Device{}, fmt.Errorf("device %q: major %q is not a number 0..%d", s, majS, MaxMajor)
	}
	d.Major = uint32(maj)
	if minS == "*" {
		d.AnyMinor = true
		return d, nil
	}
	minor, err := strconv.ParseUint(minS, 10, 32)
	if err != nil || minor > MaxMinor {
		return Device{}, fmt.Errorf("device %q: minor %q is not a number 0..%d or *", s, minS, MaxMinor)
	}
	d.Minor = uint32(minor)
	return d, nil
}

// handlerSpecs gives each handler the rule keys it takes and the one it
// requires. (A slice, not maps: a map literal is built by package init at
// every start of sysgate.)
var handlerSpecs = []struct {
	name     string
	params   []string
	required string // "" if none
}{
	{HandlerAudit, []string{"format"}, ""},
	{HandlerDenyPath, []string{"paths", "deny-errno"}, "paths"},
	{HandlerAllowPath, []string{"paths", "deny-errno"}, "paths"},
	{HandlerOpenBroker, []string{"paths", "read-only", "deny-errno"}, "paths"},
	{HandlerMknod, []string{"devices"}, "devices"},
}

// handlerParams returns the rule keys the named handler takes and the one
// it requires ("" if none); ok is false for an unknown handler.
func handlerParams(name string) (params []string, required string, ok bool) {
	for _, h := range handlerSpecs {
		if h.name == name {
			return h.params, h.required, true
		}
	}
	return nil, "", false
}

// handlerKeys are the rule keys that only a handler rule has.
var handlerKeys = []string{"handler", "format", "paths", "read-only", "deny-errno", "devices"}

// handler parses the handler: key of a rule and its parameters.
func (p *yamlParser) handler(r *Rule, keys map[string]keyVal) error {
	hk, has := keys["handler"]
	if !has {
		for _, k := range handlerKeys[1:] {
			if kv, ok := keys[k]; ok {
				return p.errorf(kv.key, "%s: is a handler parameter; it needs handler: (one of %s) on a notify rule", k, strings.Join(HandlerNames, ", "))
			}
		}
		return nil
	}
	if r.Action.Kind != Notify {
		return p.errorf(hk.key, "handler: belongs on a notify rule, not on %s", r.Action.Kind)
	}
	name, err := p.scalar(hk.val, "handler")
	if err != nil {
		return err
	}
	hv := deref(hk.val)
	params, req, ok := handlerParams(name)
	if !ok {
		return p.errorf(hv, "unknown handler %q (known: %s)%s", name, strings.Join(HandlerNames, ", "), suggest(name, HandlerNames))
	}
	h := &Handler{Name: name, Pos: p.pos(hk.key)}
	for _, k := range handlerKeys[1:] {
		if kv, ok := keys[k]; ok && !slices.Contains(params, k) {
			takes := "no parameters"
			if len(params) > 0 {
				takes = strings.Join(params, ", ")
			}
			return p.errorf(kv.key, "handler %s takes no %s: (it takes %s)", name, k, takes)
		}
	}
	if req != "" {
		if _, ok := keys[req]; !ok {
			return p.errorf(hk.key, "handler %s needs %s:", name, req)
		}
	}
	if can := HandlerSyscalls(name); can != nil {
		for _, s := range r.Syscalls {
			if !slices.Contains(can, s) {
				return p.errorf(hv, "handler %s cannot serve %s (it serves %s)", name, s, shortList(can))
			}
		}
	}

	if kv, ok := keys["format"]; ok {
		s, err := p.scalar(kv.val, "format")
		if err != nil {
			return err
		}
		if s != "line" && s != "json" {
			return p.errorf(deref(kv.val), "audit format %q: want line or json", s)
		}
		h.Format = s
	}
	if kv, ok := keys["paths"]; ok {
		items, err := p.scalars(kv.val, "paths")
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return p.errorf(deref(kv.val), "paths is empty: give at least one glob such as /tmp/**")
		}
		for _, it := range items {
			if err := CheckGlob(it.Value); err != nil {
				return p.errorf(it, "path glob %q: %v", it.Value, err)
			}
			if !slices.Contains(h.Paths, it.Value) {
				h.Paths = append(h.Paths, it.Value)
			}
		}
	}
	if kv, ok := keys["read-only"]; ok {
		v := deref(kv.val)
		s, err := p.scalar(v, "read-only")
		if err != nil {
			return err
		}
		switch s {
		case "true":
			h.ReadOnly = true
		case "false":
		default:
			return p.errorf(v, "read-only must be true or false, not %q", s)
		}
	}
	if kv, ok := keys["deny-errno"]; ok {
		v := deref(kv.val)
		s, err := p.scalar(v, "deny-errno")
		if err != nil {
			return err
		}
		if h.Errno, err = p.errnoValue(s, p.pos(v)); err != nil {
			return err
		}
		if h.Errno == 0 {
			return p.errorf(v, "deny-errno 0 would make a refused call succeed; give an errno such as EACCES")
		}
	}
	if kv, ok := keys["devices"]; ok {
		items, err := p.scalars(kv.val, "devices")
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return p.errorf(deref(kv.val), "devices is empty: give at least one, such as \"c 1:3\"")
		}
		for _, it := range items {
			d, err := ParseDevice(it.Value)
			if err != nil {
				return p.errorf(it, "%v", err)
			}
			if !slices.Contains(h.Devices, d) {
				h.Devices = append(h.Devices, d)
			}
		}
	}
	r.Handler = h
	return nil
}

// formatHandler writes the handler keys of a rule.
func formatHandler(b *strings.Builder, h *Handler) error {
	params, req, ok := handlerParams(h.Name)
	if !ok {
		return fmt.Errorf("unknown handler %q", h.Name)
	}
	if req == "paths" && len(h.Paths) == 0 || req == "devices" && len(h.Devices) == 0 {
		return fmt.Errorf("handler %s without %s", h.Name, req)
	}
	fmt.Fprintf(b, "    handler: %s\n", h.Name)
	if h.Format != "" {
		if !slices.Contains(params, "format") || (h.Format != "line" && h.Format != "json") {
			return fmt.Errorf("handler %s with format %q", h.Name, h.Format)
		}
		fmt.Fprintf(b, "    format: %s\n", h.Format)
	}
	if len(h.Paths) > 0 {
		if !slices.Contains(params, "paths") {
			return fmt.Errorf("handler %s with paths", h.Name)
		}
		q := make([]string, len(h.Paths))
		for i, g := range h.Paths {
			if err := CheckGlob(g); err != nil {
				return fmt.Errorf("path glob %q: %w", g, err)
			}
			q[i] = strconv.Quote(g)
		}
		fmt.Fprintf(b, "    paths: [%s]\n", strings.Join(q, ", "))
	}
	if h.ReadOnly {
		if !slices.Contains(params, "read-only") {
			return fmt.Errorf("handler %s with read-only", h.Name)
		}
		b.WriteString("    read-only: true\n")
	}
	if h.Errno != 0 {
		if !slices.Contains(params, "deny-errno") {
			return fmt.Errorf("handler %s with deny-errno", h.Name)
		}
		v, err := formatAction(Action{Kind: Errno, Value: h.Errno})
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "    deny-errno: %s\n", strings.TrimPrefix(v, "errno "))
	}
	if len(h.Devices) > 0 {
		if !slices.Contains(params, "devices") {
			return fmt.Errorf("handler %s with devices", h.Name)
		}
		q := make([]string, len(h.Devices))
		for i, d := range h.Devices {
			q[i] = strconv.Quote(d.String())
		}
		fmt.Fprintf(b, "    devices: [%s]\n", strings.Join(q, ", "))
	}
	return nil
}
