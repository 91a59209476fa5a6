package merkle

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// sumHasher is a test hasher: Compress over the height and the children's hashes and aggregates.
func sumHasher(h int, children []Node) fr.Element {
	var lanes [Width]fr.Element
	lanes[0].SetUint64(uint64(h))
	for j, c := range children {
		var agg fr.Element
		agg.SetUint64(c.Key<<20 | c.Pres)
		lanes[1+j].Add(&c.Hash, &agg)
	}
	return Compress(lanes)
}

func leaves(n int) []Node {
	out := make([]Node, n)
	for i := range out {
		out[i].Hash.SetUint64(uint64(1000 + i))
		out[i].Key = uint64((i * 7) % n)
		out[i].Pres = uint64((i * 5) % n)
	}
	return out
}

// TestPathReachesRoot: every leaf's path, hashed upwards, reaches the root; the digits are the
// leaf position in base Arity; aggregates are the maxima of the subtree.
func TestPathReachesRoot(t *testing.T) {
	for _, tc := range []struct{ arity, depth int }{{6, 1}, {6, 3}, {7, 2}, {2, 4}} {
		n := 1
		for range tc.depth {
			n *= tc.arity
		}
		ls := leaves(n)
		tree, err := Build(tc.arity, tc.depth, ls, sumHasher)
		if err != nil {
			t.Fatal(err)
		}
		var maxKey, maxPres uint64
		for _, l := range ls {
			maxKey, maxPres = max(maxKey, l.Key), max(maxPres, l.Pres)
		}
		if r := tree.Root(); r.Key != maxKey || r.Pres != maxPres {
			t.Errorf("arity %d depth %d: root aggregates %d, %d, want %d, %d", tc.arity, tc.depth, r.Key, r.Pres, maxKey, maxPres)
		}
		for pos := range n {
			children, digits := tree.Path(pos)
			if len(children) != tc.depth || len(digits) != tc.depth {
				t.Fatalf("path of %d levels", len(children))
			}
			cur, p := tree.Leaf(pos), pos
			for h := 1; h <= tc.depth; h++ {
				if digits[h-1] != p%tc.arity {
					t.Fatalf("leaf %d height %d: digit %d, want %d", pos, h, digits[h-1], p%tc.arity)
				}
				if got := children[h-1][digits[h-1]]; got != cur {
					t.Fatalf("leaf %d height %d: the path does not hold the node below", pos, h)
				}
				next := Node{Hash: sumHasher(h, children[h-1])}
				for _, c := range children[h-1] {
					next.Key, next.Pres = max(next.Key, c.Key), max(next.Pres, c.Pres)
				}
				cur, p = next, p/tc.arity
			}
			if cur != tree.Root() {
				t.Fatalf("arity %d depth %d: the path of leaf %d does not reach the root", tc.arity, tc.depth, pos)
			}
		}
	}
}

// TestRootCommits: changing any leaf's hash or aggregate, or swapping two leaves, changes the root;
// building twice gives the same root.
func TestRootCommits(t *testing.T) {
	const arity, depth = 6, 2
	base := leaves(36)
	root := func(ls []Node) fr.Element {
		tree, err := Build(arity, depth, ls, sumHasher)
		if err != nil {
			t.Fatal(err)
		}
		return tree.Root().Hash
	}
	r0 := root(base)
	if r := root(leaves(36)); r != r0 {
		t.Fatal("Build is not deterministic")
	}
	for pos := range base {
		for name, edit := range map[string]func(n *Node){
			"hash": func(n *Node) { var one fr.Element; one.SetOne(); n.Hash.Add(&n.Hash, &one) },
			"key":  func(n *Node) { n.Key++ },
			"pres": func(n *Node) { n.Pres++ },
		} {
			ls := append([]Node(nil), base...)
			edit(&ls[pos])
			if root(ls) == r0 {
				t.Errorf("leaf %d: changing its %s kept the root", pos, name)
			}
		}
	}
	ls := append([]Node(nil), base...)
	ls[3], ls[20] = ls[20], ls[3]
	if root(ls) == r0 {
		t.Error("swapping two leaves kept the root")
	}
}

func TestBuildRefuses(t *testing.T) {
	for _, tc := range []struct{ arity, depth, leaves int }{{6, 2, 35}, {6, 2, 37}, {6, 1, 0}, {8, 1, 8}, {1, 3, 1}} {
		if _, err := Build(tc.arity, tc.depth, leaves(tc.leaves), sumHasher); err == nil {
			t.Errorf("Build(arity %d, depth %d, %d leaves) accepted", tc.arity, tc.depth, tc.leaves)
		}
	}
}

// TestCompress pins Compress to the permutation in compression mode: a change of any lane changes
// the output, and lane 0 is fed forward.
func TestCompress(t *testing.T) {
	var lanes [Width]fr.Element
	for i := range lanes {
		lanes[i].SetUint64(uint64(i + 1))
	}
	out := Compress(lanes)
	if again := Compress(lanes); again != out {
		t.Fatal("Compress is not deterministic")
	}
	for i := range lanes {
		x := lanes
		x[i].SetUint64(99)
		if Compress(x) == out {
			t.Errorf("lane %d does not reach the output", i)
		}
	}
}

// TestTag: tags are TagBits wide and distinct per label.
func TestTag(t *testing.T) {
	limit := new(big.Int).Lsh(big.NewInt(1), TagBits)
	seen := map[string]string{}
	for _, label := range []string{"a", "b", "zkhealth/list/leaf/clinical/conditions", "zkhealth/list/node/clinical/conditions"} {
		tag := Tag(label)
		if tag.Sign() <= 0 || tag.Cmp(limit) >= 0 {
			t.Errorf("Tag(%q) = %v, not in (0, 2^%d)", label, tag, TagBits)
		}
		if other, dup := seen[tag.String()]; dup {
			t.Errorf("Tag(%q) = Tag(%q)", label, other)
		}
		seen[tag.String()] = label
	}
}
