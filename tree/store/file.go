package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

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

// Path returns the snapshot file name.
func (f *File) Path() string { return f.path }

// Load implements Store.
func (f *File) Load(ctx context.Context) (*Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoSnapshot
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", f.path, err)
	}
	f.last = data
	return s, nil
}

// Save implements Store.
func (f *File) Save(ctx context.Context, s *Snapshot) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	data := Encode(s)
	if f.last != nil && bytes.Equal(f.last, data) {
		return false, nil
	}
	if err := writeAtomic(f.path, data); err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	f.last = data
	return true, nil
}

func writeAtomic(path string, data []byte) (err error) {
	tmp := path + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			fh.Close()
			os.Remove(tmp)
		}
	}()
	if err = fh.Chmod(0o600); err != nil {
		return err
	}
	if _, err = fh.Write(data); err != nil {
		return err
	}
	if err = fh.Sync(); err != nil {
		return err
	}
	if err = fh.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// Mem is an in-memory Store holding the encoded bytes (so the codec is
// exercised exactly as with File).
type Mem struct {
	data   []byte
	Writes int // number of Saves that wrote
}

// NewMem returns an empty in-memory store.
func NewMem() *Mem { return &Mem{} }

// Load implements Store.
func (m *Mem) Load(ctx context.Context) (*Snapshot, error) {
	if m.data == nil {
		return nil, ErrNoSnapshot
	}
	return Decode(bytes.Clone(m.data))
}

// Save implements Store.
func (m *Mem) Save(ctx context.Context, s *Snapshot) (bool, error) {
	data := Encode(s)
	if m.data != nil && bytes.Equal(m.data, data) {
		return false, nil
	}
	m.data = data
	m.Writes++
	return true, nil
}

// Bytes returns a copy of the encoded snapshot (nil if never saved).
func (m *Mem) Bytes() []byte { return bytes.Clone(m.data) }
