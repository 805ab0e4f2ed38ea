package treetest

import (
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Config describes the provider under test.
type Config struct {
	// Prefix is where the provider is mounted.
	Prefix tree.URI
	// New returns a fresh provider for each sub-test (state must not leak).
	New func(t *testing.T) tree.Provider
	// Replace lists leaves that accept Replace, with a valid new value each.
	Replace []Case
	// Add lists nodes that can be added (URIs under Prefix, absent at start).
	Add []Case
	// ReadOnly lists existing leaves that must refuse Replace with 405.
	ReadOnly []tree.URI
}

// Case is a URI and a value.
type Case struct {
	URI   tree.URI
	Value tree.Value
}

// Run runs the conformance suite: every node reachable from Prefix is
// gettable and consistent (interior ⇔ Format node, children gettable, Size,
// missing → ErrNotFound); Replace/Add cases round-trip through a Tree; and a
// Transactional provider restores its exact state on rollback.
func Run(t *testing.T, c Config) { panic("TODO") }
