package porttest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
)

// OpenRateLimiter returns a fresh limiter allowing limit requests per key at once and limit per
// window on average; the opener releases it when the test ends.
type OpenRateLimiter func(t *testing.T, limit int, window time.Duration) zkhealth.RateLimiter

// RateLimiter runs the zkhealth.RateLimiter contract on limiters from open, with the real clock.
func RateLimiter(t *testing.T, open OpenRateLimiter) {
	ctx := context.Background()
	t.Run("LimitThenRetryAfter", func(t *testing.T) {
		const window = 1500 * time.Millisecond
		l := open(t, 3, window)
		for i := range 3 {
			ok, retry, err := l.Allow(ctx, "key-a")
			if err != nil || !ok || retry != 0 {
				t.Fatalf("request %d: ok=%v retry=%v err=%v; want allowed", i+1, ok, retry, err)
			}
		}
		ok, retry, err := l.Allow(ctx, "key-a")
		if err != nil || ok {
			t.Fatalf("4th request: ok=%v err=%v; want refused", ok, err)
		}
		if retry <= 0 || retry > window {
			t.Fatalf("retryAfter = %v, want in (0, %v]", retry, window)
		}
		if ok, _, err := l.Allow(ctx, "key-b"); err != nil || !ok {
			t.Fatalf("another key: ok=%v err=%v; want its own count", ok, err)
		}
		time.Sleep(retry + 50*time.Millisecond)
		if ok, _, err := l.Allow(ctx, "key-a"); err != nil || !ok {
			t.Fatalf("after retryAfter: ok=%v err=%v; want allowed", ok, err)
		}
	})
	t.Run("ConcurrentExactlyLimit", func(t *testing.T) {
		l := open(t, 10, time.Minute)
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				ok, _, err := l.Allow(ctx, "k")
				if err != nil {
					t.Error(err)
				}
				if ok {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := allowed.Load(); n != 10 {
			t.Fatalf("%d of 50 concurrent requests allowed, want 10", n)
		}
	})
}
