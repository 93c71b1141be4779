package policy

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"
)

// A small JSON reader that keeps the byte offset of every value and key, so
// that errors in OCI/Docker profiles name file:line:col (encoding/json drops
// positions). It accepts exactly RFC 8259 JSON, rejects duplicate keys (a
// profile that says two things must not silently mean the last one), and
// keeps numbers as their source text so 64-bit values stay exact.

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

var jsonKindNames = [...]string{
	jsonNull:   "null",
	jsonBool:   "boolean",
	jsonNumber: "number",
	jsonString: "string",
	jsonArray:  "array",
	jsonObject: "object",
}

func (k jsonKind) String() string { return jsonKindNames[k] }

// jsonValue is one value of the tree.
type jsonValue struct {
	Kind    jsonKind
	Off     int          // byte offset of the value's first byte
	Str     string       // decoded string, or the source text of a number
	Bool    bool         // jsonBool
	Elems   []*jsonValue // jsonArray
	Members []jsonMember // jsonObject, in source order
}

// jsonMember is one "key": value pair of an object.
type jsonMember struct {
	Key    string
	KeyOff int // offset of the key's opening quote
	Value  *jsonValue
}

// Get returns the member value named key, or nil.
func (v *jsonValue) Get(key string) *jsonValue {
	for _, m := range v.Members {
		if m.Key == key {
			return m.Value
		}
	}
	return nil
}

// jsonDoc is a parsed document and the means to turn offsets into positions.
type jsonDoc struct {
	Root  *jsonValue
	file  string
	data  []byte
	lines []int // offsets at which lines start
}

// maxJSONDepth bounds nesting; real profiles nest four levels deep.
const maxJSONDepth = 200

// parseJSON parses data; a syntax error is an *Error at the offending byte.
func parseJSON(data []byte, file string) (*jsonDoc, error) {
	d := &jsonDoc{file: file, data: data, lines: []int{0}}
	for i, c := range data {
		if c == '\n' {
			d.lines = append(d.lines, i+1)
		}
	}
	p := &jsonParser{doc: d, data: data}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(data) {
		return nil, p.errorf(p.i, "invalid JSON: unexpected %s after the top-level value", p.describe(p.i))
	}
	d.Root = v
	return d, nil
}

// Pos converts a byte offset to a position; the column counts characters.
func (d *jsonDoc) Pos(off int) Pos {
	line := sort.Search(len(d.lines), func(i int) bool { return d.lines[i] > off }) - 1
	line = max(line, 0)
	start := d.lines[line]
	off = min(off, len(d.data))
	return Pos{File: d.file, Line: line + 1, Col: utf8.RuneCount(d.data[start:off]) + 1}
}

// errorf makes an *Error at offset off.
func (d *jsonDoc) errorf(off int, format string, args ...any) *Error {
	return errorf(d.Pos(off), format, args...)
}

type jsonParser struct {
	doc  *jsonDoc
	data []byte
	i    int
}

func (p *jsonParser) errorf(off int, format string, args ...any) *Error {
	return p.doc.errorf(off, format, args...)
}

// describe names the byte at off for a syntax error.
func (p *jsonParser) describe(off int) string {
	if off >= len(p.data) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.data[off:])
	return fmt.Sprintf("character %q", r)
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (*jsonValue, error) {
	if depth > maxJSONDepth {
		return nil, p.errorf(p.i, "invalid JSON: nested more than %d levels deep", maxJSONDepth)
	}
	if p.i >= len(p.data) {
		return nil, p.errorf(p.i, "invalid JSON: unexpected end of input, expected a value")
	}
	start := p.i
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jsonValue{Kind: jsonString, Off: start, Str: s}, nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case p.literal("true"):
		return &jsonValue{Kind: jsonBool, Off: start, Bool: true}, nil
	case p.literal("false"):
		return &jsonValue{Kind: jsonBool, Off: start}, nil
	case p.literal("null"):
		return &jsonValue{Kind: jsonNull, Off: start}, nil
	}
	return nil, p.errorf(p.i, "invalid JSON: unexpected %s, expected a value", p.describe(p.i))
}

