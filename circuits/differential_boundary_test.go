package circuits_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

// TestNativeAgreesAtBoundaries extends the differential test of issue 9 where its generator is
// thin: records whose dates, ends, values, issue dates and completeness sit on the edges of the
// policies' windows, ranges and ages (the day a window starts and the days around it, values on
// and beside a bound), policies of every match kind on every list (latest and none on
// medications, state windows on exists, none without a window, not_between, ne, not_in), and
// each case proved on the smallest rung that holds it and again on the schema's largest, which
// must agree. Coverage records are generated too. ZKHEALTH_DIFFERENTIAL_CASES=N runs N cases
// per schema (default 24, 6 with -short).
func TestNativeAgreesAtBoundaries(t *testing.T) {
	testfixture.Quiet()
	n := 24
	if v, err := strconv.Atoi(os.Getenv("ZKHEALTH_DIFFERENTIAL_CASES")); err == nil && v > 0 {
		n = v
	} else if testing.Short() {
		n = 6
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	asOf, _ := time.Parse(time.DateOnly, testfixture.AsOf)
	for _, s := range []*schema.Schema{schema.Clinical(), schema.Coverage()} {
		t.Run(s.ID, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, uint64(len(s.ID))))
			g := edgeGen{rnd: rnd, asOf: asOf}
			held, failed := 0, 0
			for i := range n {
				// the windows, ranges and ages of this case's policies; the record is drawn around them
				g.windows = []int{g.pick(0, 1, 30, 90, 180, 365), g.pick(1, 30, 90, 180)}
				issued := asOf.AddDate(0, 0, -g.pick(0, 1, 29, 30, 31, 60, 400))
				var attrs string
				if s.ID == "clinical" {
					attrs = g.clinicalRecord(issued)
				} else {
					attrs = g.coverageRecord(issued)
				}
				name := fmt.Sprintf("case %d", i)
				is, err := testfixture.NewIssued(s, attrs, issued.Format(time.DateOnly), asOf.AddDate(0, 0, g.pick(0, 365)).Format(time.DateOnly))
				if err != nil {
					t.Fatalf("%s: issue %s: %v", name, attrs, err)
				}
				d, err := is.Credential.Decode()
				if err != nil {
					t.Fatal(err)
				}
				want := rnd.IntN(2) == 0
				age := uint64(asOf.Sub(issued).Hours() / 24)
				var (
					pol     string
					c       *policy.Compiled
					failing int
					holds   bool
				)
				for try := 0; try < 60; try++ {
					if s.ID == "clinical" {
						pol = g.clinicalPolicy()
					} else {
						pol = g.coveragePolicy()
					}
					if c, err = testfixture.Policy(t, pol).Compile(testfixture.AsOf); errors.Is(err, policy.ErrDoesNotFit) {
						c = nil
						continue
					} else if err != nil {
						t.Fatalf("%s: compile %s: %v", name, pol, err)
					}
					if failing, err = c.Evaluate(d.Attributes); err != nil {
						t.Fatal(err)
					}
					if holds = failing < 0 && age <= c.MaxAge; holds == want {
						break
					}
				}
				if c == nil {
					continue
				}
				rungs := []*policy.Assigned{c.Assigned}
				if largest := s.Circuits[len(s.Circuits)-1]; largest != c.Assigned.Circuit {
					a, err := c.For(largest)
					if err != nil {
						t.Fatalf("%s: %s holds the policy but %s does not: %v", name, c.Assigned.Circuit.ID, largest.ID, err)
					}
					rungs = append(rungs, a)
				}
				for _, as := range rungs {
					lists, err := circuits.BuildOpenings(d.Attributes, as)
					if err != nil {
						t.Fatalf("%s: openings: %v", name, err)
					}
					secret := is.Holder.Element()
					var ch fr.Element
					ch.SetUint64(uint64(i))
					w := &circuits.Witness{
						Public:     circuits.Public{PolicyHash: as.Hash, Issuer: d.Issuer, Challenge: ch, Nullifier: fieldhash.Nullifier(secret, c.Scope)},
						Credential: d.Values, Signature: d.Signature, HolderSecret: secret, Policy: as.Values, Lists: lists,
					}
					err = solve(t, s, as.Circuit, w)
					switch {
					case holds && err != nil:
						t.Errorf("%s on %s: holds natively (age %d of %d), the circuit refuses: %v\nattrs %s\npolicy %s", name, as.Circuit.ID, age, c.MaxAge, err, attrs, pol)
					case !holds && err == nil:
						t.Errorf("%s on %s: fails natively (predicate %d, age %d of %d), the circuit accepts\nattrs %s\npolicy %s", name, as.Circuit.ID, failing, age, c.MaxAge, attrs, pol)
					}
				}
				if holds {
					held++
				} else {
					failed++
				}
			}
			t.Logf("%d held, %d failed", held, failed)
			if !testing.Short() && n >= 16 && (held < n/8 || failed < n/8) {
				t.Errorf("the generator is lopsided: %d held, %d failed", held, failed)
			}
		})
	}
}

