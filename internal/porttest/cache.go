package porttest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
)

// OpenCache returns an empty cache for one test; the opener releases it when the test ends.
type OpenCache func(t *testing.T) zkhealth.Cache

// Cache runs the zkhealth.Cache contract on caches from open. Expiry is checked with the real
// clock (entries of 150 ms).
func Cache(t *testing.T, open OpenCache) {
	ctx := context.Background()
	t.Run("Miss", func(t *testing.T) {
		v, ok, err := open(t).Get(ctx, "absent")
		if err != nil || ok || v != nil {
			t.Fatalf("Get(absent) = %q, %v, %v; want nil, false, nil", v, ok, err)
		}
	})
	t.Run("Hit", func(t *testing.T) {
		c := open(t)
		for _, v := range []string{"v1", "v2"} { // the second Set replaces the first
			if err := c.Set(ctx, "k", []byte(v), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if v, ok, err := c.Get(ctx, "k"); err != nil || !ok || string(v) != "v2" {
			t.Fatalf("Get = %q, %v, %v; want v2", v, ok, err)
		}
		if err := c.Set(ctx, "empty", []byte{}, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := c.Get(ctx, "empty"); err != nil || !ok {
			t.Fatalf("Get(empty value) = %v, %v; want a hit", ok, err)
		}
	})
	t.Run("ValuesAreCopied", func(t *testing.T) {
		c := open(t)
		in := []byte("abc")
		if err := c.Set(ctx, "copy", in, time.Minute); err != nil {
			t.Fatal(err)
		}
		in[0] = 'X'
		out, _, _ := c.Get(ctx, "copy")
		out[1] = 'Y'
		if again, _, _ := c.Get(ctx, "copy"); string(again) != "abc" {
			t.Fatalf("stored value = %q, want %q: the cache shares its callers' slices", again, "abc")
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		c := open(t)
		if err := c.Set(ctx, "k", []byte("v"), 150*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if ok, err := c.SetNX(ctx, "nx", []byte("v"), 150*time.Millisecond); err != nil || !ok {
			t.Fatalf("SetNX = %v, %v", ok, err)
		}
		time.Sleep(400 * time.Millisecond)
		if _, ok, err := c.Get(ctx, "k"); err != nil || ok {
			t.Fatalf("expired entry: ok=%v err=%v; want a miss", ok, err)
		}
		if ok, err := c.SetNX(ctx, "nx", []byte("again"), time.Minute); err != nil || !ok {
			t.Fatalf("SetNX over an expired entry = %v, %v; want stored", ok, err)
		}
	})
	t.Run("SetNXFirstWins", func(t *testing.T) {
		c := open(t)
		for i, s := range []struct {
			value  string
			stored bool
		}{{"first", true}, {"second", false}} {
			stored, err := c.SetNX(ctx, "k", []byte(s.value), time.Minute)
			if err != nil || stored != s.stored {
				t.Fatalf("step %d: SetNX = %v, %v; want %v", i, stored, err, s.stored)
			}
		}
		if v, _, _ := c.Get(ctx, "k"); string(v) != "first" {
			t.Fatalf("value = %q, want the first", v)
		}
	})
	t.Run("SetNXConcurrentExactlyOne", func(t *testing.T) {
		c := open(t)
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
			t.Fatalf("%d of %d SetNX stored, value %q (winner %v); want exactly one, its value kept", wins.Load(), n, got, winner.Load())
		}
	})
	t.Run("ErrInvalidTTL", func(t *testing.T) {
		c := open(t)
		for _, ttl := range []time.Duration{0, -time.Second} {
			wantCode(t, c.Set(ctx, "k", []byte("v"), ttl), zkhealth.EInvalid)
			_, err := c.SetNX(ctx, "k", []byte("v"), ttl)
			wantCode(t, err, zkhealth.EInvalid)
		}
		if _, ok, _ := c.Get(ctx, "k"); ok {
			t.Fatal("a refused Set stored its value")
		}
	})
}
