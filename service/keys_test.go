package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

// TestCacheKeyIsKeyed: the key under which a proof request is cached (and named as a job) is
// HMAC-SHA256 under the server secret of a purpose label and the length-prefixed request id,
// compact credential and holder secret. The expected value is computed here independently, so any
// key that is not that HMAC (a plain hash, another framing, the secret left out) fails; each input
// and the server secret change it.
func TestCacheKeyIsKeyed(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	in := ProveInput{RequestID: "req_1", Credential: []byte(`{"attributes": {"member_id": "M123456"}}`),
		HolderSecret: strings.Repeat("ab", 32)}
	want := func(secret []byte, reqID, compactCred, holderSecret string) string {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("proof"))
		for _, part := range []string{reqID, compactCred, holderSecret} {
			m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(part))))
			m.Write([]byte(part))
		}
		return hex.EncodeToString(m.Sum(nil))
	}
	p := &Proofs{d: ProofsDeps{Secret: secret}}
	got := p.cacheKey(in)
	if w := want(secret, in.RequestID, `{"attributes":{"member_id":"M123456"}}`, in.HolderSecret); got != w {
		t.Fatalf("cache key = %s, want the HMAC under the server secret %s", got, w)
	}
	if job := p.jobID(in); job != "job_"+got[:32] {
		t.Errorf("job id = %s, want job_ and the cache key's first 32 hex digits", job)
	}
	for _, tc := range []struct {
		name   string
		secret []byte
		in     ProveInput
	}{
		{"OtherServerSecret", append(secret[:31:31], 'j'), in},
		{"OtherRequest", secret, ProveInput{RequestID: "req_2", Credential: in.Credential, HolderSecret: in.HolderSecret}},
		{"OtherCredential", secret, ProveInput{RequestID: in.RequestID, Credential: []byte(`{"attributes":{"member_id":"M123457"}}`), HolderSecret: in.HolderSecret}},
		{"OtherHolderSecret", secret, ProveInput{RequestID: in.RequestID, Credential: in.Credential, HolderSecret: strings.Repeat("cd", 32)}},
		// the framing keeps the parts apart: moving a byte from one part to the next changes the key
		{"ShiftedBoundary", secret, ProveInput{RequestID: "req_", Credential: []byte(`1{"attributes":{"member_id":"M123456"}}`), HolderSecret: in.HolderSecret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if k := (&Proofs{d: ProofsDeps{Secret: tc.secret}}).cacheKey(tc.in); k == got {
				t.Errorf("same cache key %s", k)
			}
		})
	}
	t.Run("WhitespaceOfTheCredentialIgnored", func(t *testing.T) {
		spaced := in
		spaced.Credential = []byte("{ \"attributes\" :\n {\"member_id\": \"M123456\"} }")
		if k := p.cacheKey(spaced); k != got {
			t.Errorf("re-spaced credential: cache key %s, want %s", k, got)
		}
	})
}
