package agent

import "time"

// replayCache remembers recently accepted notifications (ServerID,
// SessionID, digest) for a window. It holds at most max entries; when full
// the oldest is forgotten (a replay older than the max-th accepted
// notification is then only stopped by the digest's nonce). Not safe for
// concurrent use; the Router locks.
type replayCache struct {
	max   int
	seen  map[string]time.Time
	order []string // insertion order, oldest first
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: map[string]time.Time{}}
}

// check reports whether key was seen within window before now, and records
// it (with time now) if not.
func (c *replayCache) check(key string, now time.Time, window time.Duration) bool {
	if window <= 0 {
		return false
	}
	if at, ok := c.seen[key]; ok && now.Sub(at) < window {
		return true
	}
	// Drop expired entries from the front, and the oldest if full.
	for len(c.order) > 0 {
		k := c.order[0]
		at, ok := c.seen[k]
		if ok && now.Sub(at) < window && len(c.seen) < c.max {
			break
		}
		delete(c.seen, k)
		c.order = c.order[1:]
	}
	if _, ok := c.seen[key]; !ok {
		c.order = append(c.order, key)
	}
	c.seen[key] = now
	return false
}

func (c *replayCache) len() int { return len(c.seen) }

// bucket is a token bucket: capacity tokens, refilled at capacity per
// minute.
type bucket struct {
	tokens float64
	last   time.Time
}

// rateLimiter keeps one bucket per server, at most max buckets (the least
// recently used is evicted; an evicted server starts with a full bucket).
type rateLimiter struct {
	max     int
	buckets map[string]*bucket
}

func newRateLimiter(max int) *rateLimiter {
	return &rateLimiter{max: max, buckets: map[string]*bucket{}}
}

// allow takes one token from server's bucket. perMinute <= 0 means no limit.
func (r *rateLimiter) allow(server string, now time.Time, perMinute int) bool {
	if perMinute <= 0 {
		return true
	}
	capacity := float64(perMinute)
	b, ok := r.buckets[server]
	if !ok {
		if len(r.buckets) >= r.max {
			var oldK string
			var oldT time.Time
			for k, v := range r.buckets {
				if oldK == "" || v.last.Before(oldT) {
					oldK, oldT = k, v.last
				}
			}
			delete(r.buckets, oldK)
		}
		b = &bucket{tokens: capacity, last: now}
		r.buckets[server] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(capacity, b.tokens+el.Minutes()*capacity)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
