package inmem

import (
	"bytes"
	"context"
	"sort"
	"sync"

	"github.com/zkhealth/zkhealth"
)

// LogStore is a zkhealth.LogStore in process memory, for tests and tools: it forgets the log
// when the process ends, so the service never uses it for a deployment. Safe for concurrent use.
type LogStore struct {
	mu     sync.Mutex
	leaves [][]byte
	keys   map[string][]uint64
	nodes  map[zkhealth.LogNodeID][]byte
	synced uint64
	id     string
}

var _ zkhealth.LogStore = (*LogStore)(nil)

// NewLogStore returns an empty log store.
func NewLogStore() *LogStore {
	return &LogStore{keys: map[string][]uint64{}, nodes: map[zkhealth.LogNodeID][]byte{}}
}

// AppendLeaf appends the leaf and indexes it under key.
func (s *LogStore) AppendLeaf(_ context.Context, leaf []byte, key string) (uint64, error) {
	if len(leaf) == 0 || len(leaf) > zkhealth.MaxLogLeaf {
		return 0, zkhealth.Errorf(zkhealth.EInvalid, "log leaf: want 1 to %d bytes", zkhealth.MaxLogLeaf)
	}
	if len(key) > zkhealth.MaxLogKey {
		return 0, zkhealth.Errorf(zkhealth.EInvalid, "log key: want at most %d bytes", zkhealth.MaxLogKey)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	index := uint64(len(s.leaves))
	s.leaves = append(s.leaves, bytes.Clone(leaf))
	if key != "" {
		s.keys[key] = append(s.keys[key], index)
	}
	return index, nil
}

// LogSize returns the number of leaves and the synced size.
func (s *LogStore) LogSize(_ context.Context) (uint64, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(len(s.leaves)), s.synced, nil
}

// Leaves returns copies of the leaves [start, end).
func (s *LogStore) Leaves(_ context.Context, start, end uint64) ([][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if start > end || end-start > zkhealth.MaxLogBatch || end > uint64(len(s.leaves)) {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "log leaves: want start ≤ end ≤ size and at most %d leaves", zkhealth.MaxLogBatch)
	}
	out := make([][]byte, 0, end-start)
	for _, l := range s.leaves[start:end] {
		out = append(out, bytes.Clone(l))
	}
	return out, nil
}

// LeafIndexes returns the first limit indexes ≥ start of leaves appended under key.
func (s *LogStore) LeafIndexes(_ context.Context, key string, start uint64, limit int) ([]uint64, error) {
	if key == "" || limit < 1 || limit > zkhealth.MaxLogBatch {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "log key index: want a key and a limit of 1 to %d", zkhealth.MaxLogBatch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.keys[key]
	i := sort.Search(len(all), func(i int) bool { return all[i] >= start })
	return append([]uint64{}, all[i:min(len(all), i+limit)]...), nil
}

// LogNodes returns copies of the stored node hashes (nil where none is stored).
func (s *LogStore) LogNodes(_ context.Context, ids []zkhealth.LogNodeID) ([][]byte, error) {
	if len(ids) > zkhealth.MaxLogBatch {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "log nodes: at most %d at once", zkhealth.MaxLogBatch)
	}
	for _, id := range ids {
		if id.Level > zkhealth.MaxLogLevel {
			return nil, zkhealth.Errorf(zkhealth.EInvalid, "log nodes: level over %d", zkhealth.MaxLogLevel)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(ids))
	for i, id := range ids {
		if h, ok := s.nodes[id]; ok {
			out[i] = bytes.Clone(h)
		}
	}
	return out, nil
}

// PutLogNodes stores the node hashes and raises the synced size.
func (s *LogStore) PutLogNodes(_ context.Context, nodes []zkhealth.LogNode, synced uint64) error {
	if len(nodes) > zkhealth.MaxLogBatch {
		return zkhealth.Errorf(zkhealth.EInvalid, "log nodes: at most %d at once", zkhealth.MaxLogBatch)
	}
	for _, n := range nodes {
		if n.ID.Level > zkhealth.MaxLogLevel {
			return zkhealth.Errorf(zkhealth.EInvalid, "log nodes: level over %d", zkhealth.MaxLogLevel)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if synced > uint64(len(s.leaves)) {
		return zkhealth.Errorf(zkhealth.EInvalid, "log nodes: synced size %d is past the log's size", synced)
	}
	for _, n := range nodes {
		s.nodes[n.ID] = bytes.Clone(n.Hash)
	}
	s.synced = max(s.synced, synced)
	return nil
}

// BindLog records id the first time and returns the recorded id.
func (s *LogStore) BindLog(_ context.Context, id string) (string, error) {
	if id == "" {
		return "", zkhealth.Errorf(zkhealth.EInvalid, "log id is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id == "" {
		s.id = id
	}
	return s.id, nil
}
