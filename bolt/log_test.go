package bolt_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/porttest"
)

// TestLogStore runs the port's conformance suite, each test on a fresh file.
func TestLogStore(t *testing.T) {
	porttest.LogStore(t, func(t *testing.T) zkhealth.LogStore { return MustOpen(t) })
}

// TestLogSurvivesReopen: leaves, key indexes, node hashes, the synced size and the log's id are
// in the file.
func TestLogSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zkhealth.db")
	s := mustOpenPath(t, path)
	for i := range 5 {
		if _, err := s.AppendLeaf(ctx, []byte{byte(i)}, "0xaa"); err != nil {
			t.Fatal(err)
		}
	}
	node := zkhealth.LogNode{ID: zkhealth.LogNodeID{Level: 1, Index: 1}, Hash: bytes.Repeat([]byte{7}, 32)}
	if err := s.PutLogNodes(ctx, []zkhealth.LogNode{node}, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BindLog(ctx, "origin key"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpenPath(t, path)
	size, synced, err := s.LogSize(ctx)
	if err != nil || size != 5 || synced != 4 {
		t.Fatalf("LogSize after reopen = %d, %d, %v", size, synced, err)
	}
	leaves, err := s.Leaves(ctx, 0, 5)
	if err != nil || !bytes.Equal(leaves[4], []byte{4}) {
		t.Fatalf("Leaves after reopen = %v, %v", leaves, err)
	}
	if idx, err := s.LeafIndexes(ctx, "0xaa", 3, 10); err != nil || len(idx) != 2 || idx[0] != 3 {
		t.Fatalf("LeafIndexes after reopen = %v, %v", idx, err)
	}
	if got, err := s.LogNodes(ctx, []zkhealth.LogNodeID{node.ID}); err != nil || !bytes.Equal(got[0], node.Hash) {
		t.Fatalf("LogNodes after reopen = %x, %v", got, err)
	}
	if id, err := s.BindLog(ctx, "another"); err != nil || id != "origin key" {
		t.Fatalf("BindLog after reopen = %q, %v", id, err)
	}
}

// TestLogKeyWithNUL: the key index's separator is refused in a key.
func TestLogKeyWithNUL(t *testing.T) {
	s := MustOpen(t)
	_, err := s.AppendLeaf(ctx, []byte("x"), "a\x00b")
	wantCode(t, err, zkhealth.EInvalid)
}
