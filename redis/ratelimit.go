package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/zkhealth/zkhealth"
)

// RateLimiter is a fixed-window zkhealth.RateLimiter on Redis, shared by every process using the
// same prefix: the first request of a window creates a counter that expires with the window;
// requests beyond limit in that window are refused until it expires.
//
// The counter key is <prefix>rl:<hex SHA-256 of key>, so an API key used as the limiter key is
// never stored in plain form.
type RateLimiter struct {
	client goredis.UniversalClient
	prefix string
	limit  int64
	window time.Duration
}

var _ zkhealth.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns a limiter allowing limit requests per key in each window. It panics when
// limit < 1 or window < 1 ms (a wiring error, not a runtime condition).
func NewRateLimiter(client goredis.UniversalClient, prefix string, limit int, window time.Duration) *RateLimiter {
	if limit < 1 {
		panic("redis: rate limit must be at least 1")
	}
	if window < time.Millisecond {
		panic("redis: rate-limit window must be at least 1ms")
	}
	return &RateLimiter{client: client, prefix: prefix + "rl:", limit: int64(limit), window: window}
}

// countRequest counts one request in one atomic step: KEYS[1] is the counter, ARGV[1] the window
// in ms. It returns {count, remaining ms of the window}. A counter found without an expiry (which
// INCR+PEXPIRE in one script cannot leave, but an operator could) gets one, so no key is limited
// forever.
var countRequest = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`)

// Allow counts one request for key and reports whether it is within the limit. When it is not,
// retryAfter is the time left in the current window (at least 1 ms). Errors: EUnavailable.
func (r *RateLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	res, err := countRequest.Run(ctx, r.client, []string{r.prefix + digest(key)}, r.window.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, unavailable(err)
	}
	if len(res) != 2 {
		return false, 0, corrupt("rate-limit counter", nil)
	}
	if res[0] <= r.limit {
		return true, 0, nil
	}
	retry := time.Duration(res[1]) * time.Millisecond
	if retry < time.Millisecond {
		retry = time.Millisecond
	}
	return false, retry, nil
}
