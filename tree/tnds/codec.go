package tnds

import "encoding/xml"

// Unmarshal decodes a TNDS document whose MIME type is MIMEXML or MIMEWBXML.
func Unmarshal(data []byte, mime string) (*MgmtTree, error) { panic("TODO") }

// Decode reads a MgmtTree from r (XML decoder tokens or a WBXML reader).
func Decode(r xml.TokenReader) (*MgmtTree, error) { panic("TODO") }

// Marshal encodes m as MIMEXML or MIMEWBXML.
func Marshal(m *MgmtTree, mime string) ([]byte, error) { panic("TODO") }

// Encode writes m to enc and flushes it.
func Encode(enc TokenEncoder, m *MgmtTree) error { panic("TODO") }
