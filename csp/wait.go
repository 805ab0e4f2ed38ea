package csp

import (
	"context"
	"sync"
)

// Wait waits for wg until ctx is done; it returns ctx's error if ctx ends
// first. Providers that own goroutines use it in Close.
func Wait(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
