package main

import (
	"context"
	"errors"
)

// cmdRun is being written; it replaces this placeholder.
func cmdRun(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not built yet")
}

// cmdStatus is being written; it replaces this placeholder.
func cmdStatus(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not built yet")
}
