package circuits_test

// The red team's attacks on the version-2 circuits (DESIGN.md, "The statement" and its soundness
// rules): each case forges a witness for a statement the native evaluator calls false, with lying
// openings, hints or packed values, and runs it against the compiled constraint system. The
// honest witness of every scenario is first accepted or refused as the native evaluator says.
// Attacks that need lies the Witness type cannot express (non-boolean digits, aggregates beyond
// their widths) edit the circuit assignment directly (built.solveAssigned).

import (
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

// redteamCase is one attack: a scenario, what the native evaluator says of it (holds), and the
// attack, which edits the honest witness and returns the constraint system's verdict on it. A
// control case (a statement that holds, accepted with its honest witness) has no attack.
type redteamCase struct {
	name   string
	sc     scenario
	holds  bool
	attack func(t *testing.T, b *built) error
}

// runRedteam runs each case: the native verdict is the declared one, the honest witness gets
// the native verdict from the constraint system, and the attack witness is refused.
func runRedteam(t *testing.T, cases []redteamCase) {
	t.Helper()
	testfixture.Quiet()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.sc.build(t)
			if got := nativeHolds(t, b); got != tc.holds {
				t.Fatalf("native evaluation says holds=%v, the case declares %v", got, tc.holds)
			}
			err := b.solve(t)
			switch {
			case tc.holds && err != nil:
				t.Fatalf("honest witness of a statement that holds rejected: %v", err)
			case !tc.holds && err == nil:
				t.Fatal("honest witness of a false statement accepted")
			}
			if tc.attack == nil {
				if !tc.holds {
					t.Fatal("a case on a false statement needs an attack")
				}
				return
			}
			// on a true statement the attack is a witness of another statement (another public
			// input): refused as well
			err = tc.attack(t, b)
			if err == nil {
				t.Fatal("attack witness accepted by the constraint system")
			}
			t.Logf("refused: %v", err)
		})
	}
}

// nativeHolds is the whole native statement: every predicate (policy.Compiled.Evaluate), validity
// (issued_on ≤ as_of ≤ expires_on) and freshness (as_of − issued_on ≤ max age).
func nativeHolds(t *testing.T, b *built) bool {
	t.Helper()
	failing, err := b.compiled.Evaluate(b.decoded.Attributes)
	if err != nil {
		t.Fatal(err)
	}
	issued := encDate(t, b.decoded.Header.IssuedOn).Uint64()
	expires := encDate(t, b.decoded.Header.ExpiresOn).Uint64()
	asOf := b.compiled.AsOf
	return failing < 0 && issued <= asOf && asOf <= expires && asOf-issued <= b.compiled.MaxAge
}

// solveAssigned assigns the built witness, lets edit change the assignment, and reports whether
// the constraint system accepts the result.
func (b *built) solveAssigned(t *testing.T, edit func(a *circuits.Circuit), opts ...solver.Option) error {
	t.Helper()
	s, c := b.decoded.Schema, b.circuit()
	a, err := circuits.Assign(s, c, b.witness)
	if err != nil {
		t.Fatal(err)
	}
	edit(a)
	full, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	return r1csOf(t, s, c).IsSolved(full, opts...)
}

// modP reduces x into [0, p).
func modP(x *big.Int) *big.Int { return new(big.Int).Mod(x, fr.Modulus()) }

func encDate(t *testing.T, day string) *big.Int {
	t.Helper()
	d, err := encode.Date(day)
	if err != nil {
		t.Fatal(err)
	}
	return new(big.Int).SetUint64(d)
}

// packedMod packs vals as layout l does, modulo p, without checking widths.
func packedMod(l *schema.Layout, vals []*big.Int) []*big.Int {
	out := make([]*big.Int, l.Elements)
	for i := range out {
		out[i] = new(big.Int)
	}
	for i, v := range vals {
		p := l.Positions[i]
		out[p.Element].Add(out[p.Element], new(big.Int).Lsh(v, uint(p.Offset)))
	}
	for i := range out {
		out[i] = modP(out[i])
	}
	return out
}

// aliasTo sets field name of vals to target and pays for it in field payer of the same packed
// element: payer moves by −(target − old)·2^(offset(name) − offset(payer)) modulo p, so every
// packed element, and so the hash, signature or tree root over them, is unchanged. A field packing
// is unique only because every field is range-checked, so payer must leave its width; aliasTo
// fails the test when it does not (that would be two in-range vectors packing alike: a finding).
func aliasTo(t *testing.T, l *schema.Layout, vals []*big.Int, name, payer string, target *big.Int) {
	t.Helper()
	i, j := l.Index(name), l.Index(payer)
	pi, pj := l.Positions[i], l.Positions[j]
	if pi.Element != pj.Element || l.Fields[i].Bits == 0 || l.Fields[j].Bits == 0 || i == j {
		t.Fatalf("%s and %s are not two narrow fields of one element", name, payer)
	}
	if target.Sign() < 0 || target.BitLen() > l.Fields[i].Bits {
		t.Fatalf("target %s does not fit %s's %d bits", target, name, l.Fields[i].Bits)
	}
	before := packedMod(l, vals)
	delta := new(big.Int).Sub(target, vals[i])
	d := new(big.Int).Lsh(delta, uint(pi.Offset))
	d.Mul(d, new(big.Int).ModInverse(new(big.Int).Lsh(big.NewInt(1), uint(pj.Offset)), fr.Modulus()))
	vals[i] = new(big.Int).Set(target)
	vals[j] = modP(new(big.Int).Sub(vals[j], d))
	after := packedMod(l, vals)
	for e := range before {
		if before[e].Cmp(after[e]) != 0 {
			t.Fatalf("alias changed packed element %d", e)
		}
	}
	if vals[j].BitLen() <= l.Fields[j].Bits {
		t.Fatalf("FINDING: %s = %s and %s = %s pack like the honest values, both within their widths", name, target, payer, vals[j])
	}
}

// Attack data shared by several themes.
var (
	cli = schema.Clinical()
	cov = schema.Coverage()
)

// cond is an ATTRS.json condition; extra are key, value pairs.
func cond(code, onset string, extra ...string) map[string]any {
	m := map[string]any{"code": code, "onset": onset}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func clinicalWith(t *testing.T, set map[string]any) string {
	return withAttrs(t, testfixture.ClinicalAttrs, set)
}

// daysBefore is within_days such that the window starts on day (as of testfixture.AsOf).
func daysBefore(t *testing.T, day string) int {
	t.Helper()
	a, _ := time.Parse(time.DateOnly, testfixture.AsOf)
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		t.Fatal(err)
	}
	return int(a.Sub(d).Hours() / 24)
}

