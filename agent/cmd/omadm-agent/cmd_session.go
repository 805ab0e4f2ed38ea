package main

import (
	"context"
	"errors"
)

// cmdSession is being written; it replaces this placeholder.
func cmdSession(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not built yet")
}

// cmdNotify is being written; it replaces this placeholder.
func cmdNotify(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not built yet")
}
