package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"sync"

	bbolt "go.etcd.io/bbolt"

	"github.com/zkhealth/zkhealth"
)

// The verification log (zkhealth.LogStore) lives in the same file, in buckets of its own, created
// by its first write (a store that never logged has none):
//
//	log_leaves   index (BE)                      → leaf (an entry's canonical encoding)
//	log_keys     key ‖ 0x00 ‖ index (BE)          → empty (leaves by nullifier)
//	log_nodes    level (1 byte) ‖ index (BE)     → node hash
//	log_meta     "synced"                        → synced size (BE); "id" → the log's identity
//
// An append is one bbolt write transaction (leaf and key index together) and returns after its
// commit, that is after fdatasync: a leaf acknowledged survives a crash of the process or the
// machine. bbolt's copy-on-write pages and double meta page mean a transaction that a crash
// interrupts leaves the file as it was before it.
var (
	bucketLogLeaves = []byte("log_leaves")
	bucketLogKeys   = []byte("log_keys")
	bucketLogNodes  = []byte("log_nodes")
	bucketLogMeta   = []byte("log_meta")

	metaSynced = []byte("synced")
	metaID     = []byte("id")
)

var _ zkhealth.LogStore = (*Store)(nil)

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func nodeKey(id zkhealth.LogNodeID) []byte {
	k := make([]byte, 9)
	k[0] = byte(id.Level)
	binary.BigEndian.PutUint64(k[1:], id.Index)
	return k
}

func logKeyPrefix(key string) []byte { return append([]byte(key), 0) }

// bucket returns the named bucket of a write transaction, creating it on first use.
func bucket(tx *bbolt.Tx, name []byte) (*bbolt.Bucket, error) {
	return tx.CreateBucketIfNotExists(name)
}

// logSize is the number of leaves: one more than the last index.
func logSize(tx *bbolt.Tx) uint64 {
	b := tx.Bucket(bucketLogLeaves)
	if b == nil {
		return 0
	}
	k, _ := b.Cursor().Last()
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k) + 1
}

