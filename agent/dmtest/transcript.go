package dmtest

import (
	"fmt"
	"io"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// FormatTranscript writes a human-readable transcript: for every exchange,
// who sent what (each command with its target and data, each status with
// the command it answers), the HTTP status and any fault or note.
// Credential values are never written.
func FormatTranscript(w io.Writer, exs []Exchange) {
	for i, x := range exs {
		fmt.Fprintf(w, "[%d] %s  client -> server  %s %s  %s, %d bytes\n", i+1, x.Time.Format("15:04:05.000"), x.Method, x.Path, x.RequestType, x.RequestSize)
		if x.Request != nil {
			writeMessage(w, x.Request)
		} else if x.RequestErr != "" {
			fmt.Fprintf(w, "      (does not decode: %s)\n", x.RequestErr)
		}
		switch {
		case x.HTTPStatus == 0:
			fmt.Fprintf(w, "[%d] server -> client  (no response: %s)\n", i+1, x.Fault)
		default:
			fmt.Fprintf(w, "[%d] server -> client  HTTP %d  %s, %d bytes", i+1, x.HTTPStatus, x.ResponseType, x.ResponseSize)
			if x.Fault != "" {
				fmt.Fprintf(w, "  FAULT: %s", x.Fault)
			}
			fmt.Fprintln(w)
			if x.Response != nil {
				writeMessage(w, x.Response)
			}
		}
		for _, n := range x.Notes {
			fmt.Fprintf(w, "      note: %s\n", n)
		}
	}
}

func writeMessage(w io.Writer, m *syncml.Message) {
	h := m.Hdr
	var parts []string
	parts = append(parts, "SessionID "+h.SessionID, "MsgID "+h.MsgID)
	if h.Cred != nil {
		t := "?"
		if h.Cred.Meta != nil {
			t = h.Cred.Meta.Type
		}
		parts = append(parts, "Cred "+t+" (value hidden)")
	}
	if h.Meta != nil && h.Meta.MaxMsgSize != "" {
		parts = append(parts, "MaxMsgSize "+h.Meta.MaxMsgSize)
	}
	if h.RespURI != "" {
		parts = append(parts, "RespURI "+h.RespURI)
	}
	fmt.Fprintf(w, "      SyncHdr %s\n", strings.Join(parts, ", "))
	for _, c := range m.Body {
		writeCommand(w, c, "      ")
	}
	if m.Final {
		fmt.Fprintf(w, "      Final\n")
	} else {
		fmt.Fprintf(w, "      (no Final: more messages in this package)\n")
	}
}

func writeCommand(w io.Writer, c *syncml.Command, indent string) {
	switch c.Kind {
	case syncml.KindStatus:
		code, _ := c.StatusCode()
		ref := c.Cmd
		if c.CmdRef != "0" {
			ref = fmt.Sprintf("%s #%s", c.Cmd, c.CmdRef)
		}
		if len(c.TargetRefs) > 0 && c.CmdRef != "0" {
			ref += " " + c.TargetRefs[0]
		}
		s := fmt.Sprintf("%sStatus  %-28s -> %s", indent, ref+" (msg "+c.MsgRef+")", code)
		if c.Chal != nil && c.Chal.Meta != nil {
			s += "  Chal " + c.Chal.Meta.Type
			if c.Chal.Meta.NextNonce != "" {
				s += " with NextNonce"
			}
		}
		for _, it := range c.Items {
			if it.Data != nil {
				s += fmt.Sprintf("  answer %q", clip(it.Data.Text))
			}
		}
		fmt.Fprintln(w, s)
		return
	case syncml.KindAlert:
		code, _ := c.AlertCode()
		s := fmt.Sprintf("%sAlert #%s %d %s", indent, c.CmdID, code, code)
		if c.Correlator != "" {
			s += " correlator " + c.Correlator
		}
		for _, it := range c.Items {
			if it.Data != nil {
				s += fmt.Sprintf(" %q", clip(it.Data.Text))
			}
		}
		fmt.Fprintln(w, s)
		return
	case syncml.KindAtomic, syncml.KindSequence:
		fmt.Fprintf(w, "%s%s #%s {\n", indent, c.Kind, c.CmdID)
		for _, ch := range c.Children {
			writeCommand(w, ch, indent+"  ")
		}
		fmt.Fprintf(w, "%s}\n", indent)
		return
	}
	s := fmt.Sprintf("%s%s #%s", indent, c.Kind, c.CmdID)
	if c.Kind == syncml.KindResults {
		s += fmt.Sprintf(" (for #%s msg %s)", c.CmdRef, c.MsgRef)
	}
	if c.Correlator != "" {
		s += " correlator " + c.Correlator
	}
	if c.Problem != nil {
		s += fmt.Sprintf(" [problem: %v]", c.Problem)
	}
	fmt.Fprintln(w, s)
	for _, it := range c.Items {
		loc := ""
		if it.Target != nil {
			loc = it.Target.LocURI
		}
		if it.Source != nil {
			if loc != "" {
				loc = it.Source.LocURI + " -> " + loc
			} else {
				loc = it.Source.LocURI
			}
		}
		line := indent + "    " + loc
		if it.Meta != nil {
			if it.Meta.Format != "" {
				line += " [" + it.Meta.Format + "]"
			}
			if it.Meta.Size != "" {
				line += " size " + it.Meta.Size
			}
		}
		if it.Data != nil {
			if it.Data.IsTree() {
				line += fmt.Sprintf(" = <tree, %d bytes>", len(it.Data.Tree))
			} else {
				line += fmt.Sprintf(" = %q", clip(it.Data.Text))
			}
		}
		if it.MoreData {
			line += " (MoreData)"
		}
		fmt.Fprintln(w, line)
	}
}

func clip(s string) string {
	if len(s) > 48 {
		return fmt.Sprintf("%s... (%d bytes)", s[:40], len(s))
	}
	return s
}
