package csp_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/tree"
)

func TestBusError(t *testing.T) {
	tests := []struct {
		name    string
		err     *csp.BusError
		text    string
		status  int
		unavail bool
	}{
		{"refused",
			&csp.BusError{Service: "org.freedesktop.hostname1", Member: "SetStaticHostname",
				Name: "org.freedesktop.DBus.Error.AccessDenied", Message: "boom", Err: tree.ErrCommandFailed},
			"org.freedesktop.hostname1 SetStaticHostname: org.freedesktop.DBus.Error.AccessDenied: boom", 500, false},
		{"invalid args",
			&csp.BusError{Service: "org.freedesktop.timedate1", Member: "SetTimezone",
				Name: "org.freedesktop.DBus.Error.InvalidArgs", Message: "Invalid or not installed time zone 'X'", Err: tree.ErrBadRequest},
			"org.freedesktop.timedate1 SetTimezone: org.freedesktop.DBus.Error.InvalidArgs: Invalid or not installed time zone 'X'", 400, false},
		{"unavailable",
			&csp.BusError{Service: "org.freedesktop.timedate1", Member: "Get NTP",
				Name: "org.freedesktop.DBus.Error.ServiceUnknown", Message: "org.freedesktop.DBus.Error.ServiceUnknown",
				Err: fmt.Errorf("%w: %w", csp.ErrServiceUnavailable, tree.ErrCommandFailed)},
			"org.freedesktop.timedate1 Get NTP: org.freedesktop.DBus.Error.ServiceUnknown (D-Bus service unavailable)", 500, true},
		{"timeout",
			&csp.BusError{Service: "org.freedesktop.hostname1", Member: "Get Hostname",
				Err: fmt.Errorf("no reply: %w: %w", context.DeadlineExceeded, tree.ErrCommandFailed)},
			"org.freedesktop.hostname1 Get Hostname: no reply: context deadline exceeded: command failed", 500, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wrapped := fmt.Errorf("provider: %w", tc.err)
			if got := tc.err.Error(); got != tc.text {
				t.Errorf("Error: got %q, want %q", got, tc.text)
			}
			if got := tree.StatusCode(wrapped); got != tc.status {
				t.Errorf("StatusCode: got %d, want %d", got, tc.status)
			}
			if got := errors.Is(wrapped, csp.ErrServiceUnavailable); got != tc.unavail {
				t.Errorf("Is ErrServiceUnavailable: got %v, want %v", got, tc.unavail)
			}
		})
	}
}
