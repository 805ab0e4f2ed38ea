package treetest

import (
	"context"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Mem is an in-memory provider implementing every optional provider
// interface. It is safe for use by the tree (which serialises calls).
type Mem struct {
	prefix tree.URI
	// Execs records every Exec call.
	Execs []ExecCall
	// ExecErr, if set, is returned by Exec (e.g. tree.ErrAsync).
	ExecErr error
	// Descs is returned by Describe.
	Descs []tree.Desc
}

// ExecCall is one recorded Exec.
type ExecCall struct {
	URI        tree.URI
	Data       []byte
	Correlator string
}

// NewMem returns a Mem provider whose mount point prefix is an empty interior node.
func NewMem(prefix tree.URI) *Mem { panic("TODO") }

// Get implements tree.Provider.
func (m *Mem) Get(ctx context.Context, u tree.URI) (tree.Node, error) { panic("TODO") }

// Add implements tree.Adder.
func (m *Mem) Add(ctx context.Context, u tree.URI, v tree.Value) error { panic("TODO") }

// Replace implements tree.Replacer.
func (m *Mem) Replace(ctx context.Context, u tree.URI, v tree.Value) error { panic("TODO") }

// Delete implements tree.Deleter.
func (m *Mem) Delete(ctx context.Context, u tree.URI) error { panic("TODO") }

// Exec implements tree.Executer.
func (m *Mem) Exec(ctx context.Context, u tree.URI, data []byte, correlator string) error {
	panic("TODO")
}

// Rename implements tree.Renamer.
func (m *Mem) Rename(ctx context.Context, u tree.URI, name string) error { panic("TODO") }

// Begin implements tree.Transactional.
func (m *Mem) Begin(ctx context.Context) (tree.ProviderTx, error) { panic("TODO") }

// Describe implements tree.Describer.
func (m *Mem) Describe() []tree.Desc { return m.Descs }

// NonTransactional returns a view of m without Begin (and without Describe),
// for testing the Atomic refusal.
func (m *Mem) NonTransactional() tree.Provider { panic("TODO") }