// TestRedteamPackedAliases: every narrow field shares a packed element with its neighbours, so
// moving value between two fields of one element keeps the packed vector, and with it the
// issuer's signature, the policy hash or the tree root. Each attack sets a field to the value
// that makes a false statement hold and pays in a neighbour, which leaves its width: only the
// neighbour's range check stands in the way (several of them guard fields the statement never
// reads, such as a list's length).
func TestRedteamPackedAliases(t *testing.T) {
	_, conds, _ := cli.List("conditions")
	_, observations, _ := cli.List("observations")
	credAlias := func(name, payer string, target func(t *testing.T, b *built) *big.Int) func(t *testing.T, b *built) error {
		return func(t *testing.T, b *built) error {
			aliasTo(t, b.decoded.Schema.CredentialLayout(), b.witness.Credential, name, payer, target(t, b))
			return b.solve(t)
		}
	}
	polAlias := func(name, payer string, target func(t *testing.T, b *built) *big.Int) func(t *testing.T, b *built) error {
		return func(t *testing.T, b *built) error {
			b.witness.Policy = cloneInts(b.witness.Policy)
			aliasTo(t, b.circuit().PolicyLayout(b.decoded.Schema), b.witness.Policy, name, payer, target(t, b))
			return b.solve(t) // the public policy hash is the verifier's, unchanged
		}
	}
	day := func(d string) func(t *testing.T, b *built) *big.Int {
		return func(t *testing.T, _ *built) *big.Int { return encDate(t, d) }
	}
	val := func(v int64) func(t *testing.T, b *built) *big.Int {
		return func(*testing.T, *built) *big.Int { return big.NewInt(v) }
	}
	sinceJan := clinicalWith(t, map[string]any{"completeness": since("conditions", "2026-01-01")})
	noMIFromNewYearsEve := clinicalPolicy(fmt.Sprintf(`{"list":"conditions","match":"none","code":["I21"],"within_days":%d}`, daysBefore(t, "2025-12-31")))
	noMI := clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"within_days":180}`)
	diabetic := clinicalPolicy(`{"list":"conditions","match":"exists","code":["E11"]}`)
	noHbA1c := clinicalWith(t, map[string]any{"observations": hba1c()})
	oldOngoingMI := clinicalWith(t, map[string]any{"conditions": []map[string]any{cond("E11.9", "2015-03-01"), cond("I21.9", "2019-01-01")}})
	recentMI := clinicalWith(t, map[string]any{"conditions": []map[string]any{cond("E11.9", "2015-03-01"), cond("I21.4", "2026-10-01")}})
	high := clinicalWith(t, map[string]any{"observations": hba1c(obs{12.0, "2026-10-09"})})
	latestInRange := clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]}`)

	cases := []redteamCase{
		// credential vector: the signature covers the packed elements, not the fields
		{name: "complete_since a day earlier, paid for by the list's unused length",
			sc:     scenario{s: cli, attrs: sinceJan, policy: noMIFromNewYearsEve},
			attack: credAlias(schema.CompleteSinceField("conditions"), schema.LengthField("conditions"), day("2025-12-31"))},
		{name: "an incomplete list read as complete, paid for by the next list's length",
			sc:     scenario{s: cli, attrs: clinicalWith(t, map[string]any{"completeness": incomplete("conditions")}), policy: noMI},
			attack: credAlias(schema.IncompleteField("conditions"), schema.LengthField("observations"), val(0))},
		{name: "an incomplete observations list read as complete for latest, paid for by the medications' length",
			sc:     scenario{s: cli, attrs: clinicalWith(t, map[string]any{"completeness": incomplete("observations")}), policy: latestInRange},
			attack: credAlias(schema.IncompleteField("observations"), schema.LengthField("medications"), val(0))},
		{name: "an expired credential's expires_on moved to as_of, paid for by the credential id",
			sc:     scenario{s: cli, attrs: noHbA1c, policy: diabetic, issued: "2025-01-01", expires: "2025-12-31"},
			attack: credAlias(schema.FieldExpiresOn, schema.FieldID, day(testfixture.AsOf))},
		{name: "a stale credential's issued_on moved to as_of, paid for by expires_on",
			sc:     scenario{s: cli, attrs: noHbA1c, policy: noMI, issued: "2026-01-15"},
			attack: credAlias(schema.FieldIssuedOn, schema.FieldExpiresOn, day(testfixture.AsOf))},
		{name: "a birth date moved into the age range, paid for by sex",
			sc:     scenario{s: cli, attrs: clinicalWith(t, map[string]any{"birth_date": "1940-01-01"}), policy: clinicalPolicy(`{"attribute":"age","op":"between","value":[18,75]}`)},
			attack: credAlias(schema.AttrField("birth_date"), schema.AttrField("sex"), day("1980-01-01"))},
		{name: "sex moved to female, paid for by the birth date",
			sc:     scenario{s: cli, attrs: clinicalWith(t, map[string]any{"sex": "other"}), policy: clinicalPolicy(`{"attribute":"sex","op":"in","value":["female","male"]}`)},
			attack: credAlias(schema.AttrField("sex"), schema.AttrField("birth_date"), val(1))},
		{name: "coverage status moved to active, paid for by the member id",
			sc:     scenario{s: cov, attrs: withAttrs(t, testfixture.CoverageAttrs, map[string]any{"status": "cancelled"}), policy: coveragePolicy(`{"attribute":"status","op":"eq","value":"active"}`)},
			attack: credAlias(schema.AttrField("status"), schema.AttrField("member_id"), val(1))},

		// compiled policy: the request binding hashes the packed elements, not the fields
		{name: "a state none block read as an event one, paid for by its family's hi",
			sc:     scenario{s: cli, attrs: oldOngoingMI, policy: clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"present_within_days":180}`)},
			attack: polAlias(schema.BlockField("conditions", 0, "kind"), schema.BlockField("conditions", 0, "hi"), val(schema.BlockNoneEvent))},
		{name: "a none window shortened to today, paid for by the next block's on bit",
			sc:     scenario{s: cli, attrs: recentMI, policy: noMI},
			attack: polAlias(schema.BlockField("conditions", 0, "start"), schema.BlockField("conditions", 1, "on"), day(testfixture.AsOf))},
		{name: "a none block switched off, paid for by its family's lo",
			sc:     scenario{s: cli, attrs: recentMI, policy: noMI},
			attack: polAlias(schema.BlockField("conditions", 0, "on"), schema.BlockField("conditions", 0, "lo"), val(0))},
		{name: "a latest value range widened to 12.0, paid for by its lo",
			sc:     scenario{s: cli, attrs: high, policy: latestInRange},
			attack: polAlias(schema.LatestField("observations", 0, "hi"), schema.LatestField("observations", 0, "lo"), val(1200))},
		{name: "max_age raised to unlimited, paid for by as_of",
			sc:     scenario{s: cli, attrs: noHbA1c, policy: noMI, issued: "2026-01-15"},
			attack: polAlias(schema.FieldMaxAge, schema.FieldAsOf, val(1<<schema.WithinBits-1))},
		{name: "an exists slot's status mask gains resolved, paid for by its window start",
			sc: scenario{s: cli, attrs: clinicalWith(t, map[string]any{"conditions": []map[string]any{cond("E11.9", "2015-03-01", "abatement", "2016-01-01", "clinical_status", "resolved")}}),
				policy: diabetic},
			attack: func(t *testing.T, b *built) error {
				b.witness.Lists[conditionsList].Picks[0] = b.openAt(t, conditionsList, 1)
				return polAlias(schema.PickField("conditions", 0, "status/5"), schema.PickField("conditions", 0, "start"), val(1))(t, b)
			}},
		{name: "the payer's set value swapped for the credential's payer, paid for by its neighbour in the pool",
			sc: scenario{s: cov, attrs: withAttrs(t, testfixture.CoverageAttrs, map[string]any{"payer": "BETA"}), policy: coveragePolicy(`{"attribute":"payer","op":"eq","value":"ACME-HEALTH"}`)},
			attack: func(t *testing.T, b *built) error {
				// a neighbour of value/0 in its element pays: the field below it, else the one above
				layout := b.circuit().PolicyLayout(b.decoded.Schema)
				i := layout.Index(schema.SetValueField(0))
				j := i - 1
				if j < 0 || layout.Positions[j].Element != layout.Positions[i].Element {
					j = i + 1
				}
				_, payer, _ := cov.Attribute("payer")
				beta, err := credential.EncodeScalar(payer, "BETA")
				if err != nil {
					t.Fatal(err)
				}
				b.witness.Policy = cloneInts(b.witness.Policy)
				aliasTo(t, layout, b.witness.Policy, schema.SetValueField(0), layout.Fields[j].Name, beta)
				return b.solve(t)
			}},

		// list leaves: the tree root covers the packed leaf, not its fields
		{name: "an opened E11's onset moved into the window, paid for by its code",
			sc:     scenario{s: cli, attrs: testfixture.ClinicalAttrs, policy: clinicalPolicy(`{"list":"conditions","match":"exists","code":["E11"],"within_days":180}`)},
			attack: leafAlias(conds, func(b *built) *circuits.Opening { return &b.witness.Lists[conditionsList].Picks[0] }, 1, schema.LeafDate, schema.LeafCode, day("2026-10-01"))},
		{name: "an opened E11's onset moved into the window, paid for by its abatement",
			sc:     scenario{s: cli, attrs: testfixture.ClinicalAttrs, policy: clinicalPolicy(`{"list":"conditions","match":"exists","code":["E11"],"within_days":180}`)},
			attack: leafAlias(conds, func(b *built) *circuits.Opening { return &b.witness.Lists[conditionsList].Picks[0] }, 1, schema.LeafDate, schema.LeafEnd, day("2026-10-01"))},
		{name: "a resolved E11 read as active, paid for by its verification status",
			sc: scenario{s: cli, attrs: clinicalWith(t, map[string]any{"conditions": []map[string]any{cond("E11.9", "2015-03-01", "abatement", "2016-01-01", "clinical_status", "resolved")}}),
				policy: diabetic},
			attack: leafAlias(conds, func(b *built) *circuits.Opening { return &b.witness.Lists[conditionsList].Picks[0] }, 1, schema.LeafStatus, schema.LeafVerification, val(1))},
		{name: "an unknown abatement read as ongoing for a state window, paid for by the status",
			sc: scenario{s: cli, attrs: clinicalWith(t, map[string]any{"conditions": []map[string]any{cond("E11.9", "2015-03-01", "abatement", "unknown")}}),
				policy: clinicalPolicy(`{"list":"conditions","match":"exists","code":["E11"],"present_within_days":180}`)},
			attack: leafAlias(conds, func(b *built) *circuits.Opening { return &b.witness.Lists[conditionsList].Picks[0] }, 1, schema.LeafEnd, schema.LeafStatus, val(schema.OngoingEnd))},
		{name: "the latest HbA1c's 12.0 read as 8.0, paid for by its date",
			sc: scenario{s: cli, attrs: high, policy: latestInRange},
			attack: leafAlias(observations, func(b *built) *circuits.Opening { return &b.witness.Lists[observationsList].Blocks[0].Low }, -1,
				schema.LeafValue, schema.LeafDate, val(800))},
	}
	runRedteam(t, cases)
}

// leafAlias opens leaf pos of the list (pos < 0: keeps the honest opening) in the opening that
// at selects, and aliases field name of the opened leaf to target, paying in payer.
func leafAlias(l schema.List, at func(b *built) *circuits.Opening, pos int, name, payer string, target func(t *testing.T, b *built) *big.Int) func(t *testing.T, b *built) error {
	return func(t *testing.T, b *built) error {
		o := at(b)
		if pos >= 0 {
			li, _, _ := b.decoded.Schema.List(l.Name)
			*o = b.openAt(t, li, pos)
		}
		aliasTo(t, l.LeafLayout(), o.Leaf, name, payer, target(t, b))
		return b.solve(t)
	}
}

// TestRedteamDigits: a leaf's position is its one-hot digits, one per height. Lies about them:
// weights that are not booleans (selecting the same child through two identical siblings, so the
// path still hashes to the root, while the position and the geometry move), an all-zero digit on
// the sentinel (whose leaf value is 0, so "no child" selects it), and two openings of one leaf.
func TestRedteamDigits(t *testing.T) {
	latest := clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]}`)
	// signing order: the 8.0 (older) at 1, the 12.0 (newer) at 2, padding from 3
	newerHigh := clinicalWith(t, map[string]any{"observations": hba1c(obs{12.0, "2026-11-01"}, obs{8.0, "2026-10-01"})})
	// the MI at 1, J06.9 at 2, padding from 3
	miFirst := clinicalWith(t, map[string]any{"conditions": []map[string]any{cond("I21.4", "2026-09-20"), cond("J06.9", "2020-01-01")}})
	noMI := clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"within_days":180}`)
	runRedteam(t, []redteamCase{
		{name: "a non-boolean digit above the common ancestor lifts the older HbA1c's latest-key past the newer one's",
			sc: scenario{s: cli, attrs: newerHigh, policy: latest},
			attack: func(t *testing.T, b *built) error {
				_, l, _ := cli.List("observations")
				blk := &b.witness.Lists[observationsList].Blocks[0]
				blk.Latest, blk.Low, blk.High = true, b.openAt(t, observationsList, 1), b.openAt(t, observationsList, 3)
				// at height 1 the older entry's ancestor is child 0; children 1 and 2 are
				// all-padding subtrees with equal hashes, so (1, λ, −λ, 0, 0, 0) still selects
				// child 0, sums to 1, and agrees with the high path (digit 0) there; it moves the
				// position to 1 − 6λ = 120001, a latest-key above the newer entry's
				if blk.Low.Children[1][1].Hash != blk.Low.Children[1][2].Hash {
					t.Fatal("children 1 and 2 at height 1 differ: the scenario is not what the attack needs")
				}
				d1, _ := encode.Date("2026-10-01")
				d2, _ := encode.Date("2026-11-01")
				if credential.Key(l, d2, 2) >= credential.Key(l, d1, 120001) {
					t.Fatal("λ too small to lift the key")
				}
				lambda := big.NewInt(-20000)
				return b.solveAssigned(t, func(a *circuits.Circuit) {
					a.Lists[observationsList].Blocks[0].Low.Digits[1] = []frontend.Variable{1, modP(lambda), modP(new(big.Int).Neg(lambda)), 0, 0, 0}
				})
			}},
		{name: "an all-zero digit on the sentinel leaves its siblings (the MI) out of the block",
			sc: scenario{s: cli, attrs: miFirst, policy: noMI},
			attack: func(t *testing.T, b *built) error {
				// the sentinel's leaf value is 0, so digit (0,…,0) selects it at height 0; with the
				// high leaf in the next group (position 6, padding), the sentinel's right siblings
				// are included through its digit, which now includes none of them
				blk := &b.witness.Lists[conditionsList].Blocks[0]
				blk.Low, blk.High = b.openAt(t, conditionsList, 0), b.openAt(t, conditionsList, 6)
				return b.solveAssigned(t, func(a *circuits.Circuit) {
					a.Lists[conditionsList].Blocks[0].Low.Digits[0] = []frontend.Variable{0, 0, 0, 0, 0, 0}
				})
			}},
		{name: "an all-zero digit on the sentinel with a second one-hot digit elsewhere (sum 1, the sentinel read at position 1)",
			sc: scenario{s: cli, attrs: miFirst, policy: noMI},
			attack: func(t *testing.T, b *built) error {
				// (1, 1, 0, 0, 0, 0)·children = sentinel + MI ≠ sentinel; (−1, 1, …) sums to 0: only
				// the one-hot rule forbids the digit that moves the sentinel past the MI
				blk := &b.witness.Lists[conditionsList].Blocks[0]
				blk.Low, blk.High = b.openAt(t, conditionsList, 0), b.openAt(t, conditionsList, 6)
				return b.solveAssigned(t, func(a *circuits.Circuit) {
					a.Lists[conditionsList].Blocks[0].Low.Digits[0] = []frontend.Variable{0, 0, 0, 0, 0, 1}
				})
			}},
		{name: "latest with both openings on the same leaf (equal paths)",
			sc: scenario{s: cli, attrs: newerHigh, policy: latest},
			attack: func(t *testing.T, b *built) error {
				blk := &b.witness.Lists[observationsList].Blocks[0]
				blk.Latest, blk.Low, blk.High = true, b.openAt(t, observationsList, 1), b.openAt(t, observationsList, 1)
				return b.solve(t)
			}},
		{name: "latest mode on the older entry with the high opening left of it",
			sc: scenario{s: cli, attrs: newerHigh, policy: latest},
			attack: func(t *testing.T, b *built) error {
				blk := &b.witness.Lists[observationsList].Blocks[0]
				blk.Latest, blk.Low, blk.High = true, b.openAt(t, observationsList, 1), b.openAt(t, observationsList, 0)
				return b.solve(t)
			}},
	})
}

// geometryRecord is a conditions list laid out so that the I21 family spans positions 61…140 of
// the depth-3 tree: 60 A00 entries below it (the gap block's low leaf is 60, digits 0,4,1), 80
// I21.0NN entries, and five J00 entries above (the high leaf is 141, digits 3,5,3), so the two
// openings' last common ancestor is the root. Family entry k (position 61 + k) has onset onset,
// the others 2019-01-01.
func geometryRecord(t *testing.T, k int, onset string) string {
	var conds []map[string]any
	for i := range 60 {
		conds = append(conds, cond(fmt.Sprintf("A00.0%02d", i), "2019-01-01"))
	}
	for i := range 80 {
		d := "2019-01-01"
		if i == k {
			d = onset
		}
		conds = append(conds, cond(fmt.Sprintf("I21.0%02d", i), d))
	}
	for i := range 5 {
		conds = append(conds, cond(fmt.Sprintf("J00.00%d", i), "2019-01-01"))
	}
	return clinicalWith(t, map[string]any{"conditions": conds})
}

// TestRedteamGeometry: the subtrees strictly between a block's two openings are exactly the right
// siblings of the low path and the left siblings of the high path below their last common
// ancestor, and the children strictly between the two paths at it. A recent MI placed in each of
// those regions in turn (at the leaf level and one level up on each side, and at the root between
// the two paths) defeats the honest witness of "no MI in 180 days"; the same record with that MI
// outside the window is accepted. The depth-4 case puts an ongoing insulin between two openings
// whose common ancestor is the medications tree's root.
func TestRedteamGeometry(t *testing.T) {
	noMI := clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"within_days":180}`)
	var cases []redteamCase
	for _, r := range []struct {
		region string
		pos    int
	}{
		{"the low leaf's right sibling (height 0)", 63},
		{"the low path's right subtree at height 1", 69},
		{"between the two paths at the root", 90},
		{"the high path's left subtree at height 1", 120},
		{"the high leaf's left sibling (height 0)", 139},
	} {
		k := r.pos - 61
		for _, in := range []bool{true, false} {
			onset, what := "2026-10-01", "in the window"
			if !in {
				onset, what = "2026-01-01", "before the window"
			}
			pos := r.pos
			cases = append(cases, redteamCase{
				name:  fmt.Sprintf("MI %s in %s", what, r.region),
				sc:    scenario{s: cli, attrs: geometryRecord(t, k, onset), policy: noMI},
				holds: !in,
				attack: ifFalse(in, func(t *testing.T, b *built) error {
					blk := &b.witness.Lists[conditionsList].Blocks[0]
					if low, high := digitsOf(blk.Low), digitsOf(blk.High); fmt.Sprint(low, high) != "[0 4 1] [3 5 3]" {
						t.Fatalf("honest openings at %v and %v, not the layout the case needs", low, high)
					}
					if got := b.position(t, conditionsList, fmt.Sprintf("I21.0%02d", pos-61)); got != pos {
						t.Fatalf("the MI sits at %d, want %d", got, pos)
					}
					// the block cut short just before the MI: the high leaf is in the family
					blk.High = b.openAt(t, conditionsList, pos-1)
					return b.solve(t)
				})})
		}
	}
	// depth 4: 199 medications below 311041, 240 courses of it, five above; course 100 (position
	// 300) is ongoing, between the openings at 199 (digits 1,3,5,0) and 440 (digits 2,1,0,2)
	insulin := func(ongoing bool) string {
		var meds []map[string]any
		for i := range 199 {
			meds = append(meds, map[string]any{"code": fmt.Sprint(100000 + i), "start": "2015-01-01", "end": "2015-06-01", "status": "completed"})
		}
		first, _ := time.Parse(time.DateOnly, "2015-01-01")
		for i := range 240 {
			start := first.AddDate(0, 0, 3*i)
			m := map[string]any{"code": "311041", "start": start.Format(time.DateOnly), "end": start.AddDate(0, 0, 2).Format(time.DateOnly), "status": "completed"}
			if i == 100 && ongoing {
				m = map[string]any{"code": "311041", "start": start.Format(time.DateOnly), "status": "active"}
			}
			meds = append(meds, m)
		}
		for i := range 5 {
			meds = append(meds, map[string]any{"code": fmt.Sprint(900000 + i), "start": "2015-01-01", "end": "2015-06-01", "status": "completed"})
		}
		return clinicalWith(t, map[string]any{"medications": meds})
	}
	noInsulin := clinicalPolicy(`{"list":"medications","match":"none","code":["311041"],"present_within_days":90}`)
	const medicationsList = 2
	for _, ongoing := range []bool{true, false} {
		cases = append(cases, redteamCase{
			name:  fmt.Sprintf("insulin course between two depth-4 openings whose common ancestor is the root (ongoing %v)", ongoing),
			sc:    scenario{s: cli, attrs: insulin(ongoing), policy: noInsulin},
			holds: !ongoing,
			attack: ifFalse(ongoing, func(t *testing.T, b *built) error {
				blk := &b.witness.Lists[medicationsList].Blocks[0]
				if low, high := digitsOf(blk.Low), digitsOf(blk.High); fmt.Sprint(low, high) != "[1 3 5 0] [2 1 0 2]" {
					t.Fatalf("honest openings at %v and %v, not the layout the case needs", low, high)
				}
				// the root's child holding the course, as the low opening reads it, says nothing
				// in it is present: the root no longer hashes
				blk.Low.Children[3][1].Pres = 0
				return b.solve(t)
			})})
	}
	runRedteam(t, cases)
}

