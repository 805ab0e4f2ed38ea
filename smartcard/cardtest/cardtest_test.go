package cardtest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
)

func TestLoadAllCards(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "smartcard", "*.card"))
	if err != nil || len(files) < 10 {
		t.Fatalf("got %d card files, %v", len(files), err)
	}
	for _, f := range files {
		if _, err := cardtest.Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestCardLayout(t *testing.T) {
	fs, err := cardtest.Load(filepath.Join("..", "..", "testdata", "smartcard", "uicc.card"))
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{"3F00/2F00": 76, "3F00/7F50/5031": 32, "3F00/7F50/5032": 44, "3F00/7F50/6430": 96, "3F00/7F50/6431": 256, "3F00/7F50/6432": 288}
	for p, n := range sizes {
		if f := fs.File(p); f == nil || len(f.Data) != n {
			t.Errorf("%s: got %v, want %d bytes", p, f, n)
		}
	}
}

func TestParseFSErrors(t *testing.T) {
	for _, bad := range []string{
		"bogus",
		"ef 3F00/6F07 transparent size=2 010203",
		"ef 7F00/6F07 transparent 01",
		"ef 3F00/6F07 linear 0102",
		"  0102",
		"df 3F00/7F50\ndf 3F00/7F50",
		"mode 3g",
	} {
		if _, err := cardtest.ParseFS([]byte(bad)); !errors.Is(err, cardtest.ErrDescription) {
			t.Errorf("ParseFS(%q): got %v, want ErrDescription", bad, err)
		}
	}
}

func TestManageChannel(t *testing.T) {
	fs, err := cardtest.ParseFS([]byte("channels 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := cardtest.NewCard(fs, cardtest.Options{})
	ctx := context.Background()
	steps := [][2]string{
		{"\x00\x70\x00\x00\x01", "\x01\x90\x00"},
		{"\x00\x70\x00\x00\x01", "\x6A\x81"},
		{"\x01\x70\x80\x01", "\x90\x00"},
		{"\x01\xA4\x00\x0C\x02\x3F\x00", "\x68\x81"},
	}
	for _, s := range steps {
		got, _ := c.Transmit(ctx, []byte(s[0]))
		if string(got) != s[1] {
			t.Errorf("APDU %X: got %X, want %X", s[0], got, s[1])
		}
	}
}

func FuzzParseFS(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "smartcard", "*.card"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) { cardtest.ParseFS(b) })
}

func FuzzCard(f *testing.F) {
	fs, err := cardtest.Load(filepath.Join("..", "..", "testdata", "smartcard", "uicc.card"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"0070000001", "01A404040CA000000063504B43532D313500", "00A40804047F50643100", "00B0000000", "00B2010426", "00C0000000"} {
		b := make([]byte, len(s)/2)
		for i := range b {
			b[i] = byte(hexv(s[2*i])<<4 | hexv(s[2*i+1]))
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := cardtest.NewCard(fs, cardtest.Options{})
		r, err := c.Transmit(context.Background(), b)
		if err != nil || len(r) < 2 {
			t.Fatalf("got %X, %v", r, err)
		}
	})
}

func hexv(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}
