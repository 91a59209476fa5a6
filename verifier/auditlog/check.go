package auditlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	tlog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
)

// ErrLogInvalid is wrapped by every finding that the log does not verify: a checkpoint whose
// signature does not check, a history inconsistent with an earlier checkpoint, entries that do
// not hash to the checkpoint's root, an entry not included. An error without it is an I/O or
// input failure, not a finding about the log.
var ErrLogInvalid = errors.New("the verification log does not verify")

// ErrCheckpoint is wrapped by the errors about a checkpoint file given by the caller (an earlier
// checkpoint) that does not parse or verify.
var ErrCheckpoint = errors.New("not a checkpoint of this log")

// Checkpoint is a checkpoint whose signature verified: the log's origin, its size and its root
// hash, and the signed note they came in.
type Checkpoint struct {
	Origin string
	Size   uint64
	Hash   []byte
	Note   []byte
}

// OpenCheckpoint verifies a signed checkpoint (C2SP tlog-checkpoint in a signed note) under the
// verifier key, whose name must be the checkpoint's origin, and returns what it says.
func OpenCheckpoint(signed []byte, verifierKey string) (*Checkpoint, error) {
	v, err := ParseVerifierKey(verifierKey)
	if err != nil {
		return nil, err
	}
	if len(signed) > MaxCheckpointSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrCheckpoint, MaxCheckpointSize)
	}
	cp, _, _, err := tlog.ParseCheckpoint(signed, v.Name(), v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	if len(cp.Hash) != hasher.Size() {
		return nil, fmt.Errorf("%w: the root hash is not a SHA-256 hash", ErrCheckpoint)
	}
	return &Checkpoint{Origin: cp.Origin, Size: cp.Size, Hash: cp.Hash, Note: signed}, nil
}

// Source is a log to check: a *Client (the HTTP API) or a *Log.
type Source interface {
	Checkpoint(ctx context.Context) ([]byte, error)
	Entries(ctx context.Context, start, end uint64) ([]Indexed, error)
	ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error)
}

// Check verifies the log at src: its latest checkpoint's signature under verifierKey; when
// earlier (a checkpoint the caller kept) is given, that it verifies too and that the log grew
// from it (a consistency proof, and the first earlier.Size entries hash to its root); and that the
// entries hash to the checkpoint's root. It returns the checkpoint, for next time. Findings about
// the log wrap ErrLogInvalid; an earlier checkpoint that does not verify wraps ErrCheckpoint;
// anything else is a failure to read the log.
func Check(ctx context.Context, src Source, verifierKey string, earlier []byte) (*Checkpoint, error) {
	var old *Checkpoint
	if earlier != nil {
		var err error
		if old, err = OpenCheckpoint(earlier, verifierKey); err != nil {
			return nil, fmt.Errorf("the earlier checkpoint: %w", err)
		}
	}
	signed, err := src.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	cp, err := OpenCheckpoint(signed, verifierKey)
	if errors.Is(err, ErrCheckpoint) {
		return nil, fmt.Errorf("%w: its checkpoint: %v", ErrLogInvalid, err)
	}
	if err != nil {
		return nil, err
	}
	if old != nil {
		if err := consistent(ctx, src, old, cp); err != nil {
			return nil, err
		}
	}
	if err := rootOfEntries(ctx, src, cp, old); err != nil {
		return nil, err
	}
	return cp, nil
}

// consistent checks that the log at cp grew from old.
func consistent(ctx context.Context, src Source, old, cp *Checkpoint) error {
	switch {
	case old.Size > cp.Size:
		return fmt.Errorf("%w: it shrank from %d entries (the earlier checkpoint) to %d", ErrLogInvalid, old.Size, cp.Size)
	case old.Size == cp.Size:
		if !sameHash(old.Hash, cp.Hash) {
			return fmt.Errorf("%w: its checkpoint of %d entries has another root than the earlier checkpoint of that size: its history was rewritten", ErrLogInvalid, cp.Size)
		}
		return nil
	}
	hashes, err := src.ConsistencyProof(ctx, old.Size, cp.Size)
	if err != nil {
		return err
	}
	if err := proof.VerifyConsistency(hasher, old.Size, cp.Size, hashes, old.Hash, cp.Hash); err != nil {
		return fmt.Errorf("%w: its checkpoint of %d entries is not consistent with the earlier checkpoint of %d: its history was rewritten", ErrLogInvalid, cp.Size, old.Size)
	}
	return nil
}

