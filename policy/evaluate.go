package policy

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/schema"
)

// Evaluate decides natively, with the semantics of DESIGN.md (Policy), whether a credential's
// attributes satisfy every predicate. It returns the index of the first predicate that fails, or
// -1 when all hold. It is the prover's pre-check, so a patient learns which criterion they miss
// without paying for a proof; soundness never rests on it: the circuit enforces the same rules, and
// a differential test holds the two together.
//
// Semantics, exactly (every entry of a signed credential is dated on or before issued_on, and
// issued_on ≤ as_of, so no entry lies after as_of):
//   - an entry is in the predicate's families when its code lies in one of them;
//   - event window: the entry's date (observation date, onset, start) ≥ Start;
//   - state window: the period entry had not ended before Start: for `none`, an ongoing entry or
//     one that ended on an unknown date is present (it may have ended yesterday); for `exists` and
//     `latest`, an entry that ended on an unknown date is present only if it started on or after
//     Start (it was present on its start date);
//   - exists: some entry of the families has its value in range, is in the window and has a status
//     (and verification status) the predicate counts;
//   - none: the list's completeness covers the window (not incomplete, complete_since ≤ the
//     window's start; without a window nothing was left out), and no entry of the families,
//     whatever its status, with its value in range is in the window;
//   - latest: the entry of the families with the greatest (date, position in the issuer's list)
//     — among same-dated entries the one the issuer lists last — exists, the list is not
//     incomplete and complete since a date on or before it, and it has its value in range and is
//     in the window.
func (c *Compiled) Evaluate(a *credential.Attributes) (int, error) {
	if a.Schema.ID != c.Schema.ID {
		return 0, fmt.Errorf("credential is schema %s, policy %s", a.Schema.ID, c.Schema.ID)
	}
	for _, p := range c.Preds {
		ok, err := c.holds(a, p)
		if err != nil {
			return 0, fmt.Errorf("predicate %d: %w", p.Index, err)
		}
		if !ok {
			return p.Index, nil
		}
	}
	return -1, nil
}

func (c *Compiled) holds(a *credential.Attributes, p Pred) (bool, error) {
	if sp := p.Scalar; sp != nil {
		attr := c.Schema.Attributes[sp.Attr]
		x, err := credential.EncodeScalar(attr, a.Scalars[sp.Attr])
		if err != nil {
			return false, err
		}
		var in bool
		if len(sp.Set) > 0 {
			var e fr.Element
			e.SetBigInt(x)
			in = containsElement(sp.Set, e)
		} else {
			in = x.IsUint64() && sp.Lo <= x.Uint64() && x.Uint64() <= sp.Hi
		}
		return in != sp.Negate, nil
	}
	lp := p.List
	l := c.Schema.Lists[lp.List]
	all, err := encodeEntries(l, a.Lists[lp.List])
	if err != nil {
		return false, err
	}
	// an entry dated after as_of is not seen (a credential signed on or before as_of has none)
	var entries []EncodedEntry
	for _, e := range all {
		if !l.HasDate() || e.Date <= c.AsOf {
			entries = append(entries, e)
		}
	}
	switch lp.Match {
	case Exists:
		for _, e := range entries {
			if lp.InFamily(e.Code) && lp.valueOK(e) && lp.inWindow(e, false) && lp.statusOK(l, e) {
				return true, nil
			}
		}
		return false, nil
	case None:
		if !covers(a.Completeness[lp.List], lp.Window.Start) {
			return false, nil
		}
		for _, e := range entries {
			if lp.InFamily(e.Code) && lp.valueOK(e) && lp.inWindow(e, true) {
				return false, nil
			}
		}
		return true, nil
	case Latest:
		best := -1
		for j, e := range entries {
			if lp.InFamily(e.Code) && (best < 0 || e.Date >= entries[best].Date) {
				best = j
			}
		}
		return best >= 0 && covers(a.Completeness[lp.List], entries[best].Date) &&
			lp.valueOK(entries[best]) && lp.inWindow(entries[best], false), nil
	}
	return false, fmt.Errorf("unknown match %d", lp.Match)
}

