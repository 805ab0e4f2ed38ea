package pkcs15_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/smartcard/pkcs15"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

const (
	// smartcard.md §3.1, §3.2, §3.3, §3.4 vectors.
	dirRec   = "611C4F0CA000000063504B43532D31355006504B4353313551043F007F50FFFFFFFFFFFFFFFF"
	odf      = "A706300404026430" + "FFFFFF"
	odfMulti = "A706300404024407A506300404024404FFFFFF" // Nordic test
	token    = "302A020100040801020304050607080C0A6F6D61646D2D74657374800C444D20746573742063617264030100"
	dmOidDO  = "A1223000300E0C0C444D20426F6F747374726170A10E300C0604672B0701300404026431"
	cpOidDO  = "A1223000300E0C0C435020426F6F747374726170A10E300C0604672B0501300404026432"
	dmDouble = "A1243000300E0C0C444D20426F6F747374726170A110300E06060604672B0701300404026431"
	dmRange  = "A1293000300E0C0C444D20426F6F747374726170A115301306 04672B0701300B04026431020100800200DC"
	dmOpaque = "3020300E0C0C444D20426F6F74737472617030060604672B0701A106300404026431"
	gpARF    = "A12930003 00F0C0D4750205345204163632043746CA1143012060A2A864886FC6B81480101300404024200"
	lwm2m    = "A1273000301 10C0F4C774D324D20426F6F747374726170A110300E06060604672B0901300404026432"
	seekA7   = "A70C300A0604672B07010402 6431"
)

func TestDirRecord(t *testing.T) {
	app, ok, err := pkcs15.ParseDirRecord(h(dirRec))
	if err != nil || !ok || !app.IsPKCS15() || app.Label != "PKCS15" || hex.EncodeToString(app.Path) != "3f007f50" {
		t.Fatalf("got %+v %v %v", app, ok, err)
	}
	if _, ok, err := pkcs15.ParseDirRecord(h("FFFFFFFF")); ok || err != nil {
		t.Errorf("empty record: got ok=%v err=%v", ok, err)
	}
	if _, _, err := pkcs15.ParseDirRecord(h("611C4F0CA0")); !errors.Is(err, pkcs15.ErrTruncated) {
		t.Errorf("truncated record: got %v, want ErrTruncated", err)
	}
}

func TestODF(t *testing.T) {
	e, err := pkcs15.ParseODF(h(odf))
	if err != nil || len(e) != 1 || e[0].Tag != 0xA7 || e[0].Path.String() != "6430" {
		t.Fatalf("got %+v %v", e, err)
	}
	e, err = pkcs15.ParseODF(h(odfMulti))
	p := pkcs15.DODFPaths(e)
	if err != nil || len(e) != 2 || len(p) != 1 || p[0].String() != "4407" {
		t.Fatalf("got %+v %v", e, err)
	}
}

func TestTokenInfo(t *testing.T) {
	ti, err := pkcs15.ParseTokenInfo(h(token))
	if err != nil || ti.ManufacturerID != "omadm-test" || ti.Label != "DM test card" || hex.EncodeToString(ti.SerialNumber) != "0102030405060708" {
		t.Fatalf("got %+v %v", ti, err)
	}
}

func TestDODF(t *testing.T) {
	tests := []struct {
		name  string
		dodf  string
		oid   pkcs15.OID
		path  string
		label string
	}{
		{"DM oidDO", dmOidDO + cpOidDO + "FFFF", pkcs15.OIDDMBootstrap, "6431", "DM Bootstrap"},
		{"CP oidDO", dmOidDO + cpOidDO, pkcs15.OIDCPBootstrap, "6432", "CP Bootstrap"},
		{"double-wrapped OID", dmDouble, pkcs15.OIDDMBootstrap, "6431", "DM Bootstrap"},
		{"index and length", dmRange, pkcs15.OIDDMBootstrap, "6431[0+220]", "DM Bootstrap"},
		{"opaqueDO applicationOID", dmOpaque, pkcs15.OIDDMBootstrap, "6431", "DM Bootstrap"},
		{"GP ARF (AOSP vector) then DM", gpARF + dmOidDO, pkcs15.OIDDMBootstrap, "6431", "DM Bootstrap"},
		{"GP ARF OID", gpARF, pkcs15.OID(h("2A864886FC6B81480101")), "4200", "GP SE Acc Ctl"},
		{"LwM2M double-wrapped (Nordic vector)", lwm2m, pkcs15.OID(h("672B0901")), "6432", "LwM2M Bootstrap"},
		{"SIMalliance A7 shape", seekA7, pkcs15.OIDDMBootstrap, "6431", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := pkcs15.ParseDODF(h(tt.dodf))
			if err != nil {
				t.Fatal(err)
			}
			o, ok := pkcs15.Find(objs, tt.oid)
			if !ok || o.Path.String() != tt.path || o.Label != tt.label {
				t.Fatalf("got %+v found=%v, want path %s label %q", o, ok, tt.path, tt.label)
			}
		})
	}
}

