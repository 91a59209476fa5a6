package prover

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

func coverageRequest(t *testing.T) Request {
	t.Helper()
	is := testfixture.Issue(t, schema.Coverage(), testfixture.CoverageAttrs, "2026-11-01", "2027-11-01")
	var ch fr.Element
	ch.SetRandom()
	return Request{Credential: is.Credential, Holder: is.Holder, Policy: testfixture.Policy(t, testfixture.CoveragePolicy), AsOf: testfixture.AsOf, Challenge: ch}
}

// TestConcurrentProofs: many goroutines prove at once through one Prover; every proof is made.
func TestConcurrentProofs(t *testing.T) {
	testfixture.Quiet()
	p, err := New(testfixture.KeysDir(t, keys.Groth16, schema.Coverage()), keys.Groth16, testfixture.CircuitIDs(schema.Coverage()), 2)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		req := coverageRequest(t)
		wg.Go(func() {
			if _, err := p.Prove(context.Background(), req); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestProvingBound: with every proving slot taken, a proof waits, and gives up when its context
// ends; once a slot frees, it goes through.
func TestProvingBound(t *testing.T) {
	testfixture.Quiet()
	p, err := New(testfixture.KeysDir(t, keys.Groth16, schema.Coverage()), keys.Groth16, testfixture.CircuitIDs(schema.Coverage()), 1)
	if err != nil {
		t.Fatal(err)
	}
	req := coverageRequest(t)
	p.slots <- struct{}{} // another proof holds the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := p.Prove(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with no free slot: %v, want the context's deadline", err)
	}
	<-p.slots
	if _, err := p.Prove(context.Background(), req); err != nil {
		t.Fatalf("with a free slot: %v", err)
	}
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if _, err := p.Prove(cancelled, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}
