package fhir

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/schema"
)

// fit is how much of one list of a record a credential holds.
type fit int

const (
	fitComplete      fit = iota // every entry of the record, nothing left out
	fitCompleteSince            // entries before complete_since may be missing (capacity)
	fitIncomplete               // some entry could not be signed
)

func (f fit) String() string {
	return [...]string{"complete", "complete since D", "incomplete"}[f]
}

// listFit classifies list name of attrs built from a bundle whose record holds want (the
// "code@date" entries recordEntries counts independently of the importer). A list is complete only
// when its completeness says so and every entry of the record is signed; a list that says it is
// complete while missing an entry is an error (it would drop an entry silently).
func listFit(t *testing.T, a *credential.Attributes, name string, want []string) fit {
	t.Helper()
	c := completenessOf(t, a, name)
	switch {
	case c.Incomplete:
		return fitIncomplete
	case c.CompleteSince != "":
		return fitCompleteSince
	}
	have := map[string]bool{}
	for _, e := range listOf(t, a, name) {
		have[e.Code+"@"+e.Date] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("%s: %s is in the record, not in the credential, and the list says it is complete", name, w)
		}
	}
	return fitComplete
}

// TestFixtureFit measures the share of the shared Synthea records that fit a credential without
// loss, per list: complete (every entry signed), complete since a date (older entries left out for
// capacity) or incomplete (an entry could not be signed). The record is read whole (as of
// 2099-12-31). DESIGN.md, Size, promises that at least 99 % of records fit whole; on the five
// fixtures that is every one, on every list. Two generated records check the classifier sees loss:
// one with more observations than the list holds, one with a condition the map lacks.
//
// Run: go test ./fhir -run TestFixtureFit -v
func TestFixtureFit(t *testing.T) {
	t.Run("classifier", func(t *testing.T) {
		_, l, _ := schema.Clinical().List("observations")
		var many []string
		for i := range l.Capacity + 5 {
			day := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly)
			many = append(many, obs("4548-4", day, 7, "%"))
		}
		for _, tc := range []struct {
			name, list string
			bundle     []byte
			want       fit
		}{
			{"over capacity", "observations", bundleOf(many...), fitCompleteSince},
			{"unmapped condition", "conditions", bundleOf(cond("active", SystemSNOMED, "999999999", "2020-01-01")), fitIncomplete},
			{"one condition", "conditions", bundleOf(cond("active", SystemSNOMED, "44054006", "2020-01-01")), fitComplete},
		} {
			a, err := ClinicalAttributes(tc.bundle, Options{AsOf: "2099-12-31"})
			if err != nil {
				t.Fatal(err)
			}
			if got := listFit(t, a, tc.list, recordEntries(t, tc.bundle)[tc.list]); got != tc.want {
				t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
			}
		}
	})

	fixtures := allFixtures(t)
	names := make([]string, 0, len(fixtures))
	for name := range fixtures {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("no fixtures")
	}
	lists := []string{"conditions", "observations", "medications"}
	counts := map[string]map[fit]int{}
	largest := map[string]int{}
	for _, l := range lists {
		counts[l] = map[fit]int{}
	}
	for _, name := range names {
		data := fixtures[name]
		a, err := ClinicalAttributes(data, Options{AsOf: "2099-12-31"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := recordEntries(t, data)
		for _, l := range lists {
			f := listFit(t, a, l, want[l])
			counts[l][f]++
			largest[l] = max(largest[l], len(listOf(t, a, l)))
			if f != fitComplete {
				t.Errorf("%s: %s is %s", name, l, f)
			}
		}
	}
	n := len(names)
	share := func(k int) string { return fmt.Sprintf("%d/%d (%.0f %%)", k, n, 100*float64(k)/float64(n)) }
	var b strings.Builder
	fmt.Fprintf(&b, "fixture records that fit without loss, per list (%d Synthea bundles, whole record):", n)
	for _, l := range lists {
		_, sl, _ := schema.Clinical().List(l)
		fmt.Fprintf(&b, "\n  %-12s complete %s, complete since D %s, incomplete %s; largest list %d of %d entries",
			l, share(counts[l][fitComplete]), share(counts[l][fitCompleteSince]), share(counts[l][fitIncomplete]), largest[l], sl.Capacity)
	}
	t.Log(b.String())
}
