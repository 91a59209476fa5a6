package checked_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
)

// maxCommitments is what the verifier allows (zkhealth's circuits use one commitment).
const maxCommitments = 4

// real is a proof and the verifying key it verifies under, as the prover and setup write them.
type real struct {
	Proof, VK []byte
}

var (
	realMu    sync.Mutex
	realCache = map[keys.Backend]*real{}
)

// realBytes proves CLI.md's coverage example with backend b (setting up shared keys when needed) and
// returns the proof bytes and the key directory's .vk file. Cached per test binary. A fresh PLONK
// setup of the coverage circuit takes a few seconds and is then cached in the shared key directory,
// so PLONK is not skipped in -short mode.
func realBytes(tb testing.TB, b keys.Backend) *real {
	tb.Helper()
	realMu.Lock()
	defer realMu.Unlock()
	if r := realCache[b]; r != nil {
		return r
	}
	testfixture.Quiet()
	start := time.Now()
	s := schema.Coverage()
	dir := testfixture.KeysDir(tb, b, s)
	pr, err := prover.New(dir, b, testfixture.CircuitIDs(s), 1)
	if err != nil {
		tb.Fatalf("prover: %v", err)
	}
	is := testfixture.Issue(tb, s, testfixture.CoverageAttrs, "2026-11-01", "2027-11-01")
	var ch fr.Element
	ch.SetUint64(42)
	pf, err := pr.Prove(context.Background(), prover.Request{Credential: is.Credential, Holder: is.Holder,
		Policy: testfixture.Policy(tb, testfixture.CoveragePolicy), AsOf: testfixture.AsOf, Challenge: ch})
	if err != nil {
		tb.Fatalf("prove: %v", err)
	}
	raw, err := pf.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	vk, err := os.ReadFile(filepath.Join(dir, pf.Circuit+"."+string(b)+".vk"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%s: proof %d bytes, vk %d bytes, setup+prove %v", b, len(raw), len(vk), time.Since(start).Round(time.Millisecond))
	r := &real{Proof: raw, VK: vk}
	realCache[b] = r
	return r
}
