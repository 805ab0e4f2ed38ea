package main

import (
	"context"
	"errors"
)

// cmdTree is being written; it replaces this placeholder.
func cmdTree(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not built yet")
}

// cmdBootstrap is being written; it replaces this placeholder.
func cmdBootstrap(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not built yet")
}

// cmdDDF is being written; it replaces this placeholder.
func cmdDDF(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not built yet")
}
