package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const handlerPolicy = `default: allow
rules:
  - notify: [openat, open, openat2]
    handler: open-broker
    paths: ["/usr/**", "/etc/*.conf", "/tmp/**"]
    read-only: true
  - notify: [mknod, mknodat]
    handler: mknod
    devices: ["c 1:3", "c 1:5", "c 1:8", "c 1:9", "c 5:0", "c 136:*", "b 7:0"]
  - notify: [stat, newfstatat]
    handler: deny-path
    paths: ["/etc/shadow", "/root/**"]
    deny-errno: ENOENT
  - notify: [access]
    handler: allow-path
    paths: /home/**
  - notify: connect
    handler: audit
    format: json
  - notify: getpid
`

func TestParseHandlers(t *testing.T) {
	p, _ := parseT(t, handlerPolicy)
	want := []*Handler{
		{Name: HandlerOpenBroker, Paths: []string{"/usr/**", "/etc/*.conf", "/tmp/**"}, ReadOnly: true, Pos: Pos{"t.yaml", 4, 5}},
		{Name: HandlerMknod, Devices: []Device{{Major: 1, Minor: 3}, {Major: 1, Minor: 5}, {Major: 1, Minor: 8}, {Major: 1, Minor: 9}, {Major: 5}, {Major: 136, AnyMinor: true}, {Block: true, Major: 7}}, Pos: Pos{"t.yaml", 8, 5}},
		{Name: HandlerDenyPath, Paths: []string{"/etc/shadow", "/root/**"}, Errno: 2, Pos: Pos{"t.yaml", 11, 5}},
		{Name: HandlerAllowPath, Paths: []string{"/home/**"}, Pos: Pos{"t.yaml", 15, 5}},
		{Name: HandlerAudit, Format: "json", Pos: Pos{"t.yaml", 18, 5}},
		nil,
	}
	if len(p.Rules) != len(want) {
		t.Fatalf("%d rules, want %d", len(p.Rules), len(want))
	}
	for i, w := range want {
		if !reflect.DeepEqual(p.Rules[i].Handler, w) {
			t.Errorf("rule %d: handler %+v, want %+v", i, p.Rules[i].Handler, w)
		}
	}
}

