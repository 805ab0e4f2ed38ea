package main

import (
	"context"
	"errors"
)

// cmdSyncml is being written; it replaces this placeholder.
func cmdSyncml(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not built yet")
}