func logSynced(tx *bbolt.Tx) uint64 {
	b := tx.Bucket(bucketLogMeta)
	if b == nil {
		return 0
	}
	if v := b.Get(metaSynced); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// AppendLeaf stores the leaf at index = size, and its key index, in a write transaction: bbolt
// serialises writers (and its file lock excludes other processes), so indexes are dense and
// unique. It returns after the commit's fdatasync. Concurrent appends share commits (group
// commit, groupCommit): an append that arrives while a commit is under way joins the next one,
// so N verifications at once cost about one fdatasync each round, not N; a lone append commits
// at once. EInvalid for an empty or oversized leaf, an oversized key, or a key with a NUL byte
// (the index's separator).
func (s *Store) AppendLeaf(_ context.Context, leaf []byte, key string) (uint64, error) {
	switch {
	case len(leaf) == 0 || len(leaf) > zkhealth.MaxLogLeaf:
		return 0, zkhealth.Errorf(zkhealth.EInvalid, "log leaf: want 1 to %d bytes", zkhealth.MaxLogLeaf)
	case len(key) > zkhealth.MaxLogKey || strings.IndexByte(key, 0) >= 0:
		return 0, zkhealth.Errorf(zkhealth.EInvalid, "log key: want at most %d bytes and no NUL", zkhealth.MaxLogKey)
	}
	a := &pendingAppend{leaf: bytes.Clone(leaf), key: key, done: make(chan struct{})}
	s.log.submit(a, s.commitAppends)
	<-a.done
	return a.index, a.err
}

// pendingAppend is one append waiting for its commit.
type pendingAppend struct {
	leaf  []byte
	key   string
	index uint64
	err   error
	done  chan struct{}
}

// groupCommit queues appends; whoever finds no commit under way commits the queue, and keeps
// committing until it is empty. The zero value is ready to use.
type groupCommit struct {
	mu         sync.Mutex
	pending    []*pendingAppend
	committing bool
}

func (g *groupCommit) submit(a *pendingAppend, commit func([]*pendingAppend) error) {
	g.mu.Lock()
	g.pending = append(g.pending, a)
	if g.committing {
		g.mu.Unlock()
		return // the committer takes it in its next round
	}
	g.committing = true
	for len(g.pending) > 0 {
		batch := g.pending
		g.pending = nil
		g.mu.Unlock()
		err := commit(batch)
		for _, p := range batch {
			if err != nil {
				p.err = err
			}
			close(p.done)
		}
		g.mu.Lock()
	}
	g.committing = false
	g.mu.Unlock()
}

// commitAppends writes a batch of appends in one transaction, in order: all or none.
func (s *Store) commitAppends(batch []*pendingAppend) error {
	return s.update(func(tx *bbolt.Tx) error {
		leaves, err := bucket(tx, bucketLogLeaves)
		if err != nil {
			return err
		}
		keys, err := bucket(tx, bucketLogKeys)
		if err != nil {
			return err
		}
		index := logSize(tx)
		for _, a := range batch {
			a.index = index
			if err := leaves.Put(u64(index), a.leaf); err != nil {
				return err
			}
			if a.key != "" {
				if err := keys.Put(append(logKeyPrefix(a.key), u64(index)...), nil); err != nil {
					return err
				}
			}
			index++
		}
		return nil
	})
}

// LogSize returns the number of leaves and the synced size.
func (s *Store) LogSize(_ context.Context) (size, synced uint64, err error) {
	err = s.view(func(tx *bbolt.Tx) error {
		size, synced = logSize(tx), logSynced(tx)
		return nil
	})
	return size, synced, err
}

// Leaves returns the leaves [start, end).
func (s *Store) Leaves(_ context.Context, start, end uint64) ([][]byte, error) {
	if start > end || end-start > zkhealth.MaxLogBatch {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "log leaves: want start ≤ end and at most %d leaves", zkhealth.MaxLogBatch)
	}
	out := make([][]byte, 0, end-start)
	err := s.view(func(tx *bbolt.Tx) error {
		if end > logSize(tx) {
			return zkhealth.Errorf(zkhealth.EInvalid, "log leaves: end %d is past the log's size", end)
		}
		if start == end {
			return nil
		}
		c := tx.Bucket(bucketLogLeaves).Cursor()
		i := start
		for k, v := c.Seek(u64(start)); k != nil && i < end; k, v = c.Next() {
			if binary.BigEndian.Uint64(k) != i {
				return corruptLog("a leaf is missing")
			}
			out = append(out, bytes.Clone(v))
			i++
		}
		if i != end {
			return corruptLog("a leaf is missing")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LeafIndexes returns the first limit indexes ≥ start of leaves appended under key.
func (s *Store) LeafIndexes(_ context.Context, key string, start uint64, limit int) ([]uint64, error) {
	if key == "" || limit < 1 || limit > zkhealth.MaxLogBatch {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "log key index: want a key and a limit of 1 to %d", zkhealth.MaxLogBatch)
	}
	out := []uint64{}
	prefix := logKeyPrefix(key)
	err := s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketLogKeys)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.Seek(append(bytes.Clone(prefix), u64(start)...)); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			if len(k) != len(prefix)+8 {
				return corruptLog("a key index entry is malformed")
			}
			out = append(out, binary.BigEndian.Uint64(k[len(prefix):]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func checkNodeIDs(n int, level func(i int) uint) error {
	if n > zkhealth.MaxLogBatch {
		return zkhealth.Errorf(zkhealth.EInvalid, "log nodes: at most %d at once", zkhealth.MaxLogBatch)
	}
	for i := 0; i < n; i++ {
		if level(i) > zkhealth.MaxLogLevel {
			return zkhealth.Errorf(zkhealth.EInvalid, "log nodes: level over %d", zkhealth.MaxLogLevel)
		}
	}
	return nil
}

// LogNodes returns the stored node hashes (nil where none is stored).
func (s *Store) LogNodes(_ context.Context, ids []zkhealth.LogNodeID) ([][]byte, error) {
	if err := checkNodeIDs(len(ids), func(i int) uint { return ids[i].Level }); err != nil {
		return nil, err
	}
	out := make([][]byte, len(ids))
	err := s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketLogNodes)
		if b == nil {
			return nil
		}
		for i, id := range ids {
			if v := b.Get(nodeKey(id)); v != nil {
				out[i] = bytes.Clone(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutLogNodes stores the node hashes and raises the synced size, in one write transaction.
func (s *Store) PutLogNodes(_ context.Context, nodes []zkhealth.LogNode, synced uint64) error {
	if err := checkNodeIDs(len(nodes), func(i int) uint { return nodes[i].ID.Level }); err != nil {
		return err
	}
	return s.update(func(tx *bbolt.Tx) error {
		if synced > logSize(tx) {
			return zkhealth.Errorf(zkhealth.EInvalid, "log nodes: synced size %d is past the log's size", synced)
		}
		b, err := bucket(tx, bucketLogNodes)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if err := b.Put(nodeKey(n.ID), bytes.Clone(n.Hash)); err != nil {
				return err
			}
		}
		if synced <= logSynced(tx) {
			return nil
		}
		meta, err := bucket(tx, bucketLogMeta)
		if err != nil {
			return err
		}
		return meta.Put(metaSynced, u64(synced))
	})
}

// BindLog records id the first time and returns the recorded id.
func (s *Store) BindLog(_ context.Context, id string) (string, error) {
	if id == "" {
		return "", zkhealth.Errorf(zkhealth.EInvalid, "log id is empty")
	}
	var got string
	err := s.update(func(tx *bbolt.Tx) error {
		meta, err := bucket(tx, bucketLogMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(metaID); v != nil {
			got = string(v)
			return nil
		}
		got = id
		return meta.Put(metaID, []byte(id))
	})
	return got, err
}

// corruptLog reports a log whose stored state contradicts itself (an internal error).
func corruptLog(what string) error {
	return zkhealth.Errorf(zkhealth.EInternal, "corrupt verification log in data store: %s", what)
}