// ifFalse returns attack when the statement is false, and nil (a control case: the honest
// witness of a true statement is accepted) otherwise.
func ifFalse(isFalse bool, attack func(t *testing.T, b *built) error) func(t *testing.T, b *built) error {
	if isFalse {
		return attack
	}
	return nil
}

// digitsOf is an opening's digits, leaf level first.
func digitsOf(o circuits.Opening) []int { return o.Digits }

// TestRedteamAggregates: a block opening reads, per height, each child's greatest latest-key and
// greatest presence; the parent hashes them packed six to two lanes (three 46-bit aggregates,
// key + presence·2^28, per lane, the tag above the first lane's). A lie that moves value between
// two parts of one lane keeps the hash: between a child's key and its own presence, or between
// one child's presence and the next child's key. Each such lie that would hide an entry from
// the block's threshold pushes a part out of its width.
func TestRedteamAggregates(t *testing.T) {
	// E11.9 at 1, the MI at 2, J06.9 at 3: the none block opens 1 and 3, the MI's leaf is child 2
	// of the low opening's height-0 parent, and the only subtree strictly between them
	recentMI := clinicalWith(t, map[string]any{"conditions": []map[string]any{
		cond("E11.9", "2015-03-01"), cond("I21.4", "2026-09-20", "abatement", "2026-10-05", "clinical_status", "resolved"), cond("J06.9", "2020-01-01")}})
	oldOngoingMI := clinicalWith(t, map[string]any{"conditions": []map[string]any{
		cond("E11.9", "2015-03-01"), cond("I21.9", "2019-01-01"), cond("J06.9", "2020-01-01")}})
	noMI := clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"within_days":180}`)
	noMIState := clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"present_within_days":180}`)
	newerHigh := clinicalWith(t, map[string]any{"observations": hba1c(obs{12.0, "2026-11-01"}, obs{8.0, "2026-10-01"})})
	latest := clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]}`)
	two28 := new(big.Int).Lsh(big.NewInt(1), schema.MaxKeyBits)
	// lie edits child j of the low opening's height-0 parent of block 0 of list li
	lie := func(li, j int, edit func(key, pres *big.Int) (k, p *big.Int)) func(t *testing.T, b *built) error {
		return func(t *testing.T, b *built) error {
			o := b.witness.Lists[li].Blocks[0].Low
			key, pres := new(big.Int).SetUint64(o.Children[0][j].Key), new(big.Int).SetUint64(o.Children[0][j].Pres)
			k, p := edit(key, pres)
			if got, want := modP(new(big.Int).Add(k, new(big.Int).Mul(p, two28))), modP(new(big.Int).Add(key, new(big.Int).Mul(pres, two28))); got.Cmp(want) != 0 {
				t.Fatal("the lie changes the packed aggregate")
			}
			return b.solveAssigned(t, func(a *circuits.Circuit) {
				a.Lists[li].Blocks[0].Low.Keys[0][j], a.Lists[li].Blocks[0].Low.Pres[0][j] = modP(k), modP(p)
			})
		}
	}
	runRedteam(t, []redteamCase{
		{name: "event none: the MI's key lowered by 2^28 into its presence, below the window's threshold",
			sc: scenario{s: cli, attrs: recentMI, policy: noMI},
			attack: lie(conditionsList, 2, func(key, pres *big.Int) (*big.Int, *big.Int) {
				return new(big.Int).Sub(key, two28), new(big.Int).Add(pres, big.NewInt(1))
			})},
		{name: "state none: an ongoing MI's presence 2^17 moved into its key, so it reads as never present",
			sc: scenario{s: cli, attrs: oldOngoingMI, policy: noMIState},
			attack: lie(conditionsList, 2, func(key, pres *big.Int) (*big.Int, *big.Int) {
				return new(big.Int).Add(key, new(big.Int).Mul(pres, two28)), new(big.Int)
			})},
		{name: "latest: the newer HbA1c's key lowered by 2^28 into its presence, below the older one's",
			sc: scenario{s: cli, attrs: newerHigh, policy: latest},
			attack: func(t *testing.T, b *built) error {
				blk := &b.witness.Lists[observationsList].Blocks[0]
				blk.Latest, blk.Low, blk.High = true, b.openAt(t, observationsList, 1), b.openAt(t, observationsList, 3)
				return lie(observationsList, 2, func(key, pres *big.Int) (*big.Int, *big.Int) {
					return new(big.Int).Sub(key, two28), new(big.Int).Add(pres, big.NewInt(1))
				})(t, b)
			}},
		{name: "event none: the MI's key zeroed, paid for by the previous child's presence",
			sc: scenario{s: cli, attrs: recentMI, policy: noMI},
			attack: func(t *testing.T, b *built) error {
				// child 1's presence sits at 2^(46+28) and child 2's key at 2^92 in lane 0: the MI's
				// key k moves to child 1's presence as k·2^18
				o := b.witness.Lists[conditionsList].Blocks[0].Low
				key := new(big.Int).SetUint64(o.Children[0][2].Key)
				pres1 := new(big.Int).Add(new(big.Int).SetUint64(o.Children[0][1].Pres), new(big.Int).Lsh(key, schema.AggBits-schema.MaxKeyBits))
				return b.solveAssigned(t, func(a *circuits.Circuit) {
					a.Lists[conditionsList].Blocks[0].Low.Keys[0][2] = 0
					a.Lists[conditionsList].Blocks[0].Low.Pres[0][1] = pres1
				})
			}},
		{name: "event none: the MI's aggregates zeroed (the lane changes)",
			sc: scenario{s: cli, attrs: recentMI, policy: noMI},
			attack: func(t *testing.T, b *built) error {
				return b.solveAssigned(t, func(a *circuits.Circuit) {
					a.Lists[conditionsList].Blocks[0].Low.Keys[0][2], a.Lists[conditionsList].Blocks[0].Low.Pres[0][2] = 0, 0
				})
			}},
	})
}

// TestRedteamBlockKinds: a block's kind (event none, state none, latest), its latest-slot bits and
// its on bit are policy fields: the prover cannot change them without changing the request
// binding, and a kind the compiler never writes (3) checks no less than an event none.
func TestRedteamBlockKinds(t *testing.T) {
	oldOngoingMI := clinicalWith(t, map[string]any{"conditions": []map[string]any{cond("E11.9", "2015-03-01"), cond("I21.9", "2019-01-01")}})
	recentMI := clinicalWith(t, map[string]any{"conditions": []map[string]any{cond("E11.9", "2015-03-01"), cond("I21.4", "2026-10-01")}})
	noMI := clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"within_days":180}`)
	// HbA1c 7.5 % (in both ranges below, 750 ≥ 500), BMI 40 (out of its range)
	twoLatest := clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]},` +
		`{"list":"observations","match":"latest","code":["39156-5"],"value":[5.0,35.0]}`)
	bmi40 := clinicalWith(t, map[string]any{"observations": []map[string]any{
		{"code": "39156-5", "value": 40.0, "unit": "kg/m2", "date": "2026-09-01"},
		{"code": "4548-4", "value": 7.5, "unit": "%", "date": "2026-10-09"}}})
	// keepHash edits policy fields of the witness and keeps the verifier's request binding
	keepHash := func(fields map[string]int64) func(t *testing.T, b *built) error {
		return func(t *testing.T, b *built) error {
			layout := b.circuit().PolicyLayout(b.decoded.Schema)
			b.witness.Policy = cloneInts(b.witness.Policy)
			for name, v := range fields {
				b.witness.Policy[layout.Index(name)] = big.NewInt(v)
			}
			return b.solve(t)
		}
	}
	runRedteam(t, []redteamCase{
		{name: "a state none block turned into an event none in the witness only",
			sc:     scenario{s: cli, attrs: oldOngoingMI, policy: clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"present_within_days":180}`)},
			attack: keepHash(map[string]int64{schema.BlockField("conditions", 0, "kind"): schema.BlockNoneEvent})},
		{name: "a none block switched off in the witness only",
			sc:     scenario{s: cli, attrs: recentMI, policy: noMI},
			attack: keepHash(map[string]int64{schema.BlockField("conditions", 0, "on"): 0})},
		{name: "a none block turned into a latest one on the MI in the witness only",
			sc: scenario{s: cli, attrs: recentMI, policy: noMI},
			attack: func(t *testing.T, b *built) error {
				blk := &b.witness.Lists[conditionsList].Blocks[0]
				blk.Latest, blk.Low = true, b.openAt(t, conditionsList, b.position(t, conditionsList, "I21.4"))
				return keepHash(map[string]int64{schema.BlockField("conditions", 0, "kind"): schema.BlockLatest})(t, b)
			}},
		{name: "a verifier's kind 3 (never compiled) checks no less than an event none",
			sc: scenario{s: cli, attrs: recentMI, policy: noMI},
			attack: func(t *testing.T, b *built) error {
				b.setPolicy(t, map[string]int64{schema.BlockField("conditions", 0, "kind"): 3})
				return b.solve(t)
			}},
		{name: "a verifier's kind 3 block cannot be opened in latest mode",
			sc: scenario{s: cli, attrs: recentMI, policy: noMI},
			attack: func(t *testing.T, b *built) error {
				b.setPolicy(t, map[string]int64{schema.BlockField("conditions", 0, "kind"): 3})
				blk := &b.witness.Lists[conditionsList].Blocks[0]
				blk.Latest, blk.Low = true, b.openAt(t, conditionsList, b.position(t, conditionsList, "I21.4"))
				blk.High = b.openAt(t, conditionsList, b.position(t, conditionsList, "I21.4")+1)
				return b.solve(t)
			}},
		{name: "the HbA1c's latest block counted for the BMI's latest slot too, in the witness only",
			sc: scenario{s: cli, attrs: bmi40, policy: twoLatest},
			attack: func(t *testing.T, b *built) error {
				if b.circuit().ID != "clinical-v2-m" {
					t.Fatalf("two latest slots need clinical-v2-m, got %s", b.circuit().ID)
				}
				// block 0 (HbA1c, latest mode) also answers slot 1; block 1 (BMI) in gap mode, its
				// entries older than the HbA1c
				b.witness.Lists[observationsList].Blocks[1].Latest = false
				b.witness.Lists[observationsList].Blocks[1].Low = b.openAt(t, observationsList, 0)
				return keepHash(map[string]int64{schema.BlockField("observations", 0, "latest/1"): 1})(t, b)
			}},
	})
}