func TestHandlerErrors(t *testing.T) {
	const r = "default: allow\nrules:\n" // rules start on line 3
	tests := []struct {
		name string
		src  string
		pos  string
		msg  string
	}{
		{"unknown handler", r + "  - notify: openat\n    handler: open-brokr\n", "4:14", `unknown handler "open-brokr" (known: audit, deny-path, allow-path, open-broker, mknod) (did you mean "open-broker"?)`},
		{"handler on allow", r + "  - allow: openat\n    handler: audit\n", "4:5", "handler: belongs on a notify rule, not on allow"},
		{"param without handler", r + "  - notify: openat\n    paths: [/tmp/**]\n", "4:5", "paths: is a handler parameter"},
		{"param of another handler", r + "  - notify: openat\n    handler: audit\n    paths: [/tmp/**]\n", "5:5", "handler audit takes no paths: (it takes format)"},
		{"mknod takes no paths", r + "  - notify: mknod\n    handler: mknod\n    devices: [c 1:3]\n    paths: [/dev/*]\n", "6:5", "handler mknod takes no paths: (it takes devices)"},
		{"missing paths", r + "  - notify: openat\n    handler: open-broker\n", "4:5", "handler open-broker needs paths:"},
		{"missing devices", r + "  - notify: mknodat\n    handler: mknod\n", "4:5", "handler mknod needs devices:"},
		{"broker on read", r + "  - notify: [openat, read]\n    handler: open-broker\n    paths: [/tmp/**]\n", "4:14", "handler open-broker cannot serve read"},
		{"mknod on openat", r + "  - notify: openat\n    handler: mknod\n    devices: [c 1:3]\n", "4:14", "handler mknod cannot serve openat"},
		{"deny-path on connect", r + "  - notify: connect\n    handler: deny-path\n    paths: [/x]\n", "4:14", "handler deny-path cannot serve connect"},
		{"relative glob", r + "  - notify: openat\n    handler: deny-path\n    paths: [/ok, tmp/**]\n", "5:18", `path glob "tmp/**": must be absolute`},
		{"unclosed class", r + "  - notify: openat\n    handler: deny-path\n    paths: [\"/a[bc\"]\n", "5:13", "unclosed [ at offset 2"},
		{"empty paths", r + "  - notify: openat\n    handler: deny-path\n    paths: []\n", "5:12", "paths is empty"},
		{"bad device type", r + "  - notify: mknod\n    handler: mknod\n    devices: [\"x 1:3\"]\n", "5:15", `device "x 1:3": want`},
		{"bad device major", r + "  - notify: mknod\n    handler: mknod\n    devices: [\"c 5000:3\"]\n", "5:15", `major "5000" is not a number 0..4095`},
		{"bad device minor", r + "  - notify: mknod\n    handler: mknod\n    devices: [\"c 1:x\"]\n", "5:15", `minor "x" is not a number`},
		{"bad format", r + "  - notify: connect\n    handler: audit\n    format: xml\n", "5:13", `audit format "xml": want line or json`},
		{"bad read-only", r + "  - notify: openat\n    handler: open-broker\n    paths: [/tmp/**]\n    read-only: yes\n", "6:16", `read-only must be true or false, not "yes"`},
		{"bad deny-errno", r + "  - notify: openat\n    handler: deny-path\n    paths: [/tmp/**]\n    deny-errno: EACES\n", "6:17", `unknown errno "EACES"`},
		{"zero deny-errno", r + "  - notify: openat\n    handler: deny-path\n    paths: [/tmp/**]\n    deny-errno: 0\n", "6:17", "deny-errno 0"},
		{"handler list", r + "  - notify: openat\n    handler: [audit]\n", "4:14", "handler must be a single value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.src), "t.yaml", x86)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want *Error", err)
			}
			if got := strings.TrimPrefix(pe.Pos.String(), "t.yaml:"); got != tt.pos {
				t.Errorf("position %s, want %s (%v)", got, tt.pos, err)
			}
			if !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("message %q, want it to contain %q", pe.Msg, tt.msg)
			}
		})
	}
}

func TestFormatHandlers(t *testing.T) {
	p, _ := parseT(t, handlerPolicy)
	out, err := p.Format()
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := Parse(out, "formatted.yaml", x86)
	if err != nil {
		t.Fatalf("parse formatted: %v\n%s", err, out)
	}
	for i := range p.Rules {
		a, b := p.Rules[i].Handler, q.Rules[i].Handler
		if a != nil && b != nil {
			ac, bc := *a, *b
			ac.Pos, bc.Pos = Pos{}, Pos{}
			a, b = &ac, &bc
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("rule %d: handler %+v became %+v\n%s", i, a, b, out)
		}
	}
	if !strings.Contains(string(out), "    deny-errno: ENOENT\n") || !strings.Contains(string(out), `"c 136:*"`) {
		t.Errorf("formatted policy lacks deny-errno or a device:\n%s", out)
	}

	bad := &Policy{Default: Action{Kind: Allow}, Arches: p.Arches, Rules: []Rule{
		{Action: Action{Kind: Allow}, Syscalls: []string{"openat"}, Handler: &Handler{Name: HandlerAudit}},
	}}
	if _, err := bad.Format(); err == nil || !strings.Contains(err.Error(), "handler audit on a allow rule") {
		t.Errorf("Format of a handler on an allow rule: %v", err)
	}
	bad.Rules[0] = Rule{Action: Action{Kind: Notify}, Syscalls: []string{"openat"}, Handler: &Handler{Name: HandlerDenyPath}}
	if _, err := bad.Format(); err == nil || !strings.Contains(err.Error(), "without paths") {
		t.Errorf("Format of deny-path without paths: %v", err)
	}
}

