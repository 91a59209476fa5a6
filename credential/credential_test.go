package credential_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		schema *schema.Schema
		attrs  string
	}{
		{schema.Coverage(), testfixture.CoverageAttrs},
		{schema.Clinical(), testfixture.ClinicalAttrs},
	}
	rnd := seeded(t)
	for _, tt := range tests {
		t.Run(tt.schema.ID, func(t *testing.T) {
			is := issue(t, rnd, tt.schema, tt.attrs)
			c := is.cred
			if c.Version != credential.Version || c.Schema != tt.schema.ID || c.Issuer != is.issuer.PublicHex() ||
				c.IssuedOn != issuedOn || c.ExpiresOn != expiresOn || len(c.Completeness) != len(tt.schema.Lists) {
				t.Errorf("credential header = %+v", c)
			}
			if c.HolderCommitment != fieldhash.Hex(is.holder.Commitment()) {
				t.Errorf("holder_commitment %s, want the holder's", c.HolderCommitment)
			}
			if len(c.ID) != 32 || strings.ToLower(c.ID) != c.ID {
				t.Errorf("id %q is not 16 bytes of lower-case hex", c.ID)
			}
			data := marshal(t, c)
			d, err := decodeVerify(data)
			if err != nil {
				t.Fatalf("issued credential does not verify: %v", err)
			}
			if d.Schema.ID != tt.schema.ID || d.Header.IssuedOn != issuedOn || d.Header.ExpiresOn != expiresOn {
				t.Errorf("decoded header = %+v", d.Header)
			}
			if hc := is.holder.Commitment(); !d.Header.HolderCommitment.Equal(&hc) {
				t.Errorf("decoded holder commitment differs")
			}
			if hex.EncodeToString(d.Header.ID[:]) != c.ID {
				t.Errorf("decoded id differs")
			}
			if pub := is.issuer.Public(); !d.Issuer.Equal(&pub) {
				t.Errorf("decoded issuer differs")
			}

			// The decoded values are the attributes' values, and the commitment theirs.
			a, err := credential.ParseAttributes(tt.schema, []byte(tt.attrs))
			if err != nil {
				t.Fatal(err)
			}
			want, err := a.Values(d.Header)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(want) != fmt.Sprint(d.Values) {
				t.Errorf("decoded values %v, want %v", d.Values, want)
			}
			cm, err := credential.Commitment(tt.schema, d.Values)
			if err != nil || !cm.Equal(&d.Commitment) {
				t.Errorf("Commitment = %v, %v; decoded %v", cm.String(), err, d.Commitment.String())
			}
			if got := valueOf(d, schema.FieldHolder); got.Cmp(d.Header.HolderCommitment.BigInt(new(big.Int))) != 0 {
				t.Errorf("holder field = %v", got)
			}
			if got, _ := encode.Date(issuedOn); valueOf(d, schema.FieldIssuedOn).Uint64() != got {
				t.Errorf("issued_on field = %v", valueOf(d, schema.FieldIssuedOn))
			}
			if got := valueOf(d, schema.FieldID); got.Cmp(new(big.Int).SetBytes(d.Header.ID[:])) != 0 {
				t.Errorf("id field = %v", got)
			}

			// Marshal is stable: the decoded credential re-issues to the same file.
			again, err := credential.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if string(marshal(t, again)) != string(data) {
				t.Errorf("Marshal(Parse(data)) != data")
			}
		})
	}
}

