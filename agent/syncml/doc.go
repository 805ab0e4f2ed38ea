// Package syncml is the SyncML DM 1.2 message model and its codec: one
// model, two wire formats (XML and WBXML 1.2).
//
// It implements the representation of OMA-TS-DM_RepPro-V1_2 (SyncML
// Representation Protocol, Device Management Usage) as summarised in
// docs/protocol.md §3 (elements, Meta/MetInf, Status and Results shapes,
// WBXML code pages), §4.2 (Chal/Cred) and §5 (alert and status codes, large
// objects, MaxMsgSize). The WBXML token layer lives in the subpackage
// agent/syncml/wbxml. XML and WBXML share the same decoder walk (over
// wbxml.Event values filled in place by a source: the XML scanner of
// xmlscan.go, wbxml.Reader.NextEvent, or any xml.TokenReader) and the same
// marshalling code (writeMessage/writeCommand into a sink: the XML writer,
// the WBXML encoder, or fastSink, which the Builder uses to write the WBXML
// of ordinary DM commands straight from the model).
//
// The XML scanner accepts and rejects exactly what encoding/xml's Decoder
// (Strict, without CharsetReader) does, with the same tokens, namespace
// translation, *xml.SyntaxError messages, lines and offsets; FuzzXMLScanner
// checks this differentially. It is used instead of encoding/xml for speed.
//
// API in brief:
//
//   - Decode (sniffs the encoding), DecodeXML, DecodeWBXML, DecodeTokens
//     turn bytes into a *Message: Hdr (SyncHdr), Body (the ordered commands
//     of SyncBody) and Final.
//   - A Command keeps its element name in Kind; Atomic and Sequence keep
//     their commands in Children, in order. An Item's Data is text (exact,
//     CDATA included) or, in Data.Tree, an embedded element such as a TNDS
//     <MgmtTree xmlns="syncml:dmddf1.2"> kept as XML bytes (from XML input,
//     the input's own bytes).
//   - Encode, EncodeXML (optionally indented) and MarshalTokens write a
//     message; Builder assembles a reply command by command and reports
//     its exact encoded size (Size() == len(Bytes(true))) so a session can
//     respect the peer's MaxMsgSize.
//   - AlertCode and StatusCode name the codes of protocol.md §5.1 and §5.2.
//
// Tolerance (seed 003): only a broken document is a decode error, reported
// as *DecodeError{Field, Offset, Err} (not well-formed XML, bad WBXML, root
// not SyncML, no SyncHdr). Anything wrong inside SyncBody, Atomic or
// Sequence stays a Command with Problem set and its Pos (element path and
// byte offset) recorded, so the session can answer each command: SyncML
// commands DM does not use (Sync, Map, Put, Search ...) get
// ErrUnsupportedCommand (406), unknown elements ErrUnknownElement (400), a
// command without CmdID ErrMissingCmdID (400, empty CmdRef), DM-unused
// elements inside a command (Archive, Lang, NoResults, SftDel ...)
// ErrUnsupportedElement (406). ProblemStatus maps them. Unknown and unused
// content is kept (Command.Raw, Extra fields) and re-encoded, never dropped.
// Semantic checks (Get inside Atomic, Cred outside SyncHdr, missing Data)
// belong to the session.
//
// Memory: a decoded Message shares memory. Its strings are substrings of one
// copy of the input and its Commands, Items, Locations, Metas and Datas are
// allocated in chunks, so keeping any part of a Message keeps (a chunk of)
// it and the input copy alive; copy strings (strings.Clone) to keep a small
// part of a large message for long.
//
// Invariants: decoding never panics on any input; leaf values (CmdID,
// LocURI, Meta values ...) are trimmed of surrounding white space, Item Data
// is kept exactly; encoding writes elements in SyncML 1.2 DTD order with
// the root namespace SYNCML:SYNCML1.2 and xmlns="syncml:metinf" on each
// MetInf element, and fails with *EncodeError rather than write a document
// that does not decode (e.g. control characters in XML text, which only
// WBXML can carry). The package is stdlib-only apart from its wbxml
// subpackage, starts no goroutines and has no mutable global state;
// Messages and Builders are not safe for concurrent use.
package syncml