// rootOfEntries reads every entry up to cp.Size and checks that they hash to cp's root (and the
// first old.Size to old's).
func rootOfEntries(ctx context.Context, src Source, cp, old *Checkpoint) error {
	rng := factory.NewEmptyRange(0)
	for next := uint64(0); next < cp.Size; {
		if old != nil && next == old.Size {
			if err := rangeMatches(rng, old.Hash); err != nil {
				return fmt.Errorf("%w: its first %d entries do not hash to the earlier checkpoint's root: a stored entry was altered", ErrLogInvalid, old.Size)
			}
		}
		end := cp.Size
		if old != nil && next < old.Size {
			end = old.Size
		}
		page, err := src.Entries(ctx, next, end)
		switch {
		case errors.Is(err, ErrMalformedEntry):
			return fmt.Errorf("%w: %v", ErrLogInvalid, err)
		case err != nil:
			return err
		case len(page) == 0:
			return fmt.Errorf("%w: it serves %d entries, its checkpoint counts %d", ErrLogInvalid, next, cp.Size)
		}
		for _, ix := range page {
			if ix.Index != next || next >= end {
				return fmt.Errorf("%w: asked for entries from %d, it answered entry %d", ErrLogInvalid, next, ix.Index)
			}
			if err := rng.Append(LeafHash(ix.Leaf), nil); err != nil {
				return fmt.Errorf("auditlog: compact range: %w", err)
			}
			next++
		}
	}
	if old != nil && old.Size == cp.Size {
		if err := rangeMatches(rng, old.Hash); err != nil {
			return fmt.Errorf("%w: its first %d entries do not hash to the earlier checkpoint's root: a stored entry was altered", ErrLogInvalid, old.Size)
		}
	}
	if err := rangeMatches(rng, cp.Hash); err != nil {
		return fmt.Errorf("%w: its %d entries do not hash to its checkpoint's root: a stored entry was altered", ErrLogInvalid, cp.Size)
	}
	return nil
}

// rangeMatches checks that the compact range from 0 has the root hash want.
func rangeMatches(rng *compact.Range, want []byte) error {
	root, err := rng.GetRootHash(nil)
	if err != nil {
		return err
	}
	if rng.End() == 0 {
		root = hasher.EmptyRoot()
	}
	if !sameHash(root, want) {
		return errors.New("root mismatch")
	}
	return nil
}

// AuditSource is a log to audit for one holder: a *Client (the HTTP API) or a *Log.
type AuditSource interface {
	Checkpoint(ctx context.Context) ([]byte, error)
	EntriesByNullifier(ctx context.Context, nullifier fr.Element, start uint64) ([]Indexed, error)
	InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error)
}

// maxAuditPages bounds the pages Audit reads.
const maxAuditPages = 64

// Audit is a holder's audit of the log: the entries that name the nullifier (which the holder
// computes from its secret for a scope, credential.HolderKey.Nullifier), among the entries of the
// log's latest checkpoint, each checked by its inclusion proof against that checkpoint's root.
// What it returns is in the log everyone else checks; that the server left none out, only
// reading every entry (Check) shows. Findings about the log wrap ErrLogInvalid.
func Audit(ctx context.Context, src AuditSource, verifierKey string, nullifier fr.Element) (*Checkpoint, []Indexed, error) {
	signed, err := src.Checkpoint(ctx)
	if err != nil {
		return nil, nil, err
	}
	cp, err := OpenCheckpoint(signed, verifierKey)
	if errors.Is(err, ErrCheckpoint) {
		return nil, nil, fmt.Errorf("%w: its checkpoint: %v", ErrLogInvalid, err)
	}
	if err != nil {
		return nil, nil, err
	}
	var out []Indexed
pages:
	for start, pages := uint64(0), 0; start < cp.Size && pages < maxAuditPages; pages++ {
		page, err := src.EntriesByNullifier(ctx, nullifier, start)
		if errors.Is(err, ErrMalformedEntry) {
			return nil, nil, fmt.Errorf("%w: %v", ErrLogInvalid, err)
		}
		if err != nil {
			return nil, nil, err
		}
		for _, ix := range page {
			if ix.Index < start {
				return nil, nil, fmt.Errorf("%w: asked for entries from %d, it answered entry %d", ErrLogInvalid, start, ix.Index)
			}
			if ix.Index >= cp.Size {
				break pages // appended after the checkpoint: the next audit shows it
			}
			if ix.Entry.Nullifier == nil || !ix.Entry.Nullifier.Equal(&nullifier) {
				return nil, nil, fmt.Errorf("%w: entry %d does not name the nullifier asked for", ErrLogInvalid, ix.Index)
			}
			hashes, err := src.InclusionProof(ctx, ix.Index, cp.Size)
			if err != nil {
				return nil, nil, err
			}
			if err := proof.VerifyInclusion(hasher, ix.Index, cp.Size, LeafHash(ix.Leaf), hashes, cp.Hash); err != nil {
				return nil, nil, fmt.Errorf("%w: entry %d is not included in its checkpoint of %d entries", ErrLogInvalid, ix.Index, cp.Size)
			}
			out = append(out, ix)
			start = ix.Index + 1
		}
		if len(page) < MaxPage {
			break
		}
	}
	return cp, out, nil
}