// TestRoundTripValues pins the encoded values of the CLI.md examples: the credential vector's
// scalars, lengths and completeness, and the leaves its list roots commit to (entries in signing
// order: by code, then date; a leaf's code is the entry's + 1, so the sentinel's 0 lies below).
func TestRoundTripValues(t *testing.T) {
	rnd := seeded(t)
	cov := issue(t, rnd, schema.Coverage(), testfixture.CoverageAttrs)
	d, err := decodeVerify(marshal(t, cov.cred))
	if err != nil {
		t.Fatal(err)
	}
	payer := fieldhash.String("ACME-HEALTH")
	date := func(s string) uint64 { v, _ := encode.Date(s); return v }
	x12 := func(s string) uint64 { v, _ := encode.X12(s); return v }
	checks := []struct {
		d     *credential.Decoded
		field string
		want  *big.Int
	}{
		{d, schema.AttrField("payer"), payer.BigInt(new(big.Int))},
		{d, schema.AttrField("status"), big.NewInt(1)},
		{d, schema.AttrField("period_start"), new(big.Int).SetUint64(date("2026-01-01"))},
		{d, schema.AttrField("period_end"), new(big.Int).SetUint64(date("2026-12-31"))},
		{d, schema.LengthField("service_categories"), big.NewInt(13)},
		{d, schema.IncompleteField("service_categories"), big.NewInt(0)},
		{d, schema.CompleteSinceField("service_categories"), big.NewInt(0)},
	}
	cli := issue(t, rnd, schema.Clinical(), testfixture.ClinicalAttrs)
	dc, err := decodeVerify(marshal(t, cli.cred))
	if err != nil {
		t.Fatal(err)
	}
	checks = append(checks, []struct {
		d     *credential.Decoded
		field string
		want  *big.Int
	}{
		{dc, schema.AttrField("birth_date"), new(big.Int).SetUint64(date("1976-01-16"))},
		{dc, schema.AttrField("sex"), big.NewInt(2)},
		{dc, schema.LengthField("conditions"), big.NewInt(2)},
		{dc, schema.LengthField("medications"), big.NewInt(1)},
	}...)
	for _, c := range checks {
		if got := valueOf(c.d, c.field); got.Cmp(c.want) != 0 {
			t.Errorf("%s %s = %v, want %v", c.d.Schema.ID, c.field, got, c.want)
		}
	}

	icd := func(s string) uint64 { v, _ := encode.ICD10(s); return v }
	_, sc, _ := d.Schema.List("service_categories")
	leaves := []struct {
		d     *credential.Decoded
		list  string
		pos   int // leaf position: 0 the sentinel, entries from 1
		field string
		want  uint64
	}{
		{d, "service_categories", 0, schema.LeafCode, 0},
		{d, "service_categories", 1, schema.LeafCode, x12("1") + 1},
		{d, "service_categories", 2, schema.LeafCode, x12("30") + 1},
		{d, "service_categories", 13, schema.LeafCode, x12("UC") + 1},
		{d, "service_categories", 14, schema.LeafCode, credential.PaddingCode(sc)},
		{dc, "conditions", 1, schema.LeafCode, icd("E11.9") + 1},
		{dc, "conditions", 1, schema.LeafDate, date("2015-03-01")},
		{dc, "conditions", 1, schema.LeafEnd, schema.OngoingEnd},
		{dc, "conditions", 1, schema.LeafStatus, 1},       // active
		{dc, "conditions", 1, schema.LeafVerification, 1}, // confirmed
		{dc, "conditions", 2, schema.LeafCode, icd("I10") + 1},
		{dc, "observations", 1, schema.LeafCode, 45484 + 1}, // LOINC digits
		{dc, "observations", 1, schema.LeafValue, 750},      // 7.5 % × 100
		{dc, "observations", 2, schema.LeafValue, 3000},     // 30 kg/m2 × 100
		{dc, "medications", 1, schema.LeafCode, 860975 + 1}, // RxNorm id
		{dc, "medications", 1, schema.LeafStatus, 1},        // active
	}
	for _, c := range leaves {
		li, l, _ := c.d.Schema.List(c.list)
		all, err := c.d.Attributes.ListLeaves(li)
		if err != nil {
			t.Fatal(err)
		}
		if got := all[c.pos][l.LeafLayout().Index(c.field)]; got.Uint64() != c.want {
			t.Errorf("%s leaf %d %s = %v, want %d", c.list, c.pos, c.field, got, c.want)
		}
	}
	// the signed root is the tree of those leaves
	for _, dd := range []*credential.Decoded{d, dc} {
		for li, l := range dd.Schema.Lists {
			tree, err := dd.Attributes.ListTree(li)
			if err != nil {
				t.Fatal(err)
			}
			root := tree.Root()
			if got := valueOf(dd, schema.RootField(l.Name)); got.Cmp(root.Hash.BigInt(new(big.Int))) != 0 {
				t.Errorf("%s root %v, the tree's is %v", l.Name, got, root.Hash.String())
			}
		}
	}
}

