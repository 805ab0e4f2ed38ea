package bootstrap

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
)

// Limits on a CP document (a real one has a few dozen elements).
const (
	maxCPDepth    = 16
	maxCPElements = 4096
)

// charac is a CP characteristic: its type, parms in order, sub-characteristics.
type charac struct {
	typ   string
	parms []parm
	subs  []*charac
}

type parm struct{ name, value string }

func (c *charac) get(name string) (string, bool) {
	for _, p := range c.parms {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

// readCP parses a wap-provisioningdoc from XML or WBXML into its top-level
// characteristics.
func readCP(doc []byte, enc Encoding) ([]*charac, error) {
	var tr xml.TokenReader
	if enc == WBXML {
		r, err := wbxml.NewReader(doc)
		if err != nil {
			return nil, err
		}
		tr = r
	} else {
		d := xml.NewDecoder(bytes.NewReader(doc))
		d.Strict = true
		tr = d
	}
	root := &charac{typ: "wap-provisioningdoc"}
	stack := []*charac{}
	var cur *charac
	depth, count, sawRoot := 0, 0, false
	for {
		tok, err := tr.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			count++
			if depth > maxCPDepth || count > maxCPElements {
				return nil, errors.New("document too deep or too large")
			}
			attr := func(name string) string {
				for _, a := range t.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			switch {
			case depth == 1:
				if t.Name.Local != "wap-provisioningdoc" || sawRoot {
					return nil, fmt.Errorf("root element <%s>, want <wap-provisioningdoc>", t.Name.Local)
				}
				sawRoot = true
				cur = root
			case t.Name.Local == "characteristic":
				c := &charac{typ: attr("type")}
				if c.typ == "" {
					return nil, errors.New("characteristic without type")
				}
				cur.subs = append(cur.subs, c)
				stack = append(stack, cur)
				cur = c
			case t.Name.Local == "parm":
				if cur == root {
					return nil, errors.New("parm outside a characteristic")
				}
				cur.parms = append(cur.parms, parm{name: attr("name"), value: attr("value")})
				stack = append(stack, cur)
			default:
				return nil, fmt.Errorf("unexpected element <%s>", t.Name.Local)
			}
		case xml.EndElement:
			depth--
			if depth > 0 {
				if len(stack) == 0 {
					return nil, errors.New("unbalanced document")
				}
				cur, stack = stack[len(stack)-1], stack[:len(stack)-1]
			}
		}
	}
	if !sawRoot {
		return nil, errors.New("no wap-provisioningdoc element")
	}
	return root.subs, nil
}

// cpAccount is one w7 APPLICATION mapped to DMAcc leaves.
type cpAccount struct {
	serverID string
	leaves   []parm // relative path under ./DMAcc/<x>, value
	nonces   []parm // AppAuth/<n>/AAuthData, raw bytes in value
}

var cpLevels = map[string]string{"APPSRV": dmacc.LevelClient, "CLIENT": dmacc.LevelServer, "OBEX": dmacc.LevelOBEX}

var cpAddrTypes = map[string]string{"": "URI", "URI": "URI", "IPV4": "IPv4", "IPV6": "IPv6"}

// mapW7 maps an APPLICATION characteristic (APPID w7) to DMAcc leaves
// (protocol.md §7.2). warn receives the parts that are ignored.
func mapW7(app *charac, warn func(string)) (cpAccount, error) {
	var acc cpAccount
	add := func(path, v string) { acc.leaves = append(acc.leaves, parm{path, v}) }
	add("AppID", "w7")
	pid, ok := app.get("PROVIDER-ID")
	if !ok || pid == "" {
		return acc, errors.New("w7 APPLICATION without PROVIDER-ID")
	}
	if err := dmacc.CheckServerID(pid); err != nil {
		return acc, fmt.Errorf("PROVIDER-ID: %w", err)
	}
	acc.serverID = pid
	add("ServerID", pid)
	var conRefs []string
	addrN := 0
	addAddr := func(addr, typ string, ports []string) error {
		t, ok := cpAddrTypes[strings.ToUpper(typ)]
		if !ok {
			return fmt.Errorf("ADDRTYPE %q is not URI, IPV4 or IPV6", typ)
		}
		addrN++
		base := "AppAddr/" + strconv.Itoa(addrN)
		add(base+"/Addr", addr)
		add(base+"/AddrType", t)
		for i, p := range ports {
			add(fmt.Sprintf("%s/Port/%d/PortNbr", base, i+1), p)
		}
		return nil
	}
	seen := map[string]bool{}
	for _, p := range app.parms {
		switch p.name {
		case "APPID", "PROVIDER-ID":
			if seen[p.name] {
				return acc, fmt.Errorf("%s given twice", p.name)
			}
		case "NAME":
			if seen[p.name] {
				return acc, errors.New("NAME given twice")
			}
			add("Name", p.value)
		case "TO-NAPID", "TO-PROXY":
			conRefs = append(conRefs, p.value)
		case "ADDR":
			if err := addAddr(p.value, "", nil); err != nil {
				return acc, err
			}
		default:
			warn("APPLICATION parm " + p.name + " ignored")
		}
		seen[p.name] = true
	}
	switch len(conRefs) {
	case 0:
	case 1:
		add("PrefConRef", conRefs[0])
	default:
		for i, r := range conRefs {
			add(fmt.Sprintf("ToConRef/%d/ConRef", i+1), r)
		}
	}
	authN := 0
	for _, sub := range app.subs {
		switch sub.typ {
		case "APPADDR":
			addr, _ := sub.get("ADDR")
			typ, _ := sub.get("ADDRTYPE")
			var ports []string
			for _, ps := range sub.subs {
				if ps.typ != "PORT" {
					warn("APPADDR characteristic " + ps.typ + " ignored")
					continue
				}
				if nbr, ok := ps.get("PORTNBR"); ok {
					ports = append(ports, nbr)
				}
			}
			if err := addAddr(addr, typ, ports); err != nil {
				return acc, err
			}
		case "APPAUTH":
			authN++
			base := "AppAuth/" + strconv.Itoa(authN)
			lvl, ok := sub.get("AAUTHLEVEL")
			if !ok {
				return acc, errors.New("APPAUTH without AAUTHLEVEL")
			}
			level, ok := cpLevels[lvl]
			if !ok {
				return acc, fmt.Errorf("AAUTHLEVEL %q is not APPSRV, CLIENT or OBEX", lvl)
			}
			add(base+"/AAuthLevel", level)
			for _, p := range sub.parms {
				switch p.name {
				case "AAUTHLEVEL":
				case "AAUTHTYPE":
					add(base+"/AAuthType", p.value)
				case "AAUTHNAME":
					add(base+"/AAuthName", p.value)
				case "AAUTHSECRET":
					add(base+"/AAuthSecret", p.value)
				case "AAUTHDATA":
					d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(p.value), ""))
					if err != nil {
						return acc, errors.New("AAUTHDATA is not base64")
					}
					acc.nonces = append(acc.nonces, parm{base + "/AAuthData", string(d)})
				default:
					warn("APPAUTH parm " + p.name + " ignored")
				}
			}
		default:
			warn("APPLICATION characteristic " + sub.typ + " ignored")
		}
	}
	return acc, nil
}

