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
	"github.com/zkhealth/zkhealth/internal/porttest"
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

// TestStore runs the port's conformance suite, each test on a fresh prefix.
func TestStore(t *testing.T) {
	porttest.Store(t, func(t *testing.T) zkhealth.Store {
		s, _, _ := mustOpen(t)
		return s
	})
}

// TestKeyExpiry: policies never expire; a request's key lives a day past its expiry and is then
// gone (ENotFound).
func TestKeyExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	req := zkhealth.PresentationRequest{
		ID: "req1", PolicyID: "pol1", Policy: json.RawMessage(`{"schema":"coverage"}`),
		AsOf: "2026-01-02", Scope: "trial-42", Challenge: strings.Repeat("ab", 32),
		ExpiresAt: now.Add(10 * time.Minute),
	}
	t.Run("PolicyNoExpiry", func(t *testing.T) {
		s, c, prefix := mustOpen(t)
		if err := s.PutPolicy(ctx, zkhealth.StoredPolicy{ID: "p", Policy: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if ttl := c.TTL(ctx, prefix+"policy:p").Val(); ttl != -1 {
			t.Fatalf("policy TTL = %v, want none (-1)", ttl)
		}
	})
	t.Run("RequestKeptADayAfterExpiry", func(t *testing.T) {
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
}

// TestTwoClients: two clients (two connection pools, as two processes have) on one prefix share
// the nullifier registry and the issuer registry, atomically.
func TestTwoClients(t *testing.T) {
	ctx := context.Background()
	t.Run("UseNullifier", func(t *testing.T) {
		s1, _, prefix := mustOpen(t)
		s2 := redis.NewStore(redistest.Client(t, redisURL), prefix)
		for round := range 20 {
			nul := fmt.Sprintf("nul-%d", round)
			var firsts atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range 50 {
				s := s1
				if g%2 == 1 {
					s = s2
				}
				wg.Go(func() {
					<-start
					first, err := s.UseNullifier(ctx, "scope", nul, fmt.Sprint("claim-", g))
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
			if n := firsts.Load(); n != 1 {
				t.Fatalf("round %d: %d callers saw first use, want exactly 1", round, n)
			}
		}
	})
	t.Run("PutIssuer", func(t *testing.T) {
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
		if list, _ := s2.Issuers(ctx); len(list) != 1 {
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
