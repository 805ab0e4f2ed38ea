package config

import "time"

// Backoff returns how long to wait before retry n (counted from 1) of a
// connection that failed, and false when n exceeds ConnRetryFreq, meaning
// the attempt is given up (the trigger stays queued for the next poll or
// push). The wait starts at InitialBackoff and doubles with every retry,
// capped at MaxBackoff:
//
//	wait(n) = min(InitialBackoff * 2^(n-1), MaxBackoff)
//
// With the defaults (3, 16s, 24h) the retries come 16s, 32s and 64s after
// each failure. These are the w7 CONNRETRYFREQ, INITIALBACKOFFTIME and
// MAXBACKOFFTIME semantics.
func (t Transport) Backoff(n int) (time.Duration, bool) {
	if n < 1 || n > t.ConnRetryFreq {
		return 0, false
	}
	d := t.InitialBackoff
	for i := 1; i < n; i++ {
		if d >= t.MaxBackoff/2 {
			d = t.MaxBackoff
			break
		}
		d *= 2
	}
	return min(d, t.MaxBackoff), true
}

// PollDelay returns how long to wait before poll n (counted from 1, from
// the start of the agent or the moment the server's account appears), and
// false when no more polls are scheduled.
//
// Polls 1 to FirstRetries each come FirstInterval after the previous one;
// the next SecondRetries polls come SecondInterval apart; after that a poll
// comes every SteadyInterval for ever, or never if SteadyInterval is 0. A
// phase with 0 retries is skipped. Unlike the Windows DMClient, 0 retries
// never means "infinite": the steady phase is the infinite one.
//
// A poll that fails is retried on the [Transport.Backoff] schedule when
// RetryOnFailure is set; retries do not count as polls.
func (s Server) PollDelay(n int) (time.Duration, bool) {
	if n < 1 {
		return 0, false
	}
	if n <= s.FirstRetries {
		return s.FirstInterval, s.FirstInterval > 0
	}
	n -= s.FirstRetries
	if n <= s.SecondRetries {
		return s.SecondInterval, s.SecondInterval > 0
	}
	return s.SteadyInterval, s.SteadyInterval > 0
}
