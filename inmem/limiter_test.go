package inmem

import (
	"fmt"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/porttest"
)

func newTestLimiter(rate float64, burst int) (*RateLimiter, *fakeClock) {
	l, clk := NewRateLimiter(rate, burst), newFakeClock()
	l.now = clk.Now
	return l, clk
}

// TestRateLimiterPort runs the port's conformance suite: limit at once, limit per window on
// average.
func TestRateLimiterPort(t *testing.T) {
	porttest.RateLimiter(t, func(_ *testing.T, limit int, window time.Duration) zkhealth.RateLimiter {
		return NewRateLimiter(float64(limit)/window.Seconds(), limit)
	})
}

// TestRateLimiter: the token bucket, step by step on a fake clock.
func TestRateLimiter(t *testing.T) {
	l, clk := newTestLimiter(10, 3) // a token every 100 ms
	steps := []struct {
		name    string
		advance time.Duration
		key     string
		ok      bool
		retry   time.Duration // upper bound when refused; > 0 is always required
	}{
		{"Burst1", 0, "a", true, 0},
		{"Burst2", 0, "a", true, 0},
		{"Burst3", 0, "a", true, 0},
		{"Refused", 0, "a", false, 100 * time.Millisecond},
		{"OtherKeyIndependent", 0, "b", true, 0},
		{"StillRefused", 40 * time.Millisecond, "a", false, 60 * time.Millisecond},
		{"RecoversOneToken", 60 * time.Millisecond, "a", true, 0},
		{"RefusedCallsTookNothing", 0, "a", false, 100 * time.Millisecond},
		{"RecoversBurst1", time.Second, "a", true, 0},
		{"RecoversBurst2", 0, "a", true, 0},
		{"RecoversBurst3", 0, "a", true, 0},
		{"RefusedAgain", 0, "a", false, 100 * time.Millisecond},
	}
	for _, s := range steps { // ordered: each step depends on the previous ones
		t.Run(s.name, func(t *testing.T) {
			clk.Advance(s.advance)
			ok, retry, err := l.Allow(ctx, s.key)
			if err != nil || ok != s.ok {
				t.Fatalf("Allow(%q) = %v, %v, %v; want ok=%v", s.key, ok, retry, err, s.ok)
			}
			switch {
			case ok && retry != 0:
				t.Fatalf("allowed with retryAfter %v", retry)
			case !ok && (retry <= 0 || retry > s.retry):
				t.Fatalf("retryAfter = %v, want in (0, %v]", retry, s.retry)
			}
		})
	}
}

func TestRateLimiterDropsIdleBuckets(t *testing.T) {
	l, clk := newTestLimiter(10, 2)
	for i := range 3 * minSweep {
		if ok, _, _ := l.Allow(ctx, fmt.Sprint("k", i)); !ok {
			t.Fatalf("first request of key %d refused", i)
		}
		if i == minSweep-1 {
			clk.Advance(time.Second) // the first minSweep buckets are full again: idle
		}
	}
	// The sweep at minSweep buckets dropped those idle ones; the sweep at 2*minSweep found none.
	if n := l.Len(); n != 2*minSweep {
		t.Fatalf("Len = %d after a sweep, want %d", n, 2*minSweep)
	}
	// A dropped bucket comes back full: dropping lost nothing.
	for i := range 2 {
		if ok, _, _ := l.Allow(ctx, "k0"); !ok {
			t.Fatalf("request %d of a re-created key refused", i)
		}
	}
}

func TestNewRateLimiterPanicsOnBadConfig(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		burst int
	}{{0, 1}, {-1, 1}, {1, 0}} {
		t.Run(fmt.Sprint(tc.rate, "/", tc.burst), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			NewRateLimiter(tc.rate, tc.burst)
		})
	}
}
