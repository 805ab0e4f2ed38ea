package modem

import (
	"errors"
	"sort"
	"time"
)

// Reasons a partial message is dropped by the Reassembler.
var (
	ErrReassemblyTimeout = errors.New("concatenated SMS timed out waiting for segments")
	ErrReassemblyEvicted = errors.New("concatenated SMS evicted: too many partial messages")
	ErrSegmentTooLarge   = errors.New("segment larger than the reassembly memory bound")
)

// NoIndex marks a segment that is not held in the modem's storage (direct
// +CMT delivery).
const NoIndex = -1

// partKey identifies one concatenated message (TS 23.040 §9.2.3.24.1).
type partKey struct {
	from  string
	ref   int
	ref16 bool
	total int
}

type partial struct {
	key      partKey
	parts    map[int][]byte // seq → payload
	at       time.Time      // SCTS of the first segment seen
	indexes  []int          // storage indexes of every segment (incl. duplicates)
	deadline time.Time
	bytes    int
	seqNo    uint64 // insertion order, for eviction
}

// Message is a reassembled concatenated SMS payload.
type Message struct {
	From    string
	At      time.Time
	Payload []byte // user data of every segment, UDH stripped, in seq order
	Indexes []int  // storage indexes to delete once handled
}

// Dropped is a partial message given up on.
type Dropped struct {
	From    string
	Ref     int
	Total   int
	Have    int   // segments received
	Indexes []int // storage indexes of the received segments
	Reason  error // ErrReassemblyTimeout, ErrReassemblyEvicted or ErrSegmentTooLarge
}

// Reassembler joins the segments of concatenated SMS, keyed by (originator,
// reference, total), with a timeout and memory bounds. It is not safe for
// concurrent use: the Run goroutine owns it.
type Reassembler struct {
	timeout     time.Duration
	maxPartials int
	maxBytes    int
	partials    map[partKey]*partial
	bytes       int
	counter     uint64
}

// NewReassembler returns a Reassembler. timeout is counted from the first
// segment seen; maxPartials and maxBytes bound the partial messages kept.
func NewReassembler(timeout time.Duration, maxPartials, maxBytes int) *Reassembler {
	return &Reassembler{timeout: timeout, maxPartials: maxPartials, maxBytes: maxBytes,
		partials: make(map[partKey]*partial)}
}

// Len returns the number of partial messages held.
func (r *Reassembler) Len() int { return len(r.partials) }

// Bytes returns the payload bytes held.
func (r *Reassembler) Bytes() int { return r.bytes }

// Add adds one segment (seg.UDH.Concat must be set with Total > 1) stored at
// index (NoIndex if not stored). It returns the complete message when this
// segment completes it, and the partials dropped to stay within bounds.
// A duplicate segment (same seq) keeps the first payload but records its
// index, so that it is deleted with the message.
func (r *Reassembler) Add(seg Segment, index int, now time.Time) (*Message, []Dropped) {
	c := seg.UDH.Concat
	if c == nil || c.Total < 2 || c.Seq < 1 || c.Seq > c.Total {
		// Not a segment: a message on its own.
		return &Message{From: seg.From, At: seg.At, Payload: seg.Payload, Indexes: indexList(index)}, nil
	}
	key := partKey{from: seg.From, ref: c.Ref, ref16: c.Ref16, total: c.Total}
	var dropped []Dropped
	if len(seg.Payload) > r.maxBytes {
		d := Dropped{From: seg.From, Ref: c.Ref, Total: c.Total, Have: 1, Indexes: indexList(index), Reason: ErrSegmentTooLarge}
		if p, ok := r.partials[key]; ok {
			d = r.drop(p, ErrSegmentTooLarge)
			d.Indexes = append(d.Indexes, indexList(index)...)
		}
		return nil, []Dropped{d}
	}
	p, ok := r.partials[key]
	if !ok {
		for len(r.partials) >= r.maxPartials && len(r.partials) > 0 {
			dropped = append(dropped, r.drop(r.oldest(), ErrReassemblyEvicted))
		}
		r.counter++
		p = &partial{key: key, parts: make(map[int][]byte, c.Total), at: seg.At,
			deadline: now.Add(r.timeout), seqNo: r.counter}
		r.partials[key] = p
	}
	if index != NoIndex && !containsInt(p.indexes, index) {
		p.indexes = append(p.indexes, index)
	}
	if _, dup := p.parts[c.Seq]; !dup {
		for r.bytes+len(seg.Payload) > r.maxBytes {
			o := r.oldestExcept(p)
			if o == nil {
				break
			}
			dropped = append(dropped, r.drop(o, ErrReassemblyEvicted))
		}
		if r.bytes+len(seg.Payload) > r.maxBytes {
			d := r.drop(p, ErrReassemblyEvicted)
			return nil, append(dropped, d)
		}
		p.parts[c.Seq] = append([]byte{}, seg.Payload...)
		p.bytes += len(seg.Payload)
		r.bytes += len(seg.Payload)
		if c.Seq == 1 {
			p.at = seg.At
		}
	}
	if len(p.parts) < c.Total {
		return nil, dropped
	}
	delete(r.partials, key)
	r.bytes -= p.bytes
	m := &Message{From: key.from, At: p.at, Indexes: p.indexes}
	m.Payload = make([]byte, 0, p.bytes)
	for i := 1; i <= c.Total; i++ {
		m.Payload = append(m.Payload, p.parts[i]...)
	}
	return m, dropped
}

// Expire drops the partial messages whose deadline is not after now.
func (r *Reassembler) Expire(now time.Time) []Dropped {
	var out []Dropped
	for _, p := range r.sorted() {
		if !p.deadline.After(now) {
			out = append(out, r.drop(p, ErrReassemblyTimeout))
		}
	}
	return out
}

// NextDeadline returns the earliest deadline of the partial messages held.
func (r *Reassembler) NextDeadline() (time.Time, bool) {
	var next time.Time
	for _, p := range r.partials {
		if next.IsZero() || p.deadline.Before(next) {
			next = p.deadline
		}
	}
	return next, !next.IsZero()
}

func (r *Reassembler) drop(p *partial, reason error) Dropped {
	delete(r.partials, p.key)
	r.bytes -= p.bytes
	return Dropped{From: p.key.from, Ref: p.key.ref, Total: p.key.total, Have: len(p.parts),
		Indexes: p.indexes, Reason: reason}
}

func (r *Reassembler) sorted() []*partial {
	ps := make([]*partial, 0, len(r.partials))
	for _, p := range r.partials {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].seqNo < ps[j].seqNo })
	return ps
}

func (r *Reassembler) oldest() *partial { return r.oldestExcept(nil) }

func (r *Reassembler) oldestExcept(x *partial) *partial {
	var o *partial
	for _, p := range r.partials {
		if p != x && (o == nil || p.seqNo < o.seqNo) {
			o = p
		}
	}
	return o
}

func indexList(i int) []int {
	if i == NoIndex {
		return nil
	}
	return []int{i}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
