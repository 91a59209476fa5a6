package auditlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/zkhealth/zkhealth/internal/fieldhash"
)

// Bounds of what the log's HTTP answers may hold (Client refuses more).
const (
	// MaxCheckpointSize bounds a signed checkpoint note.
	MaxCheckpointSize = 4 << 10
	// MaxProofHashes bounds the hashes of an inclusion or consistency proof (2·64 for any tree
	// of up to 2^64 leaves).
	MaxProofHashes = 128
	// MaxEntriesBody bounds an entries answer (MaxPage entries).
	MaxEntriesBody = 1 << 20
	// MaxProofBody bounds a proof answer.
	MaxProofBody = 16 << 10
)

// ErrWire is wrapped by every error about an answer of the log's HTTP API that does not parse or
// contradicts itself.
var ErrWire = errors.New("malformed log answer")

// EntryJSON is an entry as GET /v1/log/entries answers it: its fields for reading, and the leaf
// (its canonical encoding, base64), which is what the tree hashes. Parse checks that the two
// agree.
type EntryJSON struct {
	Index     uint64 `json:"index"`
	Time      string `json:"time"`
	Binding   string `json:"binding"`
	Scope     string `json:"scope"`
	Nullifier string `json:"nullifier,omitempty"`
	Result    string `json:"result"`
	Leaf      string `json:"leaf"`
}

// NewEntryJSON renders an indexed entry.
func NewEntryJSON(ix Indexed) EntryJSON {
	j := EntryJSON{
		Index:   ix.Index,
		Time:    ix.Entry.Time.UTC().Format(time.RFC3339),
		Binding: fieldhash.Hex(ix.Entry.Binding),
		Scope:   ix.Entry.Scope,
		Result:  ix.Entry.Result,
		Leaf:    base64.StdEncoding.EncodeToString(ix.Leaf),
	}
	if ix.Entry.Nullifier != nil {
		j.Nullifier = fieldhash.Hex(*ix.Entry.Nullifier)
	}
	return j
}

// Parse decodes the leaf and checks that the readable fields say what the leaf says. Errors wrap
// ErrWire (or ErrMalformedEntry for a leaf that is no entry).
func (j EntryJSON) Parse() (Indexed, error) {
	if base64.StdEncoding.DecodedLen(len(j.Leaf)) > MaxEntrySize+3 {
		return Indexed{}, fmt.Errorf("%w: entry %d: leaf too long", ErrWire, j.Index)
	}
	leaf, err := base64.StdEncoding.DecodeString(j.Leaf)
	if err != nil {
		return Indexed{}, fmt.Errorf("%w: entry %d: leaf: want base64", ErrWire, j.Index)
	}
	e, err := UnmarshalEntry(leaf)
	if err != nil {
		return Indexed{}, fmt.Errorf("entry %d: %w", j.Index, err)
	}
	ix := Indexed{Index: j.Index, Entry: e, Leaf: leaf}
	if want := NewEntryJSON(ix); want != j {
		return Indexed{}, fmt.Errorf("%w: entry %d: its fields differ from its leaf", ErrWire, j.Index)
	}
	return ix, nil
}

// EntriesJSON is the answer of GET /v1/log/entries. Next, in an answer by nullifier, is where
// to start the next page when this one is full.
type EntriesJSON struct {
	Entries []EntryJSON `json:"entries"`
	Next    *uint64     `json:"next,omitempty"`
}

// InclusionJSON is the answer of GET /v1/log/proofs/inclusion: the hashes (base64) of the proof
// that the entry at Index is in the tree of Size entries.
type InclusionJSON struct {
	Index  uint64   `json:"index"`
	Size   uint64   `json:"size"`
	Hashes []string `json:"hashes"`
}

// ConsistencyJSON is the answer of GET /v1/log/proofs/consistency: the hashes (base64) of the
// proof that the tree of From entries is a prefix of the tree of To entries.
type ConsistencyJSON struct {
	From   uint64   `json:"from"`
	To     uint64   `json:"to"`
	Hashes []string `json:"hashes"`
}

// EncodeHashes renders proof hashes in base64, as checkpoints carry their root.
func EncodeHashes(hs [][]byte) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h)
	}
	return out
}

// DecodeHashes reads proof hashes: at most MaxProofHashes, each a base64 SHA-256 hash.
func DecodeHashes(ss []string) ([][]byte, error) {
	if len(ss) > MaxProofHashes {
		return nil, fmt.Errorf("%w: more than %d proof hashes", ErrWire, MaxProofHashes)
	}
	out := make([][]byte, len(ss))
	for i, s := range ss {
		h, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(h) != hasher.Size() {
			return nil, fmt.Errorf("%w: proof hash %d: want a base64 SHA-256 hash", ErrWire, i)
		}
		out[i] = h
	}
	return out, nil
}

// sameHash compares two hashes.
func sameHash(a, b []byte) bool { return len(a) == hasher.Size() && bytes.Equal(a, b) }
