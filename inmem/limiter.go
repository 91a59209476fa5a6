package inmem

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/zkhealth/zkhealth"
)

// minSweep is the number of buckets below which the limiter never sweeps idle ones.
const minSweep = 1024

// RateLimiter is a zkhealth.RateLimiter with one token bucket per key (golang.org/x/time/rate):
// a key may make burst requests at once and ratePerSecond on average. A bucket that has refilled
// completely is indistinguishable from a new one, so the limiter drops such idle buckets whenever
// the number of buckets has doubled since the last sweep: memory stays proportional to the keys
// active within one refill period (burst / ratePerSecond). Its methods never return an error.
type RateLimiter struct {
	mu        sync.Mutex
	limit     rate.Limit
	burst     int
	buckets   map[string]*rate.Limiter
	nextSweep int
	now       func() time.Time
}

var _ zkhealth.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns a limiter allowing each key burst requests at once and ratePerSecond on
// average. It panics unless ratePerSecond > 0 and burst >= 1.
func NewRateLimiter(ratePerSecond float64, burst int) *RateLimiter {
	if !(ratePerSecond > 0) || math.IsInf(ratePerSecond, 0) || burst < 1 {
		panic("inmem: NewRateLimiter: ratePerSecond must be positive and finite and burst at least 1")
	}
	return &RateLimiter{
		limit:     rate.Limit(ratePerSecond),
		burst:     burst,
		buckets:   make(map[string]*rate.Limiter),
		nextSweep: minSweep,
		now:       time.Now,
	}
}

// Allow counts one request for key. When the key's bucket is empty it reports false and how long
// until the next token (always > 0); a refused request takes no token.
func (l *RateLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.nextSweep {
			l.sweep(now)
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	if b.AllowN(now, 1) {
		return true, 0, nil
	}
	missing := 1 - b.TokensAt(now)
	wait := time.Duration(math.Ceil(missing / float64(l.limit) * float64(time.Second)))
	return false, max(wait, time.Nanosecond), nil
}

// Len returns the number of buckets held.
func (l *RateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// sweep drops the buckets that are full again.
func (l *RateLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	l.nextSweep = max(minSweep, 2*len(l.buckets))
}
