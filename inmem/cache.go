package inmem

import (
	"bytes"
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/zkhealth/zkhealth"
)

// Cache is a zkhealth.Cache in memory: at most maxEntries values, each with its own expiry. When
// it is full, a write first drops expired entries from the oldest end and then evicts the entry
// written longest ago. Values are copied in and out, so callers may reuse their slices. Its only
// error is EInvalid for a ttl that is not positive (every entry expires, as the port requires).
type Cache struct {
	mu    sync.Mutex
	max   int
	items map[string]*list.Element // of *cacheEntry
	order *list.List               // front: written longest ago
	now   func() time.Time
}

type cacheEntry struct {
	key     string
	value   []byte
	expires time.Time
}

var _ zkhealth.Cache = (*Cache)(nil)

// NewCache returns an empty cache holding at most maxEntries values. It panics when maxEntries < 1.
func NewCache(maxEntries int) *Cache {
	if maxEntries < 1 {
		panic("inmem: NewCache: maxEntries must be at least 1")
	}
	return &Cache{max: maxEntries, items: make(map[string]*list.Element), order: list.New(), now: time.Now}
}

// Len returns the number of entries held, expired ones not yet dropped included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Get returns a copy of the value and true on a hit, nil and false on a miss or an expired entry.
func (c *Cache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false, nil
	}
	e := el.Value.(*cacheEntry)
	if e.expired(c.now()) {
		c.remove(el)
		return nil, false, nil
	}
	return bytes.Clone(e.value), true, nil
}

// Set stores a copy of value for ttl, replacing any entry for key. EInvalid when ttl <= 0.
func (c *Cache) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errTTL()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set(key, value, ttl)
	return nil
}

// SetNX stores a copy of value for ttl only when key is absent or expired and reports whether it
// stored. Of concurrent calls for an absent key exactly one stores. EInvalid when ttl <= 0.
func (c *Cache) SetNX(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, errTTL()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok && !el.Value.(*cacheEntry).expired(c.now()) {
		return false, nil
	}
	c.set(key, value, ttl)
	return true, nil
}

func errTTL() error { return zkhealth.Errorf(zkhealth.EInvalid, "cache ttl must be positive") }

func (c *Cache) set(key string, value []byte, ttl time.Duration) {
	now := c.now()
	expires := now.Add(ttl)
	if el, ok := c.items[key]; ok {
		e := el.Value.(*cacheEntry)
		e.value, e.expires = bytes.Clone(value), expires
		c.order.MoveToBack(el)
		return
	}
	for len(c.items) >= c.max {
		front := c.order.Front()
		if !front.Value.(*cacheEntry).expired(now) {
			// Nothing expired at the old end: evict the oldest write. Expired entries elsewhere
			// go on the next Get of their key or when they reach the front.
			c.remove(front)
			break
		}
		c.remove(front)
	}
	c.items[key] = c.order.PushBack(&cacheEntry{key: key, value: bytes.Clone(value), expires: expires})
}

func (c *Cache) remove(el *list.Element) {
	c.order.Remove(el)
	delete(c.items, el.Value.(*cacheEntry).key)
}

func (e *cacheEntry) expired(now time.Time) bool { return !now.Before(e.expires) }
