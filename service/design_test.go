package service_test

import (
	"testing"

	"github.com/zkhealth/zkhealth/benchmarks"
)

// TestRerandomisedProofIsNotANewIdentity: DESIGN.md, soundness rules, "Proof bytes are
// re-randomisable: never use them as an identifier; the nullifier is the identity." A proof
// re-randomised by anyone who holds it has new bytes, so it misses the verification cache and
// takes the full path; it is valid, and its nullifier is the original's, so it reports a second
// use, not a new enrolment. Re-randomising does not move it to another request.
func TestRerandomisedProofIsNotANewIdentity(t *testing.T) {
	e := newEnv(t)
	f := e.prove(t)
	first := e.verify(t, e.req.ID, f)
	if !first.Result.Valid || first.Result.FirstUse == nil || !*first.Result.FirstUse {
		t.Fatalf("original proof: %+v, want valid first use", first.Result)
	}
	copies, err := benchmarks.Rerandomised(f, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range copies {
		if c.Proof == f.Proof {
			t.Fatalf("copy %d has the original's bytes", i)
		}
		v := e.verify(t, e.req.ID, c)
		switch {
		case v.Cached:
			t.Errorf("copy %d answered from the cache: proof bytes keyed it as the original", i)
		case !v.Result.Valid:
			t.Errorf("copy %d: %+v, want valid", i, v.Result)
		case v.Result.FirstUse == nil || *v.Result.FirstUse:
			t.Errorf("copy %d: first_use %v, want false: new bytes made a new identity", i, v.Result.FirstUse)
		case v.Result.Nullifier != first.Result.Nullifier:
			t.Errorf("copy %d: nullifier %s, want the original's %s", i, v.Result.Nullifier, first.Result.Nullifier)
		}
	}
	other := e.open(t, e.req.PolicyID) // a new challenge
	if v := e.verify(t, other.ID, copies[1]); v.Result.Valid {
		t.Errorf("a re-randomised proof verified for another request: %+v", v.Result)
	}
}
