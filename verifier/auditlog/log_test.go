package auditlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/inmem"
)

var ctx = context.Background()

func mustKey(t testing.TB, origin string) *Key {
	t.Helper()
	k, err := GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustOpen(t testing.TB, store zkhealth.LogStore, key *Key) *Log {
	t.Helper()
	l, err := Open(ctx, store, key)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// refRoot is the RFC 6962 Merkle tree hash written out from the RFC (section 2.1), independent of
// the library: MTH({}) = SHA-256(), MTH({d}) = SHA-256(0x00 ‖ d), MTH(D[n]) = SHA-256(0x01 ‖
// MTH(D[0:k]) ‖ MTH(D[k:n])) with k the largest power of two below n.
func refRoot(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		h := sha256.Sum256(append([]byte{0}, leaves[0]...))
		return h[:]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	h := sha256.Sum256(append(append([]byte{1}, refRoot(leaves[:k])...), refRoot(leaves[k:])...))
	return h[:]
}

func appendN(t testing.TB, l *Log, from, n int) [][]byte {
	t.Helper()
	var leaves [][]byte
	for i := from; i < from+n; i++ {
		e := sampleEntry(i)
		idx, err := l.Append(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if idx != uint64(i) {
			t.Fatalf("append %d got index %d", i, idx)
		}
		b, _ := e.MarshalBinary()
		leaves = append(leaves, b)
	}
	return leaves
}

func checkpointOf(t testing.TB, l *Log) *Checkpoint {
	t.Helper()
	signed, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := OpenCheckpoint(signed, l.VerifierKey())
	if err != nil {
		t.Fatalf("the log's own checkpoint does not verify: %v\n%s", err, signed)
	}
	return cp
}

// TestProofs: at every size up to 33 (checkpointed one append at a time, so the tree is synced
// in every shape), the root is RFC 6962's, every inclusion proof and every consistency proof
// verifies with the library's verifier, and a proof checked against another leaf, index or root
// fails.
func TestProofs(t *testing.T) {
	const n = 33
	l := mustOpen(t, inmem.NewLogStore(), mustKey(t, "zkhealth.test/proofs"))
	var leaves [][]byte
	roots := [][]byte{checkpointOf(t, l).Hash}
	for i := range n {
		leaves = append(leaves, appendN(t, l, i, 1)...)
		if i%3 != 1 { // sometimes two appends between syncs
			roots = append(roots, checkpointOf(t, l).Hash)
		} else {
			roots = append(roots, nil)
		}
	}
	cp := checkpointOf(t, l)
	roots[n] = cp.Hash
	for size := 0; size <= n; size++ {
		if roots[size] == nil {
			roots[size] = refRoot(leaves[:size])
		}
		if want := refRoot(leaves[:size]); !bytes.Equal(roots[size], want) {
			t.Fatalf("root of %d entries %x, RFC 6962 says %x", size, roots[size], want)
		}
	}
	for size := uint64(1); size <= n; size++ {
		for index := uint64(0); index < size; index++ {
			p, err := l.InclusionProof(ctx, index, size)
			if err != nil {
				t.Fatal(err)
			}
			leafHash := LeafHash(leaves[index])
			if err := proof.VerifyInclusion(hasher, index, size, leafHash, p, roots[size]); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", index, size, err)
			}
			other := LeafHash(leaves[(index+1)%size])
			if size > 1 && proof.VerifyInclusion(hasher, index, size, other, p, roots[size]) == nil {
				t.Fatalf("inclusion proof of %d in %d verifies another leaf", index, size)
			}
			if size > 1 && proof.VerifyInclusion(hasher, (index+1)%size, size, leafHash, p, roots[size]) == nil {
				t.Fatalf("inclusion proof of %d in %d verifies at another index", index, size)
			}
		}
	}
	for from := uint64(0); from <= n; from++ {
		for to := from; to <= n; to++ {
			p, err := l.ConsistencyProof(ctx, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(hasher, from, to, p, roots[from], roots[to]); err != nil {
				t.Fatalf("consistency %d → %d: %v", from, to, err)
			}
			if from > 0 && from < to {
				forged := refRoot(append(append([][]byte{}, leaves[:from-1]...), []byte("forged")))
				if proof.VerifyConsistency(hasher, from, to, p, forged, roots[to]) == nil {
					t.Fatalf("consistency %d → %d verifies from a forged tree", from, to)
				}
			}
		}
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		for name, err := range map[string]error{
			"InclusionSizePastLog":   func() error { _, err := l.InclusionProof(ctx, 0, n+1); return err }(),
			"InclusionIndexPastSize": func() error { _, err := l.InclusionProof(ctx, 5, 5); return err }(),
			"ConsistencyPastLog":     func() error { _, err := l.ConsistencyProof(ctx, 1, n+1); return err }(),
			"ConsistencyReversed":    func() error { _, err := l.ConsistencyProof(ctx, 5, 4); return err }(),
			"EntriesReversed":        func() error { _, err := l.Entries(ctx, 5, 4); return err }(),
			"EntriesPastLog":         func() error { _, err := l.Entries(ctx, n+1, n+2); return err }(),
		} {
			if zkhealth.ErrorCode(err) != zkhealth.EInvalid {
				t.Errorf("%s: %v, want EInvalid", name, err)
			}
		}
	})
}

func TestCheckpoint(t *testing.T) {
	key := mustKey(t, "zkhealth.test/checkpoint")
	l := mustOpen(t, inmem.NewLogStore(), key)
	appendN(t, l, 0, 5)
	signed, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(signed), "\n")
	if lines[0] != "zkhealth.test/checkpoint" || lines[1] != "5" || lines[3] != "" || !strings.HasPrefix(lines[4], "— zkhealth.test/checkpoint ") {
		t.Fatalf("checkpoint is not a C2SP signed checkpoint:\n%s", signed)
	}
	// the library's verifier accepts it under the log's key
	v, err := note.NewVerifier(key.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(signed, note.VerifierList(v)); err != nil {
		t.Fatalf("note.Open: %v", err)
	}
	other := mustKey(t, "zkhealth.test/checkpoint")
	for name, tc := range map[string]struct {
		note []byte
		vkey string
	}{
		"AnotherKeyOfTheSameName": {signed, other.VerifierKey()},
		"AlteredSize":             {bytes.Replace(signed, []byte("\n5\n"), []byte("\n6\n"), 1), key.VerifierKey()},
		"Unsigned":                {[]byte(strings.Join(lines[:3], "\n") + "\n"), key.VerifierKey()},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := OpenCheckpoint(tc.note, tc.vkey); !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("OpenCheckpoint = %v, want ErrCheckpoint", err)
			}
		})
	}
	t.Run("OneKeyPerStore", func(t *testing.T) {
		store := inmem.NewLogStore()
		mustOpen(t, store, key)
		if _, err := Open(ctx, store, other); zkhealth.ErrorCode(err) != zkhealth.EInvalid {
			t.Fatalf("Open with a second key: %v, want EInvalid", err)
		}
	})
}

