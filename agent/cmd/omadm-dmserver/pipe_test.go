package main

import "sync"

// pipe is a goroutine-safe growing buffer used as stdout in tests.
type pipe struct {
	mu  sync.Mutex
	buf []byte
}

func newPipe() (*pipe, *pipe) { p := &pipe{}; return p, p }

func (p *pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	return len(b), nil
}

func (p *pipe) all() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.buf...)
}
