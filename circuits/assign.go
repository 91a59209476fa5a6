package circuits

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	nativeeddsa "github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/internal/merkle"
	"github.com/zkhealth/zkhealth/schema"
)

// Public is the public input of a proof, in DESIGN.md order.
type Public struct {
	PolicyHash fr.Element
	Issuer     nativeeddsa.PublicKey
	Challenge  fr.Element
	Nullifier  fr.Element
}

// Vector is the public witness in circuit order (policy hash, issuer X, issuer Y, challenge,
// nullifier), without the constant one wire.
func (p *Public) Vector() fr.Vector {
	return fr.Vector{p.PolicyHash, p.Issuer.A.X, p.Issuer.A.Y, p.Challenge, p.Nullifier}
}

// Witness is everything the prover knows.
type Witness struct {
	Public
	Credential   []*big.Int // credential layout values
	Signature    nativeeddsa.Signature
	HolderSecret fr.Element
	Policy       []*big.Int     // compiled policy layout values
	Lists        []ListOpenings // per list of the schema
}

// ListOpenings are the openings of one list, one per slot of the circuit (an off slot still holds
// a valid opening: the prover opens the sentinel and the padding).
type ListOpenings struct {
	Picks  []Opening
	Blocks []BlockOpenings
}

// Opening is a leaf of a list tree at a position: its leaf-layout fields, and per height the digit
// of its ancestor and the Arity children of the ancestor's parent (merkle.Tree.Path).
type Opening struct {
	Leaf     []*big.Int
	Digits   []int
	Children [][]merkle.Node
}

// BlockOpenings are a family block's openings: Low below the family (or, with Latest, the
// family's latest entry) and High above it.
type BlockOpenings struct {
	Low, High Opening
	Latest    bool
}

// Assign returns the full assignment of circuit c of schema s.
func Assign(s *schema.Schema, c *schema.Circuit, w *Witness) (*Circuit, error) {
	out := PublicAssignment(s, c, &w.Public)
	if len(w.Credential) != len(out.Credential) || len(w.Policy) != len(out.Policy) || len(w.Lists) != len(s.Lists) {
		return nil, fmt.Errorf("witness sized for another circuit than %s", c.ID)
	}
	for i, v := range w.Credential {
		out.Credential[i] = v
	}
	for i, v := range w.Policy {
		out.Policy[i] = v
	}
	out.Signature.R.X = w.Signature.R.X
	out.Signature.R.Y = w.Signature.R.Y
	out.Signature.S = new(big.Int).SetBytes(w.Signature.S[:])
	out.HolderSecret = w.HolderSecret
	for li, l := range s.Lists {
		lo, lw := w.Lists[li], &out.Lists[li]
		if len(lo.Picks) != len(lw.Picks) || len(lo.Blocks) != len(lw.Blocks) {
			return nil, fmt.Errorf("list %s: witness sized for another circuit than %s", l.Name, c.ID)
		}
		for j, o := range lo.Picks {
			if err := assignPick(l, o, &lw.Picks[j]); err != nil {
				return nil, fmt.Errorf("list %s pick %d: %w", l.Name, j, err)
			}
		}
		for b, bo := range lo.Blocks {
			if err := assignBlock(l, bo.Low, &lw.Blocks[b].Low); err != nil {
				return nil, fmt.Errorf("list %s block %d: %w", l.Name, b, err)
			}
			if err := assignBlock(l, bo.High, &lw.Blocks[b].High); err != nil {
				return nil, fmt.Errorf("list %s block %d: %w", l.Name, b, err)
			}
			lw.Blocks[b].Mode = 0
			if bo.Latest {
				lw.Blocks[b].Mode = 1
			}
		}
	}
	return out, nil
}

func checkOpening(l schema.List, o Opening) error {
	if len(o.Leaf) != len(l.LeafLayout().Fields) || len(o.Digits) != l.Depth || len(o.Children) != l.Depth {
		return fmt.Errorf("opening shaped for another list")
	}
	for t := range o.Children {
		if len(o.Children[t]) != schema.Arity || o.Digits[t] < 0 || o.Digits[t] >= schema.Arity {
			return fmt.Errorf("opening shaped for another list")
		}
	}
	return nil
}

