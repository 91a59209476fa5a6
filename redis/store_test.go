package redis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/redistest"
	"github.com/zkhealth/zkhealth/redis"
)

// mustOpen returns a Store on a fresh prefix, its client and the prefix; the prefix's keys are
// deleted when the test ends.
func mustOpen(t *testing.T) (*redis.Store, *goredis.Client, string) {
	t.Helper()
	c := redistest.Client(t, redisURL)
	prefix := redistest.Prefix(t)
	redistest.Cleanup(t, c, prefix)
	return redis.NewStore(c, prefix), c, prefix
}

// downClient returns a client whose Redis is gone: a private redis-server that answered once and
// was then stopped, or (without redis-server) an address nothing listens on. The client does not
// retry, to keep the tests short.
func downClient(t *testing.T) *goredis.Client {
	t.Helper()
	if redistest.Installed() {
		s := redistest.StartPrivate(t)
		c := redistest.Client(t, s.URL+"?max_retries=-1")
		if err := c.Ping(context.Background()).Err(); err != nil {
			t.Fatalf("private redis: %v", err)
		}
		s.Stop()
		return c
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return redistest.Client(t, "redis://"+addr+"?max_retries=-1")
}

func TestPolicy(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		p := zkhealth.StoredPolicy{ID: "pol1", Policy: json.RawMessage(`{"schema":"coverage"}`)}
		if err := s.PutPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.Policy(ctx, "pol1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != p.ID || string(got.Policy) != string(p.Policy) {
			t.Fatalf("got %+v, want %+v", got, p)
		}
		// Storing an existing id again is a no-op.
		if err := s.PutPolicy(ctx, zkhealth.StoredPolicy{ID: "pol1", Policy: json.RawMessage(`{"other":1}`)}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Policy(ctx, "pol1")
		if string(got.Policy) != string(p.Policy) {
			t.Fatalf("second put replaced the policy: %s", got.Policy)
		}
	})
	t.Run("NoExpiry", func(t *testing.T) {
		s, c, prefix := mustOpen(t)
		if err := s.PutPolicy(ctx, zkhealth.StoredPolicy{ID: "p", Policy: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if ttl := c.TTL(ctx, prefix+"policy:p").Val(); ttl != -1 {
			t.Fatalf("policy TTL = %v, want none (-1)", ttl)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		_, err := s.Policy(ctx, "nope")
		wantCode(t, err, zkhealth.ENotFound)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		wantCode(t, s.PutPolicy(ctx, zkhealth.StoredPolicy{Policy: json.RawMessage(`{}`)}), zkhealth.EInvalid)
	})
}

func TestRequest(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	req := zkhealth.PresentationRequest{
		ID: "req1", PolicyID: "pol1", Policy: json.RawMessage(`{"schema":"coverage"}`),
		AsOf: "2026-01-02", Scope: "trial-42", Challenge: strings.Repeat("ab", 32),
		ExpiresAt: now.Add(10 * time.Minute),
	}
	t.Run("OK", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		if err := s.PutRequest(ctx, req); err != nil {
			t.Fatal(err)
		}
		got, err := s.Request(ctx, "req1", now)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != req.ID || got.Scope != req.Scope || got.Challenge != req.Challenge ||
			string(got.Policy) != string(req.Policy) || !got.ExpiresAt.Equal(req.ExpiresAt) || got.AsOf != req.AsOf {
			t.Fatalf("got %+v, want %+v", got, req)
		}
		// Still valid at exactly ExpiresAt.
		if _, err := s.Request(ctx, "req1", req.ExpiresAt); err != nil {
			t.Fatalf("at ExpiresAt: %v", err)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		if err := s.PutRequest(ctx, req); err != nil {
			t.Fatal(err)
		}
		for _, after := range []time.Duration{time.Nanosecond, time.Hour, 23 * time.Hour} {
			_, err := s.Request(ctx, "req1", req.ExpiresAt.Add(after))
			wantCode(t, err, zkhealth.EExpired)
		}
	})
	t.Run("KeptADayAfterExpiry", func(t *testing.T) {
		s, c, prefix := mustOpen(t)
		if err := s.PutRequest(ctx, req); err != nil {
			t.Fatal(err)
		}
		ttl := c.PTTL(ctx, prefix+"request:req1").Val()
		want := time.Until(req.ExpiresAt.Add(24 * time.Hour))
		if d := ttl - want; d > 5*time.Second || d < -5*time.Second {
			t.Fatalf("request TTL = %v, want about %v", ttl, want)
		}
	})
	t.Run("LongExpiredIsGone", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		old := req
		old.ID = "old"
		old.ExpiresAt = now.Add(-48 * time.Hour)
		if err := s.PutRequest(ctx, old); err != nil {
			t.Fatal(err)
		}
		_, err := s.Request(ctx, "old", now)
		wantCode(t, err, zkhealth.EExpired) // kept for a second at least
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err = s.Request(ctx, "old", now)
			if zkhealth.ErrorCode(err) == zkhealth.ENotFound {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("request expired two days ago still stored: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		_, err := s.Request(ctx, "nope", now)
		wantCode(t, err, zkhealth.ENotFound)
	})
}

func TestUseNullifier(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		for i, tc := range []struct {
			scope, nul string
			claim      string
			first      bool
		}{
			{"scope-a", "n1", "c1", true},
			{"scope-a", "n1", "c2", false},
			{"scope-a", "n1", "c1", true}, // the winning claim, repeated, keeps its answer
			{"scope-a", "n2", "c2", true},
			{"scope-b", "n1", "c2", true},
			{"scope-b", "n1", "c3", false},
			{"scope:a", "n1", "c4", true}, // separators in a scope do not collide
		} {
			first, err := s.UseNullifier(ctx, tc.scope, tc.nul, tc.claim)
			if err != nil {
				t.Fatal(err)
			}
			if first != tc.first {
				t.Fatalf("case %d (%s, %s): first = %v, want %v", i, tc.scope, tc.nul, first, tc.first)
			}
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		// 50 goroutines over two clients (two connection pools, as two processes would have)
		// race on each nullifier: exactly one sees first.
		s1, _, prefix := mustOpen(t)
		c2 := redistest.Client(t, redisURL)
		s2 := redis.NewStore(c2, prefix)
		for round := range 20 {
			nul := fmt.Sprintf("nul-%d", round)
			var firsts atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make(chan error, 50)
			for g := range 50 {
				s := s1
				if g%2 == 1 {
					s = s2
				}
				wg.Go(func() {
					<-start
					first, err := s.UseNullifier(ctx, "scope", nul, fmt.Sprint("claim-", g))
					if err != nil {
						errs <- err
						return
					}
					if first {
						firsts.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if n := firsts.Load(); n != 1 {
				t.Fatalf("round %d: %d callers saw first use, want exactly 1", round, n)
			}
		}
	})
}

func TestIssuers(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		list, err := s.Issuers(ctx)
		if err != nil || len(list) != 0 {
			t.Fatalf("empty registry: %v, %v", list, err)
		}
		want := []zkhealth.Issuer{
			{ID: "i3", Name: "Zeta Health", PublicKey: "cc"},
			{ID: "i1", Name: "Acme Payer", PublicKey: "aa"},
			{ID: "i2", Name: "Lab", PublicKey: "bb"},
		}
		for _, is := range want {
			got, err := s.PutIssuer(ctx, is)
			if err != nil {
				t.Fatal(err)
			}
			if got != is {
				t.Fatalf("PutIssuer = %+v, want %+v", got, is)
			}
		}
		// Same key again: the existing record, unchanged.
		got, err := s.PutIssuer(ctx, zkhealth.Issuer{ID: "i9", Name: "Impostor", PublicKey: "aa"})
		if err != nil {
			t.Fatal(err)
		}
		if got != want[1] {
			t.Fatalf("re-registering a key returned %+v, want %+v", got, want[1])
		}
		list, err = s.Issuers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(list) != fmt.Sprint(want) {
			t.Fatalf("Issuers = %+v, want oldest first %+v", list, want)
		}
		is, err := s.IssuerByKey(ctx, "bb")
		if err != nil || is != want[2] {
			t.Fatalf("IssuerByKey = %+v, %v", is, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		_, err := s.IssuerByKey(ctx, "dd")
		wantCode(t, err, zkhealth.ENotFound)
		_, err = s.IssuerByKey(ctx, "#seq")
		wantCode(t, err, zkhealth.ENotFound)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		_, err := s.PutIssuer(ctx, zkhealth.Issuer{ID: "x", Name: "x"})
		wantCode(t, err, zkhealth.EInvalid)
	})
	t.Run("Concurrent", func(t *testing.T) {
		s1, _, prefix := mustOpen(t)
		s2 := redis.NewStore(redistest.Client(t, redisURL), prefix)
		results := make([]zkhealth.Issuer, 20)
		var wg sync.WaitGroup
		for g := range results {
			s := s1
			if g%2 == 1 {
				s = s2
			}
			wg.Go(func() {
				is, err := s.PutIssuer(ctx, zkhealth.Issuer{ID: fmt.Sprint("id", g), Name: "n", PublicKey: "ee"})
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
		list, _ := s1.Issuers(ctx)
		if len(list) != 1 {
			t.Fatalf("registry holds %d issuers, want 1", len(list))
		}
	})
}

func TestPing(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		s, _, _ := mustOpen(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := s.Ping(cctx)
		wantCode(t, err, zkhealth.EUnavailable)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Ping with a canceled context: %v, want it to wrap context.Canceled", err)
		}
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		s := redis.NewStore(downClient(t), "zkhtest:down:")
		wantCode(t, s.Ping(ctx), zkhealth.EUnavailable)
		_, err := s.Policy(ctx, "secret-policy-id")
		wantCode(t, err, zkhealth.EUnavailable)
		if strings.Contains(err.Error(), "secret-policy-id") {
			t.Fatalf("error echoes the key: %v", err)
		}
		_, err = s.UseNullifier(ctx, "scope", "nullifier-value", "claim")
		wantCode(t, err, zkhealth.EUnavailable)
		_, err = s.PutIssuer(ctx, zkhealth.Issuer{PublicKey: "aa"})
		wantCode(t, err, zkhealth.EUnavailable)
		_, err = s.Request(ctx, "r", time.Now())
		wantCode(t, err, zkhealth.EUnavailable)
	})
}
