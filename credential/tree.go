package credential

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/merkle"
	"github.com/zkhealth/zkhealth/schema"
)

// This file commits a list to a root (DESIGN.md, Size): a tree of schema.Arity^Depth leaves
// holding, in signing order (code, then date, ties in the issuer's order), a low sentinel at
// position 0 (leaf code 0, below every code), the entries (leaf code = code + 1) and padding
// (leaf code 2^bits + 1, above every code). Each node hashes its six children and their
// aggregates: the greatest latest-key and the greatest presence of each child's subtree. So an
// opened leaf proves an entry at a position, two opened leaves prove the code family's entries lie
// between them, and the aggregates of the subtrees between them bound those entries' dates: the
// issuer's order and aggregates are part of what it signs.

// LeafTag and NodeTag are the domain tags of a list tree's nodes just above the leaves and higher.
func LeafTag(s *schema.Schema, l schema.List) *big.Int {
	return merkle.Tag("zkhealth/v2/list-leaf/" + s.ID + "/" + l.Name)
}

// NodeTag is the domain tag of a list tree's nodes above height 1.
func NodeTag(s *schema.Schema, l schema.List) *big.Int {
	return merkle.Tag("zkhealth/v2/list-node/" + s.ID + "/" + l.Name)
}

// aggShift is where the tag starts in lane 0: above three children's aggregates.
const aggShift = 3 * schema.AggBits

// Leaf codes of the sentinel and the padding.
func sentinelCode() uint64 { return 0 }

// PaddingCode is the leaf code of a padding leaf: above every entry's code + 1.
func PaddingCode(l schema.List) uint64 { return 1<<l.Code.Bits() + 1 }

// LeafFields are a list entry's leaf-layout values, in the order of l.LeafLayout().Fields.
func LeafFields(l schema.List, e Entry) ([]*big.Int, error) {
	layout := l.LeafLayout()
	vals := make([]*big.Int, len(layout.Fields))
	for i := range vals {
		vals[i] = new(big.Int)
	}
	set := func(name string, v uint64) { vals[layout.Index(name)] = new(big.Int).SetUint64(v) }
	code, err := EncodeCode(l.Code, e.Code)
	if err != nil {
		return nil, err
	}
	set(schema.LeafCode, code+1)
	if l.HasDate() {
		d, err := encode.Date(e.Date)
		if err != nil {
			return nil, encodeError(err, wantDate)
		}
		set(schema.LeafDate, d)
	}
	if l.HasEnd() {
		end, err := EncodeEnd(e.End)
		if err != nil {
			return nil, err
		}
		set(schema.LeafEnd, end)
	}
	if l.Value {
		fixed, err := encode.Fixed(e.Code, *e.Value)
		if err != nil {
			return nil, encodeError(err, wantValue)
		}
		set(schema.LeafValue, fixed)
	}
	if l.Status != nil {
		k, ok := l.Status.Index(e.Status)
		if !ok {
			return nil, fmt.Errorf("%w: unknown %s", ErrMalformed, l.Status.Field)
		}
		set(schema.LeafStatus, uint64(k))
	}
	if l.Verification != nil {
		k, ok := l.Verification.Index(e.Verification)
		if !ok {
			return nil, fmt.Errorf("%w: unknown %s", ErrMalformed, l.Verification.Field)
		}
		set(schema.LeafVerification, uint64(k))
	}
	return vals, nil
}

// Key is an entry's latest-key at position pos: (date + 1)·2^PosBits + pos, so keys order
// entries by date and then by signing order, and differ for every leaf. Undated entries have date
// 0.
func Key(l schema.List, date uint64, pos int) uint64 {
	return (date+1)<<l.PosBits() + uint64(pos)
}