// edgeGen draws records and policies around a case's windows.
type edgeGen struct {
	rnd     *rand.Rand
	asOf    time.Time
	windows []int // days
}

func (g *edgeGen) pick(xs ...int) int { return xs[g.rnd.IntN(len(xs))] }

func (g *edgeGen) one(xs ...string) string { return xs[g.rnd.IntN(len(xs))] }

// window is one of the case's windows.
func (g *edgeGen) window() int { return g.windows[g.rnd.IntN(len(g.windows))] }

// edgeDay is a day at most issued: mostly within two days of a window's first day, sometimes
// far in the past.
func (g *edgeGen) edgeDay(issued time.Time) time.Time {
	var d time.Time
	if g.rnd.IntN(4) == 0 {
		d = g.asOf.AddDate(0, 0, -400-g.rnd.IntN(3000))
	} else {
		d = g.asOf.AddDate(0, 0, -g.window()+g.rnd.IntN(5)-2)
	}
	if d.After(issued) {
		d = issued
	}
	return d
}

func isoDay(t time.Time) string { return t.Format(time.DateOnly) }

// end is an edge end for a period that started on start: none (ongoing), unknown, or an edge day
// on or after start (at most issued).
func (g *edgeGen) end(start, issued time.Time) (string, bool) {
	switch g.rnd.IntN(4) {
	case 0:
		return "", false
	case 1:
		return "unknown", true
	}
	e := g.edgeDay(issued)
	if e.Before(start) {
		e = start.AddDate(0, 0, g.rnd.IntN(3))
		if e.After(issued) {
			e = issued
		}
	}
	return isoDay(e), true
}

