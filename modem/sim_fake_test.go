package modem_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/modem"
	"github.com/omadm-agent/omadm-agent/modem/modemtest"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest/atsim"
	"github.com/warthog618/modem/at"
)

// The SIM tests run the AT dialogue two ways:
//   - simCommander answers in process from an atsim.Modem (the fake SIM
//     front end: AT+CSIM, AT+CCHO/CGLA/CCHC, AT+CRSM over the cardtest
//     card), turning the final result code into the errors *modem.Modem's
//     Command returns (at.ErrError, at.CMEError, wrapped with the command);
//   - ptyCommander sends every command through a real *modem.Modem and the
//     warthog618/modem at pipeline to the modemtest pty fake, which answers
//     with atsim's lines in V.25ter framing (armed per command line).

type simCommander struct {
	sim *atsim.Modem
}

func (c simCommander) Command(ctx context.Context, cmd string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lines := c.sim.Answer("AT" + cmd)
	info, final := lines[:len(lines)-1], lines[len(lines)-1]
	switch {
	case final == "OK":
		return info, nil
	case final == "ERROR":
		return nil, fmt.Errorf("AT%s: %w", cmd, at.ErrError)
	case strings.HasPrefix(final, "+CME ERROR: "):
		return nil, fmt.Errorf("AT%s: %w", cmd, at.CMEError(strings.TrimPrefix(final, "+CME ERROR: ")))
	}
	return nil, fmt.Errorf("AT%s: final line %q", cmd, final)
}

type ptyCommander struct {
	f   *modemtest.Fake
	m   *modem.Modem
	sim *atsim.Modem
}

func (c *ptyCommander) Command(ctx context.Context, cmd string) ([]string, error) {
	c.f.FailNext("AT"+cmd, c.sim.Answer("AT"+cmd)...)
	return c.m.Command(ctx, cmd)
}

// loadSIM returns the fake SIM front end over a testdata/smartcard card.
func loadSIM(t testing.TB, name string, opts cardtest.Options) *atsim.Modem {
	t.Helper()
	return atsim.New(loadTestCard(t, name, opts))
}

func loadFS(t testing.TB, name string) *cardtest.FS {
	t.Helper()
	fs, err := cardtest.Load(filepath.Join("..", "testdata", "smartcard", name))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func loadTestCard(t testing.TB, name string, opts cardtest.Options) *cardtest.Card {
	t.Helper()
	return cardtest.NewCard(loadFS(t, name), opts)
}

// commanders returns the two ways to reach sim, by name.
func commanders(t *testing.T) []struct {
	name string
	make func(sim *atsim.Modem) modem.Commander
} {
	f, m := openFake(t)
	return []struct {
		name string
		make func(sim *atsim.Modem) modem.Commander
	}{
		{"in-process", func(sim *atsim.Modem) modem.Commander { return simCommander{sim} }},
		{"pty", func(sim *atsim.Modem) modem.Commander { return &ptyCommander{f: f, m: m, sim: sim} }},
	}
}

// kinds compresses the command lines into the sequence of AT commands
// used, e.g. "CSIM CCHO CGLA CCHC CRSM".
func kinds(cmds []string) string {
	var out []string
	for _, c := range cmds {
		k := strings.TrimPrefix(strings.ToUpper(c), "AT+")
		if i := strings.IndexAny(k, "=?"); i >= 0 {
			k = k[:i]
		}
		if len(out) == 0 || out[len(out)-1] != k {
			out = append(out, k)
		}
	}
	return strings.Join(out, " ")
}
