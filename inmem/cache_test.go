package inmem

import (
	"context"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/porttest"
)

var ctx = context.Background()

func newTestCache(max int) (*Cache, *fakeClock) {
	c, clk := NewCache(max), newFakeClock()
	c.now = clk.Now
	return c, clk
}

// TestCache runs the port's conformance suite.
func TestCache(t *testing.T) {
	porttest.Cache(t, func(*testing.T) zkhealth.Cache { return NewCache(100) })
}

// TestCacheExpiryByClock: an entry lives exactly its ttl by the cache's clock, and an expired
// entry is dropped when read.
func TestCacheExpiryByClock(t *testing.T) {
	c, clk := newTestCache(10)
	_ = c.Set(ctx, "k", []byte("v"), time.Minute)
	for _, tc := range []struct {
		name    string
		advance time.Duration // before the Get, cumulative
		hit     bool
	}{
		{"HitBeforeExpiry", 59 * time.Second, true},
		{"MissAtExpiry", time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.Advance(tc.advance)
			if _, hit, err := c.Get(ctx, "k"); err != nil || hit != tc.hit {
				t.Fatalf("Get = %v, %v; want hit=%v", hit, err, tc.hit)
			}
		})
	}
	if n := c.Len(); n != 0 {
		t.Fatalf("Len = %d after the expired entry was read, want 0", n)
	}
}

func TestCacheEviction(t *testing.T) {
	hits := func(c *Cache, keys ...string) string {
		var s string
		for _, k := range keys {
			if _, ok, _ := c.Get(ctx, k); ok {
				s += k
			} else {
				s += "-"
			}
		}
		return s
	}
	for _, tc := range []struct {
		name string
		fill func(c *Cache, clk *fakeClock)
		want string // for keys a b c d e: the key on a hit, "-" on a miss
	}{
		{"OldestEvicted", func(c *Cache, _ *fakeClock) {
			for _, k := range []string{"a", "b", "c", "d"} {
				_ = c.Set(ctx, k, []byte(k), time.Hour)
			}
		}, "-bcd-"},
		{"RewriteMakesYoung", func(c *Cache, _ *fakeClock) {
			for _, k := range []string{"a", "b", "c", "a", "d"} {
				_ = c.Set(ctx, k, []byte(k), time.Hour)
			}
		}, "a-cd-"},
		{"ExpiredEvictedFirst", func(c *Cache, clk *fakeClock) {
			_ = c.Set(ctx, "a", []byte("a"), time.Second)
			_ = c.Set(ctx, "b", []byte("b"), time.Hour)
			_ = c.Set(ctx, "c", []byte("c"), time.Hour)
			clk.Advance(2 * time.Second)
			_ = c.Set(ctx, "d", []byte("d"), time.Hour)
			_ = c.Set(ctx, "e", []byte("e"), time.Hour) // now b, the oldest live entry, goes
		}, "--cde"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, clk := newTestCache(3)
			tc.fill(c, clk)
			if n := c.Len(); n > 3 {
				t.Fatalf("Len = %d, want at most 3", n)
			}
			if got := hits(c, "a", "b", "c", "d", "e"); got != tc.want {
				t.Fatalf("hits = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewCachePanicsOnBadSize(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewCache(0) did not panic")
		}
	}()
	NewCache(0)
}
