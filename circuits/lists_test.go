package circuits_test

import (
	"math/big"
	"testing"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

// openAt opens leaf pos of list li of the built credential, as circuits.BuildOpenings does.
func (b *built) openAt(t *testing.T, li, pos int) circuits.Opening {
	t.Helper()
	tree, err := b.decoded.Attributes.ListTree(li)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := b.decoded.Attributes.ListLeaves(li)
	if err != nil {
		t.Fatal(err)
	}
	children, digits := tree.Path(pos)
	return circuits.Opening{Leaf: cloneInts(fields[pos]), Digits: digits, Children: children}
}

// position returns the leaf position of the first entry of list li with the code (entries sit at
// 1…n in signing order).
func (b *built) position(t *testing.T, li int, code string) int {
	t.Helper()
	for j, e := range b.decoded.Attributes.Lists[li] {
		if e.Code == code {
			return j + 1
		}
	}
	t.Fatalf("no entry %s", code)
	return 0
}

const (
	conditionsList   = 0
	observationsList = 1
)

// The list-opening rules of DESIGN.md ("A list opening proves what it claims"), each attacked at
// the constraint system with an honest credential and a dishonest witness: the honest witness of
// each scenario is accepted, the attack refused.
func TestListOpenings(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	recentMI := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"conditions": []map[string]any{
		{"code": "E11.9", "onset": "2015-03-01"},
		{"code": "I21.4", "onset": "2026-09-20", "abatement": "2026-10-05", "clinical_status": "resolved"},
		{"code": "J06.9", "onset": "2020-01-01"},
	}})
	noMI := clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"within_days":180}`)
	hasI21 := clinicalPolicy(`{"list":"conditions","match":"exists","code":["I21"]}`)
	latest := clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]}`)
	newerHigh := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c(obs{12.0, "2026-11-01"}, obs{8.0, "2026-10-01"})})
	sameDay := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c(obs{8.0, "2026-10-09"}, obs{12.0, "2026-10-09"})})

	for _, tc := range []struct {
		name, attrs, policy string
		// attack turns the honest witness of a scenario that must fail (or pass) into the attack
		attack func(t *testing.T, b *built)
	}{
		{"a leaf not under the root: an I21 leaf that was never signed", testfixture.ClinicalAttrs, hasI21, func(t *testing.T, b *built) {
			_, l, _ := s.List("conditions")
			pick := &b.witness.Lists[conditionsList].Picks[0]
			*pick = b.openAt(t, conditionsList, 1)
			forged, err := credential.LeafFields(l, credential.Entry{Code: "I21.4", Date: "2026-09-20", Status: "active", Verification: "confirmed"})
			if err != nil {
				t.Fatal(err)
			}
			pick.Leaf = forged
		}},
		{"a path with a lying sibling", testfixture.ClinicalAttrs, hasI21, func(t *testing.T, b *built) {
			pick := &b.witness.Lists[conditionsList].Picks[0]
			*pick = b.openAt(t, conditionsList, 1)
			pick.Children[0][pick.Digits[0]].Hash.SetUint64(12345) // the opened leaf itself, swapped
		}},
		{"a none block whose high leaf is the MI itself", recentMI, noMI, func(t *testing.T, b *built) {
			blk := &b.witness.Lists[conditionsList].Blocks[0]
			blk.High = b.openAt(t, conditionsList, b.position(t, conditionsList, "I21.4"))
		}},
		{"a none block whose low leaf is the MI itself", recentMI, noMI, func(t *testing.T, b *built) {
			blk := &b.witness.Lists[conditionsList].Blocks[0]
			blk.Low = b.openAt(t, conditionsList, b.position(t, conditionsList, "I21.4"))
		}},
		{"a none block with its leaves swapped", recentMI, noMI, func(t *testing.T, b *built) {
			blk := &b.witness.Lists[conditionsList].Blocks[0]
			blk.Low, blk.High = blk.High, blk.Low
		}},
		{"a none block with one leaf twice", recentMI, noMI, func(t *testing.T, b *built) {
			blk := &b.witness.Lists[conditionsList].Blocks[0]
			blk.High = blk.Low
		}},
		{"an aggregate that lies about the MI's subtree", recentMI, noMI, func(t *testing.T, b *built) {
			blk := &b.witness.Lists[conditionsList].Blocks[0]
			for h := range blk.Low.Children {
				for j := range blk.Low.Children[h] {
					blk.Low.Children[h][j].Key, blk.Low.Children[h][j].Pres = 0, 0
				}
			}
			for h := range blk.High.Children {
				for j := range blk.High.Children[h] {
					blk.High.Children[h][j].Key, blk.High.Children[h][j].Pres = 0, 0
				}
			}
		}},
		{"a none block claiming latest mode", recentMI, noMI, func(t *testing.T, b *built) {
			blk := &b.witness.Lists[conditionsList].Blocks[0]
			blk.Latest = true
			blk.Low = b.openAt(t, conditionsList, b.position(t, conditionsList, "I21.4"))
		}},
		{"latest on the older in-range HbA1c, high leaf next to it", newerHigh, latest, func(t *testing.T, b *built) {
			blk := &b.witness.Lists[observationsList].Blocks[0]
			older := b.position(t, observationsList, "4548-4") // signing order: the older first
			blk.Latest, blk.Low, blk.High = true, b.openAt(t, observationsList, older), b.openAt(t, observationsList, older+1)
		}},
		{"latest on the older in-range HbA1c, high leaf after the family", newerHigh, latest, func(t *testing.T, b *built) {
			blk := &b.witness.Lists[observationsList].Blocks[0]
			older := b.position(t, observationsList, "4548-4")
			blk.Latest, blk.Low = true, b.openAt(t, observationsList, older)
		}},
		{"latest on the first of a same-day pair (the issuer listed the out-of-range one last)", sameDay, latest, func(t *testing.T, b *built) {
			blk := &b.witness.Lists[observationsList].Blocks[0]
			first := b.position(t, observationsList, "4548-4") // the 8.0, listed first
			blk.Latest, blk.Low, blk.High = true, b.openAt(t, observationsList, first), b.openAt(t, observationsList, first+1)
		}},
		{"latest with no block in latest mode", testfixture.ClinicalAttrs, latest, func(t *testing.T, b *built) {
			b.witness.Lists[observationsList].Blocks[0].Latest = false
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := scenario{s: s, attrs: tc.attrs, policy: tc.policy}.build(t)
			failing, err := b.compiled.Evaluate(b.decoded.Attributes)
			if err != nil {
				t.Fatal(err)
			}
			if failing < 0 {
				if err := b.solve(t); err != nil {
					t.Fatalf("honest witness of a satisfied policy rejected: %v", err)
				}
			} else if b.solve(t) == nil {
				t.Fatal("honest witness of a violated policy accepted")
			}
			tc.attack(t, b)
			if b.solve(t) == nil {
				t.Fatal("attack witness accepted by the constraint system")
			}
		})
	}
}

