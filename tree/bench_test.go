package tree_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/store"
)

const (
	benchGroups = 100
	benchLeaves = 1000 // 100 × 1000 leaves + 100 interiors + root/Inbox/Bench ≈ 100,103 nodes
)

var (
	benchOnce sync.Once
	benchSnap []byte
)

// benchTree returns a fresh tree with ≈100,000 nodes, loaded from an encoded
// snapshot built once.
func benchTree(b *testing.B) (*tree.Tree, *store.Mem) {
	b.Helper()
	benchOnce.Do(func() {
		st := store.NewMem()
		tr, err := tree.Open(context.Background(), st)
		if err != nil {
			b.Fatal(err)
		}
		for g := range benchGroups {
			for n := range benchLeaves {
				u := fmt.Sprintf("./Bench/g%d/n%d", g, n)
				if err := tr.Add(context.Background(), tree.LocalPrincipal, u, tree.Value{Data: []byte("value-" + u)}); err != nil {
					b.Fatal(err)
				}
			}
			if err := tr.Replace(context.Background(), tree.LocalPrincipal, fmt.Sprintf("./Bench/g%d?prop=ACL", g), tree.Value{Data: []byte("Get=s1+s2&Replace=s1")}); err != nil {
				b.Fatal(err)
			}
		}
		if err := tr.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		benchSnap = st.Bytes()
	})
	st := store.NewMem()
	snap, err := store.Decode(benchSnap)
	if err != nil {
		b.Fatal(err)
	}
	st.Save(context.Background(), snap)
	tr, err := tree.Open(context.Background(), st)
	if err != nil {
		b.Fatal(err)
	}
	return tr, st
}

func BenchmarkLoad100k(b *testing.B) {
	_, st := benchTree(b)
	b.SetBytes(int64(len(st.Bytes())))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tree.Open(context.Background(), st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPersist100k is one changed value, then Flush to a File store
// (snapshot, encode, write temp, fsync, rename, fsync dir).
func BenchmarkPersist100k(b *testing.B) {
	src, _ := benchTree(b)
	path := filepath.Join(b.TempDir(), "tree.db")
	fs := store.NewFile(path)
	if _, err := fs.Save(context.Background(), src.Snapshot()); err != nil {
		b.Fatal(err)
	}
	tr, err := tree.Open(context.Background(), fs)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchSnap)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := tr.Replace(context.Background(), tree.LocalPrincipal, "./Bench/g1/n1", tree.Value{Data: fmt.Appendf(nil, "%d", i)}); err != nil {
			b.Fatal(err)
		}
		if err := tr.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode100k is the CPU part of persisting: snapshot + encode.
func BenchmarkEncode100k(b *testing.B) {
	tr, _ := benchTree(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = store.Encode(tr.Snapshot())
	}
}

func BenchmarkListStruct100k(b *testing.B) {
	tr, _ := benchTree(b)
	b.ReportAllocs()
	for b.Loop() {
		r, err := tr.Get(context.Background(), tree.Server("s1"), ".?list=Struct")
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Items) < benchGroups*benchLeaves {
			b.Fatalf("%d items", len(r.Items))
		}
	}
}

func BenchmarkReplace10kInTxn(b *testing.B) {
	tr, _ := benchTree(b)
	uris := make([]string, 10000)
	for i := range uris {
		uris[i] = fmt.Sprintf("./Bench/g%d/n%d", i%benchGroups, i/benchGroups)
	}
	v := tree.Value{Data: []byte("new")}
	s1 := tree.Server("s1")
	b.ReportAllocs()
	for b.Loop() {
		err := tr.Atomic(context.Background(), func(ctx context.Context, tx *tree.Txn) error {
			for _, u := range uris {
				if err := tx.Replace(ctx, s1, u, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
