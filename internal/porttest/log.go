package porttest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/zkhealth/zkhealth"
)

// OpenLogStore returns an empty log store for one test; the opener releases it when the test ends.
type OpenLogStore func(t *testing.T) zkhealth.LogStore

// OpenLogStorePair returns two handles on one empty log store (two clients of one Redis, as two
// serve processes have), for the contract across processes.
type OpenLogStorePair func(t *testing.T) (zkhealth.LogStore, zkhealth.LogStore)

// LogStore runs the zkhealth.LogStore contract on stores from open.
func LogStore(t *testing.T, open OpenLogStore) {
	t.Run("Append", func(t *testing.T) { logAppend(t, open(t)) })
	t.Run("ErrInvalid", func(t *testing.T) { logInvalid(t, open(t)) })
	t.Run("ConcurrentAppends", func(t *testing.T) { s := open(t); logConcurrent(t, s, s) })
	t.Run("LeafIndexes", func(t *testing.T) { logIndexes(t, open(t)) })
	t.Run("Nodes", func(t *testing.T) { logNodes(t, open(t)) })
	t.Run("BindLog", func(t *testing.T) { logBind(t, open(t)) })
}

// LogStoreShared runs the part of the contract that spans processes: appends through two handles
// on one store keep one log.
func LogStoreShared(t *testing.T, open OpenLogStorePair) {
	t.Run("ConcurrentAppends", func(t *testing.T) { a, b := open(t); logConcurrent(t, a, b) })
	t.Run("BindLog", func(t *testing.T) {
		a, b := open(t)
		ctx := context.Background()
		if got, err := a.BindLog(ctx, "first"); err != nil || got != "first" {
			t.Fatalf("BindLog = %q, %v", got, err)
		}
		if got, err := b.BindLog(ctx, "second"); err != nil || got != "first" {
			t.Fatalf("BindLog through the other handle = %q, %v; want the first id", got, err)
		}
	})
}

func leafOf(i int) []byte { return []byte(fmt.Sprintf("leaf %d \x00\xff", i)) }

func mustAppend(t *testing.T, s zkhealth.LogStore, leaf []byte, key string) uint64 {
	t.Helper()
	i, err := s.AppendLeaf(context.Background(), leaf, key)
	if err != nil {
		t.Fatalf("AppendLeaf: %v", err)
	}
	return i
}

func logAppend(t *testing.T, s zkhealth.LogStore) {
	ctx := context.Background()
	if size, synced, err := s.LogSize(ctx); err != nil || size != 0 || synced != 0 {
		t.Fatalf("empty LogSize = %d, %d, %v", size, synced, err)
	}
	if got, err := s.Leaves(ctx, 0, 0); err != nil || len(got) != 0 {
		t.Fatalf("Leaves(0, 0) of an empty log = %q, %v", got, err)
	}
	const n = 40
	for i := range n {
		if got := mustAppend(t, s, leafOf(i), ""); got != uint64(i) {
			t.Fatalf("append %d got index %d", i, got)
		}
	}
	if size, synced, err := s.LogSize(ctx); err != nil || size != n || synced != 0 {
		t.Fatalf("LogSize = %d, %d, %v; want %d, 0", size, synced, err, n)
	}
	for _, tc := range []struct {
		name       string
		start, end uint64
	}{{"All", 0, n}, {"Middle", 7, 19}, {"One", 39, 40}, {"Empty", 12, 12}, {"EmptyAtEnd", n, n}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Leaves(ctx, tc.start, tc.end)
			if err != nil || uint64(len(got)) != tc.end-tc.start {
				t.Fatalf("Leaves(%d, %d) = %d leaves, %v", tc.start, tc.end, len(got), err)
			}
			for j, l := range got {
				if want := leafOf(int(tc.start) + j); !bytes.Equal(l, want) {
					t.Fatalf("leaf %d = %q, want %q", int(tc.start)+j, l, want)
				}
			}
		})
	}
	t.Run("LeavesAreCopies", func(t *testing.T) {
		got, _ := s.Leaves(ctx, 0, 1)
		got[0][0] ^= 0xff
		again, _ := s.Leaves(ctx, 0, 1)
		if !bytes.Equal(again[0], leafOf(0)) {
			t.Fatal("changing a returned leaf changed the store")
		}
	})
}

