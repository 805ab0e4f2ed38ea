package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/omadm-agent/omadm-agent/agent/bootstrap"
	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/device"
	"github.com/omadm-agent/omadm-agent/tree"
)

// masked replaces secret values in everything the CLI prints.
const masked = "********"

// loadConfigOrDefault loads c.config; a missing file means the defaults.
func (c *cli) loadConfigOrDefault() (config.Config, error) {
	if _, err := os.Stat(c.config); errors.Is(err, fs.ErrNotExist) {
		return config.Default(), nil
	}
	cfg, _, err := config.Load(c.config)
	if err != nil {
		return config.Config{}, fmt.Errorf("config: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return cfg, nil
}

// openDeviceTree opens the agent's tree the way the daemon does
// (device.OpenTree), from --state-dir and the [device] configuration. The
// CLI has no modem: DevId comes from dev_id or the machine id.
func (c *cli) openDeviceTree(ctx context.Context) (*tree.Tree, error) {
	cfg, err := c.loadConfigOrDefault()
	if err != nil {
		return nil, err
	}
	return device.OpenTree(ctx, device.Options{StateDir: c.stateDir, Device: cfg.Device, Version: version})
}

// parseInterleaved parses flags that may appear before, between or after
// the positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

const treeUsage = `usage: omadm-agent tree get URI | add URI [VALUE] [--format F] [--type T] | set URI VALUE [--format F] [--type T] | delete URI | dump [URI]`

func cmdTree(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return usagef("%s", treeUsage)
	}
	sub := args[0]
	fs := c.flags("tree " + sub)
	format := fs.String("format", "", "node format (chr, int, bool, bin, b64 = base64 VALUE stored as bin, ...)")
	typ := fs.String("type", "", "MIME type of a leaf, or MO identifier of an interior node")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	want := map[string][2]int{"get": {1, 1}, "add": {1, 2}, "set": {2, 2}, "delete": {1, 1}, "dump": {0, 1}}
	n, ok := want[sub]
	if !ok {
		return usagef("unknown tree command %q; %s", sub, treeUsage)
	}
	if len(pos) < n[0] || len(pos) > n[1] {
		return usagef("%s", treeUsage)
	}
	if (*format != "" || *typ != "") && sub != "add" && sub != "set" {
		return usagef("--format and --type only apply to add and set")
	}
	t, err := c.openDeviceTree(ctx)
	if err != nil {
		return err
	}
	p := tree.LocalPrincipal
	switch sub {
	case "get":
		return treeGet(ctx, c.stdout, t, pos[0])
	case "dump":
		uri := "."
		if len(pos) == 1 {
			uri = pos[0]
		}
		return treeDump(ctx, c.stdout, t, uri)
	case "delete":
		if err := t.Delete(ctx, p, pos[0]); err != nil {
			return err
		}
	case "add", "set":
		v := tree.Value{Format: *format, Type: *typ}
		if len(pos) == 1 {
			if v.Format != "" && v.Format != tree.FormatNode {
				return usagef("add without VALUE creates an interior node; --format %s needs a VALUE", v.Format)
			}
			v.Format = tree.FormatNode
		} else {
			v.Data = []byte(pos[1])
		}
		if sub == "set" && v.Format == "" {
			// Keep the node's format (e.g. bin, bool) unless told otherwise.
			if r, err := t.Get(ctx, p, pos[0]+"?prop=Format"); err == nil {
				v.Format = string(r.Items[0].Data)
			}
		}
		if v.Format == tree.FormatB64 {
			d, err := base64.StdEncoding.DecodeString(string(v.Data))
			if err != nil {
				return fmt.Errorf("--format b64: VALUE is not base64")
			}
			v.Data, v.Format = d, tree.FormatBin
		}
		if sub == "add" {
			err = t.Add(ctx, p, pos[0], v)
		} else {
			err = t.Replace(ctx, p, pos[0], v)
		}
		if err != nil {
			return err
		}
	}
	return t.Flush(ctx)
}

// showValue formats a leaf value for the terminal.
func showValue(t *tree.Tree, u tree.URI, format string, data []byte) string {
	switch {
	case t.IsSecret(u):
		return masked
	case format == tree.FormatBin || !utf8.Valid(data):
		return "0x" + hex.EncodeToString(data)
	}
	return string(data)
}

func treeGet(ctx context.Context, w io.Writer, t *tree.Tree, uri string) error {
	r, err := t.Get(ctx, tree.LocalPrincipal, uri)
	if err != nil {
		return err
	}
	_, q, _ := tree.ParseURI(uri, t.Limits())
	switch {
	case q.Prop != "":
		fmt.Fprintln(w, string(r.Items[0].Data))
	case q.List == tree.ListTNDS:
		w.Write(r.Items[0].Data)
		fmt.Fprintln(w)
	case q.List != tree.ListNone:
		for _, it := range r.Items {
			line := fmt.Sprintf("%s [%s", it.URI, it.Format)
			if it.Type != "" {
				line += " " + it.Type
			}
			line += "]"
			if it.Format != tree.FormatNode && (it.Data != nil || t.IsSecret(it.URI)) {
				line += " = " + showValue(t, it.URI, it.Format, it.Data)
			}
			fmt.Fprintln(w, line)
		}
	default:
		it := r.Items[0]
		if it.Format == tree.FormatNode {
			if len(it.Data) > 0 {
				for _, ch := range strings.Split(string(it.Data), "/") {
					fmt.Fprintln(w, ch)
				}
			}
			return nil
		}
		fmt.Fprintln(w, showValue(t, it.URI, it.Format, it.Data))
	}
	return nil
}

func treeDump(ctx context.Context, w io.Writer, t *tree.Tree, uri string) error {
	u, q, err := tree.ParseURI(uri, t.Limits())
	if err != nil {
		return err
	}
	if q.Prop != "" || q.List != tree.ListNone {
		return usagef("dump takes a plain URI")
	}
	prop := func(u tree.URI, name string) string {
		r, err := t.Get(ctx, tree.LocalPrincipal, string(u)+"?prop="+name)
		if err != nil {
			return ""
		}
		return string(r.Items[0].Data)
	}
	var walk func(u tree.URI, depth int) error
	walk = func(u tree.URI, depth int) error {
		name := u.Base()
		if depth == 0 {
			name = string(u)
		}
		ind := strings.Repeat("  ", depth)
		if u == tree.InboxURI {
			fmt.Fprintf(w, "%s%s/ [node %s] (write-only)\n", ind, name, tree.InboxType)
			return nil
		}
		r, err := t.Get(ctx, tree.LocalPrincipal, string(u))
		if err != nil {
			return err
		}
		it := r.Items[0]
		meta := it.Format
		if it.Type != "" && !(it.Format != tree.FormatNode && it.Type == tree.TypeText) {
			meta += " " + it.Type
		}
		aclText := ""
		if a := prop(u, "ACL"); a != "" {
			aclText = " ACL=" + a
		}
		if it.Format != tree.FormatNode {
			fmt.Fprintf(w, "%s%s = %s [%s]%s\n", ind, name, showValue(t, u, it.Format, it.Data), meta, aclText)
			return nil
		}
		slash := "/"
		if u == tree.Root {
			slash = ""
		}
		fmt.Fprintf(w, "%s%s%s [%s]%s\n", ind, name, slash, meta, aclText)
		if len(it.Data) == 0 {
			return nil
		}
		for _, ch := range strings.Split(string(it.Data), "/") {
			if err := walk(u.ChildSeg(ch), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(u, 0)
}

func cmdBootstrap(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("bootstrap")
	origin := fs.String("origin", "", `origin recorded in ./DMAcc/<x>/Ext/Origin of new accounts (default "file", or "smartcard" with --sim)`)
	sim := fs.Bool("sim", false, "read the bootstrap document from the SIM/UICC instead of a file")
	via := fs.String("via", "", `with --sim: "pcsc" (a PC/SC reader through pcscd), "modem" (the modem port: AT+CSIM, else AT+CCHO/CGLA, else AT+CRSM, or [bootstrap] sim_route), or one route: "csim", "cgla", "crsm"; default [bootstrap] smartcard, else pcsc`)
	reader := fs.String("reader", "", "with --sim --via pcsc: the reader name (default [bootstrap] pcsc_reader, else the first reader with a card)")
	socket := fs.String("pcsc-socket", "", "with --sim --via pcsc: pcscd's socket (default $PCSCLITE_CSOCK_NAME, else /run/pcscd/pcscd.comm)")
	device := fs.String("modem", "", "with --sim --via modem|csim|cgla|crsm: the modem's AT port (default [modem] device)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var (
		doc  []byte
		name string
	)
	if *sim {
		if len(pos) != 0 {
			return usagef("usage: omadm-agent bootstrap --sim [--via pcsc|modem|csim|cgla|crsm] [--reader NAME] [--pcsc-socket PATH] [--modem DEVICE]")
		}
		if *origin == "" {
			*origin = "smartcard"
		}
		bs, err := c.readSIMBootstrap(ctx, *via, *reader, *socket, *device)
		if err != nil {
			return err
		}
		doc, name = bs.Document, describeSIM(bs)
		for _, w := range bs.Warnings {
			fmt.Fprintf(c.stdout, "warning: SIM: %s\n", w)
		}
	} else {
		if len(pos) != 1 {
			return usagef("usage: omadm-agent bootstrap [--origin O] FILE|-  or  omadm-agent bootstrap --sim [--via pcsc|modem|csim|cgla|crsm] ...")
		}
		if *origin == "" {
			*origin = "file"
		}
		in, n, err := c.openInput(pos)
		if err != nil {
			return err
		}
		name = n
		doc, err = io.ReadAll(io.LimitReader(in, 1<<20+1))
		in.Close()
		if err != nil {
			return err
		}
		if len(doc) > 1<<20 {
			return fmt.Errorf("%s: larger than 1 MiB", name)
		}
	}
	t, err := c.openDeviceTree(ctx)
	if err != nil {
		return err
	}
	rep, err := bootstrap.Apply(ctx, t, doc, bootstrap.Options{Origin: *origin})
	if err != nil {
		return err
	}
	if err := t.Flush(ctx); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: %s bootstrap (%s) applied\n", name, strings.ToUpper(string(rep.Kind)), rep.Encoding)
	for i, sid := range rep.Added {
		fmt.Fprintf(c.stdout, "added account %s at %s\n", sid, rep.Nodes[i])
	}
	for _, sid := range rep.Changed {
		fmt.Fprintf(c.stdout, "changed account %s\n", sid)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(c.stdout, "warning: %s\n", w)
	}
	return nil
}

func cmdDDF(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("ddf")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("usage: omadm-agent ddf [URI]")
	}
	uri := tree.Root
	if len(pos) == 1 {
		u, q, err := tree.ParseURI(pos[0], tree.Limits{})
		if err != nil {
			return err
		}
		if q.Prop != "" || q.List != tree.ListNone {
			return usagef("ddf takes a plain URI")
		}
		uri = u
	}
	t, err := c.openDeviceTree(ctx)
	if err != nil {
		return err
	}
	out, err := ddfXML(t.Descriptions(), uri)
	if err != nil {
		return err
	}
	_, err = c.stdout.Write(out)
	return err
}

// DDF XML (OMA-TS-DM_TND-V1_2 §7, namespace syncml:dmddf1.2).
type ddfTree struct {
	VerDTD string
	Man    string
	Mod    string
	Nodes  []*ddfNode
}

type ddfNode struct {
	NodeName string
	Path     string // written when not empty
	Props    *ddfProps
	Nodes    []*ddfNode
}

// ddfEmpty is an empty element such as <Get/> in AccessType.
type ddfEmpty struct {
	Name string
}

type ddfProps struct {
	AccessType  ddfList
	Default     string // DefaultValue, written when not empty
	Description string // written when not empty
	DFFormat    ddfList
	Occurrence  *ddfList
	Scope       *ddfList
	DFType      ddfType
}

type ddfList struct {
	Items []ddfEmpty
}

type ddfType struct {
	MIME    string  // written when not empty
	DDFName *string // written when not nil
}

func list(names ...string) ddfList {
	var l ddfList
	for _, n := range names {
		l.Items = append(l.Items, ddfEmpty{Name: n})
	}
	return l
}

func descProps(d tree.Desc) *ddfProps {
	p := &ddfProps{Default: d.Default, Description: d.Description}
	var acc []string
	for _, a := range []struct {
		bit  tree.AccessType
		name string
	}{{tree.AccessAdd, "Add"}, {tree.AccessCopy, "Copy"}, {tree.AccessDelete, "Delete"}, {tree.AccessExec, "Exec"}, {tree.AccessGet, "Get"}, {tree.AccessReplace, "Replace"}} {
		if d.Access == 0 || d.Access&a.bit != 0 {
			acc = append(acc, a.name)
		}
	}
	p.AccessType = list(acc...)
	f := d.Format
	if f == "" {
		f = tree.FormatChr
	}
	p.DFFormat = list(f)
	if d.Occurrence != "" {
		l := list(d.Occurrence)
		p.Occurrence = &l
	}
	switch d.Scope {
	case tree.ScopePermanent:
		l := list("Permanent")
		p.Scope = &l
	case tree.ScopeDynamic:
		l := list("Dynamic")
		p.Scope = &l
	}
	if f == tree.FormatNode {
		p.DFType.DDFName = &d.Type
	} else {
		p.DFType.MIME = d.Type
		if p.DFType.MIME == "" {
			p.DFType.MIME = tree.TypeText
		}
	}
	return p
}

// ddfXML renders the descriptions at or below root as a DDF MgmtTree. A "*"
// segment is an unnamed node (<NodeName/>). Ancestors without a description
// are written as plain interior nodes.
func ddfXML(descs []tree.Desc, root tree.URI) ([]byte, error) {
	rootSegs := root.Segments()
	type entry struct {
		segs []string
		d    tree.Desc
	}
	var entries []entry
	for _, d := range descs {
		var segs []string
		if d.Path != "." {
			segs = strings.Split(strings.TrimPrefix(d.Path, "./"), "/")
		}
		if len(segs) < len(rootSegs) || len(segs) == 0 {
			continue
		}
		match := true
		for i, s := range rootSegs {
			if segs[i] != "*" && segs[i] != s {
				match = false
				break
			}
		}
		if match {
			entries = append(entries, entry{segs, d})
		}
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("no DDF description at or below %s", root)
	}
	sort.SliceStable(entries, func(i, j int) bool { return len(entries[i].segs) < len(entries[j].segs) })
	doc := &ddfTree{VerDTD: "1.2", Man: "omadm-agent"}
	byPath := map[string]*ddfNode{}
	var find func(segs []string) *ddfNode
	find = func(segs []string) *ddfNode {
		key := strings.Join(segs, "/")
		if n, ok := byPath[key]; ok {
			return n
		}
		name := segs[len(segs)-1]
		if name == "*" {
			name = ""
		} else if un, err := tree.UnescapeName(name); err == nil {
			name = un
		}
		n := &ddfNode{NodeName: name}
		byPath[key] = n
		top := len(rootSegs)
		if top == 0 {
			top = 1
		}
		if len(segs) <= top {
			if len(segs) > 1 {
				n.Path = "./" + strings.Join(rootSegs[:len(segs)-1], "/")
			}
			doc.Nodes = append(doc.Nodes, n)
		} else {
			parent := find(segs[:len(segs)-1])
			parent.Nodes = append(parent.Nodes, n)
		}
		return n
	}
	for _, e := range entries {
		if len(e.segs) < len(rootSegs) {
			continue
		}
		find(e.segs).Props = descProps(e.d)
	}
	for _, n := range byPath {
		if n.Props == nil {
			empty := ""
			n.Props = &ddfProps{AccessType: list("Get"), DFFormat: list(tree.FormatNode), DFType: ddfType{DDFName: &empty}}
		}
	}
	var w ddfWriter
	w.doc(doc)
	return w.b.Bytes(), nil
}

// ddfWriter writes a ddfTree as indented XML, elements without content as
// <X/> (the form DDF documents use). It is written by hand rather than
// with xml.MarshalIndent, whose reflection-driven encoder would be linked
// into the agent for this one command.
type ddfWriter struct {
	b     bytes.Buffer
	depth int
}

func (w *ddfWriter) indent() {
	w.b.WriteByte('\n')
	for range w.depth {
		w.b.WriteString("  ")
	}
}

func (w *ddfWriter) open(name string) {
	w.indent()
	w.b.WriteString("<" + name + ">")
	w.depth++
}

func (w *ddfWriter) close(name string) {
	w.depth--
	w.indent()
	w.b.WriteString("</" + name + ">")
}

// leaf writes <name>text</name>, or <name/> when text is empty.
func (w *ddfWriter) leaf(name, text string) {
	w.indent()
	if text == "" {
		w.b.WriteString("<" + name + "/>")
		return
	}
	w.b.WriteString("<" + name + ">")
	_ = xml.EscapeText(&w.b, []byte(text))
	w.b.WriteString("</" + name + ">")
}

func (w *ddfWriter) doc(d *ddfTree) {
	w.b.WriteString(xml.Header)
	w.b.WriteString(`<MgmtTree xmlns="syncml:dmddf1.2">`)
	w.depth++
	w.leaf("VerDTD", d.VerDTD)
	if d.Man != "" {
		w.leaf("Man", d.Man)
	}
	if d.Mod != "" {
		w.leaf("Mod", d.Mod)
	}
	for _, n := range d.Nodes {
		w.node(n)
	}
	w.close("MgmtTree")
	w.b.WriteByte('\n')
}

func (w *ddfWriter) node(n *ddfNode) {
	w.open("Node")
	w.leaf("NodeName", n.NodeName)
	if n.Path != "" {
		w.leaf("Path", n.Path)
	}
	if p := n.Props; p != nil {
		w.open("DFProperties")
		w.list("AccessType", &p.AccessType)
		if p.Default != "" {
			w.leaf("DefaultValue", p.Default)
		}
		if p.Description != "" {
			w.leaf("Description", p.Description)
		}
		w.list("DFFormat", &p.DFFormat)
		if p.Occurrence != nil {
			w.list("Occurrence", p.Occurrence)
		}
		if p.Scope != nil {
			w.list("Scope", p.Scope)
		}
		w.open("DFType")
		if p.DFType.MIME != "" {
			w.leaf("MIME", p.DFType.MIME)
		}
		if p.DFType.DDFName != nil {
			w.leaf("DDFName", *p.DFType.DDFName)
		}
		w.close("DFType")
		w.close("DFProperties")
	}
	for _, c := range n.Nodes {
		w.node(c)
	}
	w.close("Node")
}

func (w *ddfWriter) list(name string, l *ddfList) {
	if len(l.Items) == 0 {
		w.leaf(name, "")
		return
	}
	w.open(name)
	for _, it := range l.Items {
		w.leaf(it.Name, "")
	}
	w.close(name)
}
