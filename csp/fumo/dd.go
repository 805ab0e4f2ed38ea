package fumo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
)

// OMA Download OTA 1.0 (OMA-Download-OTA-V1_0, "DLOTA"): the download
// descriptor (DD) a PkgURL may point at instead of the package.

// DDMediaType is the media type of a DLOTA 1.0 download descriptor.
const DDMediaType = "application/vnd.oma.dd+xml"

// DDNamespace is the XML namespace of the DD's root element <media>.
const DDNamespace = "http://www.openmobilealliance.org/xmlns/dd"

// MaxDDSize bounds a download descriptor (the document, not the object).
const MaxDDSize = 64 << 10

// maxDDField bounds one element's text (URIs, name, description...).
const maxDDField = 4 << 10

// maxDDTypes bounds the <type> elements.
const maxDDTypes = 16

// Descriptor is a parsed DD: what this agent uses of it. ObjectURI and
// InstallNotifyURI are as written in the document until resolve makes
// them absolute against the DD's URL. Persisted in Job.DD.
type Descriptor struct {
	ObjectURI        string   `json:"object_uri"`
	Size             int64    `json:"size"`
	Types            []string `json:"types"`
	InstallNotifyURI string   `json:"install_notify_uri,omitempty"`
	Name             string   `json:"name,omitempty"`
	Vendor           string   `json:"vendor,omitempty"`
	DDVersion        string   `json:"dd_version,omitempty"`
	// Notified is set once the job queued its install notification
	// (Snapshot.Notify), so that a later failure does not queue another.
	Notified bool `json:"notified,omitempty"`
}

// DDError is why a descriptor was refused: Status is the DLOTA status
// code reported to installNotifyURI (StatusInvalidDescriptor or
// StatusInvalidDDVersion).
type DDError struct {
	Status NotifyStatus
	Err    error
}

func (e *DDError) Error() string { return fmt.Sprintf("download descriptor: %d: %v", e.Status, e.Err) }
func (e *DDError) Unwrap() error { return e.Err }

// ErrBadDD is wrapped by every DDError.
var ErrBadDD = errors.New("invalid download descriptor")

func ddErr(s NotifyStatus, format string, a ...any) *DDError {
	return &DDError{Status: s, Err: fmt.Errorf("%w: "+format, append([]any{ErrBadDD}, a...)...)}
}

// ParseDD parses a DLOTA 1.0 download descriptor strictly: at most
// MaxDDSize bytes of UTF-8 (or US-ASCII) XML without DTD, a root <media>
// in DDNamespace (or no namespace), exactly one objectURI and size (a
// decimal integer > 0), one or more type (media types), at most one of
// every other known element; unknown elements are ignored as the
// specification asks, but no element may nest inside a known one. A
// DDVersion whose major number is not 1 is StatusInvalidDDVersion; any
// other problem is StatusInvalidDescriptor. On error the returned
// Descriptor still carries an installNotifyURI read before the problem
// (so the failure can be notified), everything else zero.
func ParseDD(b []byte) (Descriptor, error) {
	var d Descriptor
	if len(b) > MaxDDSize {
		return d, ddErr(StatusInvalidDescriptor, "%d bytes, limit %d", len(b), MaxDDSize)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "us-ascii", "ascii":
			return r, nil
		}
		return nil, fmt.Errorf("charset %q not supported", label)
	}
	seen := map[string]bool{}
	depth := 0  // element depth: 1 = <media>
	field := "" // known child element being read
	var text []byte
	root := false
	notify := "" // installNotifyURI, kept for the error path
	fail := func(s NotifyStatus, format string, a ...any) (Descriptor, error) {
		return Descriptor{InstallNotifyURI: notify}, ddErr(s, format, a...)
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(StatusInvalidDescriptor, "%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1:
				if root {
					return fail(StatusInvalidDescriptor, "more than one root element")
				}
				if t.Name.Local != "media" || (t.Name.Space != DDNamespace && t.Name.Space != "") {
					return fail(StatusInvalidDescriptor, "root element {%s}%s, want {%s}media", t.Name.Space, t.Name.Local, DDNamespace)
				}
				root = true
			case field != "":
				return fail(StatusInvalidDescriptor, "element <%s> inside <%s>", t.Name.Local, field)
			case depth == 2 && isDDField(t.Name.Local) && (t.Name.Space == "" || t.Name.Space == DDNamespace):
				if t.Name.Local != "type" && seen[t.Name.Local] {
					return fail(StatusInvalidDescriptor, "more than one <%s>", t.Name.Local)
				}
				seen[t.Name.Local] = true
				field, text = t.Name.Local, text[:0]
			}
		case xml.EndElement:
			if field != "" && depth == 2 {
				v := strings.TrimSpace(string(text))
				if err := d.set(field, v); err != nil {
					return fail(StatusInvalidDescriptor, "<%s>: %v", field, err)
				}
				if field == "installNotifyURI" {
					notify = d.InstallNotifyURI
				}
				field = ""
			}
			depth--
		case xml.CharData:
			if field != "" {
				if len(text)+len(t) > maxDDField {
					return fail(StatusInvalidDescriptor, "<%s> longer than %d bytes", field, maxDDField)
				}
				text = append(text, t...)
			} else if depth <= 1 && len(bytes.TrimSpace(t)) > 0 {
				return fail(StatusInvalidDescriptor, "text outside the elements")
			}
		case xml.Directive:
			return fail(StatusInvalidDescriptor, "DTD or directive not allowed")
		}
	}
	switch {
	case !root:
		return fail(StatusInvalidDescriptor, "no <media> element")
	case !seen["objectURI"]:
		return fail(StatusInvalidDescriptor, "no <objectURI>")
	case !seen["size"]:
		return fail(StatusInvalidDescriptor, "no <size>")
	case !seen["type"]:
		return fail(StatusInvalidDescriptor, "no <type>")
	}
	if v := d.DDVersion; v != "" {
		major, minor, ok := strings.Cut(v, ".")
		if !ok || !digits(major) || !digits(minor) {
			return fail(StatusInvalidDescriptor, "DDVersion %q is not major.minor", v)
		}
		if n, _ := strconv.Atoi(major); n != 1 {
			return fail(StatusInvalidDDVersion, "DDVersion %q not supported (1.x)", v)
		}
	}
	return d, nil
}

