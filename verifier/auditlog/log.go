package auditlog

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	tlog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
)

// MaxPage bounds the entries one call of Entries or EntriesByNullifier returns.
const MaxPage = 256

// syncPage is how many leaves one step of sync hashes: each step writes at most 2·syncPage + 64
// node hashes, within zkhealth.MaxLogBatch.
const syncPage = zkhealth.MaxLogBatch / 4

var (
	hasher  = rfc6962.DefaultHasher
	factory = &compact.RangeFactory{Hash: hasher.HashChildren}
)

// Indexed is an entry with its index in the log and its canonical encoding (the leaf).
type Indexed struct {
	Index uint64
	Entry Entry
	Leaf  []byte
}

// Log is the verification log on a zkhealth.LogStore: Append adds an entry, the other methods
// answer what the log's readers ask (checkpoint, entries, proofs). Several Logs (processes) may
// share one store: the store serialises appends, and every Log derives the same tree from its
// leaves. Safe for concurrent use.
type Log struct {
	store zkhealth.LogStore
	key   *Key

	mu   sync.Mutex // serialises sync and guards last
	last struct {
		size uint64
		note []byte
	}
}

// Open opens the log on store, signed with key: it binds the store to the key's verifier key
// (a store first opened with another key is refused: one log, one key) and brings the stored tree
// up to the log's size (hashing the leaves appended since the last time, after a crash as after
// a normal stop). Errors: EUnavailable from the store, EInvalid for a key the store was not
// opened with.
func Open(ctx context.Context, store zkhealth.LogStore, key *Key) (*Log, error) {
	bound, err := store.BindLog(ctx, key.VerifierKey())
	if err != nil {
		return nil, err
	}
	if bound != key.VerifierKey() {
		return nil, zkhealth.Errorf(zkhealth.EInvalid,
			"the verification log was started with the key %s, not %s: every process of a deployment needs the same log key", bound, key.VerifierKey())
	}
	l := &Log{store: store, key: key}
	if _, err := l.sync(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Origin is the log's origin, the first line of its checkpoints.
func (l *Log) Origin() string { return l.key.Origin() }

// VerifierKey is the public key that verifies the log's checkpoints.
func (l *Log) VerifierKey() string { return l.key.VerifierKey() }

// Append adds the entry to the log and returns its index, once the store has made it durable;
// the tree's node hashes are derived later (sync), so an append costs one store write. Errors:
// EInvalid for an entry that cannot be encoded, the store's errors.
func (l *Log) Append(ctx context.Context, e Entry) (uint64, error) {
	leaf, err := e.MarshalBinary()
	if err != nil {
		return 0, zkhealth.Wrap(zkhealth.EInvalid, err)
	}
	key := ""
	if e.Nullifier != nil {
		key = fieldhash.Hex(*e.Nullifier)
	}
	return l.store.AppendLeaf(ctx, leaf, key)
}

// sync stores the node hashes of the tree over every leaf appended so far and returns that size.
func (l *Log) sync(ctx context.Context) (uint64, error) {
	size, synced, err := l.store.LogSize(ctx)
	if err != nil || synced == size {
		return size, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, synced, err = l.store.LogSize(ctx); err != nil {
		return 0, err
	}
	if synced >= size {
		return size, nil
	}
	ids := compact.RangeNodes(0, synced, nil)
	hashes, err := l.hashes(ctx, ids)
	if err != nil {
		return 0, err
	}
	rng, err := factory.NewRange(0, synced, hashes)
	if err != nil {
		return 0, fmt.Errorf("auditlog: compact range: %w", err)
	}
	for start := synced; start < size; {
		end := min(size, start+syncPage)
		leaves, err := l.store.Leaves(ctx, start, end)
		if err != nil {
			return 0, err
		}
		var nodes []zkhealth.LogNode
		visit := func(id compact.NodeID, hash []byte) {
			nodes = append(nodes, zkhealth.LogNode{ID: zkhealth.LogNodeID{Level: id.Level, Index: id.Index}, Hash: hash})
		}
		for _, leaf := range leaves {
			if err := rng.Append(hasher.HashLeaf(leaf), visit); err != nil {
				return 0, fmt.Errorf("auditlog: append to the compact range: %w", err)
			}
		}
		if err := l.store.PutLogNodes(ctx, nodes, end); err != nil {
			return 0, err
		}
		start = end
	}
	return size, nil
}

// hashes returns the hashes of complete subtrees, recomputing (and storing again) any the store
// lacks from its children, down to the leaves: a store whose node hashes were lost or damaged
// repairs itself from its leaves.
func (l *Log) hashes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, 0, len(ids))
	for start := 0; start < len(ids); start += zkhealth.MaxLogBatch {
		batch := ids[start:min(len(ids), start+zkhealth.MaxLogBatch)]
		keys := make([]zkhealth.LogNodeID, len(batch))
		for i, id := range batch {
			keys[i] = zkhealth.LogNodeID{Level: id.Level, Index: id.Index}
		}
		got, err := l.store.LogNodes(ctx, keys)
		if err != nil {
			return nil, err
		}
		for i, h := range got {
			if len(h) != hasher.Size() {
				if h, err = l.recompute(ctx, batch[i]); err != nil {
					return nil, err
				}
			}
			out = append(out, h)
		}
	}
	return out, nil
}

// recompute derives a node's hash from its children (a leaf's from the leaf) and stores it.
func (l *Log) recompute(ctx context.Context, id compact.NodeID) ([]byte, error) {
	var h []byte
	if id.Level == 0 {
		leaves, err := l.store.Leaves(ctx, id.Index, id.Index+1)
		if err != nil {
			return nil, err
		}
		h = hasher.HashLeaf(leaves[0])
	} else {
		left := compact.NewNodeID(id.Level-1, id.Index*2)
		children, err := l.hashes(ctx, []compact.NodeID{left, left.Sibling()})
		if err != nil {
			return nil, err
		}
		h = hasher.HashChildren(children[0], children[1])
	}
	node := zkhealth.LogNode{ID: zkhealth.LogNodeID{Level: id.Level, Index: id.Index}, Hash: h}
	if err := l.store.PutLogNodes(ctx, []zkhealth.LogNode{node}, 0); err != nil {
		return nil, err
	}
	return h, nil
}

// root is the RFC 6962 root hash of the tree over the first size leaves (size ≤ synced).
func (l *Log) root(ctx context.Context, size uint64) ([]byte, error) {
	if size == 0 {
		return hasher.EmptyRoot(), nil
	}
	hashes, err := l.hashes(ctx, compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	rng, err := factory.NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("auditlog: compact range: %w", err)
	}
	return rng.GetRootHash(nil)
}

// Checkpoint returns the latest checkpoint: a C2SP tlog-checkpoint (origin, tree size, base64
// root hash) in a signed note, signed by the log's key. Errors: the store's.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	size, err := l.sync(ctx)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.last.note != nil && l.last.size == size {
		n := l.last.note
		l.mu.Unlock()
		return n, nil
	}
	l.mu.Unlock()
	root, err := l.root(ctx, size)
	if err != nil {
		return nil, err
	}
	text := tlog.Checkpoint{Origin: l.Origin(), Size: size, Hash: root}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(text)}, l.key.Signer())
	if err != nil {
		return nil, fmt.Errorf("auditlog: sign the checkpoint: %w", err)
	}
	l.mu.Lock()
	if size >= l.last.size {
		l.last.size, l.last.note = size, signed
	}
	l.mu.Unlock()
	return signed, nil
}

