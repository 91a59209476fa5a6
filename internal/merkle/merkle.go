// Package merkle is zkhealth's native k-ary Merkle tree: the trees that commit a credential's lists
// (arity 6, nodes carrying the aggregates of their children) and an issuer's revocation list
// (arity 7). Nodes are hashed with Poseidon2 in compression mode over one permutation of width 8
// (Compress), with a domain tag in lane 0, so one level of a path costs one permutation in circuit.
//
// Guarantees: Build is deterministic; a tree's root commits to every leaf at its position and to
// every value the node hasher puts in a node's lanes (the children's aggregates), so a path that
// reaches the root with other leaves or other aggregates is a Poseidon2 collision.
package merkle

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

// Width is the Poseidon2 width of a node hash: lane 0 holds the domain tag (and, for list trees,
// packed aggregates), the other lanes the children.
const Width = 8

// Rounds of the width-8 BN254 Poseidon2 instance (the reference parameters of gnark-crypto).
const (
	FullRounds    = 8
	PartialRounds = 57
)

// TagBits bounds a node tag, so a tag shifted above 138 bits of packed aggregates stays below the
// BN254 scalar field.
const TagBits = 112

// Tag returns the domain tag of a hash use: the first TagBits bits of sha256(label).
func Tag(label string) *big.Int {
	sum := sha256.Sum256([]byte(label))
	return new(big.Int).Rsh(new(big.Int).SetBytes(sum[:]), 256-TagBits)
}

var permutation = sync.OnceValue(func() *poseidon2.Permutation {
	return poseidon2.NewPermutation(Width, FullRounds, PartialRounds)
})

// Compress is Poseidon2 in compression mode over Width lanes: P(x)[0] + x[0]. The circuit computes
// the same function with gnark's std/permutation/poseidon2 of the same parameters.
func Compress(lanes [Width]fr.Element) fr.Element {
	x := lanes
	if err := permutation().Permutation(x[:]); err != nil {
		panic(err) // only on a wrong width, fixed by the array type
	}
	var out fr.Element
	out.Add(&x[0], &lanes[0])
	return out
}

// Node is a node of a tree: its hash and, for aggregate trees, the two aggregates of its subtree
// (list trees: the greatest event key and the greatest presence of its leaves; zero otherwise).
type Node struct {
	Hash      fr.Element
	Key, Pres uint64
}

// Hasher hashes the children of a node at height h (h = 1 for the parents of leaves).
type Hasher func(h int, children []Node) fr.Element

// Tree is a complete k-ary tree of Arity^Depth leaves.
type Tree struct {
	Arity, Depth int
	// levels[0] are the leaves, levels[Depth] the root.
	levels [][]Node
}

// Build hashes leaves (exactly arity^depth of them) into a tree. A node's aggregates are the
// maxima of its children's.
func Build(arity, depth int, leaves []Node, hash Hasher) (*Tree, error) {
	n := 1
	for range depth {
		n *= arity
	}
	if len(leaves) != n {
		return nil, fmt.Errorf("merkle: %d leaves for a tree of %d", len(leaves), n)
	}
	if arity < 2 || arity+1 > Width {
		return nil, fmt.Errorf("merkle: arity %d does not fit a width-%d hash beside its tag", arity, Width)
	}
	t := &Tree{Arity: arity, Depth: depth, levels: [][]Node{leaves}}
	for h := 1; h <= depth; h++ {
		below := t.levels[h-1]
		level := make([]Node, len(below)/arity)
		for i := range level {
			children := below[i*arity : (i+1)*arity]
			nd := Node{Hash: hash(h, children)}
			for _, c := range children {
				nd.Key, nd.Pres = max(nd.Key, c.Key), max(nd.Pres, c.Pres)
			}
			level[i] = nd
		}
		t.levels = append(t.levels, level)
	}
	return t, nil
}

// Root returns the root node.
func (t *Tree) Root() Node { return t.levels[t.Depth][0] }

// Leaf returns leaf pos.
func (t *Tree) Leaf(pos int) Node { return t.levels[0][pos] }

// Path returns, for each height h = 1…Depth, the Arity children of the height-h ancestor of leaf
// pos (its own ancestor at height h-1 among them, at digit h-1 of pos in base Arity), and those
// digits.
func (t *Tree) Path(pos int) (children [][]Node, digits []int) {
	for h := 1; h <= t.Depth; h++ {
		d := pos % t.Arity
		first := pos - d
		children = append(children, append([]Node(nil), t.levels[h-1][first:first+t.Arity]...))
		digits = append(digits, d)
		pos /= t.Arity
	}
	return children, digits
}
