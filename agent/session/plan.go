package session

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

// PlanStep is what one Item of a server command would do to this device
// (Engine.Plan). Containers (Atomic, Sequence) have a step of their own
// with no Target, before their children (Depth 1).
type PlanStep struct {
	CmdID  string
	Cmd    string // Add, Replace, Delete, Copy, Exec, Get, Alert, Atomic, Sequence, ...
	Depth  int    // 0 in SyncBody, 1 inside an Atomic or Sequence
	Target string
	Source string // Copy
	// Now is the target's current value as the device sees it ("" for an
	// interior node or when absent), New the value the command carries;
	// both masked when the node holds a secret, cut to PlanValueMax.
	Now, New string
	Exists   bool
	// Status is what the agent would answer: 200 means every check passed
	// (existence, DDF, format, the server's ACL, the provider supports the
	// command); the provider itself may still refuse the value.
	Status int
	Note   string
}

// PlanValueMax bounds the values shown in a PlanStep.
const PlanValueMax = 200

// Plan says, without changing anything, what the device would answer to
// each command of msg (a server package, e.g. from a session record) if
// serverID sent it now: every write runs the tree's checks under
// tree.WithDryRun and stops before the tree or a provider changes; Gets are
// read for real (what the server would receive). UI alerts are not shown
// to anyone. Chunks of large objects are listed, not reassembled. Each
// command meets the device as it is now: one that depends on an earlier
// command of the same package (an Add, then a Replace of the node it
// adds) is judged without that earlier change. The server's Status and
// Results (answers to the client) are skipped.
func (e *Engine) Plan(ctx context.Context, serverID string, msg *syncml.Message) ([]PlanStep, error) {
	s, err := e.newSession(ctx, Trigger{ServerID: serverID})
	if err != nil {
		return nil, err
	}
	dry := tree.WithDryRun(ctx)
	var steps []PlanStep
	for _, c := range msg.Body {
		if c.Kind == syncml.KindStatus || c.Kind == syncml.KindResults {
			continue // the server's answers to the client's commands
		}
		steps = append(steps, s.plan(dry, c, 0)...)
	}
	return steps, nil
}

func (s *session) plan(ctx context.Context, c *syncml.Command, depth int) []PlanStep {
	head := PlanStep{CmdID: c.CmdID, Cmd: c.Kind, Depth: depth}
	if c.Problem != nil {
		head.Status = int(syncml.ProblemStatus(c.Problem))
		head.Note = c.Problem.Error()
		return []PlanStep{head}
	}
	switch c.Kind {
	case syncml.KindAtomic, syncml.KindSequence:
		if depth > 0 {
			head.Status, head.Note = codeCommandFailed, "nested "+c.Kind
			return []PlanStep{head}
		}
		var kids []PlanStep
		failedAny := false
		for _, k := range c.Children {
			ks := s.plan(ctx, k, 1)
			if c.Kind == syncml.KindAtomic && (k.Kind == syncml.KindGet || k.Kind == syncml.KindExec) {
				for i := range ks {
					ks[i].Status, ks[i].Note = codeCommandFailed, k.Kind+" is not allowed in an Atomic"
				}
			}
			for _, k := range ks {
				failedAny = failedAny || failed(k.Status)
			}
			kids = append(kids, ks...)
		}
		head.Status = tree.StatusOK
		switch {
		case c.Kind == syncml.KindAtomic && failedAny:
			head.Status, head.Note = tree.StatusAtomicFailed, "a command fails: nothing would be applied (the others answer 216)"
		case c.Kind == syncml.KindAtomic:
			head.Note = "all or nothing"
		case failedAny:
			head.Note = "runs in order; a failed command does not stop the others"
		}
		return append([]PlanStep{head}, kids...)
	case syncml.KindAlert:
		head.Status, head.Note = tree.StatusOK, "Alert "+c.Data
		if strings.HasPrefix(c.Data, "110") {
			head.Note += ": user interaction, answered by the [ui] policy (not shown in a plan)"
		}
		return []PlanStep{head}
	case syncml.KindAdd, syncml.KindReplace, syncml.KindDelete, syncml.KindCopy, syncml.KindExec, syncml.KindGet:
	default:
		head.Status, head.Note = codeOptionalFeature, "not a command a DM server sends"
		return []PlanStep{head}
	}
	if len(c.Items) == 0 {
		head.Status, head.Note = tree.StatusCode(tree.ErrIncomplete), "no Item"
		return []PlanStep{head}
	}
	var steps []PlanStep
	for i, it := range c.Items {
		st := head
		if it.Target != nil {
			st.Target = it.Target.LocURI
		}
		if it.Source != nil {
			st.Source = it.Source.LocURI
		}
		secret := st.Target != "" && s.t.IsSecret(tree.URI(strings.SplitN(st.Target, "?", 2)[0]))
		if st.Target != "" {
			if r, err := s.t.Get(ctx, tree.LocalPrincipal, st.Target); err == nil {
				st.Exists = true
				if len(r.Items) == 1 && r.Items[0].Format != tree.FormatNode {
					st.Now = show(r.Items[0].Data, secret)
				}
			}
		}
		if it.Data != nil && c.Kind != syncml.KindGet {
			if it.Data.IsTree() {
				st.New = show(it.Data.Tree, secret)
			} else {
				st.New = show([]byte(it.Data.Text), secret)
			}
		}
		switch {
		case st.Target == "":
			st.Status, st.Note = tree.StatusCode(tree.ErrIncomplete), "no Target"
		case it.MoreData || (i < len(c.Items)-1 && c.Items[i+1].MoreData):
			st.Status, st.Note = 213, "chunk of a large object: checked when the last chunk arrives"
		case c.Kind == syncml.KindGet:
			_, err := s.t.Get(ctx, s.principal, st.Target)
			st.Status = tree.StatusCode(err)
			if err == nil {
				st.Note = "the server would read: " + orAbsent(st.Now, st.Exists)
			}
		default:
			code, _ := s.item(ctx, c, it, inBody)
			st.Status = code
			if code == tree.StatusOK {
				st.Note = "allowed; would be applied"
			}
		}
		if failed(st.Status) && st.Note == "" {
			st.Note = statusText(st.Status)
		}
		steps = append(steps, st)
	}
	return steps
}