// TestRedteamLatest: a latest slot takes exactly one of its blocks in latest mode, whose low leaf
// is the latest entry of the slot's families: every other entry of them is older by the blocks'
// thresholds.
func TestRedteamLatest(t *testing.T) {
	two := clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4","17856-6"],"value":[7.5,11.0]}`)
	// 4548-4 3.0 % (older), 17856-6 5.0 % (newer, the latest): out of range, though 3.0 + 5.0 is in it
	sumInRange := clinicalWith(t, map[string]any{"observations": []map[string]any{
		{"code": "4548-4", "value": 3.0, "unit": "%", "date": "2026-08-01"},
		{"code": "17856-6", "value": 5.0, "unit": "%", "date": "2026-10-01"}}})
	newerOther := clinicalWith(t, map[string]any{"observations": []map[string]any{
		{"code": "4548-4", "value": 8.0, "unit": "%", "date": "2026-08-01"},
		{"code": "17856-6", "value": 12.0, "unit": "%", "date": "2026-10-01"}}})
	// medications: a newer course of 860975 stopped before the window, an older one ongoing
	meds := clinicalWith(t, map[string]any{"medications": []map[string]any{
		{"code": "860975", "start": "2020-01-01", "status": "active"},
		{"code": "860975", "start": "2026-01-01", "end": "2026-03-01", "status": "stopped"}}})
	latestMed := clinicalPolicy(`{"list":"medications","match":"latest","code":["860975"],"present_within_days":90}`)
	const medicationsList = 2
	blocksOf := func(b *built) []circuits.BlockOpenings { return b.witness.Lists[observationsList].Blocks }
	// 1,293 ongoing other medications and an ongoing 860975 course started in 2010 fill the list;
	// the newer 860975 course (2015, stopped in 2016) was last present longest ago, so the issuer
	// leaves it out and signs complete_since 2016-01-02, after the kept course's start
	overfull := func(t *testing.T, withNewer bool) string {
		ms := []map[string]any{{"code": "860975", "start": "2010-01-01", "status": "active"}}
		if withNewer {
			ms = append(ms, map[string]any{"code": "860975", "start": "2015-01-01", "end": "2016-01-01", "status": "stopped"})
		}
		for i := range 1293 {
			ms = append(ms, map[string]any{"code": fmt.Sprint(1000000 + i), "start": "2020-01-01", "status": "active"})
		}
		return clinicalWith(t, map[string]any{"medications": ms})
	}
	runRedteam(t, []redteamCase{
		{name: "both families' blocks in latest mode (their values sum into the range)",
			sc: scenario{s: cli, attrs: sumInRange, policy: two},
			attack: func(t *testing.T, b *built) error {
				bl := blocksOf(b)
				bl[0].Latest, bl[0].Low = true, b.openAt(t, observationsList, b.position(t, observationsList, "4548-4"))
				bl[1].Latest, bl[1].Low = true, b.openAt(t, observationsList, b.position(t, observationsList, "17856-6"))
				return b.solve(t)
			}},
		{name: "latest mode on the family that does not hold the latest entry",
			sc: scenario{s: cli, attrs: newerOther, policy: two},
			attack: func(t *testing.T, b *built) error {
				bl := blocksOf(b)
				// 17856-6 (178566) sorts after 4548-4 (45484): block 0 is 4548-4's
				bl[0].Latest, bl[0].Low = true, b.openAt(t, observationsList, b.position(t, observationsList, "4548-4"))
				bl[0].High = b.openAt(t, observationsList, b.position(t, observationsList, "4548-4")+1)
				bl[1].Latest, bl[1].Low = false, b.openAt(t, observationsList, b.position(t, observationsList, "4548-4"))
				return b.solve(t)
			}},
		{name: "no block in latest mode",
			sc: scenario{s: cli, attrs: newerOther, policy: two},
			attack: func(t *testing.T, b *built) error {
				for i := range blocksOf(b) {
					blocksOf(b)[i].Latest = false
				}
				return b.solve(t)
			}},
		{name: "a latest medication: the older ongoing course in latest mode",
			sc: scenario{s: cli, attrs: meds, policy: latestMed},
			attack: func(t *testing.T, b *built) error {
				blk := &b.witness.Lists[medicationsList].Blocks[0]
				older := b.position(t, medicationsList, "860975") // signing order: the older first
				blk.Latest, blk.Low, blk.High = true, b.openAt(t, medicationsList, older), b.openAt(t, medicationsList, older+2)
				return b.solve(t)
			}},
		{name: "a latest medication whose newer course the issuer left out for capacity (complete_since after the kept one)",
			sc: scenario{s: cli, attrs: overfull(t, true), policy: latestMed},
			attack: func(t *testing.T, b *built) error {
				c := b.decoded.Attributes.Completeness[medicationsList]
				if c.Incomplete || c.CompleteSince != "2016-01-02" || len(b.decoded.Attributes.Lists[medicationsList]) != 1294 {
					t.Fatalf("the issuer kept %d medications, completeness %+v: not the case the attack needs", len(b.decoded.Attributes.Lists[medicationsList]), c)
				}
				// the honest witness is the attack: it opens the kept course, the only 860975 signed
				// and ongoing, and passes every threshold; only complete_since ≤ its start (the
				// README's rule, stricter than DESIGN.md's "not incomplete") refuses it
				return b.solve(t)
			}},
		{name: "control: the same kept list, nothing left out, holds",
			sc: scenario{s: cli, attrs: overfull(t, false), policy: latestMed}, holds: true},
		{name: "a latest medication: the newer course opened, its window read through the older one's end",
			sc: scenario{s: cli, attrs: meds, policy: latestMed},
			attack: func(t *testing.T, b *built) error {
				_, l, _ := cli.List("medications")
				blk := &b.witness.Lists[medicationsList].Blocks[0]
				older := b.position(t, medicationsList, "860975")
				blk.Latest, blk.Low = true, b.openAt(t, medicationsList, older+1)
				// the newer course's leaf with the ongoing end: not the signed leaf
				blk.Low.Leaf[l.LeafLayout().Index(schema.LeafEnd)] = big.NewInt(schema.OngoingEnd)
				return b.solve(t)
			}},
	})
}