// isDDField reports whether name is a DD element this parser reads or
// checks for duplicates (the DLOTA 1.0 attributes).
func isDDField(name string) bool {
	switch name {
	case "objectURI", "size", "type", "installNotifyURI", "name", "vendor", "DDVersion",
		"description", "nextURL", "infoURL", "iconURI", "installParam":
		return true
	}
	return false
}

func (d *Descriptor) set(field, v string) error {
	switch field {
	case "objectURI":
		if v == "" {
			return errors.New("empty")
		}
		d.ObjectURI = v
	case "size":
		if !digits(v) {
			return fmt.Errorf("%q is not a decimal byte count", v)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a byte count > 0", v)
		}
		d.Size = n
	case "type":
		mt, _, err := mime.ParseMediaType(v)
		if err != nil || !strings.Contains(mt, "/") {
			return fmt.Errorf("%q is not a media type", v)
		}
		if len(d.Types) >= maxDDTypes {
			return fmt.Errorf("more than %d", maxDDTypes)
		}
		d.Types = append(d.Types, mt)
	case "installNotifyURI":
		d.InstallNotifyURI = v
	case "name":
		d.Name = v
	case "vendor":
		d.Vendor = v
	case "DDVersion":
		d.DDVersion = v
	}
	return nil
}

func digits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// accepts reports whether a Content-Type sent with the object agrees with
// the DD: no Content-Type, a generic octet stream, or one of its types
// (media type only, parameters ignored, case-insensitive).
func (d *Descriptor) accepts(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "application/octet-stream", "binary/octet-stream":
		return true
	}
	for _, t := range d.Types {
		if t == mt {
			return true
		}
	}
	return false
}

// ddPrefixes are how a DD body may start (after a BOM and white space).
var ddPrefixes = [][]byte{[]byte("<?xml"), []byte("<media")}

// sniffDD reports whether the first bytes of a body look like a DD: an
// XML document starting with a declaration or <media> that names the DD
// namespace within them.
func sniffDD(head []byte) bool {
	h := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	h = bytes.TrimLeft(h, " \t\r\n")
	ok := false
	for _, p := range ddPrefixes {
		if bytes.HasPrefix(h, p) {
			ok = true
		}
	}
	return ok && bytes.Contains(h, []byte(DDNamespace))
}

// isDDType reports whether a Content-Type is the DD media type.
func isDDType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == DDMediaType
}