func TestDODFErrors(t *testing.T) {
	tests := []struct {
		name  string
		dodf  string
		is    error
		found bool
	}{
		{"truncated entry", "A182010030003000", pkcs15.ErrTruncated, false},
		{"indefinite length", "A180", pkcs15.ErrBadLength, false},
		{"long length", "A18401000000", pkcs15.ErrBadLength, false},
		{"bad entry then good", "A1053003300104" + dmOidDO, pkcs15.ErrSyntax, true},
		{"odd path", "A1213000300E0C0C444D20426F6F747374726170A10D300B0604672B07013003040164", pkcs15.ErrSyntax, false},
		{"index without length", "A1253000300E0C0C444D20426F6F747374726170A111300F0604672B070130070402643102010", pkcs15.ErrTruncated, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.dodf)
			if err != nil {
				b = h(tt.dodf[:len(tt.dodf)-1])
			}
			objs, err := pkcs15.ParseDODF(b)
			var pe *pkcs15.Error
			if !errors.Is(err, tt.is) || !errors.As(err, &pe) {
				t.Fatalf("got %v, want *Error wrapping %v", err, tt.is)
			}
			if _, ok := pkcs15.Find(objs, pkcs15.OIDDMBootstrap); ok != tt.found {
				t.Errorf("got found=%v, want %v", ok, tt.found)
			}
		})
	}
}

func TestOIDString(t *testing.T) {
	tests := map[string]string{
		"672B0701":             "2.23.43.7.1",
		"2A864886FC6B81480101": "1.2.840.114283.200.1.1",
		"672B05":               "2.23.43.5",
		"2A86":                 "invalid:2a86",
	}
	for in, want := range tests {
		if got := pkcs15.OID(h(in)).String(); got != want {
			t.Errorf("OID %s: got %s, want %s", in, got, want)
		}
	}
}

func seeds(f *testing.F) {
	for _, s := range []string{dirRec, odf, odfMulti, token, dmOidDO + cpOidDO, dmDouble, dmRange, dmOpaque, gpARF, lwm2m, seekA7} {
		f.Add(h(s))
	}
}

func FuzzTLV(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		tlvs, err := pkcs15.ParseAll(b)
		if err != nil {
			return
		}
		// decode → encode → decode is stable for DER input.
		var enc []byte
		for _, x := range tlvs {
			enc = append(enc, pkcs15.Encode(x.Tag, x.Value)...)
		}
		again, err := pkcs15.ParseAll(enc)
		if err != nil || len(again) != len(tlvs) {
			t.Fatalf("re-parse of %X: %d TLVs, %v (want %d)", enc, len(again), err, len(tlvs))
		}
		for i := range again {
			if again[i].Tag != tlvs[i].Tag || string(again[i].Value) != string(tlvs[i].Value) {
				t.Fatalf("TLV %d changed", i)
			}
		}
	})
}

func FuzzDODF(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, _ := pkcs15.ParseDODF(b)
		for _, o := range objs {
			if o.HasPath && (len(o.Path.Path) == 0 || len(o.Path.Path)%2 != 0) {
				t.Fatalf("bad path accepted: %+v", o)
			}
			_ = o.ID.String()
		}
	})
}

func FuzzDirRecord(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		app, ok, err := pkcs15.ParseDirRecord(b)
		if err == nil && ok && len(app.AID) == 0 {
			t.Fatal("record without AID accepted")
		}
	})
}

func FuzzODF(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := pkcs15.ParseODF(b)
		if err != nil {
			return
		}
		for _, e := range es {
			if _, err := e.Path.FIDs(); err != nil {
				t.Fatalf("ODF path %v: %v", e.Path, err)
			}
		}
	})
}

func FuzzTokenInfo(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) { pkcs15.ParseTokenInfo(b) })
}

func BenchmarkParseDODF(b *testing.B) {
	in := h(gpARF + dmOidDO + cpOidDO + "FFFFFFFF")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		objs, err := pkcs15.ParseDODF(in)
		if err != nil || len(objs) != 3 {
			b.Fatal(len(objs), err)
		}
	}
}
