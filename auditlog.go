package zkhealth

import "context"

// Bounds of the verification log's storage (LogStore).
const (
	// MaxLogLeaf bounds one leaf: an entry's canonical encoding (package verifier/auditlog).
	MaxLogLeaf = 1024
	// MaxLogKey bounds the key a leaf is indexed under (a nullifier in hex).
	MaxLogKey = 128
	// MaxLogBatch bounds the leaves, nodes or indexes one LogStore call reads or writes.
	MaxLogBatch = 4096
	// MaxLogLevel is the highest node level a LogStore accepts (a tree of 2^63 leaves).
	MaxLogLevel = 63
)

// LogNodeID names a node of the verification log's Merkle tree: the root of the complete subtree
// over leaves [Index·2^Level, (Index+1)·2^Level). Level 0 is a leaf's hash.
type LogNodeID struct {
	Level uint
	Index uint64
}

// LogNode is the hash of a complete subtree of the verification log's Merkle tree.
type LogNode struct {
	ID   LogNodeID
	Hash []byte
}

// LogStore is the durable state of the verification log (package verifier/auditlog, which
// defines the entries, the tree and the checkpoints): the leaves in order, an index of leaves by
// key, and the hashes of the tree's complete subtrees up to a "synced" size. Leaves are the log;
// node hashes are derived from them and can always be recomputed. Implementations: package bolt
// (embedded), package redis (shared by several processes) and package inmem (tests);
// internal/porttest.LogStore is the contract they pass.
//
// Errors: EInvalid for an argument out of the bounds above or of the log, EUnavailable when the
// backing store cannot answer. Leaves hold no attribute value or secret (the caller's contract).
type LogStore interface {
	// AppendLeaf stores leaf as the log's next leaf, indexed under key (none when key is
	// empty), and returns its index: the log's size before the append. Appends are atomic and
	// serialised, in one process and across processes sharing the store: each gets its own
	// index, indexes have no gaps, and a leaf and its key index are stored together or not at
	// all. It returns only after the write is durable (as durable as the backing store makes
	// it); when it returns an error the leaf may or may not have been stored. EInvalid for an
	// empty leaf, one over MaxLogLeaf bytes, or a key over MaxLogKey bytes.
	AppendLeaf(ctx context.Context, leaf []byte, key string) (uint64, error)
	// LogSize returns the number of leaves, and the synced size: every node of the tree over
	// the first synced leaves is stored (synced ≤ size).
	LogSize(ctx context.Context) (size, synced uint64, err error)
	// Leaves returns the leaves with indexes start ≤ i < end. EInvalid unless start ≤ end ≤ the
	// log's size and end − start ≤ MaxLogBatch.
	Leaves(ctx context.Context, start, end uint64) ([][]byte, error)
	// LeafIndexes returns, in increasing order, the first (at most limit) indexes ≥ start of
	// leaves appended under key. EInvalid for an empty key or a limit outside 1…MaxLogBatch.
	LeafIndexes(ctx context.Context, key string, start uint64, limit int) ([]uint64, error)
	// LogNodes returns the stored hash of each node, nil for a node not stored. EInvalid for
	// more than MaxLogBatch ids or a level over MaxLogLevel.
	LogNodes(ctx context.Context, ids []LogNodeID) ([][]byte, error)
	// PutLogNodes stores the node hashes and raises the synced size to synced (it never lowers
	// it), atomically: a reader that sees the new synced size sees the nodes. Storing a node
	// again replaces its hash (node hashes derive from leaves, so writers agree). EInvalid for
	// more than MaxLogBatch nodes, a level over MaxLogLevel, or synced over the log's size.
	PutLogNodes(ctx context.Context, nodes []LogNode, synced uint64) error
	// BindLog records id (the log's identity: origin and public key) the first time it is
	// called and returns the id recorded, so processes that share a store can refuse to sign
	// one log with two keys. EInvalid for an empty id.
	BindLog(ctx context.Context, id string) (string, error)
}