func logInvalid(t *testing.T, s zkhealth.LogStore) {
	ctx := context.Background()
	for i := range 3 {
		mustAppend(t, s, leafOf(i), "k")
	}
	for _, tc := range []struct {
		name string
		err  func() error
	}{
		{"EmptyLeaf", func() error { _, err := s.AppendLeaf(ctx, nil, ""); return err }},
		{"LeafTooLarge", func() error {
			_, err := s.AppendLeaf(ctx, make([]byte, zkhealth.MaxLogLeaf+1), "")
			return err
		}},
		{"KeyTooLarge", func() error {
			_, err := s.AppendLeaf(ctx, []byte("x"), strings.Repeat("k", zkhealth.MaxLogKey+1))
			return err
		}},
		{"LeavesPastSize", func() error { _, err := s.Leaves(ctx, 2, 4); return err }},
		{"LeavesEmptyPastSize", func() error { _, err := s.Leaves(ctx, 4, 4); return err }},
		{"LeavesReversed", func() error { _, err := s.Leaves(ctx, 2, 1); return err }},
		{"LeavesTooMany", func() error { _, err := s.Leaves(ctx, 0, zkhealth.MaxLogBatch+1); return err }},
		{"IndexesEmptyKey", func() error { _, err := s.LeafIndexes(ctx, "", 0, 10); return err }},
		{"IndexesNoLimit", func() error { _, err := s.LeafIndexes(ctx, "k", 0, 0); return err }},
		{"IndexesLimitTooLarge", func() error { _, err := s.LeafIndexes(ctx, "k", 0, zkhealth.MaxLogBatch+1); return err }},
		{"NodesLevelTooHigh", func() error {
			_, err := s.LogNodes(ctx, []zkhealth.LogNodeID{{Level: zkhealth.MaxLogLevel + 1}})
			return err
		}},
		{"NodesTooMany", func() error {
			_, err := s.LogNodes(ctx, make([]zkhealth.LogNodeID, zkhealth.MaxLogBatch+1))
			return err
		}},
		{"PutNodesLevelTooHigh", func() error {
			return s.PutLogNodes(ctx, []zkhealth.LogNode{{ID: zkhealth.LogNodeID{Level: zkhealth.MaxLogLevel + 1}, Hash: []byte("h")}}, 0)
		}},
		{"PutNodesSyncedPastSize", func() error { return s.PutLogNodes(ctx, nil, 4) }},
		{"BindEmptyID", func() error { _, err := s.BindLog(ctx, ""); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.err(), zkhealth.EInvalid) })
	}
	if size, _, err := s.LogSize(ctx); err != nil || size != 3 {
		t.Fatalf("refused appends changed the log: size %d, %v", size, err)
	}
}