func (g *edgeGen) clinicalRecord(issued time.Time) string {
	birth := g.asOf.AddDate(-g.pick(17, 18, 40, 75, 76), 0, g.rnd.IntN(3)-1)
	rec := map[string]any{"birth_date": isoDay(birth), "sex": g.one("female", "male", "other", "unknown")}
	var conds []map[string]any
	for range g.rnd.IntN(7) {
		onset := g.edgeDay(issued)
		e := map[string]any{"code": g.one("E11.9", "E11.65", "E10.9", "E13.9", "I21.4", "I21.A1", "I63.9", "I10"), "onset": isoDay(onset),
			"clinical_status":     g.one("active", "recurrence", "relapse", "inactive", "remission", "resolved"),
			"verification_status": g.one("confirmed", "confirmed", "unconfirmed", "provisional", "differential")}
		if end, ok := g.end(onset, issued); ok {
			e["abatement"] = end
		}
		conds = append(conds, e)
	}
	var obs []map[string]any
	for range g.rnd.IntN(7) {
		code, unit, scale := g.one("4548-4", "4548-4", "17856-6"), "%", 1.0
		if g.rnd.IntN(4) == 0 {
			code, unit, scale = "39156-5", "kg/m2", 4
		}
		date := g.edgeDay(issued)
		if len(obs) > 0 && g.rnd.IntN(3) == 0 {
			date, _ = time.Parse(time.DateOnly, obs[len(obs)-1]["date"].(string)) // a same-day pair
		}
		v := []float64{7.49, 7.5, 9.0, 11.0, 11.01}[g.rnd.IntN(5)] * scale
		obs = append(obs, map[string]any{"code": code, "value": v, "unit": unit, "date": isoDay(date)})
	}
	var meds []map[string]any
	for range g.rnd.IntN(5) {
		start := g.edgeDay(issued)
		e := map[string]any{"code": g.one("860975", "311041", "1373463"), "start": isoDay(start),
			"status": g.one("active", "active", "on-hold", "stopped", "completed")}
		if end, ok := g.end(start, issued); ok {
			e["end"] = end
		}
		meds = append(meds, e)
	}
	rec["conditions"], rec["observations"], rec["medications"] = conds, obs, meds
	if g.rnd.IntN(3) == 0 {
		list := g.one("conditions", "observations", "medications")
		if g.rnd.IntN(4) == 0 {
			rec["completeness"] = map[string]any{list: map[string]any{"incomplete": true}}
		} else {
			rec["completeness"] = map[string]any{list: map[string]any{"complete_since": isoDay(g.edgeDay(issued))}}
		}
	}
	out, _ := json.Marshal(rec)
	return string(out)
}

// windowOf is a random window clause (or none) for a predicate; state windows only when allowed.
func (g *edgeGen) windowOf(state bool) string {
	switch g.rnd.IntN(3) {
	case 0:
		return ""
	case 1:
		if state {
			return fmt.Sprintf(`, "present_within_days": %d`, g.window())
		}
	}
	return fmt.Sprintf(`, "within_days": %d`, g.window())
}

func (g *edgeGen) clinicalPolicy() string {
	years := g.pick(18, 40, 75)
	kinds := []func() string{
		func() string {
			return fmt.Sprintf(`{"attribute": "age", "op": "%s", "value": [%d, %d]}`, g.one("between", "not_between"), years, years+g.pick(0, 1, 35))
		},
		func() string {
			return fmt.Sprintf(`{"attribute": "age", "op": "%s", "value": %d}`, g.one("gte", "gt", "lte", "lt", "eq"), years)
		},
		func() string {
			return fmt.Sprintf(`{"attribute": "sex", "op": "%s", "value": "%s"}`, g.one("eq", "ne"), g.one("female", "male", "other"))
		},
		func() string {
			return fmt.Sprintf(`{"attribute": "sex", "op": "%s", "value": ["female", "%s"]}`, g.one("in", "not_in"), g.one("male", "unknown"))
		},
		func() string {
			return fmt.Sprintf(`{"list": "conditions", "match": "exists", "code": ["%s"]%s%s}`, g.one("E11", "E08-E13", "I21", "E11.65"), g.windowOf(true),
				g.oneOf("", `, "status": ["active", "resolved", "inactive"]`, `, "verification": ["confirmed", "unconfirmed"]`))
		},
		func() string {
			return fmt.Sprintf(`{"list": "conditions", "match": "none", "code": [%s]%s}`, g.one(`"I21"`, `"E10", "I21", "I63"`, `"E08-E13"`, `"I21.A1"`), g.windowOf(true))
		},
		func() string {
			return fmt.Sprintf(`{"list": "observations", "match": "latest", "code": [%s], "value": [7.5, 11.0]%s}`, g.one(`"4548-4"`, `"4548-4", "17856-6"`), g.windowOf(false))
		},
		func() string {
			return fmt.Sprintf(`{"list": "observations", "match": "exists", "code": ["4548-4"], "value": [%s]%s}`, g.one("7.5, 11.0", "7.49, 7.49", "11.01, 20"), g.windowOf(false))
		},
		func() string {
			return fmt.Sprintf(`{"list": "observations", "match": "none", "code": ["%s"]%s}`, g.one("4548-4", "39156-5"), g.windowOf(false))
		},
		func() string {
			return fmt.Sprintf(`{"list": "medications", "match": "%s", "code": ["%s"]%s}`, g.one("exists", "none", "latest"), g.one("860975", "311041"), g.windowOf(true))
		},
	}
	var preds []string
	for range 1 + g.rnd.IntN(4) {
		preds = append(preds, kinds[g.rnd.IntN(len(kinds))]())
	}
	age := ""
	if g.rnd.IntN(3) == 0 {
		age = fmt.Sprintf(`, "max_credential_age_days": %d`, g.pick(0, 1, 29, 30, 31, 400))
	}
	return `{"schema": "clinical", "scope": "trial:edges"` + age + `, "predicates": [` + strings.Join(preds, ", ") + `]}`
}