// Presence is a period entry's presence: end + 1, or 2^WithinBits for an entry that is ongoing or
// ended on an unknown date (it may be present still). Event entries have presence 0.
func Presence(l schema.List, end uint64) uint64 {
	switch {
	case !l.HasEnd():
		return 0
	case end == schema.OngoingEnd || end == schema.UnknownEnd:
		return 1 << schema.WithinBits
	}
	return end + 1
}

// ListLeaves returns the leaf-layout fields of every leaf of list li's tree: the sentinel at 0,
// the entries (in signing order) at 1…n, padding after.
func (a *Attributes) ListLeaves(li int) ([][]*big.Int, error) {
	l := a.Schema.Lists[li]
	entries := a.Lists[li]
	if len(entries) > l.Capacity {
		return nil, fmt.Errorf("%w: %s: more than %d entries", ErrMalformed, l.Name, l.Capacity)
	}
	layout := l.LeafLayout()
	blank := func(code uint64) []*big.Int {
		vals := make([]*big.Int, len(layout.Fields))
		for i := range vals {
			vals[i] = new(big.Int)
		}
		vals[layout.Index(schema.LeafCode)].SetUint64(code)
		return vals
	}
	out := make([][]*big.Int, l.Leaves())
	for pos := range out {
		switch {
		case pos == 0:
			out[pos] = blank(sentinelCode())
		case pos <= len(entries):
			vals, err := LeafFields(l, entries[pos-1])
			if err != nil {
				return nil, at(fmt.Sprintf("%s[%d]", l.Name, pos-1), err)
			}
			out[pos] = vals
		default:
			out[pos] = blank(PaddingCode(l))
		}
	}
	return out, nil
}

// ListTree commits list li of the attributes (entries in signing order) to its tree.
func (a *Attributes) ListTree(li int) (*merkle.Tree, error) {
	s, l := a.Schema, a.Schema.Lists[li]
	fields, err := a.ListLeaves(li)
	if err != nil {
		return nil, err
	}
	layout := l.LeafLayout()
	leaves := make([]merkle.Node, len(fields))
	for pos, vals := range fields {
		packed, err := layout.Pack(vals)
		if err != nil {
			return nil, fmt.Errorf("%w: %s leaf %d: %v", ErrMalformed, l.Name, pos, err)
		}
		leaves[pos].Hash.SetBigInt(packed[0])
		if pos >= 1 && pos <= len(a.Lists[li]) {
			var date, end uint64
			if l.HasDate() {
				date = vals[layout.Index(schema.LeafDate)].Uint64()
			}
			if l.HasEnd() {
				end = vals[layout.Index(schema.LeafEnd)].Uint64()
			}
			leaves[pos].Key, leaves[pos].Pres = Key(l, date, pos), Presence(l, end)
		}
	}
	leafTag, nodeTag := LeafTag(s, l), NodeTag(s, l)
	return merkle.Build(schema.Arity, l.Depth, leaves, func(h int, children []merkle.Node) fr.Element {
		tag := nodeTag
		if h == 1 {
			tag = leafTag
		}
		return HashListNode(tag, children)
	})
}

// HashListNode hashes the six children of a list tree node under tag: lane 0 holds the tag above
// the aggregates of children 0–2, lane 1 those of children 3–5, lanes 2–7 the children.
func HashListNode(tag *big.Int, children []merkle.Node) fr.Element {
	var lanes [merkle.Width]fr.Element
	lo, hi := new(big.Int), new(big.Int)
	for j, c := range children {
		agg := new(big.Int).SetUint64(c.Pres)
		agg.Lsh(agg, schema.MaxKeyBits).Add(agg, new(big.Int).SetUint64(c.Key))
		lane := lo
		if j >= 3 {
			lane = hi
		}
		lane.Add(lane, agg.Lsh(agg, uint(schema.AggBits*(j%3))))
		lanes[2+j] = c.Hash
	}
	lo.Add(lo, new(big.Int).Lsh(tag, aggShift))
	lanes[0].SetBigInt(lo)
	lanes[1].SetBigInt(hi)
	return merkle.Compress(lanes)
}
