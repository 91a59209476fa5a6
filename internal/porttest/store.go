package porttest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
)

// OpenStore returns an empty store for one test; the opener releases it when the test ends.
type OpenStore func(t *testing.T) zkhealth.Store

// Store runs the zkhealth.Store contract on stores from open.
func Store(t *testing.T, open OpenStore) {
	t.Run("Policy", func(t *testing.T) { storePolicy(t, open(t)) })
	t.Run("Request", func(t *testing.T) { storeRequest(t, open(t)) })
	t.Run("UseNullifier", func(t *testing.T) { storeNullifier(t, open(t)) })
	t.Run("Issuers", func(t *testing.T) { storeIssuers(t, open(t)) })
	t.Run("Ping", func(t *testing.T) {
		if err := open(t).Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

func storePolicy(t *testing.T, s zkhealth.Store) {
	ctx := context.Background()
	p := zkhealth.StoredPolicy{ID: "pol-a", Policy: json.RawMessage(`{"schema":"clinical","scope":"trial:A"}`)}
	if err := s.PutPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	// the same id again is a no-op: the first content stays
	if err := s.PutPolicy(ctx, zkhealth.StoredPolicy{ID: "pol-a", Policy: json.RawMessage(`{"schema":"coverage"}`)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, id string
		want     zkhealth.StoredPolicy
		code     string
	}{
		{"OK", "pol-a", p, ""},
		{"ErrNotFound", "pol-missing", zkhealth.StoredPolicy{}, zkhealth.ENotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Policy(ctx, tc.id)
			wantCode(t, err, tc.code)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Policy = %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("ErrInvalidEmptyID", func(t *testing.T) {
		wantCode(t, s.PutPolicy(ctx, zkhealth.StoredPolicy{Policy: json.RawMessage(`{}`)}), zkhealth.EInvalid)
	})
}

func presentationRequest(id string, expires time.Time) zkhealth.PresentationRequest {
	return zkhealth.PresentationRequest{
		ID: id, PolicyID: "pol-a", Policy: json.RawMessage(`{"schema":"clinical","scope":"trial:A"}`), AsOf: "2026-01-02",
		Scope: "trial:A", Challenge: "00ff", ExpiresAt: expires.UTC().Truncate(time.Second),
	}
}

func storeRequest(t *testing.T, s zkhealth.Store) {
	ctx := context.Background()
	// in the future, so that no adapter's clean-up by the real clock removes it
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r := presentationRequest("req-1", exp)
	if err := s.PutRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, id string
		now      time.Time
		code     string
	}{
		{"OK", "req-1", exp.Add(-time.Minute), ""},
		{"OKAtExpiry", "req-1", exp, ""},
		{"ErrExpired", "req-1", exp.Add(time.Nanosecond), zkhealth.EExpired},
		{"ErrExpiredAlmostADayLater", "req-1", exp.Add(23 * time.Hour), zkhealth.EExpired},
		{"ErrNotFound", "req-missing", exp.Add(-time.Minute), zkhealth.ENotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Request(ctx, tc.id, tc.now)
			wantCode(t, err, tc.code)
			if tc.code == "" && !reflect.DeepEqual(got, r) {
				t.Fatalf("Request = %+v, want %+v", got, r)
			}
		})
	}
	t.Run("Replace", func(t *testing.T) {
		r2 := presentationRequest("req-1", exp.Add(time.Hour))
		r2.Challenge = "0e0e"
		if err := s.PutRequest(ctx, r2); err != nil {
			t.Fatal(err)
		}
		got, err := s.Request(ctx, "req-1", exp.Add(time.Minute))
		if err != nil || !reflect.DeepEqual(got, r2) {
			t.Fatalf("replaced request = %+v, %v; want %+v", got, err, r2)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		wantCode(t, s.PutRequest(ctx, presentationRequest("", exp)), zkhealth.EInvalid)
		wantCode(t, s.PutRequest(ctx, zkhealth.PresentationRequest{ID: "no-expiry"}), zkhealth.EInvalid)
	})
}

func storeNullifier(t *testing.T, s zkhealth.Store) {
	ctx := context.Background()
	steps := []struct {
		name, scope, nullifier, claim string
		first                         bool
		code                          string
	}{
		{"FirstUse", "trial:A", "123", "c1", true, ""},
		{"SecondUse", "trial:A", "123", "c2", false, ""},
		{"FirstClaimRepeated", "trial:A", "123", "c1", true, ""},
		{"OtherScope", "trial:B", "123", "c2", true, ""},
		{"OtherNullifier", "trial:A", "124", "c2", true, ""},
		{"SeparatorsDoNotCollide", "trial-A", "123", "c3", true, ""},
		{"ErrInvalidEmptyScope", "", "1", "c3", false, zkhealth.EInvalid},
		{"ErrInvalidEmptyNullifier", "trial:A", "", "c3", false, zkhealth.EInvalid},
		{"ErrInvalidEmptyClaim", "trial:A", "125", "", false, zkhealth.EInvalid},
	}
	for _, tc := range steps { // ordered: each step depends on the previous ones
		t.Run(tc.name, func(t *testing.T) {
			first, err := s.UseNullifier(ctx, tc.scope, tc.nullifier, tc.claim)
			wantCode(t, err, tc.code)
			if first != tc.first {
				t.Fatalf("first = %v, want %v", first, tc.first)
			}
		})
	}
	t.Run("KeyPartsDoNotCollide", func(t *testing.T) {
		// "trial:A\x001" + "23" is not "trial:A" + "123": refused, or a first use of its own
		first, err := s.UseNullifier(ctx, "trial:A\x001", "23", "c4")
		if zkhealth.ErrorCode(err) != zkhealth.EInvalid && (err != nil || !first) {
			t.Fatalf("UseNullifier(scope with NUL) = %v, %v; want EInvalid or a first use", first, err)
		}
	})
	t.Run("ConcurrentExactlyOnce", func(t *testing.T) {
		for round := range 5 {
			const n = 50
			var firsts atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range n {
				wg.Go(func() {
					<-start
					first, err := s.UseNullifier(ctx, "trial:race", fmt.Sprint(round), fmt.Sprint("claim-", g))
					if err != nil {
						t.Error(err)
					}
					if first {
						firsts.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if got := firsts.Load(); got != 1 {
				t.Fatalf("round %d: %d of %d concurrent calls saw first use, want exactly 1", round, got, n)
			}
		}
	})
}

func storeIssuers(t *testing.T, s zkhealth.Store) {
	ctx := context.Background()
	t.Run("EmptyList", func(t *testing.T) {
		got, err := s.Issuers(ctx)
		if err != nil || len(got) != 0 {
			t.Fatalf("Issuers = %#v, %v; want none", got, err)
		}
	})
	a := zkhealth.Issuer{ID: "iss-a", Name: "Lab A", PublicKey: "aa01"}
	b := zkhealth.Issuer{ID: "iss-b", Name: "Payer B", PublicKey: "bb02"}
	c := zkhealth.Issuer{ID: "iss-c", Name: "Hospital C", PublicKey: "0c03"}
	for _, is := range []zkhealth.Issuer{b, a, c} { // not in id order: the list keeps insertion order
		got, err := s.PutIssuer(ctx, is)
		if err != nil || got != is {
			t.Fatalf("PutIssuer(%v) = %v, %v", is, got, err)
		}
	}
	t.Run("PutIssuerIdempotent", func(t *testing.T) {
		got, err := s.PutIssuer(ctx, zkhealth.Issuer{ID: "iss-new", Name: "Renamed", PublicKey: "AA01"})
		if err != nil || got != a {
			t.Fatalf("PutIssuer(existing key, other case) = %v, %v; want the existing %v", got, err, a)
		}
	})
	t.Run("OldestFirst", func(t *testing.T) {
		got, err := s.Issuers(ctx)
		if err != nil || !reflect.DeepEqual(got, []zkhealth.Issuer{b, a, c}) {
			t.Fatalf("Issuers = %v, %v; want %v", got, err, []zkhealth.Issuer{b, a, c})
		}
	})
	for _, tc := range []struct {
		name, key string
		want      zkhealth.Issuer
		code      string
	}{
		{"ByKeyOK", "bb02", b, ""},
		{"ByKeyOtherCase", "0C03", c, ""},
		{"ByKeyErrNotFound", "dd04", zkhealth.Issuer{}, zkhealth.ENotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.IssuerByKey(ctx, tc.key)
			wantCode(t, err, tc.code)
			if got != tc.want {
				t.Fatalf("IssuerByKey = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("ErrInvalidEmptyKey", func(t *testing.T) {
		_, err := s.PutIssuer(ctx, zkhealth.Issuer{Name: "x"})
		wantCode(t, err, zkhealth.EInvalid)
	})
	t.Run("ConcurrentRegistrationsOfOneKey", func(t *testing.T) {
		results := make([]zkhealth.Issuer, 20)
		var wg sync.WaitGroup
		for g := range results {
			wg.Go(func() {
				is, err := s.PutIssuer(ctx, zkhealth.Issuer{ID: fmt.Sprint("id", g), Name: "n", PublicKey: "ee05"})
				if err != nil {
					t.Error(err)
				}
				results[g] = is
			})
		}
		wg.Wait()
		for _, r := range results[1:] {
			if r != results[0] {
				t.Fatalf("concurrent registrations returned different records: %+v vs %+v", r, results[0])
			}
		}
		list, err := s.Issuers(ctx)
		if err != nil || len(list) != 4 {
			t.Fatalf("registry holds %d issuers (%v), want 4", len(list), err)
		}
	})
}
