package main

import (
	"context"
	"fmt"
	"io"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
)

// maxSyncMLInput bounds what the syncml tools read (a DM message is far smaller).
const maxSyncMLInput = 64 << 20

const syncmlUsage = "usage: omadm-agent syncml decode [FILE|-]   (WBXML or XML in, indented XML out)\n" +
	"       omadm-agent syncml encode [FILE|-]   (XML in, WBXML 1.2 out)"

// cmdSyncml decodes and encodes SyncML DM messages for technicians.
func cmdSyncml(_ context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return usagef("%s", syncmlUsage)
	}
	switch args[0] {
	case "decode":
		return syncmlDecode(c, args[1:])
	case "encode":
		return syncmlEncode(c, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(c.stdout, syncmlUsage)
		return nil
	}
	return usagef("unknown syncml subcommand %q\n%s", args[0], syncmlUsage)
}

func readSyncMLInput(c *cli, name string, args []string) ([]byte, string, error) {
	fs := c.flags("syncml " + name)
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	in, src, err := c.openInput(fs.Args())
	if err != nil {
		return nil, "", err
	}
	defer in.Close()
	data, err := io.ReadAll(io.LimitReader(in, maxSyncMLInput+1))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", src, err)
	}
	if len(data) > maxSyncMLInput {
		return nil, "", fmt.Errorf("%s: input larger than %d bytes", src, maxSyncMLInput)
	}
	return data, src, nil
}

// syncmlDecode prints a message as indented XML. WBXML is transcoded token
// by token, so everything in it shows (unknown elements included); XML goes
// through the message model. Elements the session would reject are listed
// on stderr.
func syncmlDecode(c *cli, args []string) error {
	data, src, err := readSyncMLInput(c, "decode", args)
	if err != nil {
		return err
	}
	m, enc, err := syncml.Decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	var out []byte
	if enc == syncml.WBXML {
		out, err = wbxml.ToXML(data)
	} else {
		out, err = syncml.EncodeXML(m, "  ")
	}
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if _, err := c.stdout.Write(out); err != nil {
		return err
	}
	reportProblems(c.stderr, m)
	return nil
}

func reportProblems(w io.Writer, m *syncml.Message) {
	if m.Hdr.Problem != nil {
		fmt.Fprintf(w, "warning: %v: %v\n", m.Hdr.Pos, m.Hdr.Problem)
	}
	var walk func([]*syncml.Command)
	walk = func(cs []*syncml.Command) {
		for _, cmd := range cs {
			if cmd.Problem != nil {
				fmt.Fprintf(w, "warning: %v: %v (status %d)\n", cmd.Pos, cmd.Problem, syncml.ProblemStatus(cmd.Problem))
			}
			walk(cmd.Children)
		}
	}
	walk(m.Body)
}

// syncmlEncode turns an XML message into WBXML 1.2.
func syncmlEncode(c *cli, args []string) error {
	data, src, err := readSyncMLInput(c, "encode", args)
	if err != nil {
		return err
	}
	m, err := syncml.DecodeXML(data)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	out, err := syncml.Encode(m, syncml.WBXML)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	_, err = c.stdout.Write(out)
	return err
}