func assignCommon(o Opening, leaf []frontend.Variable, digits, children [][]frontend.Variable) {
	for i, v := range o.Leaf {
		leaf[i] = v
	}
	for t := range o.Children {
		for j := range schema.Arity {
			digits[t][j] = 0
			if j == o.Digits[t] {
				digits[t][j] = 1
			}
			children[t][j] = o.Children[t][j].Hash
		}
	}
}

func assignPick(l schema.List, o Opening, p *PickOpening) error {
	if err := checkOpening(l, o); err != nil {
		return err
	}
	assignCommon(o, p.Leaf, p.Digits, p.Children)
	for t, children := range o.Children {
		lo, hi := aggLanes(children)
		p.Lanes[t][0], p.Lanes[t][1] = lo, hi
	}
	return nil
}

func assignBlock(l schema.List, o Opening, b *BlockOpening) error {
	if err := checkOpening(l, o); err != nil {
		return err
	}
	assignCommon(o, b.Leaf, b.Digits, b.Children)
	for t, children := range o.Children {
		for j, c := range children {
			b.Keys[t][j], b.Pres[t][j] = c.Key, c.Pres
		}
	}
	return nil
}

// aggLanes packs six children's aggregates as a list node's lanes 0 (without the tag) and 1.
func aggLanes(children []merkle.Node) (lo, hi *big.Int) {
	lo, hi = new(big.Int), new(big.Int)
	for j, c := range children {
		agg := new(big.Int).SetUint64(c.Pres)
		agg.Lsh(agg, schema.MaxKeyBits).Add(agg, new(big.Int).SetUint64(c.Key))
		agg.Lsh(agg, uint(schema.AggBits*(j%3)))
		if j < 3 {
			lo.Add(lo, agg)
		} else {
			hi.Add(hi, agg)
		}
	}
	return lo, hi
}

// PublicAssignment returns an assignment holding only the public inputs (private ones are zero),
// from which a verifier builds the public witness itself.
func PublicAssignment(s *schema.Schema, c *schema.Circuit, p *Public) *Circuit {
	out := New(s, c)
	out.PolicyHash = p.PolicyHash
	out.Issuer.A.X = p.Issuer.A.X
	out.Issuer.A.Y = p.Issuer.A.Y
	out.Challenge = p.Challenge
	out.Nullifier = p.Nullifier
	zero(out)
	return out
}

// zero sets every private variable that is still unassigned to 0.
func zero(c *Circuit) {
	fill := func(vs []frontend.Variable) {
		for i := range vs {
			if vs[i] == nil {
				vs[i] = 0
			}
		}
	}
	fillGrid := func(g [][]frontend.Variable) {
		for _, r := range g {
			fill(r)
		}
	}
	fill(c.Credential)
	fill(c.Policy)
	if c.Signature.R.X == nil {
		c.Signature.R.X, c.Signature.R.Y, c.Signature.S = 0, 0, 0
	}
	if c.HolderSecret == nil {
		c.HolderSecret = 0
	}
	for li := range c.Lists {
		for j := range c.Lists[li].Picks {
			p := &c.Lists[li].Picks[j]
			fill(p.Leaf)
			fillGrid(p.Digits)
			fillGrid(p.Children)
			fillGrid(p.Lanes)
		}
		for b := range c.Lists[li].Blocks {
			bw := &c.Lists[li].Blocks[b]
			for _, o := range []*BlockOpening{&bw.Low, &bw.High} {
				fill(o.Leaf)
				fillGrid(o.Digits)
				fillGrid(o.Children)
				fillGrid(o.Keys)
				fillGrid(o.Pres)
			}
			if bw.Mode == nil {
				bw.Mode = 0
			}
		}
	}
}

// NbPublic is the number of public inputs of every zkhealth circuit.
const NbPublic = 5

var _ frontend.Circuit = (*Circuit)(nil)
