// Package acl parses, formats and evaluates OMA DM access control lists
// (OMA-TS-DM_TND-V1_2 §8.3.7.1; defaults in OMA-TS-DM_StdObj-V1_2).
//
// Grammar:
//
//	acl       = acl-entry *( "&" acl-entry ) | <empty>
//	acl-entry = command "=" server-id *( "+" server-id )
//	command   = "Add" | "Delete" | "Exec" | "Get" | "Replace"
//	server-id = "*" | 1*(printable except "=", "&", "*", "+", whitespace)
//
// Invariants: an ACL value is immutable once parsed; String always produces
// the canonical form (commands in the order Add, Delete, Exec, Get, Replace;
// server IDs in first-seen order without duplicates; "*" alone when present),
// and Parse(String(a)) == a. Repeated commands in the input are merged.
// Inheritance (an empty ACL inherits the nearest ancestor's whole ACL) is done
// by package tree, not here. The package is pure and starts no goroutines.
package acl
