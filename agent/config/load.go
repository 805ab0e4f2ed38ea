package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Position is where a setting was made.
type Position struct {
	File string
	Line int // 0 when unknown
}

func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// Sources tells where the effective value of each key came from, so that
// "status" can show it and Load can put a file and line on errors that
// Validate finds in the merged configuration.
type Sources struct {
	// Files are the files read, in the order they were applied.
	Files []string
	// Keys maps a dotted key ("modem.baud",
	// "server[dm.example.com].steady_interval") to the place that set its
	// effective value. Keys left at their default are absent.
	Keys map[string]Position
}

// Where returns the position of key, or of the nearest enclosing key that
// has one.
func (s Sources) Where(key string) (Position, bool) {
	for key != "" {
		if p, ok := s.Keys[key]; ok {
			return p, true
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return Position{}, false
}

// DropInDir returns the drop-in directory that belongs to the main file
// path: conf.d beside it.
func DropInDir(path string) string {
	return filepath.Join(filepath.Dir(path), "conf.d")
}

// Load reads the main file path, then every conf.d/*.toml beside it in
// lexical order (names starting with "." are ignored), each overriding the
// keys it sets; [[server]] tables merge by server_id. It then validates the
// result. The error lists every problem found in every file (errors.Join
// of *KeyError, each naming file, line and key). A missing main file is one
// of those problems and wraps fs.ErrNotExist; a missing conf.d is not a
// problem. On error the returned Config is the zero value.
func Load(path string) (Config, Sources, error) {
	files := []string{path}
	dir := DropInDir(path)
	entries, err := os.ReadDir(dir)
	var errs []error
	switch {
	case err == nil:
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".toml") || e.IsDir() {
				continue
			}
			files = append(files, filepath.Join(dir, name))
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		errs = append(errs, &KeyError{File: dir, Err: err})
	}

	c := Default()
	src := Sources{Keys: map[string]Position{}}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, &KeyError{File: name, Err: err})
			continue
		}
		src.Files = append(src.Files, name)
		errs = append(errs, overlay(&c, &src, name, data)...)
	}
	return finish(c, src, errs)
}

// Parse reads one TOML document from r over Default() and validates the
// result, like Load does for a single file. name is only used in errors.
func Parse(name string, r io.Reader) (Config, Sources, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Config{}, Sources{}, fmt.Errorf("read %s: %w", name, err)
	}
	c := Default()
	src := Sources{Files: []string{name}, Keys: map[string]Position{}}
	errs := overlay(&c, &src, name, data)
	return finish(c, src, errs)
}

func finish(c Config, src Sources, errs []error) (Config, Sources, error) {
	if err := c.Validate(); err != nil {
		for _, e := range unjoin(err) {
			var ke *KeyError
			if errors.As(e, &ke) && ke.File == "" {
				p, ok := src.Keys[ke.Key]
				if !ok && ke.near != "" {
					p, ok = src.Keys[ke.near]
				}
				if !ok {
					p, ok = src.Where(ke.Key)
				}
				if ok {
					ke.File, ke.Line = p.File, p.Line
				}
			}
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		sortErrors(errs, src.Files)
		return Config{}, src, errors.Join(errs...)
	}
	return c, src, nil
}

// sortErrors orders problems by file (in the order applied), then line;
// problems without a file come last.
func sortErrors(errs []error, files []string) {
	rank := func(e error) (int, int) {
		var ke *KeyError
		if !errors.As(e, &ke) || ke.File == "" {
			return len(files) + 1, 0
		}
		for i, f := range files {
			if f == ke.File {
				return i, ke.Line
			}
		}
		return len(files), ke.Line
	}
	sort.SliceStable(errs, func(i, j int) bool {
		fi, li := rank(errs[i])
		fj, lj := rank(errs[j])
		if fi != fj {
			return fi < fj
		}
		return li < lj
	})
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// overlay applies one document to c and returns its problems in line order.
func overlay(c *Config, src *Sources, name string, data []byte) []error {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return []error{&KeyError{File: name, Line: pe.Position.Line,
				Err: fmt.Errorf("%w: %s", ErrSyntax, pe.Message)}}
		}
		return []error{&KeyError{File: name, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}}
	}
	d := &decoder{file: name, lines: scanKeyLines(string(data)), src: src}
	d.root(raw, c)
	sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
	out := make([]error, len(d.errs))
	for i, e := range d.errs {
		out[i] = e
	}
	return out
}

// decoder applies the raw map of one document to a Config through the
// struct tags, collecting every problem instead of stopping at the first.
type decoder struct {
	file  string
	lines keyLines
	src   *Sources
	errs  []*KeyError
}

// fail records a problem; at is the indexed path used to find the line,
// key the name shown to the user.
func (d *decoder) fail(at, key, suggest string, err error) {
	d.errs = append(d.errs, &KeyError{File: d.file, Line: d.lines.lookup(at), Key: key, Suggest: suggest, Err: err})
}

