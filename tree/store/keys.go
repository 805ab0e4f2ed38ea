package store

// Index of what is persisted (the house-style "keys" file).
//
// One snapshot file (conventionally <state-dir>/tree.db) holds the whole
// stored management tree plus the tree-kept properties of provider nodes.
// Nothing else about the tree is persisted: mounted providers own their data,
// DDF descriptions are declared at start-up.
//
// Layout, schema version 1 (all integers are Go binary.Uvarint/Varint unless
// noted, strings and bytes are uvarint length + bytes):
//
//	magic      "OMADMTREE" (9 bytes)
//	version    uvarint = SchemaVersion
//	count      uvarint  number of records
//	record*    count times:
//	  flags    1 byte   FlagInterior|FlagOverlay|FlagHasACL|FlagHasTitle
//	  common   uvarint  bytes shared with the previous record's URI
//	  suffix   string   rest of the URI
//	  format   string   leaf Format (chr, bin, ...); "" for interior
//	  type     string   MIME type (leaf) or MO identifier (interior)
//	  acl      string   canonical ACL, "" = inherit
//	  title    string
//	  tstamp   varint   Unix nanoseconds, 0 = unset
//	  verno    uvarint  0..65535
//	  value    bytes    leaf value (may hold secrets: AAuthSecret, AAuthData)
//	crc        4 bytes  big-endian CRC-32 (IEEE) of everything above
//
// Record order: the tree records in pre-order (root "." first, a parent
// before its children, children in listing order), then overlay records
// sorted by URI.
//
// Schema history: 1 — initial.
const (
	Magic         = "OMADMTREE"
	SchemaVersion = 1
)

// Record flags.
const (
	FlagInterior = 1 << iota
	FlagOverlay
	FlagHasACL
	FlagHasTitle
)