// logConcurrent appends from many goroutines, half through each handle: every append gets its own
// index, the indexes are dense, and each index holds the leaf of the append that got it, with its
// key index.
func logConcurrent(t *testing.T, a, b zkhealth.LogStore) {
	ctx := context.Background()
	const goroutines, each = 8, 25
	var mu sync.Mutex
	byIndex := map[uint64][]byte{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		s := a
		if g%2 == 1 {
			s = b
		}
		wg.Go(func() {
			<-start
			for i := range each {
				leaf := []byte(fmt.Sprintf("g%d-%d", g, i))
				idx, err := s.AppendLeaf(ctx, leaf, fmt.Sprintf("key-g%d", g))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := byIndex[idx]; dup {
					t.Errorf("index %d given twice (%q, %q)", idx, prev, leaf)
				}
				byIndex[idx] = leaf
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	const n = goroutines * each
	for _, s := range []zkhealth.LogStore{a, b} {
		size, _, err := s.LogSize(ctx)
		if err != nil || size != n {
			t.Fatalf("LogSize = %d, %v; want %d", size, err, n)
		}
		leaves, err := s.Leaves(ctx, 0, n)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range leaves {
			if !bytes.Equal(l, byIndex[uint64(i)]) {
				t.Fatalf("leaf %d = %q, but its append wrote %q", i, l, byIndex[uint64(i)])
			}
		}
		for g := range goroutines {
			idx, err := s.LeafIndexes(ctx, fmt.Sprintf("key-g%d", g), 0, zkhealth.MaxLogBatch)
			if err != nil || len(idx) != each {
				t.Fatalf("LeafIndexes(key-g%d) = %v, %v", g, idx, err)
			}
			for j, i := range idx {
				if want := fmt.Sprintf("g%d-%d", g, j); string(byIndex[i]) != want {
					t.Fatalf("key-g%d's index %d names %q, want %q", g, i, byIndex[i], want)
				}
			}
		}
	}
}

func logIndexes(t *testing.T, s zkhealth.LogStore) {
	ctx := context.Background()
	want := map[string][]uint64{}
	for i := range 30 {
		key := []string{"0xaa", "0xbb", ""}[i%3]
		idx := mustAppend(t, s, leafOf(i), key)
		if key != "" {
			want[key] = append(want[key], idx)
		}
	}
	for _, tc := range []struct {
		name, key string
		start     uint64
		limit     int
		want      []uint64
	}{
		{"All", "0xaa", 0, 100, want["0xaa"]},
		{"Other", "0xbb", 0, 100, want["0xbb"]},
		{"FromStart", "0xaa", 10, 100, []uint64{12, 15, 18, 21, 24, 27}},
		{"StartOnAMatch", "0xbb", 13, 2, []uint64{13, 16}},
		{"Limit", "0xaa", 0, 3, []uint64{0, 3, 6}},
		{"PastTheEnd", "0xaa", 30, 10, []uint64{}},
		{"UnknownKey", "0xcc", 0, 10, []uint64{}},
		{"PrefixIsNotAKey", "0xa", 0, 10, []uint64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.LeafIndexes(ctx, tc.key, tc.start, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("LeafIndexes(%s, %d, %d) = %v, want %v", tc.key, tc.start, tc.limit, got, tc.want)
			}
		})
	}
}

func logNodes(t *testing.T, s zkhealth.LogStore) {
	ctx := context.Background()
	for i := range 8 {
		mustAppend(t, s, leafOf(i), "")
	}
	n := func(level uint, index uint64) zkhealth.LogNodeID {
		return zkhealth.LogNodeID{Level: level, Index: index}
	}
	h := func(s string) []byte { return bytes.Repeat([]byte(s), 32/len(s)) }
	if err := s.PutLogNodes(ctx, []zkhealth.LogNode{{ID: n(0, 0), Hash: h("a")}, {ID: n(0, 1), Hash: h("b")}, {ID: n(1, 0), Hash: h("c")}}, 2); err != nil {
		t.Fatal(err)
	}
	// the same index on another level is another node
	if err := s.PutLogNodes(ctx, []zkhealth.LogNode{{ID: n(2, 1), Hash: h("d")}}, 1); err != nil {
		t.Fatal(err)
	}
	got, err := s.LogNodes(ctx, []zkhealth.LogNodeID{n(1, 0), n(0, 2), n(0, 1), n(2, 1), n(2, 0), n(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]byte{h("c"), nil, h("b"), h("d"), nil, h("a")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("LogNodes = %q, want %q", got, want)
	}
	if _, synced, err := s.LogSize(ctx); err != nil || synced != 2 {
		t.Fatalf("synced = %d, %v; want 2 (a lower synced size never lowers it)", synced, err)
	}
	if err := s.PutLogNodes(ctx, nil, 8); err != nil {
		t.Fatal(err)
	}
	if size, synced, err := s.LogSize(ctx); err != nil || size != 8 || synced != 8 {
		t.Fatalf("LogSize = %d, %d, %v; want 8, 8", size, synced, err)
	}
	if got, err := s.LogNodes(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("LogNodes(nil) = %q, %v", got, err)
	}
}

func logBind(t *testing.T, s zkhealth.LogStore) {
	ctx := context.Background()
	for _, tc := range []struct{ id, want string }{{"origin key-1", "origin key-1"}, {"origin key-2", "origin key-1"}, {"origin key-1", "origin key-1"}} {
		if got, err := s.BindLog(ctx, tc.id); err != nil || got != tc.want {
			t.Fatalf("BindLog(%q) = %q, %v; want %q", tc.id, got, err, tc.want)
		}
	}
}
