package pcsc_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/modem"
	"github.com/omadm-agent/omadm-agent/smartcard"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest/atsim"
)

// lineCommander answers AT commands from the fake modem SIM front end.
type lineCommander struct{ sim *atsim.Modem }

func (c lineCommander) Command(ctx context.Context, cmd string) ([]string, error) {
	lines := c.sim.Answer("AT" + cmd)
	if final := lines[len(lines)-1]; final != "OK" {
		return nil, fmt.Errorf("AT%s: %s", cmd, final)
	}
	return lines[:len(lines)-1], nil
}

// TestModemRoutesMatchPCSC: the §7 card read through the real pcscd (T=0
// and T=1 readers) and through each modem route (AT+CSIM, AT+CCHO/CGLA,
// AT+CRSM on the atsim fake holding the same card image) gives the same
// bootstrap document, object and ICCID.
func TestModemRoutesMatchPCSC(t *testing.T) {
	needPeers(t)
	fs, err := cardtest.Load(filepath.Join("..", "..", "testdata", "smartcard", "uicc.card"))
	if err != nil {
		t.Fatal(err)
	}
	for _, reader := range []string{readerT0, readerT1} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		want, err := smartcard.ReadBootstrapFromReader(ctx, socket, reader)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", reader, err)
		}
		for _, route := range modem.SIMRoutes {
			t.Run(reader+"/"+route, func(t *testing.T) {
				sim := atsim.New(cardtest.NewCard(fs, cardtest.Options{}))
				got, used, err := modem.ReadSIMBootstrap(context.Background(), lineCommander{sim}, route)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Document, want.Document) || got.OID != want.OID || got.Label != want.Label ||
					got.Profile != want.Profile || got.ICCID != want.ICCID {
					t.Errorf("%s: got %d bytes %s %q %s ICCID %s, want (PC/SC) %d bytes %s %q %s ICCID %s", used,
						len(got.Document), got.OID, got.Label, got.Profile, got.ICCID,
						len(want.Document), want.OID, want.Label, want.Profile, want.ICCID)
				}
			})
		}
	}
}
