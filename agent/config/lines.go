package config

import (
	"strconv"
	"strings"
)

// keyLines records the line of every key and table header of a TOML
// document that the toml package has already parsed successfully.
//
// The toml package (v1.6.0) keeps key positions private, and keeps one
// position per key name, so the keys of the second [[server]] table would
// overwrite those of the first. This small scanner walks the text instead.
// Paths are dotted, and every element of an array of tables carries its
// index: "server[1].steady_interval". Keys inside inline tables or arrays
// are not recorded; lookup falls back to the enclosing key.
type keyLines map[string]int

func scanKeyLines(doc string) keyLines {
	kl := keyLines{}
	arrays := map[string]int{} // indexed path of an array of tables -> element count
	var table string           // indexed path of the current table
	var st valueScanner
	for i, line := range strings.Split(doc, "\n") {
		n := i + 1
		if st.open() {
			st.scan(line)
			continue
		}
		t := strings.TrimLeft(line, " \t")
		if t == "" || t[0] == '#' {
			continue
		}
		if t[0] == '[' {
			isArray := strings.HasPrefix(t, "[[")
			start := 1
			if isArray {
				start = 2
			}
			parts, _, ok := parseKey(t, start)
			if !ok {
				continue
			}
			table = indexPath(arrays, parts, isArray)
			kl[table] = n
			continue
		}
		parts, j, ok := parseKey(t, 0)
		if !ok || j >= len(t) || t[j] != '=' {
			continue
		}
		p := table
		for _, part := range parts {
			p = joinKey(p, part)
		}
		if _, dup := kl[p]; !dup {
			kl[p] = n
		}
		st.scan(t[j+1:])
	}
	return kl
}

// indexPath returns the indexed path of a table header. Parents that are
// arrays of tables get the index of their last element; for a [[header]]
// a new element is counted.
func indexPath(arrays map[string]int, parts []string, isArray bool) string {
	var p string
	for i, part := range parts {
		p = joinKey(p, part)
		last := i == len(parts)-1
		if last && isArray {
			arrays[p]++
			p += "[" + strconv.Itoa(arrays[p]-1) + "]"
		} else if c, ok := arrays[p]; ok {
			p += "[" + strconv.Itoa(c-1) + "]"
		}
	}
	return p
}

func joinKey(prefix, part string) string {
	if prefix == "" {
		return part
	}
	return prefix + "." + part
}

// lookup returns the line of path, or of its nearest recorded ancestor,
// or 0.
func (kl keyLines) lookup(path string) int {
	for path != "" {
		if n, ok := kl[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// parseKey reads a possibly dotted, possibly quoted key starting at s[i]
// and returns its parts and the index after it and any following blanks.
func parseKey(s string, i int) (parts []string, next int, ok bool) {
	for {
		i = skipBlanks(s, i)
		if i >= len(s) {
			return nil, i, false
		}
		var part string
		switch s[i] {
		case '"':
			j := i + 1
			var b strings.Builder
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
				j++
			}
			if j >= len(s) {
				return nil, j, false
			}
			part, i = b.String(), j+1
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, len(s), false
			}
			part, i = s[i+1:i+1+j], i+2+j
		default:
			j := i
			for j < len(s) && isBareKeyChar(s[j]) {
				j++
			}
			if j == i {
				return nil, i, false
			}
			part, i = s[i:j], j
		}
		parts = append(parts, part)
		i = skipBlanks(s, i)
		if i < len(s) && s[i] == '.' {
			i++
			continue
		}
		return parts, i, true
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// valueScanner follows a value across lines: multi-line strings, and
// arrays and inline tables that span lines.
type valueScanner struct {
	depth int    // open [ and {
	ml    string // `"""` or `'''` while inside a multi-line string
}

func (v *valueScanner) open() bool { return v.depth > 0 || v.ml != "" }

func (v *valueScanner) scan(s string) {
	for i := 0; i < len(s); {
		if v.ml != "" {
			j := v.closeML(s, i)
			if j < 0 {
				return
			}
			i, v.ml = j, ""
			continue
		}
		switch c := s[i]; c {
		case '#':
			return
		case '"', '\'':
			if strings.HasPrefix(s[i:], strings.Repeat(string(c), 3)) {
				v.ml = s[i : i+3]
				i += 3
				continue
			}
			j := i + 1
			for j < len(s) && s[j] != c {
				if c == '"' && s[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
		case '[', '{':
			v.depth++
			i++
		case ']', '}':
			if v.depth > 0 {
				v.depth--
			}
			i++
		default:
			i++
		}
	}
}

// closeML returns the index after the delimiter closing the current
// multi-line string in s[i:], or -1 if it does not close on this line.
func (v *valueScanner) closeML(s string, i int) int {
	for i < len(s) {
		if v.ml == `"""` && s[i] == '\\' {
			i += 2
			continue
		}
		if strings.HasPrefix(s[i:], v.ml) {
			i += 3
			// Up to two quotes of the delimiter kind may precede the end.
			for k := 0; k < 2 && i < len(s) && s[i] == v.ml[0]; k++ {
				i++
			}
			return i
		}
		i++
	}
	return -1
}