// TestRedteamBoundaries runs the constraint system at the edges of every rule, where an
// off-by-one in the circuit would accept a false statement (or refuse a true one): windows
// (event and state, the day the window starts and the day before, unknown and ongoing ends, a
// window clamped to 1900, a window of 0 days), statuses, completeness, freshness and the scalar
// operators. The native evaluator decides each statement; the honest witness must get the same
// verdict (on a false statement it is the attack: the best witness the prover has).
func TestRedteamBoundaries(t *testing.T) {
	testfixture.Quiet()
	// as of 2026-11-22, a 180-day window starts on 2026-05-26 and a 90-day one on 2026-08-24
	conds := func(cs ...map[string]any) map[string]any { return map[string]any{"conditions": cs} }
	meds := func(ms ...map[string]any) map[string]any { return map[string]any{"medications": ms} }
	med := func(start, end, status string) map[string]any {
		m := map[string]any{"code": "860975", "start": start, "status": status}
		if end != "" {
			m["end"] = end
		}
		return m
	}
	type boundary struct {
		name    string
		s       *schema.Schema
		attrs   map[string]any
		policy  string
		issued  string
		holds   bool
		circuit string
	}
	noMI := `{"list":"conditions","match":"none","code":["I21"],"within_days":180}`
	noMIState := `{"list":"conditions","match":"none","code":["I21"],"present_within_days":180}`
	e11In := `{"list":"conditions","match":"exists","code":["E11"],"within_days":180}`
	e11Present := `{"list":"conditions","match":"exists","code":["E11"],"present_within_days":180}`
	e11 := `{"list":"conditions","match":"exists","code":["E11"]}`
	latest180 := `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`
	latestMed := `{"list":"medications","match":"latest","code":["860975"],"present_within_days":90}`
	aged := func(days int, pred string) string {
		return fmt.Sprintf(`{"schema":"clinical","scope":"trial:test","max_credential_age_days":%d,"predicates":[%s]}`, days, pred)
	}
	cases := []boundary{
		// event windows
		{"none: MI on the window's first day", cli, conds(cond("I21.4", "2026-05-26")), noMI, "", false, ""},
		{"none: MI the day before the window", cli, conds(cond("I21.4", "2026-05-25")), noMI, "", true, ""},
		{"exists: E11 on the window's first day", cli, conds(cond("E11.9", "2026-05-26")), e11In, "", true, ""},
		{"exists: E11 the day before the window", cli, conds(cond("E11.9", "2026-05-25")), e11In, "", false, ""},
		{"latest: HbA1c on the window's first day", cli, map[string]any{"observations": hba1c(obs{8.0, "2026-05-26"})}, latest180, "", true, ""},
		{"latest: HbA1c the day before the window", cli, map[string]any{"observations": hba1c(obs{8.0, "2026-05-25"})}, latest180, "", false, ""},
		// state windows
		{"state none: MI ended on the window's first day", cli, conds(cond("I21.4", "2019-01-01", "abatement", "2026-05-26", "clinical_status", "resolved")), noMIState, "", false, ""},
		{"state none: MI ended the day before the window", cli, conds(cond("I21.4", "2019-01-01", "abatement", "2026-05-25", "clinical_status", "resolved")), noMIState, "", true, ""},
		{"state none: MI ended on an unknown date", cli, conds(cond("I21.4", "2000-01-01", "abatement", "unknown", "clinical_status", "resolved")), noMIState, "", false, ""},
		{"state none: MI ongoing since 2000", cli, conds(cond("I21.4", "2000-01-01")), noMIState, "", false, ""},
		{"state exists: E11 ended on the window's first day", cli, conds(cond("E11.9", "2019-01-01", "abatement", "2026-05-26")), e11Present, "", true, ""},
		{"state exists: E11 ended the day before the window", cli, conds(cond("E11.9", "2019-01-01", "abatement", "2026-05-25")), e11Present, "", false, ""},
		{"state exists: unknown end, onset on the window's first day", cli, conds(cond("E11.9", "2026-05-26", "abatement", "unknown")), e11Present, "", true, ""},
		{"state exists: unknown end, onset the day before", cli, conds(cond("E11.9", "2026-05-25", "abatement", "unknown")), e11Present, "", false, ""},
		{"state exists: ongoing since 2000", cli, conds(cond("E11.9", "2000-01-01")), e11Present, "", true, ""},
		{"state latest: the latest course ended on the window's first day", cli, meds(med("2020-01-01", "", "active"), med("2026-01-01", "2026-08-24", "stopped")), latestMed, "", true, ""},
		{"state latest: the latest course ended the day before", cli, meds(med("2020-01-01", "", "active"), med("2026-01-01", "2026-08-23", "stopped")), latestMed, "", false, ""},
		// windows at the ends of the encoding
		{"none over 60000 days (clamped to 1900): an MI in 1901", cli, conds(cond("I21.4", "1901-01-01")), `{"list":"conditions","match":"none","code":["I21"],"within_days":60000}`, "", false, ""},
		{"none over 60000 days: no MI", cli, conds(cond("E11.9", "1901-01-01")), `{"list":"conditions","match":"none","code":["I21"],"within_days":60000}`, "", true, ""},
		{"none over 0 days: MI on as_of", cli, conds(cond("I21.4", testfixture.AsOf)), `{"list":"conditions","match":"none","code":["I21"],"within_days":0}`, testfixture.AsOf, false, ""},
		{"none over 0 days: MI the day before", cli, conds(cond("I21.4", "2026-11-21")), `{"list":"conditions","match":"none","code":["I21"],"within_days":0}`, testfixture.AsOf, true, ""},
		// completeness
		{"none: complete since the window's first day", cli, map[string]any{"completeness": since("conditions", "2026-05-26")}, noMI, "", true, ""},
		{"none: complete since the day after", cli, map[string]any{"completeness": since("conditions", "2026-05-27")}, noMI, "", false, ""},
		{"none without a window: complete since 1900-01-01 (nothing left out)", cli, map[string]any{"completeness": since("conditions", "1900-01-01")}, `{"list":"conditions","match":"none","code":["I21"]}`, "", true, ""},
		{"none without a window: complete since 1900-01-02", cli, map[string]any{"completeness": since("conditions", "1900-01-02")}, `{"list":"conditions","match":"none","code":["I21"]}`, "", false, ""},
		// statuses (exists counts confirmed active, recurrence, relapse by default)
		{"exists: a relapse counts", cli, conds(cond("E11.9", "2015-03-01", "clinical_status", "relapse")), e11, "", true, ""},
		{"exists: an inactive one does not", cli, conds(cond("E11.9", "2015-03-01", "clinical_status", "inactive")), e11, "", false, ""},
		{"exists: a provisional one does not", cli, conds(cond("E11.9", "2015-03-01", "verification_status", "provisional")), e11, "", false, ""},
		{"exists status resolved: a resolved one", cli, conds(cond("E11.9", "2015-03-01", "abatement", "2016-01-01", "clinical_status", "resolved")), `{"list":"conditions","match":"exists","code":["E11"],"status":["resolved"]}`, "", true, ""},
		{"exists status resolved: an active one", cli, conds(cond("E11.9", "2015-03-01")), `{"list":"conditions","match":"exists","code":["E11"],"status":["resolved"]}`, "", false, ""},
		{"exists: an on-hold medication does not count", cli, meds(med("2020-01-01", "", "on-hold")), `{"list":"medications","match":"exists","code":["860975"]}`, "", false, ""},
		{"exists status on-hold: it does", cli, meds(med("2020-01-01", "", "on-hold")), `{"list":"medications","match":"exists","code":["860975"],"status":["on-hold"]}`, "", true, ""},
		// freshness
		{"max age 0: issued on as_of", cli, nil, aged(0, e11), testfixture.AsOf, true, ""},
		{"max age 0: issued the day before", cli, nil, aged(0, e11), "2026-11-21", false, ""},
		{"max age 400: issued 400 days before", cli, map[string]any{"observations": hba1c()}, aged(400, e11), "2025-10-18", true, ""},
		{"max age 400: issued 401 days before", cli, map[string]any{"observations": hba1c()}, aged(400, e11), "2025-10-17", false, ""},
		// scalar operators
		{"ne: equal", cli, nil, `{"attribute":"sex","op":"ne","value":"male"}`, "", false, ""},
		{"ne: different", cli, map[string]any{"sex": "female"}, `{"attribute":"sex","op":"ne","value":"male"}`, "", true, ""},
		{"not_between: on the low end", cli, map[string]any{"birth_date": "1970-01-01"}, `{"attribute":"birth_date","op":"not_between","value":["1970-01-01","1980-12-31"]}`, "", false, ""},
		{"not_between: the day before", cli, map[string]any{"birth_date": "1969-12-31"}, `{"attribute":"birth_date","op":"not_between","value":["1970-01-01","1980-12-31"]}`, "", true, ""},
		{"not_between: on the high end", cli, map[string]any{"birth_date": "1980-12-31"}, `{"attribute":"birth_date","op":"not_between","value":["1970-01-01","1980-12-31"]}`, "", false, ""},
		{"not_between: the day after", cli, map[string]any{"birth_date": "1981-01-01"}, `{"attribute":"birth_date","op":"not_between","value":["1970-01-01","1980-12-31"]}`, "", true, ""},
		{"not_in: the last value of the set", cov, map[string]any{"payer": "BETA"}, `{"attribute":"payer","op":"not_in","value":["ACME-HEALTH","BETA"]}`, "", false, ""},
		{"not_in: outside", cov, map[string]any{"payer": "GAMMA"}, `{"attribute":"payer","op":"not_in","value":["ACME-HEALTH","BETA"]}`, "", true, ""},
		{"two set predicates sharing a pooled value", cov, map[string]any{"plan": "A"}, `{"attribute":"payer","op":"in","value":["A","B"]},{"attribute":"plan","op":"in","value":["B","C"]}`, "", false, ""},
		{"two set predicates sharing a pooled value, both hold", cov, map[string]any{"payer": "B", "plan": "B"}, `{"attribute":"payer","op":"in","value":["A","B"]},{"attribute":"plan","op":"in","value":["B","C"]}`, "", true, ""},
		{"gt the day before 2099-12-31", cov, map[string]any{"period_end": "2099-12-31"}, `{"attribute":"period_end","op":"gt","value":"2099-12-30"}`, "", true, ""},
		{"age eq 50 on the 50th birthday", cli, map[string]any{"birth_date": "1976-11-22"}, `{"attribute":"age","op":"eq","value":50}`, "", true, ""},
		{"age eq 50 a day before the 50th birthday", cli, map[string]any{"birth_date": "1976-11-23"}, `{"attribute":"age","op":"eq","value":50}`, "", false, ""},
		{"age eq 50 on the 51st birthday", cli, map[string]any{"birth_date": "1975-11-22"}, `{"attribute":"age","op":"eq","value":50}`, "", false, ""},
		// the largest rungs hold the same semantics
		{"clinical-v2-l: none MI on the window's first day", cli, conds(cond("I21.4", "2026-05-26")), noMI, "", false, "clinical-v2-l"},
		{"coverage-v2-l: none AL", cov, nil, `{"list":"service_categories","match":"none","code":["AL"]}`, "", false, "coverage-v2-l"},
		{"coverage-v2-l: none AM", cov, nil, `{"list":"service_categories","match":"none","code":["AM"]}`, "", true, "coverage-v2-l"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base, pol := testfixture.CoverageAttrs, coveragePolicy(tc.policy)
			if tc.s.ID == "clinical" {
				base, pol = testfixture.ClinicalAttrs, clinicalPolicy(tc.policy)
			}
			if strings.HasPrefix(tc.policy, `{"schema"`) {
				pol = tc.policy
			}
			b := scenario{s: tc.s, attrs: withAttrs(t, base, tc.attrs), policy: pol, issued: tc.issued, circuit: tc.circuit}.build(t)
			if got := nativeHolds(t, b); got != tc.holds {
				t.Fatalf("native evaluation says holds=%v, the case declares %v", got, tc.holds)
			}
			if err := b.solve(t); (err == nil) != tc.holds {
				t.Fatalf("constraint system: %v, want holds=%v", err, tc.holds)
			}
		})
	}
}