// literal consumes word if it is next.
func (p *jsonParser) literal(word string) bool {
	if len(p.data)-p.i >= len(word) && string(p.data[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *jsonParser) object(depth int) (*jsonValue, error) {
	v := &jsonValue{Kind: jsonObject, Off: p.i}
	p.i++ // {
	p.skipSpace()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return v, nil
	}
	seen := make(map[string]int)
	for {
		p.skipSpace()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, p.errorf(p.i, "invalid JSON: unexpected %s, expected a string key", p.describe(p.i))
		}
		keyOff := p.i
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[key]; dup {
			return nil, p.errorf(keyOff, "duplicate key %q (first at %s)", key, p.doc.Pos(prev))
		}
		seen[key] = keyOff
		p.skipSpace()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, p.errorf(p.i, "invalid JSON: unexpected %s, expected ':' after key %q", p.describe(p.i), key)
		}
		p.i++
		p.skipSpace()
		val, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v.Members = append(v.Members, jsonMember{Key: key, KeyOff: keyOff, Value: val})
		p.skipSpace()
		if p.i < len(p.data) {
			switch p.data[p.i] {
			case ',':
				p.i++
				continue
			case '}':
				p.i++
				return v, nil
			}
		}
		return nil, p.errorf(p.i, "invalid JSON: unexpected %s, expected ',' or '}'", p.describe(p.i))
	}
}

func (p *jsonParser) array(depth int) (*jsonValue, error) {
	v := &jsonValue{Kind: jsonArray, Off: p.i}
	p.i++ // [
	p.skipSpace()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return v, nil
	}
	for {
		p.skipSpace()
		e, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v.Elems = append(v.Elems, e)
		p.skipSpace()
		if p.i < len(p.data) {
			switch p.data[p.i] {
			case ',':
				p.i++
				continue
			case ']':
				p.i++
				return v, nil
			}
		}
		return nil, p.errorf(p.i, "invalid JSON: unexpected %s, expected ',' or ']'", p.describe(p.i))
	}
}

// str scans a string starting at its opening quote and decodes it.
func (p *jsonParser) str() (string, error) {
	start := p.i
	p.i++ // "
	plain := true
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			raw := p.data[start:p.i]
			if plain {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", p.errorf(start, "invalid JSON string: %v", err)
			}
			return s, nil
		case c == '\\':
			plain = false
			if p.i+1 >= len(p.data) {
				return "", p.errorf(p.i, "invalid JSON: unexpected end of input in a string")
			}
			switch e := p.data[p.i+1]; e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if p.i+6 > len(p.data) {
					return "", p.errorf(p.i, "invalid JSON: short \\u escape")
				}
				if _, err := strconv.ParseUint(string(p.data[p.i+2:p.i+6]), 16, 16); err != nil {
					return "", p.errorf(p.i, "invalid JSON: bad \\u escape %q", p.data[p.i:p.i+6])
				}
				p.i += 6
			default:
				return "", p.errorf(p.i, "invalid JSON: bad escape \\%c in a string", e)
			}
		case c < 0x20:
			return "", p.errorf(p.i, "invalid JSON: control character %#02x in a string", c)
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, n := utf8.DecodeRune(p.data[p.i:])
			if r == utf8.RuneError && n == 1 {
				return "", p.errorf(p.i, "invalid JSON: invalid UTF-8 in a string")
			}
			p.i += n
		}
	}
	return "", p.errorf(start, "invalid JSON: string never ends")
}

// number scans a JSON number and keeps its text.
func (p *jsonParser) number() (*jsonValue, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.data[p.i] == '-' {
		p.i++
	}
	intStart := p.i
	if digits() == 0 {
		return nil, p.errorf(p.i, "invalid JSON: unexpected %s in a number", p.describe(p.i))
	}
	if p.data[intStart] == '0' && p.i-intStart > 1 {
		return nil, p.errorf(intStart, "invalid JSON: number with a leading zero")
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.errorf(p.i, "invalid JSON: unexpected %s in a number", p.describe(p.i))
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.errorf(p.i, "invalid JSON: unexpected %s in a number", p.describe(p.i))
		}
	}
	return &jsonValue{Kind: jsonNumber, Off: start, Str: string(p.data[start:p.i])}, nil
}