// TestIssueHeaderRefusals checks Issue refuses a bad header, naming the field.
func TestIssueHeaderRefusals(t *testing.T) {
	rnd := seeded(t)
	ik := mustIssuerKey(t, rnd)
	hk, _ := credential.GenerateHolderKey(rnd)
	tests := []struct {
		issued, expires, field string
	}{
		{"2026-13-01", expiresOn, "issued_on"},
		{"", expiresOn, "issued_on"},
		{issuedOn, "2027-02-30", "expires_on"},
		{"2026-01-02", "2026-01-01", "expires_on"},
	}
	for _, tt := range tests {
		_, err := credential.Issue(ik, schema.Coverage(), hk.Commitment(), []byte(testfixture.CoverageAttrs), tt.issued, tt.expires, rnd)
		var fe *credential.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, credential.ErrMalformed) {
			t.Errorf("Issue(%s, %s) = %v, want a FieldError on %s", tt.issued, tt.expires, err, tt.field)
		}
	}
	// Same day is a valid (one-day) credential.
	if _, err := credential.Issue(ik, schema.Coverage(), hk.Commitment(), []byte(testfixture.CoverageAttrs), issuedOn, issuedOn, rnd); err != nil {
		t.Errorf("Issue with issued_on = expires_on: %v", err)
	}
	// A failing random source is an error.
	if _, err := credential.Issue(ik, schema.Coverage(), hk.Commitment(), []byte(testfixture.CoverageAttrs), issuedOn, expiresOn, strings.NewReader("short")); err == nil {
		t.Errorf("Issue with a short random source succeeded")
	}
}

// mutation changes one thing in a CREDENTIAL.json decoded by toMap.
type mutation struct {
	name   string
	mutate func(cred, attrs map[string]any)
	// sig: the change is well-formed, so it must reach the signature check and fail there.
	sig bool
}

func entry(attrs map[string]any, list string, i int) map[string]any {
	return attrs[list].([]any)[i].(map[string]any)
}

