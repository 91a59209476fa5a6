package redis_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/porttest"
	"github.com/zkhealth/zkhealth/internal/redistest"
	"github.com/zkhealth/zkhealth/redis"
)

// TestCachePort runs the port's conformance suite, each test on a fresh prefix.
func TestCachePort(t *testing.T) {
	porttest.Cache(t, func(t *testing.T) zkhealth.Cache {
		_, c, prefix := mustOpen(t)
		return redis.NewCache(c, prefix)
	})
}

// TestCache: what Redis adds to the port: SetNX across two clients, and an error (never a miss)
// when Redis is down.
func TestCache(t *testing.T) {
	ctx := context.Background()
	t.Run("SetNX", func(t *testing.T) {
		_, cl, prefix := mustOpen(t)
		c1 := redis.NewCache(cl, prefix)
		c2 := redis.NewCache(redistest.Client(t, redisURL), prefix)
		var stored atomic.Int32
		var wg sync.WaitGroup
		for g := range 20 {
			c := c1
			if g%2 == 1 {
				c = c2
			}
			wg.Go(func() {
				ok, err := c.SetNX(ctx, "race", []byte{byte(g)}, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					stored.Add(1)
				}
			})
		}
		wg.Wait()
		if n := stored.Load(); n != 1 {
			t.Fatalf("%d SetNX calls stored, want 1", n)
		}
		first, _, _ := c1.Get(ctx, "race")
		if ok, err := c1.SetNX(ctx, "race", []byte("late"), time.Minute); ok || err != nil {
			t.Fatalf("SetNX on a present key = %v, %v", ok, err)
		}
		again, _, _ := c2.Get(ctx, "race")
		if string(again) != string(first) {
			t.Fatal("SetNX replaced the first value")
		}
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		// Redis stopped: Get reports an error, never a miss.
		c := redis.NewCache(downClient(t), "zkhtest:down:")
		v, ok, err := c.Get(ctx, "hmac-of-something")
		if err == nil {
			t.Fatalf("Get with Redis down = %q, %v, nil; want an error, not a miss", v, ok)
		}
		wantCode(t, err, zkhealth.EUnavailable)
		if ok || v != nil {
			t.Fatalf("Get with Redis down returned a value")
		}
		if strings.Contains(err.Error(), "hmac-of-something") {
			t.Fatalf("error echoes the key: %v", err)
		}
		wantCode(t, c.Set(ctx, "k", []byte("v"), time.Minute), zkhealth.EUnavailable)
		_, err = c.SetNX(ctx, "k", []byte("v"), time.Minute)
		wantCode(t, err, zkhealth.EUnavailable)
	})
}

// TestRateLimiterPort runs the port's conformance suite, each test on a fresh prefix.
func TestRateLimiterPort(t *testing.T) {
	porttest.RateLimiter(t, func(t *testing.T, limit int, window time.Duration) zkhealth.RateLimiter {
		_, c, prefix := mustOpen(t)
		return redis.NewRateLimiter(c, prefix, limit, window)
	})
}

// TestRateLimiter: what Redis adds to the port: one count shared by two clients, counter keys
// that do not hold the API key, an error when Redis is down.
func TestRateLimiter(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		_, c, prefix := mustOpen(t)
		const window = 1500 * time.Millisecond
		// Two limiters on two clients share the count, as two server processes do.
		l1 := redis.NewRateLimiter(c, prefix, 3, window)
		l2 := redis.NewRateLimiter(redistest.Client(t, redisURL), prefix, 3, window)
		for i, l := range []*redis.RateLimiter{l1, l2, l1} {
			ok, retry, err := l.Allow(ctx, "key-a")
			if err != nil || !ok || retry != 0 {
				t.Fatalf("request %d: ok=%v retry=%v err=%v", i+1, ok, retry, err)
			}
		}
		ok, retry, err := l2.Allow(ctx, "key-a")
		if err != nil || ok {
			t.Fatalf("4th request: ok=%v err=%v; want refused", ok, err)
		}
		if retry <= 0 || retry > window {
			t.Fatalf("retryAfter = %v, want in (0, %v]", retry, window)
		}
		// Another key has its own count.
		if ok, _, err := l1.Allow(ctx, "key-b"); err != nil || !ok {
			t.Fatalf("other key: ok=%v err=%v", ok, err)
		}
		// After the window, requests pass again.
		time.Sleep(retry + 50*time.Millisecond)
		if ok, _, err := l1.Allow(ctx, "key-a"); err != nil || !ok {
			t.Fatalf("after the window: ok=%v err=%v", ok, err)
		}
	})
	t.Run("KeyNotStoredPlain", func(t *testing.T) {
		_, c, prefix := mustOpen(t)
		l := redis.NewRateLimiter(c, prefix, 5, time.Minute)
		const apiKey = "zkh_live_SECRETAPIKEY123"
		if _, _, err := l.Allow(ctx, apiKey); err != nil {
			t.Fatal(err)
		}
		keys, err := redistest.Keys(ctx, c, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 {
			t.Fatalf("keys under the prefix: %q, want one counter", keys)
		}
		for _, k := range keys {
			if strings.Contains(k, apiKey) {
				t.Fatalf("rate-limit key %q holds the API key", k)
			}
			if ttl := c.PTTL(ctx, k).Val(); ttl <= 0 || ttl > time.Minute {
				t.Fatalf("counter TTL = %v", ttl)
			}
		}
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		l := redis.NewRateLimiter(downClient(t), "zkhtest:down:", 5, time.Minute)
		_, _, err := l.Allow(ctx, "k")
		wantCode(t, err, zkhealth.EUnavailable)
	})
}
