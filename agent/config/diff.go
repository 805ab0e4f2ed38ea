package config

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Change is one key whose value differs between two configurations. Old
// and New are printed as in a TOML file; "" stands for a server entry that
// does not exist on that side.
type Change struct {
	Key      string
	Old, New string
}

func (c Change) String() string {
	return fmt.Sprintf("%s: %s -> %s", c.Key, orNone(c.Old), orNone(c.New))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Diff compares two configurations and splits the changed keys into those
// the daemon applies live (the `reload:"live"` fields: agent.log_level,
// the transport retry schedule, push.ui_user_interaction, all of [ui] and
// every [[server]] poll schedule) and those that need a restart. Keys come
// in schema order; [[server]] changes are keyed "server[ID].key", and an
// added or removed server is one Change with Key "server[ID]".
func Diff(old, new Config) (live []Change, needRestart []Change) {
	add := func(key string, isLive bool, o, n string) {
		ch := Change{Key: key, Old: o, New: n}
		if isLive {
			live = append(live, ch)
		} else {
			needRestart = append(needRestart, ch)
		}
	}
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(new)
	t := ov.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := tagName(f)
		if f.Type.Kind() == reflect.Slice {
			diffServers(old.Servers, new.Servers, func(key, o, n string) { add(key, Live(key), o, n) })
			continue
		}
		diffStruct(name, ov.Field(i), nv.Field(i), func(key, o, n string) { add(key, Live(key), o, n) })
	}
	return live, needRestart
}

func diffStruct(prefix string, o, n reflect.Value, add func(key, o, n string)) {
	for j := range o.NumField() {
		a, b := o.Field(j), n.Field(j)
		if reflect.DeepEqual(a.Interface(), b.Interface()) {
			continue
		}
		add(prefix+"."+tagName(o.Type().Field(j)), formatValue(a), formatValue(b))
	}
}

func diffServers(old, new []Server, add func(key, o, n string)) {
	find := func(list []Server, id string) (Server, bool) {
		for _, s := range list {
			if s.ServerID == id {
				return s, true
			}
		}
		return Server{}, false
	}
	for _, o := range old {
		key := "server[" + o.ServerID + "]"
		n, ok := find(new, o.ServerID)
		if !ok {
			add(key, "present", "")
			continue
		}
		diffStruct(key, reflect.ValueOf(o), reflect.ValueOf(n), add)
	}
	for _, n := range new {
		if _, ok := find(old, n.ServerID); !ok {
			add("server["+n.ServerID+"]", "", "present")
		}
	}
}

// formatValue prints a leaf as it would appear in a TOML file.
func formatValue(v reflect.Value) string {
	if v.Type() == durationType {
		return strconv.Quote(fmtDuration(time.Duration(v.Int())))
	}
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = formatValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// Write prints c as a TOML document that Parse reads back to the same
// configuration (durations as strings like "24h"), for "show the effective
// configuration".
func Write(w io.Writer, c Config) error {
	doc := map[string]any{}
	rv := reflect.ValueOf(c)
	t := rv.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Slice {
			var list []map[string]any
			for j := range rv.Field(i).Len() {
				list = append(list, tableOf(rv.Field(i).Index(j)))
			}
			if len(list) > 0 {
				doc[tagName(f)] = list
			}
			continue
		}
		doc[tagName(f)] = tableOf(rv.Field(i))
	}
	if err := toml.NewEncoder(w).Encode(doc); err != nil {
		return fmt.Errorf("encode configuration: %w", err)
	}
	return nil
}

func tableOf(v reflect.Value) map[string]any {
	m := map[string]any{}
	for j := range v.NumField() {
		fv := v.Field(j)
		var out any = fv.Interface()
		if fv.Type() == durationType {
			out = fmtDuration(time.Duration(fv.Int()))
		}
		m[tagName(v.Type().Field(j))] = out
	}
	return m
}