// TestRedteamScalars: attacks on scalar slots. A verifier's policy that names no attribute (a
// target past the schema's) must not make a negated predicate vacuously true; a hashed attribute
// never passes the comparator (only equality is provable on it); a lying comparator hint cannot
// decide an interval either way.
func TestRedteamScalars(t *testing.T) {
	sexNotOther := clinicalPolicy(`{"attribute":"sex","op":"ne","value":"other"}`)
	other := clinicalWith(t, map[string]any{"sex": "other"})
	inside := clinicalWith(t, map[string]any{"birth_date": "1976-01-16"})
	notBetween := clinicalPolicy(`{"attribute":"birth_date","op":"not_between","value":["1970-01-01","1980-12-31"]}`)
	lte := coveragePolicy(`{"attribute":"period_start","op":"lte","value":"2026-11-22"}`)
	late := withAttrs(t, testfixture.CoverageAttrs, map[string]any{"period_start": "2026-11-23"})
	ge := solver.GetHintID(circuits.GreaterOrEqualHint)
	answer := func(f func(a, b *big.Int) int64) solver.Option {
		return solver.OverrideHint(ge, func(_ *big.Int, in, out []*big.Int) error {
			out[0].SetInt64(f(in[0], in[1]))
			return nil
		})
	}
	runRedteam(t, []redteamCase{
		{name: "a negated set slot whose target names no attribute (a verifier's policy)",
			sc: scenario{s: cli, attrs: other, policy: sexNotOther},
			attack: func(t *testing.T, b *built) error {
				// with no selector set, x reads 0, which is in no set: "not in" would hold
				b.setPolicy(t, map[string]int64{schema.ScalarField(0, "target"): 1<<schema.TargetBits - 1})
				return b.solve(t)
			}},
		{name: "a not_between on a hashed attribute (a verifier's policy: the payer's hash outside [0, 0])",
			sc: scenario{s: cov, attrs: withAttrs(t, testfixture.CoverageAttrs, map[string]any{"payer": "BETA"}), policy: coveragePolicy(`{"attribute":"payer","op":"eq","value":"ACME-HEALTH"}`)},
			attack: func(t *testing.T, b *built) error {
				b.setPolicy(t, map[string]int64{schema.ScalarField(0, "set"): 0, schema.ScalarField(0, "negate"): 1,
					schema.ScalarField(0, "lo"): 0, schema.ScalarField(0, "hi"): 0})
				return b.solve(t)
			}},
		{name: "not_between inside the interval, the comparator always answering no",
			sc:     scenario{s: cli, attrs: inside, policy: notBetween},
			attack: func(t *testing.T, b *built) error { return b.solve(t, answer(func(_, _ *big.Int) int64 { return 0 })) }},
		{name: "not_between inside the interval, the comparator answering the opposite of the truth",
			sc: scenario{s: cli, attrs: inside, policy: notBetween},
			attack: func(t *testing.T, b *built) error {
				return b.solve(t, answer(func(a, b *big.Int) int64 {
					if a.Cmp(b) >= 0 {
						return 0
					}
					return 1
				}))
			}},
		{name: "lte a day late, the comparator always answering yes",
			sc:     scenario{s: cov, attrs: late, policy: lte},
			attack: func(t *testing.T, b *built) error { return b.solve(t, answer(func(_, _ *big.Int) int64 { return 1 })) }},
		{name: "lte a day late, the comparator answering 2",
			sc:     scenario{s: cov, attrs: late, policy: lte},
			attack: func(t *testing.T, b *built) error { return b.solve(t, answer(func(_, _ *big.Int) int64 { return 2 })) }},
		{name: "a stale credential, the comparator always answering yes (freshness)",
			sc:     scenario{s: cli, attrs: clinicalWith(t, map[string]any{"observations": hba1c()}), policy: clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"within_days":180}`), issued: "2026-01-15"},
			attack: func(t *testing.T, b *built) error { return b.solve(t, answer(func(_, _ *big.Int) int64 { return 1 })) }},
	})
}

// TestRedteamHintsLie: a prover chooses every hint output. For each hint the constraint system
// uses (but the BSB22 commitment, which the Groth16 prover computes and the solver draws at
// random here, as Fiat–Shamir would), three lies (every output + 1, every output flipped as a
// bit, every output 0) are told on false statements of each kind; none is accepted.
func TestRedteamHintsLie(t *testing.T) {
	testfixture.Quiet()
	falses := []scenario{
		{s: cli, attrs: clinicalWith(t, map[string]any{"observations": hba1c(obs{12.0, "2026-11-01"}, obs{8.0, "2026-10-01"})}),
			policy: clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]}`)},
		{s: cli, attrs: clinicalWith(t, map[string]any{"conditions": []map[string]any{cond("I21.4", "2026-10-01")}}),
			policy: clinicalPolicy(`{"list":"conditions","match":"none","code":["I21"],"within_days":180}`)},
		{s: cli, attrs: clinicalWith(t, map[string]any{"conditions": []map[string]any{cond("E11.9", "2015-03-01", "verification_status", "differential")}}),
			policy: clinicalPolicy(`{"list":"conditions","match":"exists","code":["E11"]}`)},
		{s: cov, attrs: withAttrs(t, testfixture.CoverageAttrs, map[string]any{"period_start": "2026-11-23"}),
			policy: coveragePolicy(`{"attribute":"period_start","op":"lte","value":"2026-11-22"}`)},
		{s: cli, attrs: clinicalWith(t, map[string]any{"observations": hba1c()}), issued: "2025-01-01", expires: "2025-12-31",
			policy: clinicalPolicy(`{"list":"conditions","match":"exists","code":["E11"]}`)},
	}
	registered := map[solver.HintID]solver.Hint{}
	for _, h := range solver.GetRegisteredHints() {
		registered[solver.GetHintID(h)] = h
	}
	lies := map[string]func(out []*big.Int){
		"+1":   func(out []*big.Int) { forEach(out, func(x *big.Int) { x.Add(x, big.NewInt(1)) }) },
		"flip": func(out []*big.Int) { forEach(out, func(x *big.Int) { x.Sub(big.NewInt(1), x) }) },
		"zero": func(out []*big.Int) { forEach(out, func(x *big.Int) { x.SetInt64(0) }) },
	}
	tried := 0
	for i, sc := range falses {
		b := sc.build(t)
		if nativeHolds(t, b) {
			t.Fatalf("scenario %d holds natively", i)
		}
		ccs := r1csOf(t, b.decoded.Schema, b.circuit())
		deps := hintDependencies(t, ccs)
		if len(deps) < 5 {
			t.Fatalf("only %d hints in the constraint system", len(deps))
		}
		for id, name := range deps {
			if name == "github.com/consensys/gnark/frontend/cs.Bsb22CommitmentComputePlaceholder" {
				continue
			}
			honest, ok := registered[id]
			if !ok {
				t.Fatalf("hint %s not registered", name)
			}
			for lie, edit := range lies {
				liar := func(mod *big.Int, in, out []*big.Int) error {
					if err := honest(mod, in, out); err != nil {
						return err
					}
					edit(out)
					return nil
				}
				tried++
				if err := b.solve(t, solver.OverrideHint(id, liar)); err == nil {
					t.Errorf("scenario %d: hint %s lying (%s): false statement accepted", i, name, lie)
				}
			}
		}
	}
	t.Logf("%d lying solves refused", tried)
}

