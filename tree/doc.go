// Package tree implements the OMA DM 1.2 management tree: the "Configuration
// Manager" every DM command runs against.
//
// Specifications: OMA-TS-DM_TND-V1_2 §6 (tree and URIs), §7 (DDF access types,
// scope) and §8 (node properties, ACL §8.3.7.1, ?list= tree exchange §8.4);
// OMA-TS-DM_TNDS-V1_2 §9 (serialized tree, see package tree/tnds);
// OMA-TS-DM_StdObj-V1_2 for ACL defaults and the ./Inbox object.
//
// # Model
//
// A Tree holds a stored in-memory tree (persisted by a store.Store) and any
// number of Providers mounted at URI prefixes (longest-prefix routing). The
// stored tree owns every path no provider is mounted on. The Tree — never a
// provider — checks URI rules and limits, ACLs, DDF access types (Desc), node
// formats and properties; providers only read and write their own data.
//
// Every operation runs as a Principal: a DM server (ServerID) subject to ACLs,
// or the local operator/agent (Local) which bypasses ACLs and DDF access
// types (it may read AAuthSecret; the CLI masks secrets when printing) but
// still obeys URI rules, node structure and permanence.
//
// # URIs
//
// Canonical form (type URI): "." or "./seg/seg...", each segment percent-
// encoded UTF-8 where every byte outside ALPHA / DIGIT / "-._~!$&'()+,;=:@"
// is written %XX with upper-case hex. ParseURI accepts "a/b" and "./a/b",
// raw UTF-8, any percent-encoding; it decodes and re-encodes each segment so
// equal names give equal URIs. Limits count the canonical form in bytes.
// Rejected with ErrBadRequest (400): leading "/", empty segments (also a
// trailing "/"), "*", "." or ".." segments after the root, invalid UTF-8 or
// bad escapes. Too deep/long → ErrURITooLong (414).
//
// Query suffixes: "?prop=<Name>" and "?list=Struct|StructData|TNDS[+P..|-P..]".
// Any other query → 400; an unknown property or list kind → 406; mixing "+"
// and "-" in TNDS options → 400 (a malformed request, not a missing feature).
//
// # Providers
//
// Providers receive absolute canonical URIs (not relative to the mount), so
// their errors and logs are unambiguous. The mount point itself belongs to the
// provider. The Tree keeps an overlay of ACL and Title for provider nodes
// (persisted with the stored tree), so providers never store ACLs; a
// provider's Node.Props.ACL is only the default used when no overlay exists.
//
// # Transactions
//
// Begin/Atomic give all-or-nothing semantics: the stored tree records an undo
// log (exact prior values, properties, ACLs, TStamp, VerNo), transactional
// providers are begun lazily on first touch and committed/rolled back with
// the Txn. Touching a provider that does not implement Transactional inside a
// Txn fails with ErrNotTransactional before that provider is called; callers
// that want to refuse the whole Atomic before executing anything call
// CheckAtomic with every target URI first. A Txn holds the tree's lock until
// Commit or Rollback; a nested Begin/Atomic (ctx carrying a Txn) returns
// ErrNestedAtomic (500).
//
// # Concurrency
//
// A Tree is safe for concurrent use; one sync.Mutex serialises operations. The
// Tree starts no goroutines. Providers are called with the lock held and must
// not call back into the Tree.
package tree