// TestTamper checks DESIGN.md's rule that changing any attribute (or header field) of an issued
// credential makes it fail: never does a changed credential pass Decode and Verify.
func TestTamper(t *testing.T) {
	rnd := seeded(t)
	other := issue(t, rnd, schema.Clinical(), testfixture.ClinicalAttrs) // another holder and issuer
	header := []mutation{
		{"holder_commitment", func(c, _ map[string]any) { c["holder_commitment"] = other.cred.HolderCommitment }, true},
		{"holder_commitment/zero", func(c, _ map[string]any) { c["holder_commitment"] = "0x00" }, true},
		{"issued_on", func(c, _ map[string]any) { c["issued_on"] = "2026-01-02" }, true},
		{"issued_on/earlier", func(c, _ map[string]any) { c["issued_on"] = "2025-12-31" }, true},
		{"expires_on", func(c, _ map[string]any) { c["expires_on"] = "2027-12-31" }, true},
		{"id", func(c, _ map[string]any) {
			id := []byte(c["id"].(string))
			if id[0] == '0' {
				id[0] = '1'
			} else {
				id[0] = '0'
			}
			c["id"] = string(id)
		}, true},
		{"id/other", func(c, _ map[string]any) { c["id"] = other.cred.ID }, true},
		{"id/short", func(c, _ map[string]any) { c["id"] = c["id"].(string)[2:] }, false},
		{"issuer", func(c, _ map[string]any) { c["issuer"] = other.cred.Issuer }, true},
		{"signature", func(c, _ map[string]any) { c["signature"] = other.cred.Signature }, true},
		{"signature/bit", func(c, _ map[string]any) {
			sig, _ := hex.DecodeString(c["signature"].(string))
			sig[40] ^= 1
			c["signature"] = hex.EncodeToString(sig)
		}, false},
		{"version", func(c, _ map[string]any) { c["version"] = 3 }, false},
		{"version/1", func(c, _ map[string]any) { c["version"] = 1 }, false},
		{"attributes/removed", func(c, _ map[string]any) { delete(c, "attributes") }, false},
		{"unknown field", func(c, _ map[string]any) { c["note"] = "x" }, false},
	}
	clinical := append(slices.Clone(header), []mutation{
		{"completeness/incomplete", func(c, _ map[string]any) { completenessOf(c, "conditions")["incomplete"] = true }, true},
		{"completeness/complete_since", func(c, _ map[string]any) { completenessOf(c, "medications")["complete_since"] = "2020-01-01" }, true},
		{"completeness/complete_since/respelt", func(c, _ map[string]any) { completenessOf(c, "medications")["complete_since"] = "2020-1-1" }, false},
		{"completeness/unknown list", func(c, _ map[string]any) {
			c["completeness"].(map[string]any)["labs"] = map[string]any{"complete_since": nil, "incomplete": false}
		}, false},
		{"completeness/removed", func(c, _ map[string]any) { delete(c["completeness"].(map[string]any), "observations") }, false},
		{"schema", func(c, _ map[string]any) { c["schema"] = "coverage" }, false},
		{"birth_date", func(_, a map[string]any) { a["birth_date"] = "1976-01-17" }, true},
		{"sex", func(_, a map[string]any) { a["sex"] = "female" }, true},
		{"sex/respelt", func(_, a map[string]any) { a["sex"] = "MALE" }, false},
		{"conditions/code", func(_, a map[string]any) { entry(a, "conditions", 0)["code"] = "E11.8" }, true},
		{"conditions/code/family", func(_, a map[string]any) { entry(a, "conditions", 0)["code"] = "E11" }, true},
		{"conditions/code/respelt", func(_, a map[string]any) { entry(a, "conditions", 0)["code"] = "e119" }, false},
		{"conditions/onset", func(_, a map[string]any) { entry(a, "conditions", 0)["onset"] = "2015-03-02" }, true},
		{"conditions/removed", func(_, a map[string]any) { a["conditions"] = a["conditions"].([]any)[:1] }, true},
		{"conditions/emptied", func(_, a map[string]any) { a["conditions"] = []any{} }, true},
		{"conditions/absent", func(_, a map[string]any) { delete(a, "conditions") }, false},
		{"conditions/added", func(_, a map[string]any) {
			a["conditions"] = append(a["conditions"].([]any), map[string]any{"code": "I21.9", "onset": "2026-06-01", "clinical_status": "resolved", "verification_status": "confirmed"})
		}, true},
		// entries are written in signing order (code, then date): one out of it is not as issued
		{"conditions/added/out of order", func(_, a map[string]any) {
			a["conditions"] = append([]any{map[string]any{"code": "I21.9", "onset": "2026-06-01", "clinical_status": "resolved", "verification_status": "confirmed"}}, a["conditions"].([]any)...)
		}, false},
		{"conditions/added/older", func(_, a map[string]any) {
			a["conditions"] = append(a["conditions"].([]any), map[string]any{"code": "I21.9", "onset": "2000-06-01", "clinical_status": "active", "verification_status": "confirmed"})
		}, true},
		{"conditions/status", func(_, a map[string]any) { entry(a, "conditions", 0)["clinical_status"] = "resolved" }, true},
		{"conditions/verification", func(_, a map[string]any) { entry(a, "conditions", 0)["verification_status"] = "differential" }, true},
		{"conditions/abatement/added", func(_, a map[string]any) { entry(a, "conditions", 0)["abatement"] = "2020-01-01" }, true},
		{"conditions/status/dropped", func(_, a map[string]any) { delete(entry(a, "conditions", 0), "clinical_status") }, false},
		{"medications/end/added", func(_, a map[string]any) { entry(a, "medications", 0)["end"] = "2020-01-01" }, true},
		{"medications/status", func(_, a map[string]any) { entry(a, "medications", 0)["status"] = "stopped" }, true},
		{"conditions/reordered", func(_, a map[string]any) { slices.Reverse(a["conditions"].([]any)) }, false},
		{"observations/code", func(_, a map[string]any) { entry(a, "observations", 0)["code"] = "17856-6" }, true},
		{"observations/value", func(_, a map[string]any) { entry(a, "observations", 0)["value"] = json.Number("7.6") }, true},
		{"observations/value/cent", func(_, a map[string]any) { entry(a, "observations", 0)["value"] = json.Number("7.49") }, true},
		// Below the encoding's precision: the signed value is still 7.50, so the written 7.501
		// is not what the issuer signed.
		{"observations/value/subprecision", func(_, a map[string]any) { entry(a, "observations", 0)["value"] = json.Number("7.501") }, false},
		{"observations/value/other", func(_, a map[string]any) { entry(a, "observations", 1)["value"] = json.Number("31") }, true},
		{"observations/unit", func(_, a map[string]any) { entry(a, "observations", 0)["unit"] = "mmol/mol" }, false},
		{"observations/unit/unknown", func(_, a map[string]any) { entry(a, "observations", 0)["unit"] = "mg/dL" }, false},
		{"observations/date", func(_, a map[string]any) { entry(a, "observations", 1)["date"] = "2026-10-08" }, true},
		{"observations/reordered", func(_, a map[string]any) { slices.Reverse(a["observations"].([]any)) }, false},
		// Entries with the same code and date keep the order the issuer signed (the one listed
		// last is the latest): one added before its same-day twin is in order, and unsigned.
		{"observations/same day added", func(_, a map[string]any) {
			l := a["observations"].([]any)
			dup := maps.Clone(l[0].(map[string]any))
			dup["value"] = json.Number("9.1")
			a["observations"] = append([]any{dup}, l...)
		}, true},
		{"medications/code", func(_, a map[string]any) { entry(a, "medications", 0)["code"] = "860976" }, true},
		{"medications/start", func(_, a map[string]any) { entry(a, "medications", 0)["start"] = "2016-01-02" }, true},
		{"medications/removed", func(_, a map[string]any) { a["medications"] = []any{} }, true},
		{"attribute/added", func(_, a map[string]any) { a["height"] = "180" }, false},
	}...)
	coverage := append(slices.Clone(header), []mutation{
		{"completeness/incomplete", func(c, _ map[string]any) { completenessOf(c, "service_categories")["incomplete"] = true }, true},
		{"schema", func(c, _ map[string]any) { c["schema"] = "clinical" }, false},
		{"payer", func(_, a map[string]any) { a["payer"] = "ACME-HEALTH2" }, true},
		{"payer/case", func(_, a map[string]any) { a["payer"] = "acme-health" }, true},
		{"payer/space", func(_, a map[string]any) { a["payer"] = "ACME-HEALTH " }, true},
		{"plan", func(_, a map[string]any) { a["plan"] = "SILVER-PPO" }, true},
		{"member_id", func(_, a map[string]any) { a["member_id"] = "M123457" }, true},
		{"insurance_type", func(_, a map[string]any) { a["insurance_type"] = "HMO" }, true},
		{"status", func(_, a map[string]any) { a["status"] = "cancelled" }, true},
		{"status/respelt", func(_, a map[string]any) { a["status"] = "Active" }, false},
		{"period_start", func(_, a map[string]any) { a["period_start"] = "2025-01-01" }, true},
		{"period_end", func(_, a map[string]any) { a["period_end"] = "2027-12-31" }, true},
		{"service_categories/code", func(_, a map[string]any) { a["service_categories"].([]any)[0] = "2" }, true},
		{"service_categories/respelt", func(_, a map[string]any) { a["service_categories"].([]any)[10] = "al" }, false},
		{"service_categories/swapped", func(_, a map[string]any) {
			l := a["service_categories"].([]any)
			l[0], l[1] = l[1], l[0]
		}, false},
		{"service_categories/removed", func(_, a map[string]any) {
			l := a["service_categories"].([]any)
			a["service_categories"] = l[:len(l)-1]
		}, true},
		{"service_categories/added", func(_, a map[string]any) {
			l := a["service_categories"].([]any) // 1, 30, …, 98, AL, MH, UC: 99 goes before AL
			a["service_categories"] = slices.Insert(l, 10, any("99"))
		}, true},
	}...)
	tests := []struct {
		schema    *schema.Schema
		attrs     string
		mutations []mutation
	}{
		{schema.Clinical(), testfixture.ClinicalAttrs, clinical},
		{schema.Coverage(), testfixture.CoverageAttrs, coverage},
	}
	for _, tt := range tests {
		is := issue(t, rnd, tt.schema, tt.attrs)
		orig := marshal(t, is.cred)
		if _, err := decodeVerify(orig); err != nil {
			t.Fatalf("%s: the untouched credential does not verify: %v", tt.schema.ID, err)
		}
		for _, m := range tt.mutations {
			t.Run(tt.schema.ID+"/"+m.name, func(t *testing.T) {
				c := toMap(t, orig)
				m.mutate(c, c["attributes"].(map[string]any))
				data, err := json.Marshal(c)
				if err != nil {
					t.Fatal(err)
				}
				if string(data) == string(orig) {
					t.Fatal("mutation changed nothing")
				}
				_, err = decodeVerify(data)
				switch {
				case err == nil:
					t.Fatalf("a changed credential passed Decode and Verify")
				case !refused(err):
					t.Fatalf("error %v is neither ErrMalformed nor ErrBadSignature", err)
				case m.sig && !errors.Is(err, credential.ErrBadSignature):
					t.Fatalf("error %v, want ErrBadSignature", err)
				}
			})
		}
	}
}

