package redis

import (
	"context"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/zkhealth/zkhealth"
)

// Cache is a zkhealth.Cache on Redis: each entry is one string key, <prefix>cache:<key>, with a
// Redis expiry. Keys are stored as given, so callers pass keyed hashes (HMAC) or hashes of public
// data, as zkhealth.Cache requires.
type Cache struct {
	client goredis.UniversalClient
	prefix string
}

var _ zkhealth.Cache = (*Cache)(nil)

// NewCache returns a Cache whose keys all start with prefix+"cache:".
func NewCache(client goredis.UniversalClient, prefix string) *Cache {
	return &Cache{client: client, prefix: prefix + "cache:"}
}

// Get returns the value and true on a hit, and nil, false, nil on a miss. A Redis failure is an
// EUnavailable error, never a miss, so callers can tell "not cached" from "cache down".
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := c.client.Get(ctx, c.prefix+key).Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, unavailable(err)
	}
	return b, true, nil
}

// Set stores the value for ttl. Errors: EInvalid when ttl is not positive (a cache entry always
// expires), EUnavailable.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if err := c.client.Set(ctx, c.prefix+key, value, ttl).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// SetNX stores the value for ttl only when the key is absent (SET NX PX, atomic across processes)
// and reports whether it stored. Errors: EInvalid when ttl is not positive, EUnavailable.
func (c *Cache) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, err
	}
	ok, err := c.client.SetNX(ctx, c.prefix+key, value, ttl).Result()
	if err != nil {
		return false, unavailable(err)
	}
	return ok, nil
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return zkhealth.Errorf(zkhealth.EInvalid, "cache ttl must be positive")
	}
	return nil
}
