package pkcs15

import (
	"errors"
	"fmt"
)

// DataObject is one DODF entry reduced to what locating a bootstrap needs.
type DataObject struct {
	Tag            byte   // 30 opaqueDO, A0 externalIDO, A1 oidDO, A7 SIMalliance shape
	Label          string // CommonObjectAttributes.label
	AppName        string // CommonDataObjectAttributes.applicationName
	ApplicationOID OID    // CommonDataObjectAttributes.applicationOID (normalised)
	ID             OID    // OidDO.id (normalised: a double-wrapped 06 is unwrapped)
	Path           Path   // the referenced file, when HasPath
	HasPath        bool
	Direct         []byte // ObjectValue direct [0] content, when present
	Private        bool   // CommonObjectAttributes.flags private(0)
	Modifiable     bool   // CommonObjectAttributes.flags modifiable(1)
	Offset         int    // offset of the entry in the DODF
}

// Matches reports whether the object is identified by oid, as its OidDO.id
// or its applicationOID.
func (d DataObject) Matches(oid OID) bool {
	return (len(d.ID) > 0 && d.ID.Equal(oid)) || (len(d.ApplicationOID) > 0 && d.ApplicationOID.Equal(oid))
}

// ParseDODF decodes every entry of a DODF. Entries that cannot be decoded
// are skipped; the first such problem (or a broken top-level TLV, which
// ends the walk) is returned as err together with the entries that did
// decode, so that one damaged entry does not hide the others.
func ParseDODF(b []byte) ([]DataObject, error) {
	tlvs, topErr := ParseAll(b)
	var out []DataObject
	var firstErr error
	for _, t := range tlvs {
		var objs []DataObject
		var err error
		switch {
		case t.Tag == 0xA7:
			objs, err = parseSIMalliance(t)
		case t.Tag == 0x30 || (t.Tag >= 0xA0 && t.Tag <= 0xBF):
			var o DataObject
			var ok bool
			o, ok, err = parseEntry(t)
			if ok {
				objs = []DataObject{o}
			}
		default:
			continue // unknown tag: skip
		}
		if err != nil {
			if firstErr == nil {
				firstErr = wrapAt("DODF entry", t.Offset, err)
			}
			continue
		}
		out = append(out, objs...)
	}
	if topErr != nil {
		return out, topErr
	}
	return out, firstErr
}

// wrapAt rebases a nested *Error onto the offset of the enclosing entry.
func wrapAt(what string, off int, err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return &Error{What: what + ": " + pe.What, Offset: off + pe.Offset, Err: pe.Err}
	}
	return &Error{What: what, Offset: off, Err: err}
}

// parseEntry decodes a PKCS15Object { 30 common, 30 class, [A0 sub], A1
// type }. ok is false when the entry carries neither an OID nor a path.
func parseEntry(t TLV) (DataObject, bool, error) {
	kids, err := t.Children()
	if err != nil {
		return DataObject{}, false, err
	}
	o := DataObject{Tag: byte(t.Tag), Offset: t.Offset}
	var typeAttr *TLV
	for i := range kids {
		k := kids[i]
		switch {
		case i == 0 && k.Tag == 0x30:
			if err := o.common(k); err != nil {
				return DataObject{}, false, err
			}
		case i == 1 && k.Tag == 0x30:
			if err := o.class(k); err != nil {
				return DataObject{}, false, err
			}
		case k.Tag == 0xA1:
			typeAttr = &kids[i] // the last A1 wins
		}
	}
	if typeAttr == nil {
		return DataObject{}, false, fmt.Errorf("%w: no typeAttributes [1]", ErrSyntax)
	}
	tk, err := typeAttr.Children()
	if err != nil {
		return DataObject{}, false, err
	}
	if len(tk) == 0 {
		return DataObject{}, false, fmt.Errorf("%w: empty typeAttributes", ErrSyntax)
	}
	inner, err := tk[0].Children()
	if err != nil && tk[0].Tag == 0x30 {
		return DataObject{}, false, err
	}
	switch {
	case tk[0].Tag == 0x30 && len(inner) > 0 && inner[0].Tag == 0x06: // OidDO
		o.ID = normalizeOID(inner[0].Value)
		if len(inner) > 1 {
			if err := o.value(inner[1]); err != nil {
				return DataObject{}, false, err
			}
		}
	default: // Opaque & co: the ObjectValue itself
		if err := o.value(tk[0]); err != nil {
			return DataObject{}, false, err
		}
	}
	return o, len(o.ID) > 0 || len(o.ApplicationOID) > 0 || o.HasPath, nil
}

func (o *DataObject) common(t TLV) error {
	kids, err := t.Children()
	if err != nil {
		return err
	}
	for _, k := range kids {
		switch k.Tag {
		case 0x0C:
			o.Label = string(k.Value)
		case 0x03: // BIT STRING: unused-bits byte, then private(0) = 0x80, modifiable(1) = 0x40
			if len(k.Value) >= 2 {
				o.Private = k.Value[1]&0x80 != 0
				o.Modifiable = k.Value[1]&0x40 != 0
			}
		}
	}
	return nil
}

func (o *DataObject) class(t TLV) error {
	kids, err := t.Children()
	if err != nil {
		return err
	}
	for _, k := range kids {
		switch k.Tag {
		case 0x0C:
			o.AppName = string(k.Value)
			if o.Label == "" {
				o.Label = o.AppName
			}
		case 0x06:
			o.ApplicationOID = normalizeOID(k.Value)
		}
	}
	return nil
}

// value decodes an ObjectValue: 30 Path (indirect), 04 bare path (seen in
// the SIMalliance shape) or A0 direct data.
func (o *DataObject) value(t TLV) error {
	switch t.Tag {
	case 0x30:
		p, err := ParsePath(t.Value)
		if err != nil {
			return err
		}
		o.Path, o.HasPath = p, true
	case 0x04:
		if len(t.Value) == 0 || len(t.Value)%2 != 0 || len(t.Value) > 16 {
			return &Error{"path", t.Offset, fmt.Errorf("%w: path of %d bytes", ErrSyntax, len(t.Value))}
		}
		o.Path, o.HasPath = Path{Path: t.Value}, true
	case 0xA0:
		o.Direct = t.Value
	}
	return nil
}

// parseSIMalliance decodes the non-standard A7 { 30 { 06 oid, value } ... }
// shape of the SIMalliance PKCS15Provider.searchOID.
func parseSIMalliance(t TLV) ([]DataObject, error) {
	kids, err := t.Children()
	if err != nil {
		return nil, err
	}
	var out []DataObject
	for _, k := range kids {
		if k.Tag != 0x30 {
			continue
		}
		m, err := k.Children()
		if err != nil {
			return nil, err
		}
		if len(m) < 2 || m[0].Tag != 0x06 {
			continue
		}
		o := DataObject{Tag: 0xA7, ID: normalizeOID(m[0].Value), Offset: t.Offset}
		if err := o.value(m[1]); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Find returns the first object identified by oid.
func Find(objs []DataObject, oid OID) (DataObject, bool) {
	for _, o := range objs {
		if o.Matches(oid) {
			return o, true
		}
	}
	return DataObject{}, false
}
