// Package pkcs15 reads the PKCS#15 (ISO/IEC 7816-15) structures that locate
// an OMA DM or OMA CP bootstrap document on a smartcard: EF.DIR records,
// EF.ODF, EF.TokenInfo and the DODF entries, plus the BER-TLV reader they
// all rest on.
//
// Specifications:
//   - PKCS#15 v1.1 / ISO/IEC 7816-15: EF.DIR application template (tag 61
//     with 4F AID, 50 label, 51 path), ODF entries (A0..A8, A7 =
//     dataObjects), TokenInfo (30), DataType CHOICE (30 opaqueDO, A0
//     externalIDO, A1 oidDO), CommonObjectAttributes, Path (04 path, 02
//     index, 80 length).
//   - OMA-TS-DM_Bootstrap-V1_2 smartcard appendix (via smartcard.md §2.6):
//     OID 2.23.43.7.1 = DM bootstrap; OMA-WAP-TS-ProvSC: 2.23.43.5.1..3 = CP
//     bootstrap, config1, config2.
//   - ISO/IEC 8825-1 (BER): tags (also multi-byte), definite lengths (short
//     form and 81/82/83 long form); indefinite lengths are rejected.
//
// ParseDODF is the union of the public decoders (smartcard.md §3.5): it
// accepts oidDO entries whose OidDO.id is the OID, bare or double-wrapped
// (06 04 67 2B 07 01 inside the 06), opaqueDO/other entries whose
// CommonDataObjectAttributes.applicationOID is the OID with a Path in the
// typeAttributes, a Path length coded 80 or 02, and the non-standard
// SIMalliance A7 { 30 { 06 oid, path } } shape as a fallback. It stops at
// the first 0xFF or 0x00 fill byte at the top level and skips unknown tags.
//
// Invariants: parsers never panic, never allocate more than their input
// and return *Error values (errors.Is ErrTruncated, ErrBadLength, ErrSyntax)
// with the offset of the fault. The package keeps no state.
package pkcs15
