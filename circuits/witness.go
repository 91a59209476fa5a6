package circuits

import (
	"math/big"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

// BuildOpenings chooses the openings a policy laid out for a circuit needs on a credential's lists:
// for each on exists slot an entry that satisfies it; for each family block the leaves just
// outside the family (for a latest slot, the block of the family holding the latest entry opens
// that entry instead of the leaf below the family); off slots open the sentinel and the padding.
// It runs no check of its own: where no satisfying choice exists it opens the sentinel, and the
// constraint system rejects the witness (the prover's native pre-check says why first). Tests
// build attack witnesses by changing its output.
func BuildOpenings(a *credential.Attributes, as *policy.Assigned) ([]ListOpenings, error) {
	s := a.Schema
	out := make([]ListOpenings, len(s.Lists))
	for li, l := range s.Lists {
		tree, err := a.ListTree(li)
		if err != nil {
			return nil, err
		}
		fields, err := a.ListLeaves(li)
		if err != nil {
			return nil, err
		}
		entries, err := policy.EncodeEntries(l, a.Lists[li])
		if err != nil {
			return nil, err
		}
		open := func(pos int) Opening {
			children, digits := tree.Path(pos)
			return Opening{Leaf: cloneInts(fields[pos]), Digits: digits, Children: children}
		}
		// code of leaf pos, shifted: 0 sentinel, code+1 entries, 2^bits+1 padding
		code := func(pos int) uint64 {
			switch {
			case pos == 0:
				return 0
			case pos <= len(entries):
				return entries[pos-1].Code + 1
			}
			return credential.PaddingCode(l)
		}
		assignment := as.Lists[li]
		lo := ListOpenings{Picks: make([]Opening, len(assignment.Picks)), Blocks: make([]BlockOpenings, len(assignment.Blocks))}
		for j, lp := range assignment.Picks {
			pos := 0
			if lp != nil {
				for k, e := range entries {
					if lp.ExistsHolds(l, e) {
						pos = k + 1
						break
					}
				}
			}
			lo.Picks[j] = open(pos)
		}
		// the latest entry of each latest slot: the greatest (date, position) among its families
		latest := make([]int, len(assignment.Latest))
		for g, lp := range assignment.Latest {
			latest[g] = -1
			if lp == nil {
				continue
			}
			for k, e := range entries {
				if lp.InFamily(e.Code) && (latest[g] < 0 || e.Date >= entries[latest[g]-1].Date) {
					latest[g] = k + 1
				}
			}
		}
		last := l.Leaves() - 1
		for b, ba := range assignment.Blocks {
			if ba.Pred == nil {
				lo.Blocks[b] = BlockOpenings{Low: open(0), High: open(last)}
				continue
			}
			low, high := 0, last
			for pos := 0; pos <= last && code(pos) < ba.Family.Lo+1; pos++ {
				low = pos
			}
			for pos := last; pos >= 0 && code(pos) > ba.Family.Hi+1; pos-- {
				high = pos
			}
			bo := BlockOpenings{}
			if ba.Kind == schema.BlockLatest {
				if k := latest[ba.Latest]; k > 0 && ba.Family.Contains(entries[k-1].Code) {
					low, bo.Latest = k, true
				}
			}
			bo.Low, bo.High = open(low), open(high)
			lo.Blocks[b] = bo
		}
		out[li] = lo
	}
	return out, nil
}

func cloneInts(vs []*big.Int) []*big.Int {
	out := make([]*big.Int, len(vs))
	for i, v := range vs {
		out[i] = new(big.Int).Set(v)
	}
	return out
}