// TestTamperEveryLeaf changes every leaf of an issued credential's JSON in turn (a string gets its
// last character changed or a character appended, a number is incremented) and checks the result
// never passes Decode and Verify.
func TestTamperEveryLeaf(t *testing.T) {
	rnd := seeded(t)
	for _, tt := range []struct {
		schema *schema.Schema
		attrs  string
	}{
		{schema.Clinical(), testfixture.ClinicalAttrs},
		{schema.Coverage(), testfixture.CoverageAttrs},
	} {
		is := issue(t, rnd, tt.schema, tt.attrs)
		orig := marshal(t, is.cred)
		n := 0
		for _, p := range leafPaths(nil, toMap(t, orig)) {
			for _, op := range []string{"bump", "append", "increment"} {
				c := toMap(t, orig)
				if !applyAt(c, p, op) {
					continue
				}
				data, err := json.Marshal(c)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := decodeVerify(data); err == nil || !refused(err) {
					t.Errorf("%s: %s %v: Decode/Verify = %v; want a refusal", tt.schema.ID, op, p, err)
				}
				n++
			}
		}
		if n < 40 {
			t.Errorf("%s: only %d changes tried", tt.schema.ID, n)
		}
	}
}

// leafPaths lists the paths (map keys and slice indexes) of every string and number in v.
func leafPaths(prefix []any, v any) [][]any {
	var out [][]any
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out = append(out, leafPaths(append(slices.Clone(prefix), k), e)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, leafPaths(append(slices.Clone(prefix), i), e)...)
		}
	case string, json.Number:
		out = append(out, prefix)
	}
	return out
}