func (g *edgeGen) oneOf(xs ...string) string { return g.one(xs...) }

func (g *edgeGen) coverageRecord(issued time.Time) string {
	start := g.asOf.AddDate(0, 0, g.rnd.IntN(5)-2)
	if g.rnd.IntN(2) == 0 {
		start = g.asOf.AddDate(-1, 0, 0)
	}
	end := g.asOf.AddDate(0, 0, g.rnd.IntN(5)-2)
	if g.rnd.IntN(2) == 0 {
		end = g.asOf.AddDate(1, 0, 0)
	}
	var cats []string
	for _, c := range []string{"1", "2", "30", "33", "35", "3", "A0", "A9", "AL", "MH", "UC"} {
		if g.rnd.IntN(2) == 0 {
			cats = append(cats, c)
		}
	}
	rec := map[string]any{"payer": g.one("ACME-HEALTH", "BETA"), "plan": g.one("GOLD-PPO", "SILVER"), "member_id": "M1",
		"status": g.one("active", "active", "cancelled", "draft"), "period_start": isoDay(start), "period_end": isoDay(end),
		"insurance_type": g.one("PPO", "HMO"), "service_categories": cats}
	out, _ := json.Marshal(rec)
	return string(out)
}

func (g *edgeGen) coveragePolicy() string {
	around := func() string { return isoDay(g.asOf.AddDate(0, 0, g.rnd.IntN(3)-1)) }
	kinds := []func() string{
		func() string {
			return fmt.Sprintf(`{"attribute": "status", "op": "%s", "value": "active"}`, g.one("eq", "ne"))
		},
		func() string {
			return fmt.Sprintf(`{"attribute": "payer", "op": "%s", "value": ["ACME-HEALTH"%s]}`, g.one("in", "not_in"), g.one("", `, "GAMMA"`))
		},
		func() string {
			return fmt.Sprintf(`{"attribute": "plan", "op": "%s", "value": "GOLD-PPO"}`, g.one("eq", "ne"))
		},
		func() string {
			return fmt.Sprintf(`{"attribute": "period_start", "op": "%s", "value": "%s"}`, g.one("lte", "lt"), around())
		},
		func() string {
			return fmt.Sprintf(`{"attribute": "period_end", "op": "%s", "value": "%s"}`, g.one("gte", "gt"), around())
		},
		func() string {
			return fmt.Sprintf(`{"attribute": "period_end", "op": "%s", "value": ["%s", "%s"]}`, g.one("between", "not_between"), around(), isoDay(g.asOf.AddDate(0, 1, 0)))
		},
		func() string {
			return fmt.Sprintf(`{"list": "service_categories", "match": "%s", "code": [%s]}`, g.one("exists", "none"), g.one(`"30"`, `"3"`, `"1-3"`, `"A0-A9"`, `"AL", "MH"`))
		},
	}
	var preds []string
	for range 1 + g.rnd.IntN(4) {
		preds = append(preds, kinds[g.rnd.IntN(len(kinds))]())
	}
	return `{"schema": "coverage", "scope": "payer:edges", "predicates": [` + strings.Join(preds, ", ") + `]}`
}
