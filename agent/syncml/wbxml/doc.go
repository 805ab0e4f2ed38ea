// Package wbxml is a token-level WBXML transcoder for SyncML DM documents: it
// turns a WBXML document into encoding/xml tokens and tokens back into WBXML,
// so one set of struct tags (agent/syncml) serves both wire formats.
//
// Specifications:
//   - WAP-192-WBXML-20010725 (WBXML 1.3; 1.1 and 1.2 are accepted too):
//     header, mb_u_int32, global tokens, code pages, string table.
//   - OMA SyncML Representation Protocol 1.2 / OMA DM 1.2 RepPro, "WBXML code
//     page definitions": SyncML code page 0 (SYNCML:SYNCML1.2, and the 1.1/1.0
//     variants), MetInf code page 1 (syncml:metinf).
//   - OMA DM 1.2 TNDS (DM DDF 1.2 DTD, "WBXML definition"): code page 2
//     (syncml:dmddf1.2), carried inside SyncML Data as an embedded document.
//   - OMA Client Provisioning ProvCont 1.1 / WAP-183-ProvCont: the
//     wap-provisioningdoc tags, attribute start and value tokens (pages 0, 1).
//
// The tables in tables.go are written from those specifications and
// cross-checked against libwbxml's tools (xml2wbxml, wbxml2xml) in the tests;
// no libwbxml code or table is copied. See docs/protocol.md §3.4, §6.8, §7.2.
//
// Behaviour that mirrors libwbxml, so bytes can match `xml2wbxml -n -v 1.2`:
//   - SWITCH_PAGE back to page 0 only before the next page-0 tag; empty
//     elements have no content bit (<Final/> is 0x12); no string table.
//   - Text of SyncML Add|Replace/Item/Data is OPAQUE, other text STR_I.
//   - A DM DDF MgmtTree inside SyncML becomes a separate WBXML document (its
//     own header, string-table public id "-//OMA//DTD-DM-DDF 1.2//EN", tags on
//     page 2) carried as OPAQUE; the Reader expands it back inline.
//   - A MetInf Type "application/vnd.syncml.dmtnds+xml" (or "-devinf+xml") is
//     written as "...+wbxml", and read back as "...+xml".

//   - An element without a token is written as a LITERAL tag (its name in the
//     string table, the only use of a string table on output); a MetInf
//     element written without its namespace is encoded on the MetInf page.
//
// Deliberate differences from libwbxml: text keeps its surrounding
// whitespace (libwbxml trims STR_I text), since DM values must arrive
// unchanged; only whitespace-only text next to child elements is dropped.
// Attribute values of provisioning documents use a value token only for a
// whole value (libwbxml also splits values at tokens such as ",").
//
// Unboxed paths (for speed; same tokens, same bytes): Reader.NextEvent fills
// an Event in place instead of returning an xml.Token (with the token's
// offset and, for verbatim text, where the text lies in the input), and
// Reader.InputOffset gives the offset of the next token. Encoder.EncodeStart,
// EncodeEnd and EncodeText take names and text without xml.Token values;
// Encoder.Reset reuses an encoder's buffers, Body returns the body of a
// finished document without its header and CodePage the code page the body
// ends on. Doc.Tag looks up a tag token.
//
// Invariants: the Reader never panics on any input and reports problems as
// *DecodeError with the byte offset into the outermost document; nesting is
// limited to MaxDepth; every length is checked against the remaining input.
// Reader and Encoder are not safe for concurrent use; the package starts no
// goroutines and keeps no mutable global state.
package wbxml
