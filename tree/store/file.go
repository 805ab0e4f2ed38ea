package store

import "context"

// File stores the snapshot in one file. Save writes path+".tmp" in the same
// directory, fsyncs it, renames it over path and fsyncs the directory; the
// file mode is 0600. Save skips the write when the encoded bytes equal those
// last loaded or saved.
type File struct {
	path string
	last []byte // encoded bytes currently on disk, nil if unknown
}

// NewFile returns a File store at path (its directory must exist).
func NewFile(path string) *File { return &File{path: path} }

// Load implements Store.
func (f *File) Load(ctx context.Context) (*Snapshot, error) { panic("TODO") }

// Save implements Store.
func (f *File) Save(ctx context.Context, s *Snapshot) (bool, error) { panic("TODO") }

// Mem is an in-memory Store holding the encoded bytes (so the codec is
// exercised exactly as with File).
type Mem struct {
	data []byte
}

// NewMem returns an empty in-memory store.
func NewMem() *Mem { return &Mem{} }

// Load implements Store.
func (m *Mem) Load(ctx context.Context) (*Snapshot, error) { panic("TODO") }

// Save implements Store.
func (m *Mem) Save(ctx context.Context, s *Snapshot) (bool, error) { panic("TODO") }

// Bytes returns a copy of the encoded snapshot (nil if never saved).
func (m *Mem) Bytes() []byte { return append([]byte(nil), m.data...) }