// parseCP reads a CP document and returns the plan that creates one DMAcc
// account per w7 APPLICATION.
func parseCP(doc []byte, enc Encoding) (func(context.Context, *tree.Txn, *applier) error, error) {
	chars, err := readCP(doc, enc)
	if err != nil {
		return nil, err
	}
	var accs []cpAccount
	var warnings []string
	warn := func(s string) { warnings = append(warnings, s) }
	for _, c := range chars {
		if c.typ != "APPLICATION" {
			warn("characteristic " + c.typ + " ignored")
			continue
		}
		if id, _ := c.get("APPID"); id != "w7" {
			warn(fmt.Sprintf("APPLICATION %q ignored", id))
			continue
		}
		acc, err := mapW7(c, warn)
		if err != nil {
			return nil, err
		}
		accs = append(accs, acc)
	}
	if len(accs) == 0 {
		return nil, errors.New("no w7 APPLICATION characteristic")
	}
	return func(ctx context.Context, tx *tree.Txn, a *applier) error {
		a.rep.Warnings = append(a.rep.Warnings, warnings...)
		for _, acc := range accs {
			if err := a.cpAccount(ctx, tx, acc); err != nil {
				return fmt.Errorf("w7 %s: %w", acc.serverID, err)
			}
		}
		return nil
	}, nil
}

// cpAccount creates ./DMAcc/<x> (x the first free positive integer), its
// leaves, and the ACL granting Get, Replace and Delete to the PROVIDER-ID.
func (a *applier) cpAccount(ctx context.Context, tx *tree.Txn, acc cpAccount) error {
	x := ""
	for i := 1; ; i++ {
		u := string(dmacc.Root) + "/" + strconv.Itoa(i)
		_, err := tx.Get(ctx, tree.LocalPrincipal, u)
		if errors.Is(err, tree.ErrNotFound) {
			x = u
			break
		}
		if err != nil {
			return err
		}
	}
	if err := tx.Add(ctx, a.p, x, tree.Value{Format: tree.FormatNode, Type: dmacc.MOType}); err != nil {
		return err
	}
	for _, l := range acc.leaves {
		if err := tx.Add(ctx, a.p, x+"/"+l.name, tree.Value{Data: []byte(l.value)}); err != nil {
			return err
		}
	}
	for _, n := range acc.nonces {
		if err := tx.Add(ctx, a.p, x+"/"+n.name, tree.Value{Data: []byte(n.value), Format: tree.FormatBin, Type: "application/octet-stream"}); err != nil {
			return err
		}
	}
	pid := acc.serverID
	aclv := "Get=" + pid + "&Replace=" + pid + "&Delete=" + pid
	if err := tx.Replace(ctx, tree.LocalPrincipal, x+"?prop=ACL", tree.Value{Data: []byte(aclv)}); err != nil {
		return fmt.Errorf("setting ACL: %w", err)
	}
	a.touch(x)
	return nil
}
