package service_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/bolt"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/inmem"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/service"
	"github.com/zkhealth/zkhealth/verifier"
	"github.com/zkhealth/zkhealth/verifier/auditlog"
)

// flakyLog is a verification log that refuses appends while down is set.
type flakyLog struct {
	*auditlog.Log
	down atomic.Bool
}

func (l *flakyLog) Append(ctx context.Context, e auditlog.Entry) (uint64, error) {
	if l.down.Load() {
		return 0, zkhealth.Errorf(zkhealth.EUnavailable, "log store down")
	}
	return l.Log.Append(ctx, e)
}

// loggedEnv is a service with a verification log on an in-memory store.
type loggedEnv struct {
	svc    *service.Service
	log    *flakyLog
	now    time.Time
	issued *testfixture.Issued
	policy string
}

func newLoggedEnv(t *testing.T) *loggedEnv {
	t.Helper()
	testfixture.Quiet()
	dir := testfixture.KeysDir(t, keys.Groth16, schema.Coverage())
	ids := testfixture.CircuitIDs(schema.Coverage())
	pr, err := prover.New(dir, keys.Groth16, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(dir, ids, keys.Groth16)
	if err != nil {
		t.Fatal(err)
	}
	var sets []*keys.Keys
	for _, id := range ids {
		sets = append(sets, pr.Keys(id))
	}
	reg, err := keys.NewRegistry(sets...)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := bolt.Open(filepath.Join(t.TempDir(), "zk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	key, err := auditlog.GenerateKey("zkhealth.test/service")
	if err != nil {
		t.Fatal(err)
	}
	l, err := auditlog.Open(context.Background(), inmem.NewLogStore(), key)
	if err != nil {
		t.Fatal(err)
	}
	e := &loggedEnv{log: &flakyLog{Log: l}, now: time.Now().UTC().Add(1500 * time.Millisecond)}
	ik, _ := credential.GenerateIssuerKey(nil)
	e.svc, err = service.New(service.Deps{Store: bs, ProofCache: inmem.NewCache(100), VerifyCache: inmem.NewCache(100),
		Prover: pr, Verifier: v, Keys: reg, Secret: make([]byte, 32), IssuerKey: ik, Log: e.log,
		Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e.issued = testfixture.Issue(t, schema.Coverage(), testfixture.CoverageAttrs, "2026-11-01", "2027-11-01")
	if _, err := e.svc.RegisterIssuer(ctx, service.IssuerInput{Name: "payer", PublicKey: e.issued.Issuer.PublicHex()}); err != nil {
		t.Fatal(err)
	}
	sp, err := e.svc.RegisterPolicy(ctx, []byte(testfixture.CoveragePolicy))
	if err != nil {
		t.Fatal(err)
	}
	e.policy = sp.ID
	return e
}

func (e *loggedEnv) open(t *testing.T) zkhealth.PresentationRequest {
	t.Helper()
	req, err := e.svc.OpenRequest(context.Background(), service.RequestInput{PolicyID: e.policy, AsOf: testfixture.AsOf})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func (e *loggedEnv) prove(t *testing.T, req zkhealth.PresentationRequest) *zkhealth.ProofFile {
	t.Helper()
	cred, _ := json.Marshal(e.issued.Credential)
	out, _, err := e.svc.Prove(context.Background(), service.ProveInput{RequestID: req.ID, Credential: cred, HolderSecret: e.issued.Holder.SecretHex()})
	if err != nil {
		t.Fatal(err)
	}
	f, err := zkhealth.ParseProof(out)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (e *loggedEnv) verify(req zkhealth.PresentationRequest, f *zkhealth.ProofFile) (service.Verification, error) {
	raw, _ := json.Marshal(f)
	return e.svc.Verify(context.Background(), service.VerifyInput{RequestID: req.ID, Proof: raw})
}

func (e *loggedEnv) entries(t *testing.T) []auditlog.Indexed {
	t.Helper()
	got, err := e.log.Entries(context.Background(), 0, auditlog.MaxPage)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestVerificationsAreLogged: every verification the service makes is one log entry, written
// before the answer; a repeated verification answered from the cache adds none; when the log
// cannot record, the verification fails and nothing is cached, so a retry verifies and logs.
func TestVerificationsAreLogged(t *testing.T) {
	e := newLoggedEnv(t)
	req := e.open(t)
	f := e.prove(t, req)
	other := e.open(t) // another request: another challenge
	malformed := *f
	malformed.Public.Nullifier = "not hex"

	wantBinding := f.Public.PolicyHash
	for i, step := range []struct {
		name          string
		req           zkhealth.PresentationRequest
		proof         *zkhealth.ProofFile
		result        string
		nullifier     string // "" for none
		logged        bool
		cached, valid bool
	}{
		{"Valid", req, f, auditlog.ResultValid, f.Public.Nullifier, true, false, true},
		{"RepeatedFromCache", req, f, "", "", false, true, true},
		{"AnotherRequest", other, f, verifier.ReasonChallenge, f.Public.Nullifier, true, false, false},
		{"MalformedNullifier", req, &malformed, verifier.ReasonMalformed, "", true, false, false},
	} {
		t.Run(step.name, func(t *testing.T) {
			before := len(e.entries(t))
			v, err := e.verify(step.req, step.proof)
			if err != nil {
				t.Fatal(err)
			}
			if v.Cached != step.cached || v.Result.Valid != step.valid {
				t.Fatalf("verification %+v, want cached %v valid %v", v, step.cached, step.valid)
			}
			got := e.entries(t)
			if !step.logged {
				if len(got) != before {
					t.Fatalf("%d entries after a cached answer, want %d", len(got), before)
				}
				return
			}
			if len(got) != before+1 {
				t.Fatalf("%d entries, want %d", len(got), before+1)
			}
			en := got[len(got)-1].Entry
			if en.Result != step.result || en.Scope != req.Scope || fieldhash.Hex(en.Binding) != wantBinding ||
				!en.Time.Equal(e.now.Truncate(time.Second)) {
				t.Fatalf("entry %d: %+v (binding %s), want result %s, scope %s, binding %s", i, en, fieldhash.Hex(en.Binding), step.result, req.Scope, wantBinding)
			}
			switch {
			case step.nullifier == "" && en.Nullifier != nil:
				t.Fatalf("entry names nullifier %s, want none", fieldhash.Hex(*en.Nullifier))
			case step.nullifier != "" && (en.Nullifier == nil || fieldhash.Hex(*en.Nullifier) != step.nullifier):
				t.Fatalf("entry nullifier %v, want %s", en.Nullifier, step.nullifier)
			}
		})
	}

	t.Run("LogDown", func(t *testing.T) {
		third := e.open(t)
		g := e.prove(t, third)
		before := len(e.entries(t))
		e.log.down.Store(true)
		if _, err := e.verify(third, g); zkhealth.ErrorCode(err) != zkhealth.EUnavailable {
			t.Fatalf("verify with the log down: %v, want EUnavailable", err)
		}
		e.log.down.Store(false)
		v, err := e.verify(third, g)
		if err != nil || v.Cached || !v.Result.Valid || v.Result.FirstUse == nil || *v.Result.FirstUse {
			t.Fatalf("retry: %+v, %v; want a fresh valid verification, not a first use (the holder enrolled above)", v, err)
		}
		if got := e.entries(t); len(got) != before+1 || got[before].Entry.Result != auditlog.ResultValid {
			t.Fatalf("after the retry: %d entries, want %d", len(got), before+1)
		}
	})
}
