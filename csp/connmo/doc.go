// Package connmo is the provider of ./Vendor/omadm/Network/Cellular, a
// vendor management object (MO identifier
// urn:omadm-agent:mo:connmo-cellular:1.0) through which a DM server reads
// and configures the gateway's cellular data connections (APN settings):
// the NetworkManager connection profiles of type "gsm", over NetworkManager's
// D-Bus API on the system bus (org.freedesktop.NetworkManager.Settings:
// ListConnections, AddConnection; .Settings.Connection: GetSettings,
// GetSecrets, Update, Delete; org.freedesktop.NetworkManager:
// CheckpointCreate, CheckpointRollback, CheckpointDestroy).
//
// DDF (OMA-TS-DM_TND-V1_2 §7; `omadm-agent ddf` prints it from Describe):
//
//	./Vendor/omadm/Network/Cellular  node  Get, Add            One         Permanent
//	    <x>                          node  Add Delete Get Replace  ZeroOrMore  one gsm connection
//	        APN                      chr   Add Delete Get Replace  ZeroOrOne   gsm.apn
//	        User                     chr   Add Delete Get Replace  ZeroOrOne   gsm.username
//	        Password                 chr   Add Delete Replace      ZeroOrOne   gsm.password, Secret, write-only
//	        Autoconnect              bool  Get Replace             One         connection.autoconnect
//	        Name                     chr   Get                     One         connection.id
//	        UUID                     chr   Get                     One         connection.uuid
//
// Node names: <x> is the connection's id (connection.id), percent-encoded
// as a URI segment by the tree, when that id is a valid node name
// (ValidID: non-empty UTF-8 without control characters, not "." or "..",
// at most 127 bytes encoded), is carried by no other gsm connection and is
// not some connection's UUID; otherwise <x> is the connection's UUID
// (NodeNames, Resolve). Adding <x> creates a connection whose id is the
// decoded node name. Replace of ?prop=Name on <x> renames it
// (connection.id).
//
// Leaves: APN, User and Password exist only while set; Add sets them
// (a server's Add of <x>, then <x>/APN, <x>/User, <x>/Password works as
// with a stored subtree), Replace with an empty value or Delete removes
// them. Name, UUID and Autoconnect always exist (Add of them is 418 from
// the tree; use Replace for Autoconnect). A connection added here starts
// with autoconnect=false, gsm without APN, ipv4/ipv6 method auto, so a
// half-configured profile does not dial; the server sets Autoconnect last.
// Password is write-only: NetworkManager never returns secrets in
// GetSettings and the provider never returns them either; the node exists
// while a password is stored (GetSecrets("gsm")), its value reads as
// empty, and it is marked Secret (tree.Node.Secret, tree.Desc.Secret) so
// servers get 405 and dumps mask it. Writes send NM the whole settings
// with the existing gsm secrets merged in (Update replaces all settings),
// so changing the APN keeps the password.
//
// Values are checked before any D-Bus call: APN at most 64 bytes of
// A-Z a-z 0-9 . _ - (NetworkManager's nm-setting-gsm rule; ValidAPN),
// User/Password UTF-8 without control characters, at most 255 bytes,
// Autoconnect "true" or "false"; otherwise 400, and a Format other than
// chr (bool for Autoconnect) is 415.
//
// Errors: every D-Bus failure is a *csp.BusError keeping the D-Bus error
// name. NetworkManager absent from the bus (ServiceUnknown,
// NameHasNoOwner) wraps csp.ErrServiceUnavailable (500, at once);
// UnknownObject / NetworkManager.DoesNotExist map to 404; NM's
// InvalidArguments / InvalidProperty / InvalidSetting on a write map to
// 400; everything else to 500. Each call is bounded by Config.Timeout, so
// a hung NetworkManager gives an error, not a hang.
//
// Atomic (OMA DM 1.2 Atomic, shared/docs/protocol.md §3.1: all commands
// succeed or none is applied, 507 with 216/516; architecture.md §4): the provider is tree.Transactional
// and maps the Atomic onto NetworkManager's checkpoint API. Begin calls
// CheckpointCreate([] = all devices, Config.RollbackTimeout (60 s) as a
// safety net should the agent die, DELETE_NEW_CONNECTIONS |
// DISCONNECT_NEW_DEVICES); if NM refuses (too old: UnknownMethod; no
// permission) Begin fails, so the Atomic fails with nothing applied.
// Commit calls CheckpointDestroy (even with a cancelled ctx: a leftover
// checkpoint would undo the commit when its timeout expires; an Atomic
// outlasting RollbackTimeout is undone by NM and its Commit fails).
// Rollback calls CheckpointRollback and
// then replays a journal of the connections the transaction touched
// (full settings with secrets, saved before the first change): added
// connections are deleted, changed ones restored with Update, deleted
// ones re-added with their UUID. The journal covers what a real NM
// checkpoint does not restore (edits to, or deletion of, profiles not
// active on a device); both steps are idempotent. A rollback error makes
// the Atomic 516.
//
// Concurrency: Get is safe for concurrent use (D-Bus calls on a
// *dbus.Conn, nothing cached); writes, Begin, Commit and Rollback
// serialize on a mutex. The package starts no goroutines.
package connmo