func orAbsent(v string, exists bool) string {
	if !exists {
		return "(absent)"
	}
	if v == "" {
		return `""`
	}
	return v
}

// show renders a value for a plan: masked when secret, quoted control
// characters, cut to PlanValueMax.
func show(b []byte, secret bool) string {
	if secret {
		return "(secret)"
	}
	if !utf8.Valid(b) {
		return fmt.Sprintf("(%d bytes of binary data)", len(b))
	}
	s := string(b)
	if len(s) > PlanValueMax {
		s = s[:PlanValueMax] + "…"
	}
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
}

// statusText names the status codes a plan can show.
func statusText(code int) string {
	switch code {
	case 400:
		return "bad request"
	case 403:
		return "forbidden"
	case 404:
		return "not found"
	case 405:
		return "not allowed (DDF or node kind)"
	case 406:
		return "optional feature not supported"
	case 412:
		return "incomplete command"
	case 413:
		return "larger than MaxObjSize"
	case 414:
		return "URI too long"
	case 415:
		return "unsupported format or type"
	case 418:
		return "already exists"
	case 420:
		return "device full"
	case 425:
		return "permission denied by the ACL"
	}
	return fmt.Sprintf("status %d", code)
}

// WritePlan prints steps as a table for a technician: one line per Item,
// children of Atomic/Sequence indented, then a one-line summary.
func WritePlan(w io.Writer, serverID string, steps []PlanStep) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "plan for server %s (nothing was changed):\n", serverID)
	applied, refused := 0, 0
	for _, s := range steps {
		ind := strings.Repeat("  ", s.Depth)
		line := fmt.Sprintf("%s%-4s %-8s %3d", ind, s.CmdID, s.Cmd, s.Status)
		if s.Target != "" {
			line += " " + s.Target
		}
		if s.Source != "" {
			line += " <- " + s.Source
		}
		switch s.Cmd {
		case syncml.KindAdd, syncml.KindReplace:
			line += fmt.Sprintf(": %s -> %s", nowText(s), quote(s.New))
		}
		if s.Note != "" {
			line += " (" + s.Note + ")"
		}
		fmt.Fprintln(bw, line)
		if s.Target != "" {
			if failed(s.Status) {
				refused++
			} else if s.Cmd != syncml.KindGet {
				applied++
			}
		}
	}
	fmt.Fprintf(bw, "%d change(s) allowed, %d refused\n", applied, refused)
	return bw.Flush()
}

func nowText(s PlanStep) string {
	if !s.Exists {
		return "(absent)"
	}
	return quote(s.Now)
}

// quote quotes a value, not the placeholders show puts in its place.
func quote(v string) string {
	if strings.HasPrefix(v, "(") && strings.HasSuffix(v, ")") {
		return v
	}
	return strconv.Quote(v)
}
