package circuits

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/permutation/poseidon2"

	"github.com/zkhealth/zkhealth/internal/merkle"
	"github.com/zkhealth/zkhealth/schema"
)

// compress is merkle.Compress in circuit: Poseidon2 of width 8 (the reference BN254 parameters,
// 8 full and 57 partial rounds) in compression mode, P(x)[0] + x[0].
func compress(api frontend.API, lanes []frontend.Variable) frontend.Variable {
	p, err := poseidon2.NewPoseidon2FromParameters(api, merkle.Width, merkle.FullRounds, merkle.PartialRounds)
	if err != nil {
		panic(err) // only on a field gnark does not support; the circuit is BN254
	}
	x := append([]frontend.Variable(nil), lanes...)
	if err := p.Permutation(x); err != nil {
		panic(err)
	}
	return api.Add(x[0], lanes[0])
}

// aggShift is where a list node's tag starts in lane 0, above three children's aggregates.
const aggShift = 3 * schema.AggBits

// listTags are a list tree's domain tags, lane-0 ready: tag·2^aggShift, for height 1 and above.
type listTags struct{ leaf, node *big.Int }

func tagsOf(leaf, node *big.Int) listTags {
	return listTags{leaf: new(big.Int).Lsh(leaf, aggShift), node: new(big.Int).Lsh(node, aggShift)}
}

func (t listTags) at(h int) *big.Int {
	if h == 1 {
		return t.leaf
	}
	return t.node
}

// assertDigit checks a one-hot digit: Arity booleans summing to 1.
func assertDigit(api frontend.API, d []frontend.Variable) {
	var sum frontend.Variable = 0
	for _, b := range d {
		api.AssertIsBoolean(b)
		sum = api.Add(sum, b)
	}
	api.AssertIsEqual(sum, 1)
}

// assertChild checks that cur is the child the one-hot digit d selects: Σ d_j·children_j = cur.
func assertChild(api frontend.API, d, children []frontend.Variable, cur frontend.Variable) {
	var sel frontend.Variable = 0
	for j := range children {
		sel = api.Add(sel, api.Mul(d[j], children[j]))
	}
	api.AssertIsEqual(sel, cur)
}

// position is the leaf position of one-hot digits (digit 0 is the leaf's place among its
// siblings): Σ_t (Σ_j j·d_t,j)·Arity^t. It is linear, so free.
func position(api frontend.API, digits [][]frontend.Variable) frontend.Variable {
	var pos frontend.Variable = 0
	weight := 1
	for _, d := range digits {
		for j, b := range d {
			pos = api.Add(pos, api.Mul(b, j*weight))
		}
		weight *= schema.Arity
	}
	return pos
}

// PickOpening is an opened leaf of a list tree whose aggregates the statement does not read: per
// height, the digit of its ancestor, the six children and the two aggregate lanes of the parent
// (lane 0 without its tag).
type PickOpening struct {
	Leaf     []frontend.Variable   // the entry's leaf-layout fields
	Digits   [][]frontend.Variable // [Depth][Arity], one-hot
	Children [][]frontend.Variable // [Depth][Arity]
	Lanes    [][]frontend.Variable // [Depth][2]
}

func newPickOpening(l schema.List) PickOpening {
	return PickOpening{Leaf: make([]frontend.Variable, len(l.LeafLayout().Fields)), Digits: grid(l.Depth, schema.Arity),
		Children: grid(l.Depth, schema.Arity), Lanes: grid(l.Depth, 2)}
}

// assertPickOpening is "a leaf belongs to the signed root at a position": each height's digit is
// one-hot and selects the current node among the children, lane 0's aggregates fit below the tag
// (so the tag is really there), and the last parent is the root.
// Cost: per height one width-8 permutation and about 25 constraints.
func assertPickOpening(api frontend.API, rc frontend.Rangechecker, tags listTags, o PickOpening, packed, root frontend.Variable) {
	cur := packed
	for t := range o.Digits {
		assertDigit(api, o.Digits[t])
		assertChild(api, o.Digits[t], o.Children[t], cur)
		rc.Check(o.Lanes[t][0], aggShift)
		lanes := append([]frontend.Variable{api.Add(o.Lanes[t][0], tags.at(t+1)), o.Lanes[t][1]}, o.Children[t]...)
		cur = compress(api, lanes)
	}
	api.AssertIsEqual(cur, root)
}

// BlockOpening is an opened leaf of a list tree with the aggregates of every child on its path:
// per height, the digit, the six children, and each child's greatest key and presence.
type BlockOpening struct {
	Leaf     []frontend.Variable   // the entry's leaf-layout fields
	Digits   [][]frontend.Variable // [Depth][Arity], one-hot
	Children [][]frontend.Variable // [Depth][Arity]
	Keys     [][]frontend.Variable // [Depth][Arity]
	Pres     [][]frontend.Variable // [Depth][Arity]
}

func newBlockOpening(l schema.List) BlockOpening {
	return BlockOpening{Leaf: make([]frontend.Variable, len(l.LeafLayout().Fields)), Digits: grid(l.Depth, schema.Arity),
		Children: grid(l.Depth, schema.Arity), Keys: grid(l.Depth, schema.Arity), Pres: grid(l.Depth, schema.Arity)}
}

// assertBlockOpening is "a leaf belongs to the signed root at a position" for an opening whose
// aggregates the statement reads: every child's key and presence is range-checked to its width
// and packed into the parent's lanes as the issuer packs them, so an aggregate that lies about its
// subtree changes the parent's hash and fails the root.
// Cost: per height one width-8 permutation and about 55 constraints.
func assertBlockOpening(api frontend.API, rc frontend.Rangechecker, tags listTags, o BlockOpening, packed, root frontend.Variable) {
	cur := packed
	for t := range o.Digits {
		assertDigit(api, o.Digits[t])
		assertChild(api, o.Digits[t], o.Children[t], cur)
		var lo, hi frontend.Variable = tags.at(t + 1), 0
		for j := range schema.Arity {
			rc.Check(o.Keys[t][j], schema.MaxKeyBits)
			rc.Check(o.Pres[t][j], schema.PresenceBits)
			agg := api.Add(o.Keys[t][j], api.Mul(o.Pres[t][j], new(big.Int).Lsh(big.NewInt(1), schema.MaxKeyBits)))
			w := new(big.Int).Lsh(big.NewInt(1), uint(schema.AggBits*(j%3)))
			if j < 3 {
				lo = api.Add(lo, api.Mul(agg, w))
			} else {
				hi = api.Add(hi, api.Mul(agg, w))
			}
		}
		cur = compress(api, append([]frontend.Variable{lo, hi}, o.Children[t]...))
	}
	api.AssertIsEqual(cur, root)
}

// grid returns an n×m matrix of nil variables (to be assigned).
func grid(n, m int) [][]frontend.Variable {
	g := make([][]frontend.Variable, n)
	for i := range g {
		g[i] = make([]frontend.Variable, m)
	}
	return g
}

// checkGrid reports whether g is n×m.
func checkGrid(g [][]frontend.Variable, n, m int, what string) error {
	if len(g) != n {
		return fmt.Errorf("%s: %d rows, want %d", what, len(g), n)
	}
	for _, r := range g {
		if len(r) != m {
			return fmt.Errorf("%s: a row of %d, want %d", what, len(r), m)
		}
	}
	return nil
}