func TestOCIRefusesHandlers(t *testing.T) {
	p, _ := parseT(t, handlerPolicy)
	_, err := p.OCI()
	if err == nil || !strings.Contains(err.Error(), "cannot express handler open-broker (rule at t.yaml:3:5)") {
		t.Errorf("OCI of a policy with handlers: %v", err)
	}
	plain, _ := parseT(t, "default: allow\nrules:\n  - notify: getpid\n")
	if _, err := plain.OCI(); err != nil {
		t.Errorf("OCI of a plain notify rule: %v", err)
	}
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"/usr/**", "/usr/lib/x.so", true},
		{"/usr/**", "/usr", true},
		{"/usr/**", "/usrx", false},
		{"/usr/**", "/usr2/lib", false},
		{"/etc/*.conf", "/etc/ld.so.conf", true},
		{"/etc/*.conf", "/etc/a/b.conf", false},
		{"/etc/*.conf", "/etc/shadow", false},
		{"/a/**/b", "/a/b", true},
		{"/a/**/b", "/a/x/y/b", true},
		{"/a/**/b", "/a/x/yb", false},
		{"/a/**.go", "/a/x/y.go", true},
		{"/tmp/?", "/tmp/x", true},
		{"/tmp/?", "/tmp/xy", false},
		{"/tmp/?", "/tmp//", false},
		{"/d/[a-c]x", "/d/bx", true},
		{"/d/[!a-c]x", "/d/bx", false},
		{"/d/[^a-c]x", "/d/dx", true},
		{"/d/\\*", "/d/*", true},
		{"/d/\\*", "/d/x", false},
		{"/**", "/", true},
		{"/**", "/anything/at/all", true},
		{"/etc/shadow", "/etc/shadow", true},
		{"/etc/shadow", "/etc/shadow2", false},
		{"/*/*/*/*/*/*/*/x", "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y", false},
		{"/**a**a**a**a**a**b", "/" + strings.Repeat("a", 200), false},
		{"relative/**", "relative/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.name, func(t *testing.T) {
			if got := MatchGlob(tt.pattern, tt.name); got != tt.want {
				t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
			}
		})
	}
}

func TestGlobRoot(t *testing.T) {
	tests := []struct {
		pattern, dir string
		tree         bool
	}{
		{"/usr/**", "/usr", true},
		{"/etc/*.conf", "/etc", false},
		{"/tmp/a/ok", "/tmp/a", false},
		{"/**", "/", true},
		{"/x*/y", "/", false},
		{"/a/b/**/c", "/a/b", false},
	}
	for _, tt := range tests {
		dir, tree := GlobRoot(tt.pattern)
		if dir != tt.dir || tree != tt.tree {
			t.Errorf("GlobRoot(%q) = %q, %v; want %q, %v", tt.pattern, dir, tree, tt.dir, tt.tree)
		}
	}
}

func TestParseDevice(t *testing.T) {
	for _, s := range []string{"c 1:3", "b 8:0", "c 136:*", "c 4095:1048575"} {
		d, err := ParseDevice(s)
		if err != nil || d.String() != s {
			t.Errorf("ParseDevice(%q) = %v, %v", s, d, err)
		}
	}
	for _, s := range []string{"", "c", "c 1", "c 1:", "c :1", "c 1:3 x", "c 4096:0", "c 1:1048576", "c -1:0"} {
		if _, err := ParseDevice(s); err == nil {
			t.Errorf("ParseDevice(%q) succeeded", s)
		}
	}
	d := Device{Major: 136, AnyMinor: true}
	if !d.Matches(false, 136, 7) || d.Matches(true, 136, 7) || d.Matches(false, 137, 7) {
		t.Error("Device.Matches with any minor")
	}
}
