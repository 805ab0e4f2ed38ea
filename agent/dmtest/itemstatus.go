package dmtest

import (
	"strconv"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// Per-Item statuses (OMA SyncML RepPro 1.2, Status with TargetRef/SourceRef):
// a client may answer a command with one Status, or with one Status per
// Item (or per group of Items) naming them in TargetRef/SourceRef; it must
// do the latter when the Items get different codes (an Add of three Items
// whose last is a large-object chunk: 200, 200, 213). These helpers tell
// which Items of a command a Status names.

// itemRef is one Item of a command, as a Status names it: TargetRef is
// the Item's Target/LocURI, SourceRef its Source/LocURI.
type itemRef struct{ target, source string }

func itemRefs(c *syncml.Command) []itemRef {
	out := make([]itemRef, 0, len(c.Items))
	for _, it := range c.Items {
		var r itemRef
		if it.Target != nil {
			r.target = it.Target.LocURI
		}
		if it.Source != nil {
			r.source = it.Source.LocURI
		}
		out = append(out, r)
	}
	return out
}

// uri is how an expectation names the Item: its Target, else its Source.
func (r itemRef) uri() string {
	if r.target != "" {
		return r.target
	}
	return r.source
}

// hasURI reports whether the Item's Target or Source is u.
func (r itemRef) hasURI(u string) bool {
	return (r.target != "" && sameURI(r.target, u)) || (r.source != "" && sameURI(r.source, u))
}

// sameURI compares two device URIs, ignoring a leading "./" and a
// trailing "/" ("./A/b" and "A/b/" are the same node).
func sameURI(a, b string) bool { return normURI(a) == normURI(b) }

func normURI(u string) string {
	u = strings.TrimPrefix(u, "./")
	if len(u) > 1 {
		u = strings.TrimSuffix(u, "/")
	}
	return u
}

// names reports whether Status st names Item r in a TargetRef or a
// SourceRef.
func names(st *syncml.Command, r itemRef) bool {
	if r.target != "" {
		for _, t := range st.TargetRefs {
			if sameURI(t, r.target) {
				return true
			}
		}
	}
	if r.source != "" {
		for _, s := range st.SourceRefs {
			if sameURI(s, r.source) {
				return true
			}
		}
	}
	return false
}

// matchItems returns the indexes of the Items of a command that Status st
// names, given which Items earlier Statuses of the same command answered
// (taken, len(items) long, may be nil). Items with the same Target and
// Source are told apart by order: a Status names the first of them not
// yet taken. dup reports that st names an Item every copy of which was
// already taken.
func matchItems(items []itemRef, taken []bool, st *syncml.Command) (named []int, dup bool) {
	seen := map[itemRef]bool{}
	for i, it := range items {
		if seen[it] || !names(st, it) {
			continue
		}
		seen[it] = true
		pick := -1
		for j := i; j < len(items); j++ {
			if items[j] == it && (taken == nil || !taken[j]) {
				pick = j
				break
			}
		}
		if pick < 0 {
			dup = true
			pick = i
		}
		named = append(named, pick)
	}
	return named, dup
}

// answer is one Status the client returned for a command.
type answer struct {
	code  int
	items []int // the Items it names; nil: the whole command
}

// itemAnswers tracks the Statuses of one command and judges each new one
// against RepPro: the first Status is always accepted; more are accepted
// only as per-Item Statuses, each naming Items no earlier Status named,
// after a first Status that named Items too. As each accepted Status takes
// at least one Item of its own, a command never gets more accepted
// Statuses than it has Items.
type itemAnswers struct {
	items   []itemRef
	answers []answer
	taken   []bool
}

// add records Status st with code and returns "" or why st is a duplicate.
func (a *itemAnswers) add(st *syncml.Command, code int) string {
	if a.taken == nil {
		a.taken = make([]bool, len(a.items))
	}
	named, dup := matchItems(a.items, a.taken, st)
	prior := len(a.answers)
	a.answers = append(a.answers, answer{code: code, items: named})
	for _, i := range named {
		a.taken[i] = true
	}
	switch {
	case prior == 0:
		return ""
	case a.answers[0].items == nil:
		return "its first Status named no Item (TargetRef/SourceRef), so it answered the whole command"
	case len(named) == 0:
		return "this Status names no Item of the command (TargetRef/SourceRef), so it answers the whole command again"
	case dup:
		var u []string
		for _, i := range named {
			u = append(u, a.items[i].uri())
		}
		return "an earlier Status already answered Item " + strings.Join(u, ", ")
	}
	return ""
}

// missing returns the URIs of the Items no Status answered, when the
// client answered per Item (two Statuses or more, each naming Items); one
// Status answers the whole command whatever it names, and so does one
// that names no Item (a duplicate, reported by add).
func (a *itemAnswers) missing() []string {
	if len(a.answers) < 2 {
		return nil
	}
	for _, x := range a.answers {
		if len(x.items) == 0 {
			return nil
		}
	}
	var out []string
	for i, t := range a.taken {
		if !t {
			u := a.items[i].uri()
			if u == "" {
				u = "#" + strconv.Itoa(i+1)
			}
			out = append(out, u)
		}
	}
	return out
}

// codes returns the codes of every Status of the command.
func (a *itemAnswers) codes() []int {
	out := make([]int, 0, len(a.answers))
	for _, x := range a.answers {
		out = append(out, x.code)
	}
	return out
}

// codesFor returns the codes of the Statuses that answer the Item whose
// Target or Source is u: the Statuses naming it, or the only Status of
// the command (one Status answers every Item). item reports whether the
// command has such an Item.
func (a *itemAnswers) codesFor(u string) (codes []int, item bool) {
	for _, it := range a.items {
		if it.hasURI(u) {
			item = true
		}
	}
	if !item {
		return nil, false
	}
	if len(a.answers) == 1 {
		return []int{a.answers[0].code}, true
	}
	for _, x := range a.answers {
		for _, i := range x.items {
			if a.items[i].hasURI(u) {
				codes = append(codes, x.code)
				break
			}
		}
	}
	return codes, true
}
