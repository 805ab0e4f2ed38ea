// Package dmacc reads, validates and updates DM server accounts kept in the
// management tree under ./DMAcc/<x> (the DM 1.2 DMAcc MO,
// urn:oma:mo:oma-dm-dmacc:1.0 / org.openmobilealliance/1.0/w7, specified in
// OMA-TS-DM_StdObj-V1_2 §7.1.3.1 and figure 7.1.3.1; protocol.md §6.3).
//
// # Where accounts live
//
// Accounts are ordinary stored nodes of package tree, not a provider: that way
// they get TNDS and ./Inbox routing (bootstrap, protocol.md §7.1), ACLs,
// transactions, persistence and TStamp/VerNo from the tree for free. Declare
// registers the DDF (Descs: AAuthSecret and AAuthData are "No Get" and
// Secret, AAuthData has format bin) and the Inbox routes of both MO
// identifiers.
//
// # Validation
//
// A tree accepts any structure a server may legally write, so validation is
// done by the readers and at the points where accounts are created:
//
//   - Store.Check(ctx, node) validates one account: AppID w7, ServerID
//     non-empty, usable in an ACL and unique across ./DMAcc, an AppAddr entry
//     whose AddrType is URI (the default) with an http or https URL, PortNbr
//     a port number, AAuthLevel in {CLCRED, SRVCRED, OBEX, HTTP}, AAuthType
//     and AAuthPref in {HTTP-BASIC, HTTP-DIGEST, BASIC, DIGEST, HMAC, X509,
//     SECURID, SAFEWORD, DIGIPASS, TRANSPORT}. Problems come back together
//     as one *InvalidError.
//   - agent/bootstrap runs Check on every account a bootstrap document
//     creates or changes, inside the document's tree transaction, and
//     refuses the whole document (tree untouched) if one fails.
//   - Store.Accounts skips invalid accounts and reports each one as an
//     *InvalidError in the returned (joined) error next to the valid
//     accounts; of two accounts with the same ServerID the first in tree
//     order is used and the second reported. A DM session that changes
//     ./DMAcc therefore cannot make the agent use a half-written account.
//
// # Origin
//
// Bootstrap records where an account came from in the leaf
// ./DMAcc/<x>/Ext/Origin ("file", "push", "smartcard:<ICCID>", ...). Its DDF
// allows servers only Get, and Ext cannot be deleted by a server, so the
// agent can remove the accounts of a smartcard that was removed or changed
// (OMA-TS-DM_Bootstrap-V1_2 §3.1.4.6). Store.Origin reads it.
//
// # Credentials
//
// Account.Client is the AppAuth entry with AAuthLevel CLCRED (how the client
// authenticates to the server), Account.Server the SRVCRED one, Account.HTTP
// the HTTP one. Nonces (AAuthData) are binary; SetNonce stores a new one as
// the local principal and leaves flushing to the caller. Credential.String
// masks the secret. The package never logs.
//
// A Store is as safe for concurrent use as the Tree it wraps; it keeps no
// state of its own and starts no goroutines.
package dmacc
