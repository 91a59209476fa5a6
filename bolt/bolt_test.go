package bolt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/bolt"
	"github.com/zkhealth/zkhealth/internal/porttest"
)

// MustOpen opens a store in a fresh temporary directory and closes it when the test ends.
func MustOpen(tb testing.TB) *bolt.Store {
	tb.Helper()
	return mustOpenPath(tb, filepath.Join(tb.TempDir(), "zkhealth.db"))
}

func mustOpenPath(tb testing.TB, path string) *bolt.Store {
	tb.Helper()
	s, err := bolt.Open(path)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := zkhealth.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (err %v), want %q", got, err, code)
	}
}

var (
	ctx     = context.Background()
	policyA = zkhealth.StoredPolicy{ID: "pol-a", Policy: json.RawMessage(`{"schema":"clinical","scope":"trial:A"}`)}
)

func request(id string, expires time.Time) zkhealth.PresentationRequest {
	return zkhealth.PresentationRequest{
		ID: id, PolicyID: policyA.ID, Policy: policyA.Policy, AsOf: "2026-01-02",
		Scope: "trial:A", Challenge: "00ff", ExpiresAt: expires.UTC().Round(0),
	}
}

func TestOpen(t *testing.T) {
	t.Run("FileMode0600", func(t *testing.T) {
		s := MustOpen(t)
		fi, err := os.Stat(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Fatalf("mode = %o, want 600", m)
		}
	})
	t.Run("CreatesDirectory", func(t *testing.T) {
		mustOpenPath(t, filepath.Join(t.TempDir(), "a", "b", "zkhealth.db"))
	})
	t.Run("ErrLockedFailsWithinTimeout", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "zkhealth.db")
		mustOpenPath(t, path)
		start := time.Now()
		s2, err := bolt.Open(path) // flock conflicts between file descriptions, even in one process
		if err == nil {
			_ = s2.Close()
			t.Fatal("second Open of a locked file succeeded")
		}
		wantCode(t, err, zkhealth.EUnavailable)
		if d := time.Since(start); d < bolt.LockTimeout/2 || d > bolt.LockTimeout+2*time.Second {
			t.Fatalf("second Open failed after %v, want about %v", d, bolt.LockTimeout)
		}
	})
}

// TestStore runs the port's conformance suite.
func TestStore(t *testing.T) {
	porttest.Store(t, func(t *testing.T) zkhealth.Store { return MustOpen(t) })
}

