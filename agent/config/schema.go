package config

import (
	"reflect"
	"strings"
)

// Keys returns every key of the schema as a dotted path, in declaration
// order: tables ("modem") and their keys ("modem.baud"). The keys of
// [[server]] tables are listed as "server.<key>".
func Keys() []string {
	var out []string
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		name := tagName(f)
		out = append(out, name)
		st := f.Type
		if st.Kind() == reflect.Slice {
			st = st.Elem()
		}
		for j := range st.NumField() {
			out = append(out, name+"."+tagName(st.Field(j)))
		}
	}
	return out
}

// Live reports whether the daemon applies a change of key without a
// restart (the `reload:"live"` tag). key is a dotted path as in [Keys];
// server keys may carry an index ("server[x].steady_interval").
func Live(key string) bool {
	parts := strings.SplitN(stripIndex(key), ".", 2)
	t := reflect.TypeFor[Config]()
	f, ok := fieldByTag(t, parts[0])
	if !ok {
		return false
	}
	if f.Tag.Get("reload") == "live" {
		return true
	}
	if len(parts) == 1 || f.Type.Kind() != reflect.Struct {
		return false
	}
	g, ok := fieldByTag(f.Type, parts[1])
	return ok && g.Tag.Get("reload") == "live"
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

// suggest returns the known key closest to the unknown key, or "".
// A key in the wrong table ("agent.baud") suggests the table that has it
// ("modem.baud"); a misspelt key suggests the nearest key of the same table
// within an edit distance of half its length (at least 2), or one that
// starts with it ("steady" suggests "steady_interval").
func suggest(unknown string) string {
	table, last, nested := strings.Cut(unknown, ".")
	if !nested {
		last, table = table, ""
	}
	limit := max(2, len(last)/2)
	best, bestScore := "", limit+1
	for _, k := range Keys() {
		kt, kl, kNested := strings.Cut(k, ".")
		if !kNested {
			kl, kt = kt, ""
		}
		var score int
		switch {
		case kt == table:
			score = levenshtein(last, kl)
			if len(last) >= 4 && (strings.HasPrefix(kl, last) || strings.HasPrefix(last, kl)) {
				score = min(score, limit)
			}
		case kl == last && table != "" && kt != "":
			score = 1
		default:
			continue
		}
		if score < bestScore {
			best, bestScore = k, score
		}
	}
	return best
}

// levenshtein is the edit distance between a and b (bytes).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