// TestSharedStore: two Logs (two serve processes) appending concurrently to one store keep one
// log: dense indexes, and both sign the same checkpoint.
func TestSharedStore(t *testing.T) {
	store, key := inmem.NewLogStore(), mustKey(t, "zkhealth.test/shared")
	a, b := mustOpen(t, store, key), mustOpen(t, store, key)
	var wg sync.WaitGroup
	for g := range 6 {
		l := a
		if g%2 == 1 {
			l = b
		}
		wg.Go(func() {
			for i := range 20 {
				if _, err := l.Append(ctx, sampleEntry(g*20+i)); err != nil {
					t.Error(err)
				}
				if i%7 == 0 {
					if _, err := l.Checkpoint(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	ca, cb := checkpointOf(t, a), checkpointOf(t, b)
	if ca.Size != 120 || !bytes.Equal(ca.Note, cb.Note) {
		t.Fatalf("checkpoints differ:\n%s\n%s", ca.Note, cb.Note)
	}
	if _, err := Check(ctx, a, key.VerifierKey(), nil); err != nil {
		t.Fatal(err)
	}
}

// lossyStore forgets some node hashes (as a damaged store would).
type lossyStore struct {
	zkhealth.LogStore
	forget func(zkhealth.LogNodeID) bool
}

func (s *lossyStore) LogNodes(ctx context.Context, ids []zkhealth.LogNodeID) ([][]byte, error) {
	hs, err := s.LogStore.LogNodes(ctx, ids)
	for i, id := range ids {
		if err == nil && s.forget(id) {
			hs[i] = nil
		}
	}
	return hs, err
}

// TestRepair: node hashes the store lost are recomputed from the leaves.
func TestRepair(t *testing.T) {
	inner, key := inmem.NewLogStore(), mustKey(t, "zkhealth.test/repair")
	l := mustOpen(t, inner, key)
	leaves := appendN(t, l, 0, 21)
	want := checkpointOf(t, l)
	lossy := &lossyStore{LogStore: inner, forget: func(id zkhealth.LogNodeID) bool { return id.Level == 2 || id.Level == 0 && id.Index%3 == 0 }}
	l2 := mustOpen(t, lossy, key)
	if got := checkpointOf(t, l2); !bytes.Equal(got.Hash, want.Hash) || !bytes.Equal(got.Hash, refRoot(leaves)) {
		t.Fatalf("repaired root %x, want %x", got.Hash, want.Hash)
	}
	p, err := l2.InclusionProof(ctx, 9, 21)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyInclusion(hasher, 9, 21, LeafHash(leaves[9]), p, want.Hash); err != nil {
		t.Fatal(err)
	}
}

func TestEntries(t *testing.T) {
	l := mustOpen(t, inmem.NewLogStore(), mustKey(t, "zkhealth.test/entries"))
	appendN(t, l, 0, MaxPage+10)
	for _, tc := range []struct {
		name                  string
		start, end            uint64
		wantFirst, wantLength uint64
	}{
		{"Range", 3, 8, 3, 5},
		{"Clamped", 0, 10000, 0, MaxPage},
		{"PastEnd", MaxPage, MaxPage + 100, MaxPage, 10},
		{"AtEnd", MaxPage + 10, MaxPage + 20, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Entries(ctx, tc.start, tc.end)
			if err != nil || uint64(len(got)) != tc.wantLength {
				t.Fatalf("Entries(%d, %d) = %d entries, %v", tc.start, tc.end, len(got), err)
			}
			for i, ix := range got {
				if ix.Index != tc.wantFirst+uint64(i) || ix.Entry.Time.Second() != int(ix.Index%60) {
					t.Fatalf("entry %d: %+v", i, ix)
				}
			}
		})
	}
	t.Run("ByNullifier", func(t *testing.T) {
		got, err := l.EntriesByNullifier(ctx, *elem(7), 0)
		if err != nil || len(got) != (MaxPage+10+4)/5 {
			t.Fatalf("EntriesByNullifier = %d entries, %v", len(got), err)
		}
		for _, ix := range got {
			if ix.Index%5 != 0 || !ix.Entry.Nullifier.Equal(elem(7)) {
				t.Fatalf("entry %+v does not name nullifier 7", ix)
			}
		}
		if got, err := l.EntriesByNullifier(ctx, *elem(7), 251); err != nil || len(got) != 3 || got[0].Index != 255 {
			t.Fatalf("EntriesByNullifier from 251 = %v, %v", got, err)
		}
		if got, err := l.EntriesByNullifier(ctx, *elem(99), 0); err != nil || len(got) != 0 {
			t.Fatalf("EntriesByNullifier of an unknown nullifier = %v, %v", got, err)
		}
	})
}

func TestKeyFile(t *testing.T) {
	path := t.TempDir() + "/log.key"
	k, created, err := LoadOrCreateKey(path, "zkhealth.test/key")
	if err != nil || !created {
		t.Fatalf("create: %v, %v", created, err)
	}
	again, created, err := LoadOrCreateKey(path, "")
	if err != nil || created || again.VerifierKey() != k.VerifierKey() {
		t.Fatalf("reload: %v, %v", created, err)
	}
	if !strings.HasPrefix(k.VerifierKey(), "zkhealth.test/key+") {
		t.Errorf("verifier key %s", k.VerifierKey())
	}
	for name, tc := range map[string]struct{ path, origin string }{
		"OtherOrigin":     {path, "zkhealth.test/other"},
		"MissingNoOrigin": {path + ".missing", ""},
		"BadOrigin":       {path + ".new", "has space"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := LoadOrCreateKey(tc.path, tc.origin); !errors.Is(err, ErrKey) {
				t.Fatalf("LoadOrCreateKey = %v, want ErrKey", err)
			}
		})
	}
	for _, o := range []string{"", "a b", "a+b", "a\nb", strings.Repeat("a", MaxOrigin+1), "é"} {
		if ValidOrigin(o) {
			t.Errorf("ValidOrigin(%q)", o)
		}
	}
	for _, o := range []string{"zkhealth.example/log", "localhost:8080/zkhealth", "a"} {
		if !ValidOrigin(o) {
			t.Errorf("!ValidOrigin(%q)", o)
		}
	}
	if _, err := ParseKey([]byte(k.VerifierKey())); !errors.Is(err, ErrKey) {
		t.Errorf("ParseKey of a verifier key: %v", err)
	}
}
