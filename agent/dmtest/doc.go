// Package dmtest is a scripted OMA DM 1.2 test server: it plays the server
// side of a DM session from a scenario script and reports, check by check,
// whether the client behaved as OMA-TS-DM_Protocol-V1_2 and
// OMA-TS-DM_RepPro-V1_2 (SyncML Representation Protocol, DM usage) require.
// The project's tests use it as the peer of agent/session, and the command
// omadm-dmserver ships it for OEM labs testing any DM 1.2 client.
//
// What is simulated (protocol.md §3 to §5):
//
//   - The HTTP binding (§5.8): POST, Content-Type application/vnd.syncml.dm+xml
//     or +wbxml, replies in the client's encoding unless Options.Encoding
//     says otherwise; HTTPS with a fresh self-signed ECDSA P-256 CA per
//     server (CACertPEM), HTTP/1.1 only, or plain HTTP.
//   - Packages 1 to 4 (Protocol §2.3), multi-message packages with Alert
//     1222 both ways (§2.1), the server's MaxMsgSize advertised and
//     enforced, the client's MaxMsgSize honoured by splitting the server's
//     package, RespURI, Alert 1223 abort.
//   - Authentication (Security §5.1.3, protocol.md §4): basic, md5 and HMAC
//     (x-syncml-hmac) client credentials with 401/407 challenges carrying
//     Chal and NextNonce, 212 on success (200 plus a fresh NextNonce on every
//     message for HMAC), and the server's own Cred or x-syncml-hmac.
//   - Every server command: Add, Replace, Delete, Get (also ?list= and
//     ?prop=), Copy, Exec with Correlator, Alert 1100-1104, Atomic and
//     Sequence, written as SyncML XML snippets in the script.
//   - Large objects (Protocol §2.2) both ways: the server sends MoreData
//     chunks and checks 213; it accepts chunked Results, answers 213 and
//     reassembles them, checking Meta Size (424 on mismatch).
//   - Faults: HTTP error statuses, garbage, truncated bodies, a wrong
//     Content-Type, stalls and dropped connections.
//   - Package #0 (OMA-TS-DM_Notification-V1_2) for a server-initiated session
//     (Server.Notification, built with agent/notification).
//
// # Scenario format
//
// A scenario (.dms file) is UTF-8 text, one directive per line; blank lines
// and lines starting with # are ignored. Header directives come first:
//
//	name NAME                  scenario name (default: file name)
//	description TEXT           free text (may repeat)
//	auth none|basic|md5|hmac   credentials required from the client
//	server-cred none|basic|md5|hmac   the server authenticates itself too
//	encoding client|xml|wbxml  encoding of the server's replies
//	maxmsgsize N               MaxMsgSize the server advertises and enforces
//	maxobjsize N               MaxObjSize the server advertises
//	sessionid N                a server-initiated session with this Package #0
//	                           session id is expected (Alert 1200, SessionID hex)
//	initiated client|server    which Pkg1 alert to expect (default client)
//	timeout DURATION           the whole scenario must finish in time (e.g. 60s)
//
// The rest is a list of rounds. "recv" starts a round: the server waits for
// the client's next complete package (all its messages up to Final;
// continuation messages get Status + Alert 1222 automatically). A script
// that does not start with "recv" has an implicit one. In a round:
//
//	expect alert CODE [correlator C] [type T] [data D]
//	expect devinfo             Replace of ./DevInfo DevId, Man, Mod, DmV, Lang
//	expect status REF CODES [ITEM]
//	                           REF: @label, a CmdID written in a snippet,
//	                           a ./URI (the last command with an Item sent
//	                           to it) or hdr (the SyncHdr status); CODES:
//	                           200 | 2xx | 200,304,406 | any; ITEM: the
//	                           ./URI (Target or Source) of one Item of
//	                           that command (see "Statuses per Item")
//	expect results URI [= VALUE | ~ REGEXP | size N | sent | format F | type T]
//	expect no-results URI
//	expect cred none|basic|md5|hmac
//	expect sessionid VALUE     exact SyncHdr SessionID
//	expect encoding xml|wbxml
//	expect abort               the client sends Alert 1223
//	expect messages N          the package came in at least N messages
//	challenge basic|md5|hmac   answer this round's package with 401 and a Chal
//	                           of that type and a new nonce; the client must
//	                           resend it (meant for package 1)
//	send [@label] <Cmd>...</Cmd>   queue a command for the reply; the XML
//	                           snippet may span lines until its element
//	                           closes; MetInf elements need no namespace.
//	                           CmdIDs are renumbered on the wire: a CmdID in
//	                           the snippet (also inside Atomic/Sequence) is a
//	                           label for "expect status".
//	large-object [@label] [add|replace] URI SIZE [chunk N] [format chr|b64] [type T]
//	                           send a generated object of SIZE bytes in
//	                           chunks of at most N (default 4000) bytes, one
//	                           chunk per message; "expect results URI sent"
//	                           compares a later Get with it
//	no-final (or break)        end the current server message here without
//	                           Final; the client must answer with Alert 1222
//	maxmsgsize N               from this reply on, advertise N
//	respuri PATH|URL           put RespURI in the server's headers from now on;
//	                           the client must post there
//	abort                      reply with Alert 1223 and Final: session over
//	stall DURATION             wait before replying
//	respond http CODE          reply with that HTTP status and no message
//	garbage                    reply with bytes that are not SyncML
//	truncate                   reply with the first half of the message
//	content-type TYPE          reply with a wrong Content-Type
//	close                      drop the connection without replying
//	end                        last line (optional)
//
// Statuses per Item: a client may answer a command of several Items with
// one Status, or with one Status per Item (or per group of Items), each
// naming its Items in TargetRef/SourceRef (OMA SyncML RepPro 1.2, Status);
// it must when the Items get different codes, e.g. 200, 200 and 213 for an
// Add whose last Item is a large-object chunk. "expect status REF CODES"
// then requires every Status of the command to match CODES (200,213 or
// 2xx accepts such an Add). With ITEM, or with a ./URI REF (which names
// the Item too), only the Statuses that answer that Item count: those
// naming it, or the command's only Status, which answers every Item. An
// ITEM that is no Item of the command fails the expectation.
//
// The expectations of a round are evaluated on the package received in that
// round, after any challenge; statuses are matched to the commands the
// server sent earlier in the session. The commands of a round form the
// server's reply package. A round that sends no command ends the session
// (the client must not answer it); a following "recv" waits for a new
// session. After a fault (respond, garbage, truncate, content-type, close,
// or a client that hangs up during a stall) the session is broken and the
// next message must start a new session. The last round must not send
// commands (nothing would receive their statuses) unless it injects a fault.
//
// Example:
//
//	name get-fwv
//	recv
//	expect alert 1201
//	expect devinfo
//	send @fwv <Get><Item><Target><LocURI>./DevDetail/FwV</LocURI></Target></Item></Get>
//	recv
//	expect status @fwv 200
//	expect results ./DevDetail/FwV ~ ^[0-9]
//	end
//
// # Session records (record and replay for field triage)
//
// ConvertRecord (and ScenarioFromRecord, ConvertRecordFS) turns a session
// record of agent/session (the directory written per session when
// [agent] record_dir is set or with "omadm-agent session --record":
// NNNN-client.<xml|wbxml>, NNNN-server.<xml|wbxml>, index.log) into a
// scenario that replays the field server's behaviour against a lab device
// or a new agent build and expects what the field client answered:
//
//   - Each round is one client package; its "send" lines are the commands
//     of the server package that answered it (Atomic and Sequence with
//     their children, MoreData chunks as they were), in order. The server's
//     Status commands and its 1222 Alerts are not replayed: the test server
//     makes its own. A server message without Final ends with "no-final",
//     so the package is split where the field server split it.
//   - CmdIDs are rewritten MsgID.CmdID of the record (server message,
//     command); they are the labels of "expect status LABEL CODE", the
//     status the field client returned (also for the children of Atomic
//     and Sequence and for each chunk: 213). A command it answered with
//     one Status per Item gives "expect status LABEL CODE ITEM" per Item;
//     several Statuses that were not (duplicates) give the codes of all
//     and a comment saying why.
//   - Package 1 gives "expect alert 1200|1201" and "expect devinfo"; a 1200
//     gives "sessionid". A generic alert (1226) whose Correlator is that of
//     a replayed Exec is expected; alerts the device sent on its own and
//     Results values are written as comments unless RecordOptions.Values
//     (a lab device's values differ); "expect results URI" (presence) is
//     active for a Get the field client answered.
//   - A 401/407 with Chal becomes "challenge TYPE" in its round, Alert 1223
//     from the server "abort", from the client "expect abort"; the server's
//     first MaxMsgSize and MaxObjSize become header directives, later
//     changes and RespURI (its path) round directives.
//   - "auth" follows the record (Cred Meta Type, x-syncml-hmac in
//     index.log, else the challenged type) and "server-cred" the server's
//     Cred or HMAC, unless RecordOptions.Auth / ServerCred say otherwise.
//     Records hold no credentials: the lab server is given the lab
//     device's (Options.ClientUser, ClientPassword, ClientNonce).
//
// Records redact secrets (RecordRedacted). A server command whose Item Data
// is redacted (a Replace of AAuthSecret ...) is refused with a *RecordError
// naming the file and the command, unless RecordOptions.SecretPlaceholder
// is set: then the placeholder is sent instead, flagged by a "# SECRET:"
// comment and a warning. Other refusals, each one *RecordError naming the
// file: a .bin message (undecodable when recorded), a gap in the numbering,
// a missing first message, a file index.log lists but the record lacks,
// two client or two server messages in a row, a message that does not
// decode or whose extension lies, a challenge that also carries commands,
// and a command XML cannot carry (binary data). Commands a scenario cannot
// send (non-DM elements, Results from a server) are skipped with a warning,
// as are messages after the end of the session. The conversion parses its
// own output and checks that it sends exactly the recorded commands.
//
// # Checks
//
// Besides the expectations, built-in checks run on every message (Checks
// lists them): header rules (VerDTD, VerProto, SessionID, MsgID, Source),
// SyncHdr Status, MsgRef/CmdRef/Cmd of every Status and Results, one Status
// per command or one per Item, Results after Status, Final and 1222 rules,
// commands a client may send, HTTP headers, MaxMsgSize, authentication and
// large objects.
//
// status.complete accepts several Statuses for one command only as
// Statuses per Item: the first may name Items or not, but if it names none
// it answers the whole command and any further Status is a duplicate;
// every further Status must name (in TargetRef or SourceRef, compared
// without a leading "./" or a trailing "/") at least one Item and only
// Items no earlier Status of the command named, so there are never more
// Statuses than Items. Items with the same Target and Source are told
// apart by order. A command answered per Item whose Items are not all
// named fails, as does a command without Status. The Statuses may come in
// different messages.
//
// A client package may take any number of messages without Final (each
// answered with Status and Alert 1222) as long as each message makes
// progress: a Status answering a command or Item no earlier Status
// answered (the Status of the server's own 1222 does not count), Results,
// or an Alert other than 1222 or a Replace. Five messages in a row without
// progress fail final.rules and end the scenario, so a client that never
// closes its package is stopped, while one that splits a long answer under
// a small MaxMsgSize (42 Statuses at 1100 bytes in XML) is not. Each appears once in the Report with its count and the first
// failures. Advisory checks (recommended behaviour) are reported as WARN and
// do not fail the report. Reports, transcripts and logs never contain a
// password or a credential value.
//
// # Concurrency
//
// A Server serves requests on net/http goroutines; all scenario state is
// owned by an engine guarded by the server's mutex, so requests are
// processed one at a time in arrival order (a stall sleeps outside the
// lock). Every exported method is safe for concurrent use. A Scenario is
// immutable after parsing.
package dmtest
