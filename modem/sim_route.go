package modem

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/omadm-agent/omadm-agent/smartcard"
	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
	"github.com/warthog618/modem/at"
)

// SIM access routes of ReadSIMBootstrap (smartcard.md §6).
const (
	SIMRouteAuto = "auto" // csim, then cgla, then crsm
	SIMRouteCSIM = "csim" // route A: AT+CSIM, the reader manages channels (NewCSIM)
	SIMRouteCGLA = "cgla" // route B: AT+CCHO / AT+CGLA / AT+CCHC (NewCGLA)
	SIMRouteCRSM = "crsm" // route C: AT+CRSM, files by path (NewCRSM)
)

// SIMRoutes lists the accepted route names, "auto" first.
var SIMRoutes = []string{SIMRouteAuto, SIMRouteCSIM, SIMRouteCGLA, SIMRouteCRSM}

// Errors of ReadSIMBootstrap.
var (
	// ErrSIMRoute: the route name is not one of SIMRoutes.
	ErrSIMRoute = errors.New("unknown SIM access route")
	// ErrNoSIMAccess: every route was refused by the modem (or the card
	// on it); the error also wraps each route's error.
	ErrNoSIMAccess = errors.New("the modem gives no usable SIM access (AT+CSIM, AT+CCHO/CGLA, AT+CRSM)")
)

// ReadSIMBootstrap reads the smartcard bootstrap through the modem's AT
// port by one route, or by the first that works ("auto" or ""): A, AT+CSIM
// (smartcard.ReadBootstrap over NewCSIM); B, AT+CCHO/AT+CGLA (over NewCGLA,
// the modem opens the channel and selects the PKCS#15 application); C,
// AT+CRSM (smartcard.ReadBootstrapByPath over NewCRSM). It returns the
// route that gave the answer.
//
// "auto" moves on to the next route only when the route is unsupported:
// the modem answers ERROR or +CME ERROR 3 (operation not allowed), 4
// (operation not supported) or 50 (incorrect parameters), or an answer it
// cannot parse; the card (through the modem) answers 6Dxx / 6Exx / 6881 /
// 6A81 (instruction, class, logical channel, function not supported); or
// no logical channel to the PKCS#15 application could be had
// (smartcard.ErrChannelRefused, also when the basic-channel fallback then
// found nothing: an ADF may still be reachable through AT+CCHO). A route
// that worked and found no bootstrap (6A82 / 9404 file not found, no
// PKCS#15 application or object) ends the search with an error wrapping
// smartcard.ErrNoBootstrap, and so does broken card data (a PKCS#15 or
// document error), a SIM problem (+CME ERROR 10 SIM not inserted, 11 PIN
// required, 13 SIM failure...), a timeout, a closed port or ctx. When all
// three are refused the error wraps ErrNoSIMAccess and each route's error,
// unless a refused route had already reported no bootstrap: that is
// returned.
func ReadSIMBootstrap(ctx context.Context, c Commander, route string) (*smartcard.Bootstrap, string, error) {
	switch route {
	case "", SIMRouteAuto:
	case SIMRouteCSIM, SIMRouteCGLA, SIMRouteCRSM:
		bs, err := readSIMRoute(ctx, c, route)
		if err != nil {
			return nil, route, fmt.Errorf("SIM via %s: %w", routeName(route), err)
		}
		return bs, route, nil
	default:
		return nil, "", fmt.Errorf("%w %q (want one of %s)", ErrSIMRoute, route, strings.Join(SIMRoutes, ", "))
	}
	var (
		format    = "%w"
		args      = []any{ErrNoSIMAccess}
		noBS      error
		noBSRoute string
	)
	for _, r := range SIMRoutes[1:] {
		bs, err := readSIMRoute(ctx, c, r)
		if err == nil {
			return bs, r, nil
		}
		err = fmt.Errorf("SIM via %s: %w", routeName(r), err)
		if ctx.Err() != nil || !fallbackOK(err) {
			return nil, r, err
		}
		if noBS == nil && errors.Is(err, smartcard.ErrNoBootstrap) {
			noBS, noBSRoute = err, r
		}
		format += "; %w"
		args = append(args, err)
	}
	if noBS != nil {
		return nil, noBSRoute, noBS
	}
	return nil, "", fmt.Errorf(format, args...)
}

// ValidSIMRoute reports whether route is accepted by ReadSIMBootstrap ("" is
// "auto").
func ValidSIMRoute(route string) bool { return route == "" || slices.Contains(SIMRoutes, route) }

func routeName(r string) string {
	switch r {
	case SIMRouteCSIM:
		return "AT+CSIM"
	case SIMRouteCGLA:
		return "AT+CCHO/CGLA"
	}
	return "AT+CRSM"
}

func readSIMRoute(ctx context.Context, c Commander, route string) (*smartcard.Bootstrap, error) {
	switch route {
	case SIMRouteCSIM:
		return smartcard.ReadBootstrap(ctx, NewCSIM(c))
	case SIMRouteCGLA:
		return smartcard.ReadBootstrap(ctx, NewCGLA(c))
	}
	return smartcard.ReadBootstrapByPath(ctx, NewCRSM(c))
}

// fallbackOK reports whether err says the route is unsupported (see
// ReadSIMBootstrap), so that the next route may be tried.
func fallbackOK(err error) bool {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, ErrTimeout), errors.Is(err, ErrClosed), errors.Is(err, ErrNotConnected):
		return false
	case errors.Is(err, smartcard.ErrNoBootstrap):
		return errors.Is(err, smartcard.ErrChannelRefused)
	case errors.Is(err, smartcard.ErrChannelRefused):
		return true
	case errors.Is(err, ErrCSIM), errors.Is(err, ErrCCHO), errors.Is(err, ErrCGLA), errors.Is(err, ErrCRSM):
		return true
	case modemRefused(err):
		return true
	}
	var se *apdu.StatusError
	return errors.As(err, &se) && apdu.Unsupported(se.SW)
}

// modemRefused reports whether the modem refused the command itself: ERROR,
// or +CME ERROR 3 (operation not allowed), 4 (operation not supported),
// 50 (incorrect parameters), numeric or verbose (TS 27.007 §9.2).
func modemRefused(err error) bool {
	if errors.Is(err, at.ErrError) {
		return true
	}
	var cme at.CMEError
	if !errors.As(err, &cme) {
		return false
	}
	s := strings.ToLower(strings.TrimSpace(string(cme)))
	switch s {
	case "3", "4", "50":
		return true
	}
	return strings.Contains(s, "not allowed") || strings.Contains(s, "not supported") || strings.Contains(s, "incorrect param")
}
