package inmem

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var ctx = context.Background()

func newTestCache(max int) (*Cache, *fakeClock) {
	c, clk := NewCache(max), newFakeClock()
	c.now = clk.Now
	return c, clk
}

func TestCacheGet(t *testing.T) {
	c, clk := newTestCache(10)
	_ = c.Set(ctx, "k", []byte("v"), time.Minute)
	_ = c.Set(ctx, "forever", []byte("f"), 0)
	for _, tc := range []struct {
		name    string
		advance time.Duration // before the Get, cumulative
		key     string
		want    string
		hit     bool
	}{
		{"Hit", 0, "k", "v", true},
		{"Miss", 0, "absent", "", false},
		{"HitBeforeExpiry", 59 * time.Second, "k", "v", true},
		{"MissAtExpiry", time.Second, "k", "", false},
		{"NoTTLNeverExpires", 24 * time.Hour, "forever", "f", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.Advance(tc.advance)
			got, hit, err := c.Get(ctx, tc.key)
			if err != nil || hit != tc.hit || string(got) != tc.want {
				t.Fatalf("Get(%q) = %q, %v, %v; want %q, %v", tc.key, got, hit, err, tc.want, tc.hit)
			}
		})
	}
	t.Run("ExpiredEntryDropped", func(t *testing.T) {
		if n := c.Len(); n != 1 {
			t.Fatalf("Len = %d after the expired entry was read, want 1", n)
		}
	})
	t.Run("ValuesAreCopied", func(t *testing.T) {
		in := []byte("abc")
		_ = c.Set(ctx, "copy", in, time.Minute)
		in[0] = 'X'
		out, _, _ := c.Get(ctx, "copy")
		out[1] = 'Y'
		again, _, _ := c.Get(ctx, "copy")
		if string(again) != "abc" {
			t.Fatalf("stored value = %q, want %q: the cache shares its callers' slices", again, "abc")
		}
	})
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

func TestCacheSetNX(t *testing.T) {
	t.Run("FirstWins", func(t *testing.T) {
		c, clk := newTestCache(10)
		steps := []struct {
			value   string
			advance time.Duration
			stored  bool
			after   string
		}{
			{"first", 0, true, "first"},
			{"second", 0, false, "first"},
			{"third", time.Minute, true, "third"}, // the first one expired
		}
		for i, s := range steps {
			clk.Advance(s.advance)
			stored, err := c.SetNX(ctx, "k", []byte(s.value), time.Minute)
			got, _, _ := c.Get(ctx, "k")
			if err != nil || stored != s.stored || string(got) != s.after {
				t.Fatalf("step %d: SetNX = %v, %v, value %q; want %v, %q", i, stored, err, got, s.stored, s.after)
			}
		}
	})
	t.Run("ConcurrentExactlyOne", func(t *testing.T) {
		c := NewCache(100)
		const n = 50
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				v := fmt.Sprint("v", i)
				ok, err := c.SetNX(ctx, "race", []byte(v), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
					winner.Store(v)
				}
			})
		}
		close(start)
		wg.Wait()
		got, _, _ := c.Get(ctx, "race")
		if wins.Load() != 1 || string(got) != winner.Load() {
			t.Fatalf("%d of %d SetNX stored, value %q (winner %v); want exactly one, its value kept",
				wins.Load(), n, got, winner.Load())
		}
	})
}

func TestNewCachePanicsOnBadSize(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewCache(0) did not panic")
		}
	}()
	NewCache(0)
}
