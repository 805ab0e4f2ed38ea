package bootstrap

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

// parseDM decodes a DM bootstrap message and returns the plan that applies
// its commands in order (Atomic and Sequence contents inline: the whole
// document is one transaction anyway).
func parseDM(doc []byte) (func(context.Context, *tree.Txn, *applier) error, error) {
	m, _, err := syncml.Decode(doc)
	if err != nil {
		return nil, err
	}
	if vp := m.Hdr.VerProto; vp != "" && !strings.HasPrefix(vp, "DM/1.") {
		return nil, fmt.Errorf("VerProto %q is not DM/1.x", vp)
	}
	var cmds []*syncml.Command
	var flatten func(list []*syncml.Command, depth int) error
	flatten = func(list []*syncml.Command, depth int) error {
		for _, c := range list {
			if c.Problem != nil {
				return fmt.Errorf("%s (%s): %w", c.Kind, c.Pos, c.Problem)
			}
			if syncml.IsContainer(c.Kind) {
				if depth > 8 {
					return fmt.Errorf("%s nested too deep", c.Kind)
				}
				if err := flatten(c.Children, depth+1); err != nil {
					return err
				}
				continue
			}
			cmds = append(cmds, c)
		}
		return nil
	}
	if err := flatten(m.Body, 0); err != nil {
		return nil, err
	}
	return func(ctx context.Context, tx *tree.Txn, a *applier) error {
		for _, c := range cmds {
			if err := a.dmCommand(ctx, tx, c); err != nil {
				return fmt.Errorf("%s CmdID %s: %w", c.Kind, c.CmdID, err)
			}
		}
		return nil
	}, nil
}

func (a *applier) dmCommand(ctx context.Context, tx *tree.Txn, c *syncml.Command) error {
	switch c.Kind {
	case syncml.KindAdd, syncml.KindReplace:
		if len(c.Items) == 0 {
			return errors.New("no Item")
		}
		for _, it := range c.Items {
			target, err := itemTarget(it)
			if err != nil {
				return err
			}
			v, err := itemValue(c.Meta, it)
			if err != nil {
				return fmt.Errorf("%s: %w", target, err)
			}
			if c.Kind == syncml.KindAdd {
				err = tx.Add(ctx, a.p, target, v)
			} else {
				err = tx.Replace(ctx, a.p, target, v)
			}
			if err != nil {
				return err
			}
			a.touch(target)
		}
	case syncml.KindDelete:
		for _, it := range c.Items {
			target, err := itemTarget(it)
			if err != nil {
				return err
			}
			if err := tx.Delete(ctx, a.p, target); err != nil {
				return err
			}
			a.touch(target)
		}
	case syncml.KindCopy:
		for _, it := range c.Items {
			target, err := itemTarget(it)
			if err != nil {
				return err
			}
			if it.Source == nil || it.Source.LocURI == "" {
				return errors.New("Copy item without Source")
			}
			if err := tx.Copy(ctx, a.p, target, it.Source.LocURI); err != nil {
				return err
			}
			a.touch(target)
		}
	case syncml.KindGet, syncml.KindAlert, syncml.KindStatus, syncml.KindResults:
		a.rep.Warnings = append(a.rep.Warnings, fmt.Sprintf("%s CmdID %s ignored (a bootstrap gets no response)", c.Kind, c.CmdID))
	default:
		return fmt.Errorf("%s is not allowed in a bootstrap", c.Kind)
	}
	return nil
}

func itemTarget(it *syncml.Item) (string, error) {
	if it.Target == nil || it.Target.LocURI == "" {
		return "", errors.New("Item without Target")
	}
	if it.MoreData {
		return "", errors.New("large objects (MoreData) are not supported in a bootstrap")
	}
	return it.Target.LocURI, nil
}

// itemValue builds the tree value of an Add/Replace item: Item Meta
// overrides the command's Meta; b64 data is decoded (stored as bin); an
// embedded TNDS tree is passed as TNDS XML.
func itemValue(cmdMeta *syncml.Meta, it *syncml.Item) (tree.Value, error) {
	var v tree.Value
	for _, m := range []*syncml.Meta{cmdMeta, it.Meta} {
		if m == nil {
			continue
		}
		if f := strings.TrimSpace(m.Format); f != "" {
			v.Format = f
		}
		if ty := strings.TrimSpace(m.Type); ty != "" {
			v.Type = ty
		}
	}
	if it.Data == nil {
		return v, nil
	}
	if it.Data.IsTree() {
		v.Data = it.Data.Tree
		if v.Type != tree.TypeTNDSXML && v.Type != tree.TypeTNDSWBXML {
			return v, fmt.Errorf("embedded XML with Type %q, want %s", v.Type, tree.TypeTNDSXML)
		}
		v.Type = tree.TypeTNDSXML // the WBXML reader expands embedded TNDS to XML
		return v, nil
	}
	v.Data = []byte(it.Data.Text)
	if v.Format == tree.FormatB64 {
		d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(it.Data.Text), ""))
		if err != nil {
			return v, fmt.Errorf("bad base64 data: %w", tree.ErrBadRequest)
		}
		v.Data, v.Format = d, tree.FormatBin
	}
	return v, nil
}