// applyAt changes the leaf at path in place by op and reports whether op applies to the leaf.
func applyAt(root map[string]any, path []any, op string) bool {
	var parent any = root
	for _, k := range path[:len(path)-1] {
		switch key := k.(type) {
		case string:
			parent = parent.(map[string]any)[key]
		case int:
			parent = parent.([]any)[key]
		}
	}
	get := func() any {
		switch key := path[len(path)-1].(type) {
		case string:
			return parent.(map[string]any)[key]
		default:
			return parent.([]any)[key.(int)]
		}
	}
	set := func(v any) {
		switch key := path[len(path)-1].(type) {
		case string:
			parent.(map[string]any)[key] = v
		default:
			parent.([]any)[key.(int)] = v
		}
	}
	switch v := get().(type) {
	case string:
		if v == "" {
			return false
		}
		switch op {
		case "bump":
			b := []byte(v)
			switch c := b[len(b)-1]; {
			case c == '9':
				b[len(b)-1] = '8'
			case c >= '0' && c < '9', c >= 'a' && c < 'f', c >= 'A' && c < 'Z':
				b[len(b)-1]++
			default:
				b = append(b, 'X')
			}
			set(string(b))
		case "append":
			set(v + "0")
		default:
			return false
		}
	case json.Number:
		if op != "increment" {
			return false
		}
		f, _ := v.Float64()
		set(json.Number(fmt.Sprint(f + 1)))
	default:
		return false
	}
	return true
}

// TestDuplicateKeys checks a credential that repeats a key is refused: encoding/json keeps the
// last value (the signed one) while another reader may show the first, so a credential could
// verify while showing what the issuer never signed.
func TestDuplicateKeys(t *testing.T) {
	is := issue(t, seeded(t), schema.Clinical(), testfixture.ClinicalAttrs)
	orig := string(marshal(t, is.cred))
	tests := []struct {
		name, old, new string
	}{
		{"Attribute", `"birth_date"`, `"sex": "female", "birth_date"`},
		{"Header", `"version"`, `"expires_on": "2099-12-31", "version"`},
		{"HeaderOtherCase", `"version"`, `"Expires_On": "2099-12-31", "version"`},
		{"EntryField", `"code": "E11.9"`, `"code": "I21.9", "code": "E11.9"`},
		{"List", `"birth_date"`, `"conditions": [], "birth_date"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(orig, tt.old) {
				t.Fatalf("%s not in the credential", tt.old)
			}
			data := strings.Replace(orig, tt.old, tt.new, 1)
			_, err := decodeVerify([]byte(data))
			if err == nil {
				t.Fatalf("credential with a repeated key verified:\n%s", data)
			}
			if !errors.Is(err, credential.ErrMalformed) {
				t.Errorf("error %v, want ErrMalformed", err)
			}
		})
	}
	// The same key in different objects is not a repeat.
	if _, err := decodeVerify([]byte(orig)); err != nil {
		t.Errorf("issued credential: %v", err)
	}
}

// completenessOf returns the completeness object of a list in a CREDENTIAL.json map.
func completenessOf(c map[string]any, list string) map[string]any {
	return c["completeness"].(map[string]any)[list].(map[string]any)
}