// size syncs when needed and returns the log's size, at least want when the log has that many.
func (l *Log) size(ctx context.Context, want uint64) (uint64, error) {
	size, synced, err := l.store.LogSize(ctx)
	if err != nil {
		return 0, err
	}
	if want <= synced {
		return size, nil
	}
	return l.sync(ctx)
}

// InclusionProof returns the RFC 6962 inclusion proof of the entry at index in the tree of the
// given size (a checkpoint's): the hashes proof.VerifyInclusion takes. EInvalid unless
// index < size ≤ the log's size.
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	have, err := l.size(ctx, size)
	if err != nil {
		return nil, err
	}
	if size > have {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "size: the log has %d entries", have)
	}
	if index >= size {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "index: want an index below size")
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, zkhealth.Wrap(zkhealth.EInvalid, err)
	}
	return l.rehash(ctx, nodes)
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees of sizes from and
// to: the hashes proof.VerifyConsistency takes. EInvalid unless from ≤ to ≤ the log's size.
func (l *Log) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	have, err := l.size(ctx, to)
	if err != nil {
		return nil, err
	}
	if to > have {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "to: the log has %d entries", have)
	}
	if from > to {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "from: want from ≤ to")
	}
	nodes, err := proof.Consistency(from, to)
	if err != nil {
		return nil, zkhealth.Wrap(zkhealth.EInvalid, err)
	}
	return l.rehash(ctx, nodes)
}

