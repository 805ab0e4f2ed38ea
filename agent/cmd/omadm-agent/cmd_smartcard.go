package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent"
	"github.com/omadm-agent/omadm-agent/agent/bootstrap"
	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/modem"
	"github.com/omadm-agent/omadm-agent/smartcard"
	"github.com/omadm-agent/omadm-agent/tree"
)

// simReadTimeout bounds one read of the bootstrap document from a card.
const simReadTimeout = 60 * time.Second

// readSIMBootstrap reads the bootstrap document from the SIM for
// "omadm-agent bootstrap --sim": through pcscd, or through the modem port
// (opened here; the daemon must not hold it) with AT+CSIM, AT+CCHO/CGLA or
// AT+CRSM (modem.ReadSIMBootstrap; "modem" tries them in that order).
func (c *cli) readSIMBootstrap(ctx context.Context, via, reader, socket, device string) (*smartcard.Bootstrap, error) {
	cfg, err := c.loadConfigOrDefault()
	if err != nil {
		return nil, err
	}
	if via == "" {
		via = cfg.Bootstrap.Smartcard
	}
	if via == "" || via == "none" {
		via = "pcsc"
	}
	if reader == "" {
		reader = cfg.Bootstrap.PCSCReader
	}
	if device == "" {
		device = cfg.Modem.Device
	}
	ctx, cancel := context.WithTimeout(ctx, simReadTimeout)
	defer cancel()
	switch via {
	case "pcsc":
		bs, err := smartcard.ReadBootstrapFromReader(ctx, socket, reader)
		if err != nil {
			return nil, fmt.Errorf("SIM (PC/SC): %w", err)
		}
		return bs, nil
	case "modem", modem.SIMRouteCSIM, modem.SIMRouteCGLA, modem.SIMRouteCRSM:
		route := cfg.Bootstrap.SIMRoute
		if via != "modem" {
			route = via
		}
		m, err := modem.Open(ctx, modem.Config{Device: device, Baud: cfg.Modem.Baud})
		if err != nil {
			return nil, fmt.Errorf("SIM (modem %s): %w", device, err)
		}
		defer m.Close()
		bs, _, err := modem.ReadSIMBootstrap(ctx, m, route)
		if err != nil {
			return nil, fmt.Errorf("SIM (modem %s): %w", device, err)
		}
		return bs, nil
	}
	return nil, usagef("--via %q: want pcsc, modem (auto: AT+CSIM, then AT+CCHO/CGLA, then AT+CRSM), csim, cgla or crsm", via)
}

// describeSIM names where a card's document came from, for messages.
func describeSIM(bs *smartcard.Bootstrap) string {
	var b strings.Builder
	b.WriteString("SIM")
	if bs.ICCID != "" {
		b.WriteString(" " + bs.ICCID)
	}
	if bs.Reader != "" {
		fmt.Fprintf(&b, " in %q", bs.Reader)
	}
	fmt.Fprintf(&b, " (%s %s, %s)", bs.OID, bs.Path, bs.Route)
	return b.String()
}

// simBootstrap is the daemon's first-start bootstrap from the smartcard
// ([bootstrap] smartcard = modem or pcsc): when the tree has no account
// (after the factory file), read the card's DM bootstrap and apply it.
// A card without one is normal and only logged at info level; the daemon
// runs on either way.
func simBootstrap(ctx context.Context, cfg config.Config, t *tree.Tree, accs *dmacc.Store, mdm *modem.Modem, log *slog.Logger) {
	mode := cfg.Bootstrap.Smartcard
	if mode == "" || mode == "none" {
		return
	}
	if nodes, err := accs.Nodes(ctx); err != nil || len(nodes) > 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, simReadTimeout)
	defer cancel()
	var (
		bs  *smartcard.Bootstrap
		err error
	)
	switch mode {
	case "pcsc":
		bs, err = smartcard.ReadBootstrapFromReader(rctx, "", cfg.Bootstrap.PCSCReader)
	case "modem":
		if mdm == nil {
			log.Warn("smartcard bootstrap needs the modem ([modem] enabled = true)")
			return
		}
		var route string
		bs, route, err = modem.ReadSIMBootstrap(rctx, mdm, cfg.Bootstrap.SIMRoute)
		if err == nil {
			log.Info("SIM read through the modem", "route", route)
		}
	default:
		log.Warn("unknown [bootstrap] smartcard", "value", mode)
		return
	}
	if errors.Is(err, smartcard.ErrNoBootstrap) {
		log.Info("the smartcard holds no bootstrap document", "via", mode)
		return
	}
	if err != nil {
		log.Warn("smartcard bootstrap not read", "via", mode, "err", err)
		return
	}
	rep, err := agent.TreeBootstrapper{Tree: t}.Bootstrap(ctx, bs.Document, bootstrap.Options{Origin: "smartcard"})
	if err != nil {
		log.Error("smartcard bootstrap refused", "iccid", bs.ICCID, "oid", bs.OID, "err", err)
		return
	}
	log.Info("smartcard bootstrap applied", "iccid", bs.ICCID, "oid", bs.OID, "route", string(bs.Route), "added", strings.Join(rep.Added, ","))
}
