package policy

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/schema"
)

// Pred is one predicate of a compiled policy: exactly one of Scalar and List is set. Index is its
// position in the policy as written, for messages.
type Pred struct {
	Index  int
	Scalar *ScalarPred
	List   *ListPred
}

// ScalarPred is "attribute in [Lo, Hi]" (interval mode) or "attribute in Set" (set mode, Set non
// empty), negated when Negate. Values are encodings of the attribute's type.
type ScalarPred struct {
	Attr   int // index into Schema.Attributes
	Set    []fr.Element
	Lo, Hi uint64
	Negate bool
}

// Interval is a closed range [Lo, Hi] of encoded values (codes or fixed-point values).
type Interval struct{ Lo, Hi uint64 }

// Contains reports whether Lo ≤ v ≤ Hi.
func (iv Interval) Contains(v uint64) bool { return iv.Lo <= v && v <= iv.Hi }

// Match is a list predicate's kind.
type Match int

// List predicate kinds (DESIGN.md, Policy).
const (
	// Exists: some entry of the families satisfies the value range, the window and the statuses.
	Exists Match = schema.MatchExists
	// None: no signed entry of the families, whatever its status, satisfies the window.
	None Match = schema.MatchNone
	// Latest: the most recent entry of the families satisfies the value range and the window.
	Latest Match = schema.MatchLatest
)

// WindowKind is how a list predicate's window looks at an entry.
type WindowKind int

const (
	// NoWindow: every date qualifies.
	NoWindow WindowKind = iota
	// EventWindow (within_days): the entry's date (observation date, onset, start) is on or after
	// Start.
	EventWindow
	// StateWindow (present_within_days): the period entry was present at some time on or after
	// Start (it started on or before as_of, always true of a signed entry, and had not ended
	// before Start; ongoing entries are present).
	StateWindow
)

// Window is a list predicate's window [Start, as_of]; Start = max(as_of − N, 0) for N days.
type Window struct {
	Kind  WindowKind
	Start uint64 // encoded date; 0 for NoWindow
}

// ListPred is a compiled list predicate.
type ListPred struct {
	List     int // index into Schema.Lists
	Match    Match
	Families []Interval
	// Range is the value range, nil when the predicate names none (lists with values only).
	Range  *Interval
	Window Window
	// Status and Verification are the masks of statuses `exists` counts (bit k−1 for encoding k);
	// zero on lists without the field. None and latest count every status (masks all ones).
	Status, Verification uint64
}

// InFamily reports whether the encoded code lies in one of the predicate's families.
func (lp *ListPred) InFamily(code uint64) bool {
	for _, f := range lp.Families {
		if f.Contains(code) {
			return true
		}
	}
	return false
}

// NoMaxAge is the max credential age of a policy that sets none and needs none: every encodable
// date difference is below it.
const NoMaxAge = 1<<schema.WithinBits - 1

// DefaultMaxAge is the max credential age, in days, of a policy with a `none` or a windowed
// predicate that sets none (DESIGN.md, Freshness).
const DefaultMaxAge = 30
