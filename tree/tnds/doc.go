// Package tnds models the OMA DM Tree and Description Serialization format
// (OMA-TS-DM_TNDS-V1_2 §9; protocol.md §6.8) and encodes/decodes it as XML
// (namespace "syncml:dmddf1.2") and WBXML (code page 2 of the DM DDF table).
//
// It is a pure codec: it knows nothing about ACL rules, node placement or the
// Inbox; package tree converts between a MgmtTree and its nodes. Decoding is
// strict about structure (MgmtTree root, NodeName required, a node has either
// children or a Value, Format holds one empty element) and never panics on bad
// input. The package starts no goroutines.
package tnds