func (d *decoder) set(at, key string) {
	d.src.Keys[key] = Position{File: d.file, Line: d.lines.lookup(at)}
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	serverType   = reflect.TypeFor[Server]()
)

func (d *decoder) root(raw map[string]any, c *Config) {
	rv := reflect.ValueOf(c).Elem()
	for _, k := range sortedKeys(raw) {
		f, ok := fieldByTag(rv.Type(), k)
		if !ok {
			d.fail(k, k, suggest(k), ErrUnknownKey)
			continue
		}
		fv := rv.FieldByIndex(f.Index)
		if f.Type == reflect.SliceOf(serverType) {
			d.servers(raw[k], c)
			continue
		}
		tbl, ok := raw[k].(map[string]any)
		if !ok {
			d.fail(k, k, "", badValue("want a table [%s], got %s", k, describe(raw[k])))
			continue
		}
		d.table(tbl, fv, k, k)
	}
}

// table applies tbl to the struct rv. at is the indexed path for line
// lookup, key the display path.
func (d *decoder) table(tbl map[string]any, rv reflect.Value, at, key string) {
	for _, k := range sortedKeys(tbl) {
		kat, kkey := at+"."+k, key+"."+k
		f, ok := fieldByTag(rv.Type(), k)
		if !ok {
			d.fail(kat, kkey, suggest(stripIndex(kkey)), ErrUnknownKey)
			continue
		}
		if err := setLeaf(rv.FieldByIndex(f.Index), tbl[k]); err != nil {
			d.fail(kat, kkey, "", err)
			continue
		}
		d.set(kat, kkey)
	}
}

// servers merges [[server]] tables into c.Servers by server_id.
func (d *decoder) servers(v any, c *Config) {
	list, ok := v.([]map[string]any)
	if !ok {
		d.fail("server", "server", "", badValue("want [[server]] tables, got %s", describe(v)))
		return
	}
	seen := map[string]string{} // server_id -> indexed path in this file
	for i, tbl := range list {
		at := "server[" + strconv.Itoa(i) + "]"
		idv, has := tbl["server_id"]
		id, isStr := idv.(string)
		switch {
		case !has:
			d.fail(at, at, "", badValue("missing server_id"))
			continue
		case !isStr:
			d.fail(at+".server_id", at+".server_id", "", badValue("want a string, got %s", describe(idv)))
			continue
		}
		key := "server[" + id + "]"
		if prev, dup := seen[id]; dup {
			d.fail(at+".server_id", key+".server_id", "",
				badValue("duplicate server_id %q (first at line %d)", id, d.lines.lookup(prev)))
			continue
		}
		seen[id] = at
		idx := -1
		for j := range c.Servers {
			if c.Servers[j].ServerID == id {
				idx = j
				break
			}
		}
		if idx < 0 {
			c.Servers = append(c.Servers, DefaultServer())
			idx = len(c.Servers) - 1
		}
		d.set(at, key)
		d.table(tbl, reflect.ValueOf(&c.Servers[idx]).Elem(), at, key)
	}
}

// setLeaf converts one TOML value into the field fv.
func setLeaf(fv reflect.Value, v any) error {
	if fv.Type() == durationType {
		s, ok := v.(string)
		if !ok {
			return badValue(`want a duration string such as "90s", "15m" or "24h", got %s`, describe(v))
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			return badValue(`invalid duration %q (want a number with a unit: "90s", "15m", "24h")`, s)
		}
		fv.SetInt(int64(dur))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return badValue("want a string, got %s", describe(v))
		}
		fv.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return badValue("want true or false, got %s", describe(v))
		}
		fv.SetBool(b)
	case reflect.Int:
		n, ok := v.(int64)
		if !ok {
			return badValue("want an integer, got %s", describe(v))
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return badValue("%d is out of range", n)
		}
		fv.SetInt(n)
	case reflect.Int64: // sizes in bytes
		n, ok := v.(int64)
		if !ok {
			return badValue("want an integer, got %s", describe(v))
		}
		fv.SetInt(n)
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return badValue("want an array of strings, got %s", describe(v))
		}
		var out []string // nil for [], so Diff and round trips see no change
		for i, e := range arr {
			s, ok := e.(string)
			if !ok {
				return badValue("element %d: want a string, got %s", i, describe(e))
			}
			out = append(out, s)
		}
		fv.Set(reflect.ValueOf(out))
	default:
		return badValue("want a plain value, got %s", describe(v))
	}
	return nil
}

// describe names a TOML value for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return "string " + strconv.Quote(x)
	case int64:
		return "integer " + strconv.FormatInt(x, 10)
	case float64:
		return "float " + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("a date/time %v", v)
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// fieldByTag finds the field of struct type t whose toml tag is name.
// Matching is exact: "Log_Level" is an unknown key.
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// stripIndex turns "server[x].foo" into "server.foo".
func stripIndex(key string) string {
	i := strings.IndexByte(key, '[')
	j := strings.LastIndexByte(key, ']')
	if i < 0 || j < i {
		return key
	}
	return key[:i] + key[j+1:]
}
