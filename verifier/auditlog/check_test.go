package auditlog

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/inmem"
)

// alteringStore serves altered leaves (a stored entry changed in place, the tree's node hashes
// left as they were).
type alteringStore struct {
	zkhealth.LogStore
	alter map[uint64][]byte
}

func (s *alteringStore) Leaves(ctx context.Context, start, end uint64) ([][]byte, error) {
	ls, err := s.LogStore.Leaves(ctx, start, end)
	for i := range ls {
		if b, ok := s.alter[start+uint64(i)]; ok {
			ls[i] = b
		}
	}
	return ls, err
}

func altered(t *testing.T, i int) []byte {
	t.Helper()
	e := sampleEntry(i)
	e.Result = "proof_rejected" // a valid verification rewritten as a refusal
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheck(t *testing.T) {
	key := mustKey(t, "zkhealth.test/check")
	store := inmem.NewLogStore()
	l := mustOpen(t, store, key)
	appendN(t, l, 0, 10)
	earlier := checkpointOf(t, l)
	appendN(t, l, 10, 7)

	t.Run("OK", func(t *testing.T) {
		for name, prev := range map[string][]byte{"First": nil, "FromEarlier": earlier.Note, "FromItself": checkpointOf(t, l).Note} {
			cp, err := Check(ctx, l, key.VerifierKey(), prev)
			if err != nil || cp.Size != 17 {
				t.Fatalf("%s: Check = %+v, %v", name, cp, err)
			}
		}
		empty := mustOpen(t, inmem.NewLogStore(), key)
		if cp, err := Check(ctx, empty, key.VerifierKey(), nil); err != nil || cp.Size != 0 {
			t.Fatalf("empty log: %+v, %v", cp, err)
		}
	})

	// rewritten is another log under the same key: the first 10 entries with entry 4 changed, then
	// 7 more, every hash recomputed: its checkpoints verify, but not as a continuation of earlier.
	rewritten := mustOpen(t, inmem.NewLogStore(), key)
	appendN(t, rewritten, 0, 4)
	if _, err := rewritten.store.AppendLeaf(ctx, altered(t, 4), ""); err != nil {
		t.Fatal(err)
	}
	appendN(t, rewritten, 5, 12)
	shrunk := mustOpen(t, inmem.NewLogStore(), key)
	appendN(t, shrunk, 0, 9)
	forkedSameSize := mustOpen(t, inmem.NewLogStore(), key)
	appendN(t, forkedSameSize, 0, 9)
	if _, err := forkedSameSize.store.AppendLeaf(ctx, altered(t, 9), ""); err != nil {
		t.Fatal(err)
	}
	other := mustOpen(t, inmem.NewLogStore(), mustKey(t, "zkhealth.test/check"))
	appendN(t, other, 0, 17)

	for _, tc := range []struct {
		name    string
		src     Source
		earlier []byte
		want    string
	}{
		{"EntryAlteredBeforeEarlier", &Log{store: &alteringStore{LogStore: store, alter: map[uint64][]byte{4: altered(t, 4)}}, key: key}, earlier.Note, "first 10 entries do not hash to the earlier checkpoint"},
		{"EntryAlteredAfterEarlier", &Log{store: &alteringStore{LogStore: store, alter: map[uint64][]byte{12: altered(t, 12)}}, key: key}, earlier.Note, "17 entries do not hash to its checkpoint's root"},
		{"EntryAlteredNoEarlier", &Log{store: &alteringStore{LogStore: store, alter: map[uint64][]byte{0: altered(t, 0)}}, key: key}, nil, "do not hash to its checkpoint's root"},
		{"HistoryRewritten", rewritten, earlier.Note, "not consistent with the earlier checkpoint"},
		{"Shrunk", shrunk, earlier.Note, "shrank from 10"},
		{"ForkedSameSize", forkedSameSize, earlier.Note, "another root than the earlier checkpoint"},
		{"SignedByAnotherKey", other, nil, "its checkpoint"},
		{"EntryMissing", &Log{store: &truncatingStore{LogStore: store, size: 15}, key: key}, nil, "serves 15 entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(ctx, tc.src, key.VerifierKey(), tc.earlier)
			if !errors.Is(err, ErrLogInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want ErrLogInvalid saying %q", err, tc.want)
			}
		})
	}
	t.Run("BadEarlierCheckpoint", func(t *testing.T) {
		_, err := Check(ctx, l, key.VerifierKey(), bytes.Replace(earlier.Note, []byte("\n10\n"), []byte("\n11\n"), 1))
		if !errors.Is(err, ErrCheckpoint) || errors.Is(err, ErrLogInvalid) {
			t.Fatalf("Check with a forged earlier checkpoint = %v, want ErrCheckpoint", err)
		}
	})
}

// truncatingStore serves leaves only up to size (its LogSize still counts them all).
type truncatingStore struct {
	zkhealth.LogStore
	size uint64
}

func (s *truncatingStore) Leaves(ctx context.Context, start, end uint64) ([][]byte, error) {
	if start >= s.size {
		return [][]byte{}, nil
	}
	return s.LogStore.Leaves(ctx, start, min(end, s.size))
}

func TestAudit(t *testing.T) {
	key := mustKey(t, "zkhealth.test/audit")
	store := inmem.NewLogStore()
	l := mustOpen(t, store, key)
	appendN(t, l, 0, 23) // nullifiers 7…11 in turn
	cp, got, err := Audit(ctx, l, key.VerifierKey(), *elem(9))
	if err != nil || cp.Size != 23 {
		t.Fatal(cp, err)
	}
	var idx []uint64
	for _, ix := range got {
		idx = append(idx, ix.Index)
	}
	if want := []uint64{2, 7, 12, 17, 22}; !equalU64(idx, want) {
		t.Fatalf("audit found %v, want %v", idx, want)
	}
	if _, got, err := Audit(ctx, l, key.VerifierKey(), *elem(100)); err != nil || len(got) != 0 {
		t.Fatalf("audit of an unknown nullifier: %v, %v", got, err)
	}
	t.Run("AlteredEntryIsNotIncluded", func(t *testing.T) {
		e := sampleEntry(7)
		e.Result = "proof_rejected"
		b, _ := e.MarshalBinary()
		lying := &Log{store: &alteringStore{LogStore: store, alter: map[uint64][]byte{7: b}}, key: key}
		if _, _, err := Audit(ctx, lying, key.VerifierKey(), *elem(9)); !errors.Is(err, ErrLogInvalid) || !strings.Contains(err.Error(), "entry 7 is not included") {
			t.Fatalf("Audit = %v, want entry 7 not included", err)
		}
	})
	t.Run("AnotherKey", func(t *testing.T) {
		if _, _, err := Audit(ctx, l, mustKey(t, "zkhealth.test/audit").VerifierKey(), *elem(9)); !errors.Is(err, ErrLogInvalid) {
			t.Fatalf("Audit under another key = %v", err)
		}
	})
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
