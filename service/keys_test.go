package service

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestCacheKeyIsKeyed: the key under which a proof request is cached (and named as a job) is an
// HMAC under the server secret: the same request gives another key under another secret, no plain
// hash of the private inputs equals it, and none of them appears in it.
func TestCacheKeyIsKeyed(t *testing.T) {
	in := ProveInput{RequestID: "req_1", Credential: []byte(`{"attributes":{"member_id":"M123456"}}`),
		HolderSecret: strings.Repeat("ab", 32)}
	a := &Service{d: Deps{Secret: make([]byte, 32)}}
	b := &Service{d: Deps{Secret: append(make([]byte, 31), 1)}}
	ka, kb := a.cacheKey(in), b.cacheKey(in)
	if ka == kb {
		t.Fatal("the cache key does not depend on the server secret")
	}
	if ka != a.cacheKey(in) {
		t.Fatal("the cache key is not deterministic")
	}
	plain := sha256.Sum256([]byte(in.RequestID + string(in.Credential) + in.HolderSecret))
	if ka == hex.EncodeToString(plain[:]) {
		t.Fatal("the cache key is a plain hash of private inputs")
	}
	for _, private := range []string{in.HolderSecret, "M123456"} {
		if strings.Contains(ka, private) {
			t.Errorf("cache key holds %q", private)
		}
	}
	other := in
	other.HolderSecret = strings.Repeat("cd", 32)
	if a.cacheKey(other) == ka {
		t.Fatal("another holder secret gives the same cache key")
	}
}