// TestSentinelsMatchNoFamily: a policy whose family reaches down to the low sentinel's code or up
// to the padding's (as a verifier's buggy compiler might write it) is refused by the circuit, so
// the sentinel and the padding can never be an entry of a family.
func TestSentinelsMatchNoFamily(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	_, l, _ := s.List("conditions")
	noConditions := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"conditions": conditions()})
	exists := clinicalPolicy(`{"list":"conditions","match":"exists","code":["A00-Z99"]}`)
	top := int64(credential.PaddingCode(l))
	for _, tc := range []struct {
		name   string
		fields map[string]int64
		pos    int
	}{
		{"family down to the sentinel", map[string]int64{schema.PickField("conditions", 0, "fam/0/lo"): 0}, 0},
		{"family up to the padding", map[string]int64{schema.PickField("conditions", 0, "fam/0/hi"): top}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := scenario{s: s, attrs: noConditions, policy: exists}.build(t)
			if b.solve(t) == nil {
				t.Fatal("exists over an empty list accepted")
			}
			b.setPolicy(t, tc.fields)
			b.witness.Lists[conditionsList].Picks[0] = b.openAt(t, conditionsList, tc.pos)
			if b.solve(t) == nil {
				t.Fatal("a sentinel matched a family")
			}
		})
	}
}

// TestWithinWidths: leaf fields are range-checked, so moving a value between two fields of one
// packed leaf (the same leaf value, so the same root) is refused.
func TestWithinWidths(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	_, l, _ := s.List("observations")
	b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: clinicalPolicy(`{"list":"observations","match":"exists","code":["4548-4"],"value":[7.5,11.0]}`)}.build(t)
	if err := b.solve(t); err != nil {
		t.Fatal(err)
	}
	pick := &b.witness.Lists[observationsList].Picks[0]
	layout := l.LeafLayout()
	// value + 1 unit of the next field's weight, date − 1: the packed leaf is unchanged
	vi := layout.Index(schema.LeafValue)
	if vi+1 < len(layout.Fields) {
		alias(t, layout, pick.Leaf, schema.LeafValue, 1)
	} else {
		alias(t, layout, pick.Leaf, schema.LeafDate, 1)
	}
	if b.solve(t) == nil {
		t.Fatal("a leaf field beyond its width accepted")
	}
	_ = big.NewInt
}