// covers reports whether a list's completeness covers everything from day on (DESIGN.md,
// Completeness): the list is not incomplete and complete_since (null = 1900-01-01) ≤ day. `none`
// needs it from its window's start (no window: from 1900, so nothing may have been left out);
// `latest` from the latest entry's date (every entry left out for capacity was last present
// before complete_since, so none of them is newer).
func covers(c credential.Completeness, day uint64) bool {
	if c.Incomplete {
		return false
	}
	if c.CompleteSince == "" {
		return true
	}
	since, err := encode.Date(c.CompleteSince)
	return err == nil && since <= day
}

// EncodedEntry is a list entry as the circuit sees it: code, value (fixed point), date and end
// (schema.OngoingEnd, schema.UnknownEnd or a date) encoded, statuses as their 1-based codes (0 on
// lists without them).
type EncodedEntry struct {
	Code, Value, Date, End uint64
	Status, Verification   uint64
}

// EncodeEntries encodes a list's entries in the issuer's order.
func EncodeEntries(l schema.List, entries []credential.Entry) ([]EncodedEntry, error) {
	return encodeEntries(l, entries)
}

// ExistsHolds reports whether one entry satisfies an exists predicate: in its families, value in
// range, in its window, with a status (and verification status) it counts.
func (lp *ListPred) ExistsHolds(l schema.List, e EncodedEntry) bool {
	return lp.InFamily(e.Code) && lp.valueOK(e) && lp.inWindow(e, false) && lp.statusOK(l, e)
}

// encodeEntries encodes a list's entries in the issuer's order.
func encodeEntries(l schema.List, entries []credential.Entry) ([]EncodedEntry, error) {
	out := make([]EncodedEntry, len(entries))
	for j, e := range entries {
		var err error
		var x EncodedEntry
		if x.Code, err = credential.EncodeCode(l.Code, e.Code); err != nil {
			return nil, fmt.Errorf("%s[%d].code: %w", l.Name, j, err)
		}
		if l.Value {
			if x.Value, err = encode.Fixed(e.Code, *e.Value); err != nil {
				return nil, fmt.Errorf("%s[%d].value: %w", l.Name, j, err)
			}
		}
		if l.HasDate() {
			if x.Date, err = encode.Date(e.Date); err != nil {
				return nil, fmt.Errorf("%s[%d].date: %w", l.Name, j, err)
			}
		}
		x.End = x.Date
		if l.HasEnd() {
			if x.End, err = credential.EncodeEnd(e.End); err != nil {
				return nil, fmt.Errorf("%s[%d].end: %w", l.Name, j, err)
			}
		}
		if l.Status != nil {
			k, _ := l.Status.Index(e.Status)
			x.Status = uint64(k)
		}
		if l.Verification != nil {
			k, _ := l.Verification.Index(e.Verification)
			x.Verification = uint64(k)
		}
		out[j] = x
	}
	return out, nil
}

func (lp *ListPred) valueOK(e EncodedEntry) bool {
	return lp.Range == nil || lp.Range.Contains(e.Value)
}

// inWindow applies the predicate's window to the entry; forNone selects the conservative reading
// of an unknown end (see Evaluate).
func (lp *ListPred) inWindow(e EncodedEntry, forNone bool) bool {
	switch lp.Window.Kind {
	case EventWindow:
		return e.Date >= lp.Window.Start
	case StateWindow:
		end := e.End
		if end == schema.UnknownEnd && !forNone {
			end = e.Date
		}
		return end >= lp.Window.Start
	}
	return true
}

// statusOK reports whether the entry's statuses are among those the predicate counts (masks of
// lists without the field are zero and pass).
func (lp *ListPred) statusOK(l schema.List, e EncodedEntry) bool {
	if l.Status != nil && lp.Status&(1<<(e.Status-1)) == 0 {
		return false
	}
	if l.Verification != nil && lp.Verification&(1<<(e.Verification-1)) == 0 {
		return false
	}
	return true
}
