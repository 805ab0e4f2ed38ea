package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var ctx = context.Background()

func sample() *Snapshot {
	return &Snapshot{Records: []Record{
		{URI: ".", Interior: true, ACL: "Add=*&Get=*", TStamp: 1},
		{URI: "./A", Interior: true, Type: "urn:x", Title: "t"},
		{URI: "./A/L", Format: "chr", Type: "text/plain", Value: []byte("v"), TStamp: -5, VerNo: 65535},
		{URI: "./A/M", Format: "bin", Value: []byte{0, 1, 2}},
		{URI: "./B", Format: "chr", Value: []byte{}},
		{URI: "./P/K", Overlay: true, HasACL: true, ACL: "", HasTitle: true, Title: "x"},
	}}
}

func TestCodecRoundTrip(t *testing.T) {
	s := sample()
	b := Encode(s)
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Records {
		if got.Records[i].Value == nil {
			got.Records[i].Value = nil
		}
	}
	want := sample()
	for i := range want.Records {
		if len(want.Records[i].Value) == 0 {
			want.Records[i].Value = got.Records[i].Value
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good := Encode(sample())
	flip := append([]byte(nil), good...)
	flip[20] ^= 0x40
	badVer := append([]byte(Magic), 9, 0)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"bad magic", append([]byte("XXXXXXXXX"), good[9:]...)},
		{"flipped byte", flip},
		{"truncated", good[:len(good)-7]},
		{"bad version", append(badVer, 0, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.data); !errors.Is(err, ErrCorrupt) {
				t.Errorf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tree.db")
	f := NewFile(path)
	if _, err := f.Load(ctx); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Load of missing file: got %v, want ErrNoSnapshot", err)
	}
	w, err := f.Save(ctx, sample())
	if err != nil || !w {
		t.Fatalf("first Save: %v %v", w, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if w, err := f.Save(ctx, sample()); err != nil || w {
		t.Errorf("unchanged Save wrote (%v, %v), want skipped", w, err)
	}
	// A fresh File learns the on-disk bytes at Load and skips too.
	g := NewFile(path)
	s, err := g.Load(ctx)
	if err != nil || len(s.Records) != 6 {
		t.Fatalf("Load: %v %v", s, err)
	}
	if w, _ := g.Save(ctx, s); w {
		t.Errorf("Save of loaded snapshot wrote, want skipped")
	}
	s.Records[2].Value = []byte("changed")
	if w, err := g.Save(ctx, s); err != nil || !w {
		t.Errorf("changed Save: %v %v", w, err)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp file left behind: %v", err)
	}
	os.WriteFile(path, []byte("garbage"), 0o600)
	if _, err := NewFile(path).Load(ctx); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage: got %v, want ErrCorrupt", err)
	}
}

func TestMem(t *testing.T) {
	m := NewMem()
	if _, err := m.Load(ctx); !errors.Is(err, ErrNoSnapshot) {
		t.Fatal(err)
	}
	m.Save(ctx, sample())
	m.Save(ctx, sample())
	if m.Writes != 1 {
		t.Errorf("Writes %d, want 1", m.Writes)
	}
	s, err := m.Load(ctx)
	if err != nil || len(s.Records) != 6 || len(m.Bytes()) == 0 {
		t.Errorf("Load: %v %v", s, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(sample()))
	f.Add(Encode(&Snapshot{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		b := Encode(s)
		s2, err := Decode(b)
		if err != nil || len(s2.Records) != len(s.Records) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
