// Package tree implements the OMA DM 1.2 management tree: the "Configuration
// Manager" every DM command runs against.
//
// Specifications: OMA-TS-DM_TND-V1_2 §6 (tree and URIs), §7 (DDF access types,
// scope) and §8 (node properties §8.3, ACL §8.3.7.1, ?list= tree exchange
// §8.4); OMA-TS-DM_TNDS-V1_2 §9 (serialized trees, codec in tree/tnds);
// OMA-TS-DM_StdObj-V1_2 for ACL defaults and the ./Inbox object.
//
// # Model
//
// A Tree holds a stored in-memory tree (persisted by a store.Store) and any
// number of Providers mounted at URI prefixes. The stored tree owns every path
// no provider is mounted on; a mount point is a placeholder in the stored tree,
// so routing is a walk down the stored tree (mounts cannot nest, which makes
// "longest prefix" trivially unique). The Tree — never a provider — checks URI
// rules and limits, ACLs, DDF access types and scope (Desc), node formats and
// properties; providers only read and write their own data.
//
// Every operation runs as a Principal: a DM server (ServerID), subject to DDF
// access types (405) then ACLs (425), or the local agent/operator (Local),
// which bypasses both — it may read AAuthSecret; the CLI masks secrets when
// printing — but still obeys URI rules, structure rules and permanence.
// Existence is checked before rights (a missing node is 404 for everybody).
//
// # URIs
//
// Canonical form (type URI): "." or "./seg/seg...", each segment the UTF-8
// node name percent-encoded so that every byte outside ALPHA / DIGIT /
// "-._~!$&'()+,;=:@" is written %XX with upper-case hex. ParseURI accepts
// "a/b" and "./a/b", raw UTF-8 and any percent-encoding, and decodes and
// re-encodes each segment so equal names give equal URIs. Limits count bytes
// of the canonical form. Rejected with ErrBadRequest (400): a leading "/",
// empty segments (so also a trailing "/"), "*", "." or ".." segments after the
// root, invalid UTF-8 or bad escapes. Too deep or too long: ErrURITooLong (414).
//
// Query suffixes: "?prop=<Name>" and "?list=Struct|StructData|TNDS[+P..|-P..]".
// Any other query → 400; an unknown property, list kind or TNDS option → 406;
// mixing "+" and "-" options (or options on Struct) → 400: the request is
// malformed rather than asking for a missing feature.
//
// # Decisions where the specification leaves room
//
//   - Get on ./Inbox or below → 405, for every principal; Add to ./Inbox needs
//     TNDS data (else 415) and places each top node under the parent routed for
//     its MO identifier (RouteInbox; DMAcc by default; unknown MO → 406),
//     rewriting values that point into "./Inbox/<name>" (ConRefs).
//   - A DDF AccessType without Get, and every node named AAuthSecret or
//     AAuthData, gives 405 on Get and Copy by a server. Lists (Struct,
//     StructData, TNDS) skip every node the principal cannot Get, with its
//     subtree, and never carry secret values, not even for Local.
//   - Add exception (server without Replace on the parent adds an interior
//     node, explicitly or as an implicit parent): the first new interior node
//     gets Add, Delete and Replace for that server, and Get for that server
//     plus whoever had Get there by inheritance (readers keep their view).
//   - ACL changes: interior node — Replace on the node or on its parent; leaf
//     — Replace on the parent only; the root — Replace on the root, and its ACL
//     can never become empty (405). ACLs are returned in canonical form.
//   - Properties: ACL, Name and Title are replaceable, the others give 405 on
//     Replace; Add/Delete/Exec on a property → 405. Size of an interior node
//     and TStamp of a provider node that does not track it → 406. Rename of the
//     root, ./Inbox, a mount point or a DDF-permanent node → 405; to an
//     existing sibling → 418.
//   - Delete of the root, ./Inbox, a mount point, a permanent node or a
//     subtree containing one → 405. Copy needs Get (+DDF Copy) on the source
//     and Add or Replace on the target; an interior source or target → 403.
//   - Exec is only for provider nodes implementing Executer (else 405); a
//     provider returning ErrAsync gives 202.
//   - TNDS: the Get target itself is the top Node (the root's children for
//     "."); on import Path is relative to the command target. A TNDS Add or
//     Replace is all-or-nothing for the stored tree.
//
// # Transactions
//
// Every write is all-or-nothing for the stored tree: an undo log records the
// exact prior values, properties, ACLs, TStamp, VerNo, names and structure.
// Begin/Atomic extend that to many commands and to Transactional providers,
// which are begun lazily on first write and committed or rolled back with the
// Txn. Inside a Txn, writing to a provider that is not Transactional fails with
// ErrNotTransactional before the provider is called; the session calls
// CheckAtomic with every target first, so such an Atomic fails (500) with
// nothing applied. Outside a Txn, provider writes are best effort: a failure
// midway through a multi-node command undoes the stored part only. A Txn holds
// the tree lock until Commit or Rollback; Tree methods called with
// tx.Context(ctx) run inside the Txn, and Begin/Atomic with it return
// ErrNestedAtomic (500).
//
// # Persistence
//
// Flush writes one snapshot (package tree/store) when anything changed: the
// stored tree plus the ACL/Title overlay the tree keeps for provider nodes.
//
// # Concurrency
//
// A Tree is safe for concurrent use; one sync.Mutex serialises operations. The
// Tree starts no goroutines. Providers are called with the lock held and must
// not call back into the Tree.
package tree
