package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/server/servertest"
	"github.com/zkhealth/zkhealth/verifier"
	"github.com/zkhealth/zkhealth/verifier/auditlog"
)

// logEntries reads the whole log over HTTP (checked against the OpenAPI document).
func (a *testApp) logEntries(t *testing.T) []auditlog.Indexed {
	t.Helper()
	var out []auditlog.Indexed
	for {
		var page auditlog.EntriesJSON
		a.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/log/entries?start=" + strconv.Itoa(len(out)) + "&end=1000000"}).JSON(t, &page)
		if len(page.Entries) == 0 {
			return out
		}
		for _, j := range page.Entries {
			ix, err := j.Parse()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ix)
		}
	}
}

// verifyConcurrently verifies proof against n fresh requests of the policy, spread over the
// servers, all at once; each answer is a refusal (the proof's challenge is another request's),
// and each is one log entry.
func verifyConcurrently(t *testing.T, servers []*testApp, policyID string, proof json.RawMessage, n int) {
	t.Helper()
	reqs := make([]presentationRequest, n)
	for i := range reqs {
		reqs[i] = servers[i%len(servers)].openRequest(t, policyID, 3600)
	}
	var wg sync.WaitGroup
	for i := range n {
		a := servers[i%len(servers)]
		wg.Go(func() {
			r, err := a.c.Try(servertest.Request{Method: "POST", Path: "/v1/verify", Key: verifierKey,
				Body: map[string]any{"request_id": reqs[i].ID, "proof": proof}})
			if err != nil || r.Status != 200 || !strings.Contains(string(r.Body), verifier.ReasonChallenge) {
				t.Errorf("verification %d: %v %v", i, r, err)
			}
		})
	}
	wg.Wait()
}

// TestAuditLog is issue 13's log over HTTP, in both modes: every verification is an entry (valid
// or refused; a repeat answered from the cache is none), the log verifies with the library's
// proofs, a holder finds their entries by nullifier, concurrent verifications (in Redis mode
// through two serve processes) keep one log, and (embedded) the log survives a restart.
func TestAuditLog(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{"Embedded", "Redis"} {
		t.Run(mode, func(t *testing.T) {
			cfg := Config{LogOrigin: "zkhealth.test/" + strings.ToLower(mode)}
			if mode == "Redis" {
				cfg = redisConfig(t, cfg)
			}
			a := startApp(t, cfg)
			vkey := a.AuditLog.VerifierKey()
			if got := strings.TrimSpace(string(a.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/log/key"}).Body)); got != vkey {
				t.Fatalf("GET /v1/log/key = %q, want %q", got, vkey)
			}
			pid := a.registerPolicy(t, coveragePolicy())
			req := a.openRequest(t, pid, 3600)
			h := a.issue(t, "coverage", coverageAttrs())
			proof, _ := a.prove(t, req.ID, h)
			res, _ := a.verify(t, req.ID, proof)
			if !res.Valid {
				t.Fatalf("verify: %+v", res)
			}
			if _, xc := a.verify(t, req.ID, proof); xc != "hit" {
				t.Fatalf("repeated verify: X-Cache %s", xc)
			}
			other := a.openRequest(t, pid, 3600)
			if res2, _ := a.verify(t, other.ID, proof); res2.Valid || res2.Reason != verifier.ReasonChallenge {
				t.Fatalf("verify against another request: %+v", res2)
			}

			entries := a.logEntries(t)
			if len(entries) != 2 {
				t.Fatalf("%d entries after two verifications and a cached repeat", len(entries))
			}
			var pf zkhealth.ProofFile
			json.Unmarshal(proof, &pf)
			for i, want := range []string{auditlog.ResultValid, verifier.ReasonChallenge} {
				e := entries[i].Entry
				if e.Result != want || e.Scope != req.Scope || fieldhash.Hex(e.Binding) != pf.Public.PolicyHash ||
					e.Nullifier == nil || fieldhash.Hex(*e.Nullifier) != res.Nullifier {
					t.Errorf("entry %d: %+v, want %s for scope %s, binding %s, nullifier %s", i, e, want, req.Scope, pf.Public.PolicyHash, res.Nullifier)
				}
			}
			assertNoPrivateData(t, "log entries", entriesText(t, a), h)

			client := &auditlog.Client{BaseURL: a.URL()}
			first, err := auditlog.Check(ctx, client, vkey, nil)
			if err != nil || first.Size != 2 || first.Origin != cfg.LogOrigin {
				t.Fatalf("Check: %+v, %v", first, err)
			}
			// the patient computes their nullifier for the scope and finds both checks
			nullifier := h.key.Nullifier(fieldhash.String(req.Scope))
			if fieldhash.Hex(nullifier) != res.Nullifier {
				t.Fatalf("the holder's nullifier %s is not the verification's %s", fieldhash.Hex(nullifier), res.Nullifier)
			}
			if _, found, err := auditlog.Audit(ctx, client, vkey, nullifier); err != nil || len(found) != 2 {
				t.Fatalf("Audit: %d entries, %v", len(found), err)
			}

			servers := []*testApp{a}
			if mode == "Redis" {
				servers = append(servers, startApp(t, a.cfg)) // same Redis, prefix and data dir (log.key)
			}
			const n = 24
			verifyConcurrently(t, servers, pid, proof, n)
			var notes [][]byte
			for _, s := range servers {
				cp, err := auditlog.Check(ctx, &auditlog.Client{BaseURL: s.URL()}, vkey, first.Note)
				if err != nil || cp.Size != 2+n {
					t.Fatalf("Check after concurrent verifications: %+v, %v", cp, err)
				}
				notes = append(notes, cp.Note)
			}
			if len(notes) == 2 && !bytes.Equal(notes[0], notes[1]) {
				t.Fatalf("two serve processes sign different checkpoints:\n%s\n%s", notes[0], notes[1])
			}
			if mode == "Redis" {
				return
			}

			// Embedded: a restart keeps the log, and appends continue after it.
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			b := startApp(t, a.cfg)
			if b.AuditLog.VerifierKey() != vkey {
				t.Fatal("the log key changed across a restart")
			}
			b.verify(t, b.openRequest(t, pid, 3600).ID, proof)
			cp, err := auditlog.Check(ctx, &auditlog.Client{BaseURL: b.URL()}, vkey, notes[0])
			if err != nil || cp.Size != 2+n+1 {
				t.Fatalf("Check after a restart: %+v, %v", cp, err)
			}
		})
	}
}

// entriesText is the log's entries answer, for scanning.
func entriesText(t *testing.T, a *testApp) string {
	t.Helper()
	return string(a.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/log/entries?start=0&end=256"}).Body)
}

// TestAuditLogOneKey: a serve process with another log key than the one the shared log was
// started with refuses to start, rather than sign the log with a second key.
func TestAuditLogOneKey(t *testing.T) {
	a := startApp(t, redisConfig(t, Config{}))
	cfg := a.cfg
	cfg.DataDir = t.TempDir() // another log.key (and secret)
	cfg, _ = baseConfig(t, cfg)
	m := New(cfg)
	err := m.Open(context.Background())
	if err == nil {
		m.Close()
		t.Fatal("a second log key was accepted")
	}
	if zkhealth.ErrorCode(err) != zkhealth.EInvalid || !strings.Contains(err.Error(), "same log key") {
		t.Fatalf("Open: %v", err)
	}
}
