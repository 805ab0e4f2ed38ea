package session

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// UIRequest is a UI alert (1100-1104) from the server, parsed
// (OMA-TS-DM_Protocol-V1_2 §9 "User Interaction", protocol.md §5.1).
type UIRequest struct {
	ServerID string
	Code     syncml.AlertCode
	MinDT    time.Duration // 0 when absent
	MaxDT    time.Duration // 0 when absent
	// DR is the default response as sent ("" when absent): 0/1 for 1101,
	// text for 1102, an index for 1103, e.g. "1-3" for 1104.
	DR     string
	MaxLen int
	IT, ET string
	// Text is the text to show (second Item); Choices the choices of
	// 1103/1104 (the following Items), in order.
	Text    string
	Choices []string
}

// UIResponse is the answer to a UI alert. Status is one of 200 (done /
// yes), 304 (no), 214 (cancelled), 408 (timeout), 406 (not supported).
// Data are the Item Data values of the Status: the input text (1102), the
// 1-based index (1103), one index per selected choice (1104).
type UIResponse struct {
	Status int
	Data   []string
}

// UIHandler answers UI alerts. Ask is called from the session goroutine and
// must return within ctx (which carries MAXDT when given).
type UIHandler interface {
	Ask(ctx context.Context, req UIRequest) (UIResponse, error)
}

// ErrUICancelled may be returned by a UIHandler when the user cancelled (214).
var ErrUICancelled = errors.New("session: user interaction cancelled")

// UI policies of Headless.
const (
	PolicyAccept  = "accept"  // 1101 → 200
	PolicyReject  = "reject"  // 1101 → 304; 1102-1104 → 406
	PolicyAsk     = "ask"     // forward to Hook
	PolicyDefault = "default" // 1102-1104 → DR default, else 406
)

// Headless is the UIHandler of a device without a screen: 1100 → 200;
// 1101 per Confirm (accept, reject or ask); 1102-1104 per Input (default:
// the DR default response when given, else 406; reject: 406; ask). "ask"
// forwards to Hook (a technician's front end) and waits MAXDT, or
// AskTimeout when the alert has no MAXDT; a timeout answers 408, a cancel
// 214. Without a Hook "ask" behaves like OnTimeout.
type Headless struct {
	Confirm, Input string
	Hook           UIHandler
	AskTimeout     time.Duration
	// OnTimeout ("accept" or "reject", default reject) is used when "ask"
	// has no Hook.
	OnTimeout string
}

// Ask implements UIHandler.
func (h Headless) Ask(ctx context.Context, req UIRequest) (UIResponse, error) {
	switch req.Code {
	case syncml.AlertDisplay:
		if h.Hook != nil && h.Confirm == PolicyAsk {
			h.ask(ctx, req) // shown to the technician; the answer does not matter
		}
		return UIResponse{Status: 200}, nil
	case syncml.AlertConfirmOrReject:
		switch h.Confirm {
		case "", PolicyAccept:
			return UIResponse{Status: 200}, nil
		case PolicyReject:
			return UIResponse{Status: 304}, nil
		case PolicyAsk:
			if h.Hook == nil {
				if h.OnTimeout == PolicyAccept {
					return UIResponse{Status: 200}, nil
				}
				return UIResponse{Status: 304}, nil
			}
			return h.ask(ctx, req), nil
		}
		return UIResponse{Status: 304}, nil
	case syncml.AlertTextInput, syncml.AlertSingleChoice, syncml.AlertMultipleChoice:
		switch h.Input {
		case "", PolicyDefault:
			return defaultResponse(req), nil
		case PolicyAsk:
			if h.Hook == nil {
				return defaultResponse(req), nil
			}
			return h.ask(ctx, req), nil
		}
		return UIResponse{Status: 406}, nil
	}
	return UIResponse{Status: 406}, nil
}

func (h Headless) ask(ctx context.Context, req UIRequest) UIResponse {
	d := req.MaxDT
	if d <= 0 {
		d = h.AskTimeout
	}
	if d <= 0 {
		d = 5 * time.Minute
	}
	actx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type answer struct {
		r   UIResponse
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		r, err := h.Hook.Ask(actx, req)
		ch <- answer{r, err}
	}()
	select {
	case a := <-ch:
		switch {
		case errors.Is(a.err, ErrUICancelled):
			return UIResponse{Status: 214}
		case errors.Is(a.err, context.DeadlineExceeded):
			return UIResponse{Status: 408}
		case a.err != nil:
			return UIResponse{Status: 500}
		}
		return a.r
	case <-actx.Done():
		if ctx.Err() != nil {
			return UIResponse{Status: 214}
		}
		return UIResponse{Status: 408}
	}
}

// defaultResponse answers 1102-1104 with the DR default, or 406.
func defaultResponse(req UIRequest) UIResponse {
	if req.DR == "" {
		return UIResponse{Status: 406}
	}
	switch req.Code {
	case syncml.AlertMultipleChoice:
		var data []string
		for _, part := range strings.Split(req.DR, "-") {
			if part != "" {
				data = append(data, part)
			}
		}
		return UIResponse{Status: 200, Data: data}
	}
	return UIResponse{Status: 200, Data: []string{req.DR}}
}

// parseUIAlert reads the parameters of a UI alert: the first Item's Data is
// "k=v&k=v" (unknown keys ignored), the second the text, the rest choices.
func parseUIAlert(serverID string, code syncml.AlertCode, c *syncml.Command) UIRequest {
	req := UIRequest{ServerID: serverID, Code: code}
	data := func(i int) string {
		if i < len(c.Items) && c.Items[i].Data != nil {
			return c.Items[i].Data.Text
		}
		return ""
	}
	if q, err := url.ParseQuery(strings.TrimSpace(data(0))); err == nil {
		secs := func(k string) time.Duration {
			n, err := strconv.Atoi(q.Get(k))
			if err != nil || n < 0 {
				return 0
			}
			return time.Duration(n) * time.Second
		}
		req.MinDT, req.MaxDT = secs("MINDT"), secs("MAXDT")
		req.DR = q.Get("DR")
		req.MaxLen, _ = strconv.Atoi(q.Get("MAXLEN"))
		req.IT, req.ET = q.Get("IT"), q.Get("ET")
	}
	req.Text = data(1)
	for i := 2; i < len(c.Items); i++ {
		req.Choices = append(req.Choices, data(i))
	}
	return req
}
