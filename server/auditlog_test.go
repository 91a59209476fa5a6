package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/inmem"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/server/servertest"
	"github.com/zkhealth/zkhealth/verifier/auditlog"
)

// switchStore is a log store that goes down (EUnavailable) when down is set.
type switchStore struct {
	zkhealth.LogStore
	down bool
}

func (s *switchStore) LogSize(ctx context.Context) (uint64, uint64, error) {
	if s.down {
		return 0, 0, zkhealth.Errorf(zkhealth.EUnavailable, "redis is unavailable")
	}
	return s.LogStore.LogSize(ctx)
}

// logWith returns a log of n entries whose nullifiers cycle through 1…3.
func logWith(t *testing.T, n int) (*auditlog.Log, *auditlog.Key) {
	t.Helper()
	key, err := auditlog.GenerateKey("zkhealth.test/server")
	if err != nil {
		t.Fatal(err)
	}
	l, err := auditlog.Open(context.Background(), inmem.NewLogStore(), key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		var b, nul fr.Element
		b.SetUint64(uint64(100 + i))
		nul.SetUint64(uint64(1 + i%3))
		e := auditlog.Entry{Time: time.Unix(int64(1800000000+i), 0).UTC(), Binding: b, Scope: "trial:x", Nullifier: &nul, Result: auditlog.ResultValid}
		if _, err := l.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	return l, key
}

func TestLogEndpoints(t *testing.T) {
	l, key := logWith(t, 10)
	h := newHarness(t, &fakeService{}, func(d *Deps) { d.Log = l })
	get := func(path string, status int) *servertest.Response {
		t.Helper()
		r := h.c.Do(servertest.Request{Method: "GET", Path: path})
		if r.Status != status {
			t.Fatalf("GET %s: %d %s, want %d", path, r.Status, r.Body, status)
		}
		return r
	}
	cpResp := get("/v1/log/checkpoint", 200)
	cp, err := auditlog.OpenCheckpoint(cpResp.Body, key.VerifierKey())
	if err != nil || cp.Size != 10 || !strings.HasPrefix(cpResp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("checkpoint %s: %v", cpResp.Body, err)
	}
	if got := strings.TrimSpace(string(get("/v1/log/key", 200).Body)); got != key.VerifierKey() {
		t.Fatalf("key %q, want %q", got, key.VerifierKey())
	}

	var page auditlog.EntriesJSON
	json.Unmarshal(get("/v1/log/entries?start=2&end=5", 200).Body, &page)
	if len(page.Entries) != 3 || page.Entries[0].Index != 2 || page.Next != nil {
		t.Fatalf("entries 2..5: %+v", page)
	}
	ix, err := page.Entries[1].Parse()
	if err != nil {
		t.Fatal(err)
	}
	var incl auditlog.InclusionJSON
	json.Unmarshal(get("/v1/log/proofs/inclusion?index=3&size=10", 200).Body, &incl)
	hashes, err := auditlog.DecodeHashes(incl.Hashes)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 3, 10, auditlog.LeafHash(ix.Leaf), hashes, cp.Hash); err != nil {
		t.Fatalf("served inclusion proof: %v", err)
	}
	var cons auditlog.ConsistencyJSON
	json.Unmarshal(get("/v1/log/proofs/consistency?from=4&to=10", 200).Body, &cons)
	if len(cons.Hashes) == 0 || cons.From != 4 || cons.To != 10 {
		t.Fatalf("consistency: %+v", cons)
	}

	var one fr.Element
	one.SetUint64(1)
	json.Unmarshal(get("/v1/log/entries?nullifier="+fieldhash.Hex(one), 200).Body, &page)
	if len(page.Entries) != 4 || page.Entries[3].Index != 9 {
		t.Fatalf("entries of nullifier 1: %+v", page)
	}
	json.Unmarshal(get("/v1/log/entries?nullifier="+fieldhash.Hex(one)+"&start=4", 200).Body, &page)
	if len(page.Entries) != 2 || page.Entries[0].Index != 6 {
		t.Fatalf("entries of nullifier 1 from 4: %+v", page)
	}

	for _, tc := range []struct{ path, names string }{
		{"/v1/log/entries", "start"},
		{"/v1/log/entries?start=1", "end"},
		{"/v1/log/entries?start=-1&end=3", "start"},
		{"/v1/log/entries?start=%2B1&end=3", "start"},
		{"/v1/log/entries?start=4&end=3", "start"},
		{"/v1/log/entries?start=11&end=12", "start"},
		{"/v1/log/entries?nullifier=xyz", "nullifier"},
		{"/v1/log/entries?nullifier=0x01&end=3", "end"},
		{"/v1/log/proofs/inclusion?index=1", "size"},
		{"/v1/log/proofs/inclusion?index=10&size=10", "index"},
		{"/v1/log/proofs/inclusion?index=1&size=11", "size"},
		{"/v1/log/proofs/consistency?from=1&to=11", "to"},
		{"/v1/log/proofs/consistency?from=5&to=4", "from"},
		{"/v1/log/proofs/consistency?from=a&to=4", "from"},
	} {
		t.Run("ErrInvalid "+tc.path, func(t *testing.T) {
			r := get(tc.path, 400)
			if r.ErrorCode() != zkhealth.EInvalid || !strings.HasPrefix(r.ErrorMessage(), tc.names) {
				t.Fatalf("%s %s, want invalid_request naming %s", r.ErrorCode(), r.ErrorMessage(), tc.names)
			}
		})
	}

	t.Run("Client", func(t *testing.T) {
		ts := httptest.NewServer(h.srv)
		t.Cleanup(ts.Close)
		c := &auditlog.Client{BaseURL: ts.URL}
		got, err := auditlog.Check(context.Background(), c, key.VerifierKey(), nil)
		if err != nil || got.Size != 10 {
			t.Fatalf("Check over HTTP: %+v, %v", got, err)
		}
		if vk, err := c.VerifierKey(context.Background()); err != nil || vk != key.VerifierKey() {
			t.Fatalf("VerifierKey: %q, %v", vk, err)
		}
		_, found, err := auditlog.Audit(context.Background(), c, key.VerifierKey(), one)
		if err != nil || len(found) != 4 {
			t.Fatalf("Audit over HTTP: %d entries, %v", len(found), err)
		}
		if _, err := c.InclusionProof(context.Background(), 1, 11); err == nil || !strings.Contains(err.Error(), "400 invalid_request") {
			t.Fatalf("client error: %v", err)
		}
	})

	t.Run("StoreDown", func(t *testing.T) {
		store := &switchStore{LogStore: inmem.NewLogStore()}
		down, err := auditlog.Open(context.Background(), store, key)
		if err != nil {
			t.Fatal(err)
		}
		store.down = true
		h := newHarness(t, &fakeService{}, func(d *Deps) { d.Log = down })
		for _, p := range []string{"/v1/log/checkpoint", "/v1/log/entries?start=0&end=1"} {
			if r := h.c.Do(servertest.Request{Method: "GET", Path: p}); r.Status != 503 || r.ErrorCode() != zkhealth.EUnavailable {
				t.Errorf("%s with the store down: %d %s", p, r.Status, r.Body)
			}
		}
	})

	t.Run("NoLog", func(t *testing.T) {
		h := newHarness(t, &fakeService{}, nil)
		// a server without a log (tests of other parts) has no such endpoint, which the document
		// does not describe: Try, not Do
		if r, _ := h.c.Try(servertest.Request{Method: "GET", Path: "/v1/log/checkpoint"}); r == nil || r.Status != 404 {
			t.Fatalf("without a log: %v", r)
		}
	})
}