func (l *Log) rehash(ctx context.Context, nodes proof.Nodes) ([][]byte, error) {
	hashes, err := l.hashes(ctx, nodes.IDs)
	if err != nil {
		return nil, err
	}
	out, err := nodes.Rehash(hashes, hasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("auditlog: rehash: %w", err)
	}
	return out, nil
}

// Entries returns the entries with indexes start ≤ i < end, at most MaxPage of them and none past
// the log's end (so fewer than asked is normal: ask again from the next index). EInvalid for
// start > end or start past the log's size.
func (l *Log) Entries(ctx context.Context, start, end uint64) ([]Indexed, error) {
	if start > end {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "start: want start ≤ end")
	}
	size, _, err := l.store.LogSize(ctx)
	if err != nil {
		return nil, err
	}
	if start > size {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "start: the log has %d entries", size)
	}
	end = min(end, size, start+MaxPage)
	leaves, err := l.store.Leaves(ctx, start, end)
	if err != nil {
		return nil, err
	}
	out := make([]Indexed, len(leaves))
	for i, leaf := range leaves {
		if out[i], err = decodeLeaf(start+uint64(i), leaf); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EntriesByNullifier returns, in index order, the entries with index ≥ start that name the
// nullifier, at most MaxPage of them (ask again from the index after the last for more).
func (l *Log) EntriesByNullifier(ctx context.Context, nullifier fr.Element, start uint64) ([]Indexed, error) {
	idx, err := l.store.LeafIndexes(ctx, fieldhash.Hex(nullifier), start, MaxPage)
	if err != nil {
		return nil, err
	}
	out := make([]Indexed, 0, len(idx))
	for _, i := range idx {
		leaves, err := l.store.Leaves(ctx, i, i+1)
		if err != nil {
			return nil, err
		}
		e, err := decodeLeaf(i, leaves[0])
		if err != nil {
			return nil, err
		}
		if e.Entry.Nullifier == nil || !e.Entry.Nullifier.Equal(&nullifier) {
			return nil, corrupt("the nullifier index names an entry of another nullifier")
		}
		out = append(out, e)
	}
	return out, nil
}

func decodeLeaf(index uint64, leaf []byte) (Indexed, error) {
	e, err := UnmarshalEntry(leaf)
	if err != nil {
		return Indexed{}, corrupt(fmt.Sprintf("entry %d does not decode", index))
	}
	return Indexed{Index: index, Entry: e, Leaf: bytes.Clone(leaf)}, nil
}

func corrupt(what string) error {
	return zkhealth.Errorf(zkhealth.EInternal, "corrupt verification log: %s", what)
}

// LeafHash is the RFC 6962 leaf hash of a leaf: SHA-256(0x00 ‖ leaf).
func LeafHash(leaf []byte) []byte { return hasher.HashLeaf(leaf) }