// hintDependencies are the hints a compiled BN254 R1CS calls, by id, with their names.
func hintDependencies(t *testing.T, ccs constraint.ConstraintSystem) map[solver.HintID]string {
	t.Helper()
	r, ok := ccs.(*cs.R1CS)
	if !ok {
		t.Fatalf("constraint system %T is not a BN254 R1CS", ccs)
	}
	return r.MHintsDependencies
}

func forEach(xs []*big.Int, f func(*big.Int)) {
	for _, x := range xs {
		f(x)
	}
}

// TestRedteamEverythingBound: everything the circuit reads from the prover is bound by the
// request binding (the compiled policy), the issuer's signature (the credential vector) or a
// list root (the openings), so changing any one value, within its width, of an honest witness of
// a true statement is refused, the public inputs kept. Every field of the compiled policy of the
// small rungs and of clinical-v2-m, every credential field, and every leaf field, sibling hash,
// aggregate and lane of every opening of the small rungs.
func TestRedteamEverythingBound(t *testing.T) {
	testfixture.Quiet()
	for _, sc := range []scenario{
		{s: cov, attrs: testfixture.CoverageAttrs, policy: testfixture.CoveragePolicy},
		{s: cli, attrs: testfixture.ClinicalAttrs, policy: testfixture.ClinicalPolicy},
		{s: cli, attrs: testfixture.ClinicalAttrs, policy: testfixture.ClinicalPolicy, circuit: "clinical-v2-m"},
	} {
		b := sc.build(t)
		id := b.circuit().ID
		t.Run(id, func(t *testing.T) {
			if err := b.solve(t); err != nil {
				t.Fatalf("honest witness rejected: %v", err)
			}
			honest := *b.witness
			tried := 0
			refused := func(what string, edit func(w *circuits.Witness)) {
				t.Helper()
				w := honest
				edit(&w)
				tried++
				if solve(t, b.decoded.Schema, b.circuit(), &w) == nil {
					t.Errorf("%s changed: accepted", what)
				}
			}
			pl := b.circuit().PolicyLayout(b.decoded.Schema)
			for i, f := range pl.Fields {
				refused("policy field "+f.Name, func(w *circuits.Witness) {
					w.Policy = cloneInts(w.Policy)
					w.Policy[i] = changed(w.Policy[i], f.Bits)
				})
			}
			cl := b.decoded.Schema.CredentialLayout()
			for i, f := range cl.Fields {
				refused("credential field "+f.Name, func(w *circuits.Witness) {
					w.Credential = cloneInts(w.Credential)
					w.Credential[i] = changed(w.Credential[i], f.Bits)
				})
			}
			if id == "clinical-v2-m" {
				t.Logf("%d single changes refused", tried)
				return
			}
			for li, l := range b.decoded.Schema.Lists {
				lo := honest.Lists[li]
				openings := map[string]func(ls []circuits.ListOpenings) *circuits.Opening{}
				for j := range lo.Picks {
					openings[fmt.Sprintf("pick %d", j)] = func(ls []circuits.ListOpenings) *circuits.Opening { return &ls[li].Picks[j] }
				}
				for k := range lo.Blocks {
					openings[fmt.Sprintf("block %d low", k)] = func(ls []circuits.ListOpenings) *circuits.Opening { return &ls[li].Blocks[k].Low }
					openings[fmt.Sprintf("block %d high", k)] = func(ls []circuits.ListOpenings) *circuits.Opening { return &ls[li].Blocks[k].High }
				}
				for name, at := range openings {
					o := at(honest.Lists)
					what := fmt.Sprintf("%s %s", l.Name, name)
					for fi, f := range l.LeafLayout().Fields {
						refused(what+" leaf "+f.Name, func(w *circuits.Witness) {
							w.Lists = cloneLists(w.Lists)
							leaf := at(w.Lists).Leaf
							leaf[fi] = changed(leaf[fi], f.Bits)
						})
					}
					for h := range o.Children {
						sib := (o.Digits[h] + 1) % schema.Arity
						refused(fmt.Sprintf("%s height %d sibling hash", what, h), func(w *circuits.Witness) {
							w.Lists = cloneLists(w.Lists)
							at(w.Lists).Children[h][sib].Hash.SetUint64(7)
						})
						refused(fmt.Sprintf("%s height %d sibling key", what, h), func(w *circuits.Witness) {
							w.Lists = cloneLists(w.Lists)
							at(w.Lists).Children[h][sib].Key ^= 1
						})
						refused(fmt.Sprintf("%s height %d sibling presence", what, h), func(w *circuits.Witness) {
							w.Lists = cloneLists(w.Lists)
							at(w.Lists).Children[h][sib].Pres ^= 1
						})
						// another digit is another opening, honest when it selects an identical
						// sibling (padding beside padding): change it only to one that differs
						if other := differentSibling(o, h); other >= 0 {
							refused(fmt.Sprintf("%s height %d digit", what, h), func(w *circuits.Witness) {
								w.Lists = cloneLists(w.Lists)
								at(w.Lists).Digits[h] = other
							})
						}
					}
				}
			}
			t.Logf("%d single changes refused", tried)
		})
	}
}

