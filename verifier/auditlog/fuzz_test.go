package auditlog

import (
	"bytes"
	"testing"

	"github.com/zkhealth/zkhealth/inmem"
	"github.com/zkhealth/zkhealth/internal/strictjson"
)

// FuzzOpenCheckpoint: a checkpoint opens only under the log's key and says what the log signed;
// nothing panics.
func FuzzOpenCheckpoint(f *testing.F) {
	key, err := GenerateKey("zkhealth.test/fuzz")
	if err != nil {
		f.Fatal(err)
	}
	l, err := Open(ctx, inmem.NewLogStore(), key)
	if err != nil {
		f.Fatal(err)
	}
	signed := map[uint64][]byte{}
	for i := range 4 {
		n, err := l.Checkpoint(ctx)
		if err != nil {
			f.Fatal(err)
		}
		signed[uint64(i)] = n
		f.Add(n)
		if _, err := l.Append(ctx, sampleEntry(i)); err != nil {
			f.Fatal(err)
		}
	}
	f.Add([]byte("zkhealth.test/fuzz\n1\nAAAA\n\n— zkhealth.test/fuzz AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := OpenCheckpoint(b, key.VerifierKey())
		if err != nil {
			return
		}
		if want, ok := signed[cp.Size]; !ok || cp.Origin != key.Origin() {
			t.Fatalf("opened a checkpoint the log never signed: %q", b)
		} else if wcp, _ := OpenCheckpoint(want, key.VerifierKey()); !bytes.Equal(wcp.Hash, cp.Hash) {
			t.Fatalf("opened a checkpoint of size %d with another root", cp.Size)
		}
	})
}

// FuzzEntriesJSON: an entries answer parses (strictly) only when every entry's fields agree with
// its leaf, and then renders back to the same fields; nothing panics.
func FuzzEntriesJSON(f *testing.F) {
	f.Add([]byte(`{"entries":[]}`))
	f.Add([]byte(`{"entries":[{"index":0,"time":"2026-11-22T10:00:00Z","binding":"0x00","scope":"s","result":"valid","leaf":"AQ=="}],"next":3}`))
	e := sampleEntry(1)
	leaf, _ := e.MarshalBinary()
	j := NewEntryJSON(Indexed{Index: 4, Entry: e, Leaf: leaf})
	f.Add([]byte(`{"entries":[{"index":4,"time":"` + j.Time + `","binding":"` + j.Binding + `","scope":"` + j.Scope + `","nullifier":"` + j.Nullifier + `","result":"valid","leaf":"` + j.Leaf + `"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var page EntriesJSON
		if strictjson.Unmarshal(b, &page) != nil {
			return
		}
		got, err := parseEntries(page)
		if err != nil {
			return
		}
		for i, ix := range got {
			if NewEntryJSON(ix) != page.Entries[i] {
				t.Fatalf("entry %d parsed but renders differently", i)
			}
			if again, err := ix.Entry.MarshalBinary(); err != nil || !bytes.Equal(again, ix.Leaf) {
				t.Fatalf("entry %d: leaf is not the entry's encoding", i)
			}
		}
	})
}

// FuzzProofJSON: a proof answer parses only as at most MaxProofHashes SHA-256 hashes; nothing
// panics.
func FuzzProofJSON(f *testing.F) {
	f.Add([]byte(`{"index":3,"size":10,"hashes":["47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]}`))
	f.Add([]byte(`{"index":0,"size":1,"hashes":[]}`))
	f.Add([]byte(`{"index":0,"size":1,"hashes":["AA=="]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p InclusionJSON
		if strictjson.Unmarshal(b, &p) != nil {
			return
		}
		hs, err := DecodeHashes(p.Hashes)
		if err != nil {
			return
		}
		if len(hs) > MaxProofHashes {
			t.Fatalf("%d hashes", len(hs))
		}
		for i, h := range hs {
			if len(h) != 32 {
				t.Fatalf("hash %d has %d bytes", i, len(h))
			}
		}
	})
}