// TestRetention: an expired request answers EExpired for ExpiredRetention, then ENotFound; a
// replaced request's old expiry no longer purges it.
func TestRetention(t *testing.T) {
	s := MustOpen(t)
	// In the future, so that the purge PutRequest runs with the real clock removes nothing.
	exp := time.Now().Add(240 * time.Hour).UTC().Round(0)
	if err := s.PutRequest(ctx, request("req-1", exp)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		now  time.Time
		code string
	}{
		{"ErrExpiredAlmostRetention", exp.Add(bolt.ExpiredRetention - time.Second), zkhealth.EExpired},
		{"ErrNotFoundAfterRetention", exp.Add(bolt.ExpiredRetention + time.Second), zkhealth.ENotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Request(ctx, "req-1", tc.now)
			wantCode(t, err, tc.code)
		})
	}
	t.Run("Replace", func(t *testing.T) {
		if err := s.PutRequest(ctx, request("req-1", exp.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
		// The old expiry's index entry is gone: a purge at the old cutoff keeps the request.
		if n, err := s.Purge(exp.Add(bolt.ExpiredRetention + time.Minute)); err != nil || n != 0 {
			t.Fatalf("Purge = %d, %v; want 0 purged", n, err)
		}
	})
}

func TestPurge(t *testing.T) {
	t.Run("Explicit", func(t *testing.T) {
		s := MustOpen(t)
		// In the future, so that the purge PutRequest runs with the real clock removes nothing.
		exp := time.Now().Add(240 * time.Hour).UTC().Round(0)
		for i, e := range []time.Time{exp, exp.Add(time.Hour), exp.Add(48 * time.Hour)} {
			if err := s.PutRequest(ctx, request(fmt.Sprint("r", i), e)); err != nil {
				t.Fatal(err)
			}
		}
		now := exp.Add(bolt.ExpiredRetention + 30*time.Minute) // past r0's retention only
		n, err := s.Purge(now)
		if err != nil || n != 1 {
			t.Fatalf("Purge = %d, %v; want 1", n, err)
		}
		// Read at exp so that only the purge decides what is found.
		for id, code := range map[string]string{"r0": zkhealth.ENotFound, "r1": "", "r2": ""} {
			_, err := s.Request(ctx, id, exp)
			wantCode(t, err, code)
		}
	})
	t.Run("OnPutRequest", func(t *testing.T) {
		s := MustOpen(t)
		old := time.Now().Add(-bolt.ExpiredRetention - time.Hour)
		if err := s.PutRequest(ctx, request("old", old)); err != nil {
			t.Fatal(err)
		}
		if err := s.PutRequest(ctx, request("new", time.Now().Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Request(ctx, "old", old.Add(-time.Minute)); zkhealth.ErrorCode(err) != zkhealth.ENotFound {
			t.Fatalf("old request still stored after PutRequest: err = %v", err)
		}
	})
}

func TestClosed(t *testing.T) {
	s := MustOpen(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping on open store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	calls := map[string]func() error{
		"Ping":      func() error { return s.Ping(ctx) },
		"PutPolicy": func() error { return s.PutPolicy(ctx, policyA) },
		"Policy":    func() error { _, err := s.Policy(ctx, "pol-a"); return err },
		"PutRequest": func() error {
			return s.PutRequest(ctx, request("r", exp))
		},
		"Request":      func() error { _, err := s.Request(ctx, "r", time.Now()); return err },
		"UseNullifier": func() error { _, err := s.UseNullifier(ctx, "s", "n", "c"); return err },
		"PutIssuer": func() error {
			_, err := s.PutIssuer(ctx, zkhealth.Issuer{PublicKey: "aa"})
			return err
		},
		"Issuers":     func() error { _, err := s.Issuers(ctx); return err },
		"IssuerByKey": func() error { _, err := s.IssuerByKey(ctx, "aa"); return err },
		"Purge":       func() error { _, err := s.Purge(time.Now()); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) { wantCode(t, call(), zkhealth.EUnavailable) })
	}
}

func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zkhealth.db")
	exp := time.Now().Add(time.Hour).UTC().Round(0)
	iss := []zkhealth.Issuer{{ID: "i1", Name: "One", PublicKey: "01"}, {ID: "i2", Name: "Two", PublicKey: "02"}}

	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutPolicy(ctx, policyA); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRequest(ctx, request("req-1", exp)); err != nil {
		t.Fatal(err)
	}
	if first, err := s.UseNullifier(ctx, "trial:A", "42", "claim-1"); err != nil || !first {
		t.Fatalf("UseNullifier = %v, %v", first, err)
	}
	for _, is := range iss {
		if _, err := s.PutIssuer(ctx, is); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpenPath(t, path)
	if got, err := s.Policy(ctx, policyA.ID); err != nil || !reflect.DeepEqual(got, policyA) {
		t.Errorf("policy after restart = %v, %v", got, err)
	}
	if got, err := s.Request(ctx, "req-1", time.Now()); err != nil || !reflect.DeepEqual(got, request("req-1", exp)) {
		t.Errorf("request after restart = %v, %v", got, err)
	}
	if first, err := s.UseNullifier(ctx, "trial:A", "42", "claim-2"); err != nil || first {
		t.Errorf("nullifier after restart: first = %v, %v; want false", first, err)
	}
	if got, err := s.Issuers(ctx); err != nil || !reflect.DeepEqual(got, iss) {
		t.Errorf("issuers after restart = %v, %v; want %v", got, err, iss)
	}
	// The insertion sequence survives too: a new issuer goes last.
	i3 := zkhealth.Issuer{ID: "i0", Name: "Three", PublicKey: "03"}
	if _, err := s.PutIssuer(ctx, i3); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Issuers(ctx); len(got) != 3 || got[2] != i3 {
		t.Errorf("issuers after restart and insert = %v; want %v last", got, i3)
	}
}
