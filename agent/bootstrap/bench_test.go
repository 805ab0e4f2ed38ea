package bootstrap

import (
	"context"
	"testing"
)

func benchApply(b *testing.B, file string) {
	doc := readVector(b, file)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		tr := newTree(b)
		if _, err := Apply(context.Background(), tr, doc, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyCPWBXML(b *testing.B)     { benchApply(b, "cp-w7.wbxml") }
func BenchmarkApplyDMWBXML(b *testing.B)     { benchApply(b, "dm-bootstrap.wbxml") }
func BenchmarkApplyDMTNDSWBXML(b *testing.B) { benchApply(b, "dm-inbox-tnds.wbxml") }
