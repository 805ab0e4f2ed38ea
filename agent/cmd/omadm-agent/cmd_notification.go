package main

import (
	"context"
	"errors"
)

// cmdNotification is being written; it replaces this placeholder.
func cmdNotification(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not built yet")
}