// differentSibling is the first child at height h whose node differs from the opening's own, or
// -1.
func differentSibling(o *circuits.Opening, h int) int {
	own := o.Children[h][o.Digits[h]]
	for j, c := range o.Children[h] {
		if c != own {
			return j
		}
	}
	return -1
}

// changed returns another value of a field of the given width (0: a full field element).
func changed(v *big.Int, bits int) *big.Int {
	if bits == 0 {
		return modP(new(big.Int).Add(v, big.NewInt(1)))
	}
	return new(big.Int).Xor(v, big.NewInt(1))
}

// cloneLists deep-copies list openings so that one case's edit stays in its witness.
func cloneLists(ls []circuits.ListOpenings) []circuits.ListOpenings {
	cp := func(o circuits.Opening) circuits.Opening {
		out := circuits.Opening{Leaf: cloneInts(o.Leaf), Digits: append([]int(nil), o.Digits...)}
		for _, c := range o.Children {
			out.Children = append(out.Children, append(c[:0:0], c...))
		}
		return out
	}
	out := make([]circuits.ListOpenings, len(ls))
	for i, l := range ls {
		for _, p := range l.Picks {
			out[i].Picks = append(out[i].Picks, cp(p))
		}
		for _, b := range l.Blocks {
			out[i].Blocks = append(out[i].Blocks, circuits.BlockOpenings{Low: cp(b.Low), High: cp(b.High), Latest: b.Latest})
		}
	}
	return out
}

// TestRedteamPublicInputs: each public input the verifier rebuilds is bound (the challenge is
// checked on real Groth16 proofs in verifier.TestPublicInputsBound: any value solves here): the
// request binding of the same policy for another rung or another as-of date, the nullifier for
// another scope or of another holder, and the issuer key negated ((−x, y) on the twisted Edwards
// curve) are each refused with an otherwise honest witness of a true statement.
func TestRedteamPublicInputs(t *testing.T) {
	sc := scenario{s: cli, attrs: testfixture.ClinicalAttrs, policy: testfixture.ClinicalPolicy}
	runRedteam(t, []redteamCase{
		{name: "the request binding of the same policy laid out for clinical-v2-m",
			sc: sc, holds: true,
			attack: func(t *testing.T, b *built) error {
				m, _ := cli.Circuit("clinical-v2-m")
				a, err := b.compiled.For(m)
				if err != nil {
					t.Fatal(err)
				}
				b.witness.PolicyHash = a.Hash
				return b.solve(t)
			}},
		{name: "the request binding of the same policy as of the next day",
			sc: sc, holds: true,
			attack: func(t *testing.T, b *built) error {
				c, err := testfixture.Policy(t, testfixture.ClinicalPolicy).Compile("2026-11-23")
				if err != nil {
					t.Fatal(err)
				}
				b.witness.PolicyHash = c.Assigned.Hash
				return b.solve(t)
			}},
		{name: "the nullifier for another scope",
			sc: sc, holds: true,
			attack: func(t *testing.T, b *built) error {
				b.witness.Nullifier = fieldhash.Nullifier(b.witness.HolderSecret, fieldhash.String("trial:another"))
				return b.solve(t)
			}},
		{name: "the nullifier of another holder in the same scope",
			sc: sc, holds: true,
			attack: func(t *testing.T, b *built) error {
				other, _ := credential.GenerateHolderKey(nil)
				b.witness.Nullifier = other.Nullifier(b.compiled.Scope)
				return b.solve(t)
			}},
		{name: "the issuer key negated",
			sc: sc, holds: true,
			attack: func(t *testing.T, b *built) error {
				b.witness.Issuer.A.X.Neg(&b.witness.Issuer.A.X)
				return b.solve(t)
			}},
	})
}

// TestRedteamFamilies: the low sentinel (leaf code 0) and the padding (2^bits + 1) lie in no
// family, even one a verifier's buggy compiler wrote down to code 0 (TestSentinelsMatchNoFamily
// covers exists slots; this covers family blocks, where the sentinel could pose as a latest entry
// of value 0 dated 1900).
func TestRedteamFamilies(t *testing.T) {
	noObservations := clinicalWith(t, map[string]any{"observations": hba1c()})
	runRedteam(t, []redteamCase{
		{name: "a latest block whose family is the sentinel's code, the sentinel opened as the latest entry",
			sc: scenario{s: cli, attrs: noObservations, policy: clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4"],"value":[0,11.0]}`)},
			attack: func(t *testing.T, b *built) error {
				b.setPolicy(t, map[string]int64{schema.BlockField("observations", 0, "lo"): 0, schema.BlockField("observations", 0, "hi"): 0})
				blk := &b.witness.Lists[observationsList].Blocks[0]
				blk.Latest, blk.Low, blk.High = true, b.openAt(t, observationsList, 0), b.openAt(t, observationsList, 1)
				return b.solve(t)
			}},
		{name: "a latest block whose family is the padding's code, a padding leaf opened as the latest entry",
			sc: scenario{s: cli, attrs: noObservations, policy: clinicalPolicy(`{"list":"observations","match":"latest","code":["4548-4"],"value":[0,11.0]}`)},
			attack: func(t *testing.T, b *built) error {
				_, l, _ := cli.List("observations")
				pad := int64(credential.PaddingCode(l))
				b.setPolicy(t, map[string]int64{schema.BlockField("observations", 0, "lo"): pad, schema.BlockField("observations", 0, "hi"): pad})
				blk := &b.witness.Lists[observationsList].Blocks[0]
				last := l.Leaves() - 1
				blk.Latest, blk.Low, blk.High = true, b.openAt(t, observationsList, last-1), b.openAt(t, observationsList, last)
				return b.solve(t)
			}},
	})
}
