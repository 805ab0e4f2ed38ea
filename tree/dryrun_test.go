package tree_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Under WithDryRun every write that passes its checks answers ErrDryRun
// (200) and changes nothing: not the stored tree, not a provider (no write,
// no Exec, no transaction begun). Writes that fail a check fail as they
// would for real.
func TestDryRun(t *testing.T) {
	tests := []struct {
		name string
		st   step
		want error // ErrDryRun, or the check's sentinel
	}{
		{"add stored", step{op: "Add", p: s1, uri: "./A/New", v: chr("x")}, tree.ErrDryRun},
		{"add stored deep", step{op: "Add", p: s1, uri: "./A/N1/N2", v: chr("x")}, tree.ErrDryRun},
		{"add existing", step{op: "Add", p: s1, uri: "./A/L", v: chr("x")}, tree.ErrAlreadyExists},
		{"add denied", step{op: "Add", p: s2, uri: "./A/New", v: chr("x")}, tree.ErrPermissionDenied},
		{"replace stored", step{op: "Replace", p: s1, uri: "./A/L", v: chr("w")}, tree.ErrDryRun},
		{"replace missing", step{op: "Replace", p: s1, uri: "./A/Nope", v: chr("w")}, tree.ErrNotFound},
		{"replace denied", step{op: "Replace", p: s2, uri: "./A/L", v: chr("w")}, tree.ErrPermissionDenied},
		{"replace DDF read-only", step{op: "Replace", p: local, uri: "./RO", v: chr("w")}, tree.ErrDryRun},
		{"replace ACL", step{op: "Replace", p: s1, uri: "./A/B?prop=ACL", v: chr("Get=*")}, tree.ErrDryRun},
		{"replace title", step{op: "Replace", p: s1, uri: "./A/L?prop=Title", v: chr("t")}, tree.ErrDryRun},
		{"rename stored", step{op: "Replace", p: s1, uri: "./A/L?prop=Name", v: chr("L2")}, tree.ErrDryRun},
		{"delete stored", step{op: "Delete", p: s1, uri: "./A/B"}, tree.ErrDryRun},
		{"delete permanent", step{op: "Delete", p: local, uri: "./Perm"}, tree.ErrNotAllowed},
		{"copy", step{op: "Copy", p: s1, uri: "./A/L3", src: "./A/L"}, tree.ErrDryRun},
		{"add provider", step{op: "Add", p: local, uri: "./P/New", v: chr("x")}, tree.ErrDryRun},
		{"replace provider", step{op: "Replace", p: local, uri: "./P/K", v: chr("w")}, tree.ErrDryRun},
		{"rename provider", step{op: "Replace", p: local, uri: "./P/K?prop=Name", v: chr("K2")}, tree.ErrDryRun},
		{"delete provider", step{op: "Delete", p: local, uri: "./P/K"}, tree.ErrDryRun},
		{"exec provider", step{op: "Exec", p: local, uri: "./P/K"}, tree.ErrDryRun},
		{"exec stored", step{op: "Exec", p: s1, uri: "./A/L"}, tree.ErrNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, m := fixture(t)
			before := snap(tr)
			pk := dump(t, tr, "./P")
			dctx := tree.WithDryRun(ctx)
			var err error
			switch tt.st.op {
			case "Add":
				err = tr.Add(dctx, tt.st.p, tt.st.uri, tt.st.v)
			case "Replace":
				err = tr.Replace(dctx, tt.st.p, tt.st.uri, tt.st.v)
			case "Delete":
				err = tr.Delete(dctx, tt.st.p, tt.st.uri)
			case "Copy":
				err = tr.Copy(dctx, tt.st.p, tt.st.uri, tt.st.src)
			case "Exec":
				err = tr.Exec(dctx, tt.st.p, tt.st.uri, nil, "c")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if errors.Is(err, tree.ErrDryRun) && tree.StatusCode(err) != tree.StatusOK {
				t.Errorf("StatusCode(ErrDryRun) = %d, want 200", tree.StatusCode(err))
			}
			if after := snap(tr); !bytes.Equal(before, after) {
				t.Error("the stored tree changed")
			}
			if got := dump(t, tr, "./P"); got != pk {
				t.Errorf("the provider changed:\n%s\nwant\n%s", got, pk)
			}
			if len(m.Execs) != 0 || m.Begins != 0 {
				t.Errorf("provider Exec calls %d, Begins %d; want none", len(m.Execs), m.Begins)
			}
			// The same write for real is not refused by the dry run having happened.
			if errors.Is(err, tree.ErrDryRun) {
				if real := run2(tr, tt.st); real != nil && !errors.Is(real, tree.ErrAsync) {
					t.Errorf("the real write after the dry run failed: %v", real)
				}
			}
		})
	}
}

// TestDryRunInAtomic: a dry Atomic begins no provider transaction and
// commits nothing.
func TestDryRunInAtomic(t *testing.T) {
	tr, m := fixture(t)
	before := snap(tr)
	err := tr.Atomic(tree.WithDryRun(ctx), func(c2 context.Context, tx *tree.Txn) error {
		if err := tx.Replace(c2, local, "./P/K", chr("w")); !errors.Is(err, tree.ErrDryRun) {
			return err
		}
		if err := tx.Add(c2, s1, "./A/X", chr("x")); !errors.Is(err, tree.ErrDryRun) {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Begins != 0 || !bytes.Equal(before, snap(tr)) {
		t.Errorf("dry Atomic: %d provider Begins, tree changed %t", m.Begins, !bytes.Equal(before, snap(tr)))
	}
}

func run2(tr *tree.Tree, st step) error {
	switch st.op {
	case "Add":
		return tr.Add(ctx, st.p, st.uri, st.v)
	case "Replace":
		return tr.Replace(ctx, st.p, st.uri, st.v)
	case "Delete":
		return tr.Delete(ctx, st.p, st.uri)
	case "Copy":
		return tr.Copy(ctx, st.p, st.uri, st.src)
	case "Exec":
		return tr.Exec(ctx, st.p, st.uri, nil, "c")
	}
	return nil
}
