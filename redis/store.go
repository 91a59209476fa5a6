package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/zkhealth/zkhealth"
)

// RequestGrace is how long after its ExpiresAt a presentation request is kept, so that it answers
// EExpired rather than ENotFound.
const RequestGrace = 24 * time.Hour

// Store is a zkhealth.Store on Redis. It is safe for concurrent use, also from several processes.
type Store struct {
	client goredis.UniversalClient
	prefix string
}

var _ zkhealth.Store = (*Store)(nil)

// NewStore returns a Store whose keys all start with prefix (for example "zkhealth:").
func NewStore(client goredis.UniversalClient, prefix string) *Store {
	return &Store{client: client, prefix: prefix}
}

func (s *Store) policyKey(id string) string  { return s.prefix + "policy:" + id }
func (s *Store) requestKey(id string) string { return s.prefix + "request:" + id }
func (s *Store) issuersKey() string          { return s.prefix + "issuers" }
func (s *Store) nullifierKey(scope string) string {
	return s.prefix + "nullifiers:" + digest(scope)
}

// digest is the lower-case hex SHA-256 of s; it keeps keys bounded and free of separators.
func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// unavailable maps a Redis failure to EUnavailable without echoing keys or values.
func unavailable(err error) error {
	return &zkhealth.Error{
		Code:      zkhealth.EUnavailable,
		Message:   "redis is unavailable",
		Predicate: -1,
		Err:       err,
	}
}

// corrupt reports a stored value that does not decode; the message names no key.
func corrupt(what string, err error) error {
	return &zkhealth.Error{
		Code:      zkhealth.EInternal,
		Message:   "stored " + what + " is corrupt",
		Predicate: -1,
		Err:       err,
	}
}

// PutPolicy stores the policy under p.ID unless a policy with that id is stored (SETNX); policies
// never expire. Errors: EInvalid for an empty id, EUnavailable.
func (s *Store) PutPolicy(ctx context.Context, p zkhealth.StoredPolicy) error {
	if p.ID == "" {
		return zkhealth.Errorf(zkhealth.EInvalid, "policy id is empty")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return zkhealth.Errorf(zkhealth.EInvalid, "policy is not valid JSON")
	}
	if err := s.client.SetNX(ctx, s.policyKey(p.ID), b, 0).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Policy returns the policy with the id. Errors: ENotFound, EUnavailable.
func (s *Store) Policy(ctx context.Context, id string) (zkhealth.StoredPolicy, error) {
	b, err := s.client.Get(ctx, s.policyKey(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return zkhealth.StoredPolicy{}, zkhealth.Errorf(zkhealth.ENotFound, "policy not found")
	}
	if err != nil {
		return zkhealth.StoredPolicy{}, unavailable(err)
	}
	var p zkhealth.StoredPolicy
	if err := json.Unmarshal(b, &p); err != nil {
		return zkhealth.StoredPolicy{}, corrupt("policy", err)
	}
	return p, nil
}

// PutRequest stores the request; Redis deletes it RequestGrace after r.ExpiresAt (by the local
// clock). Storing an id again replaces the request. Errors: EInvalid for an empty id or a zero
// ExpiresAt, EUnavailable.
func (s *Store) PutRequest(ctx context.Context, r zkhealth.PresentationRequest) error {
	if r.ID == "" {
		return zkhealth.Errorf(zkhealth.EInvalid, "request id is empty")
	}
	if r.ExpiresAt.IsZero() {
		return zkhealth.Errorf(zkhealth.EInvalid, "request expires_at is missing")
	}
	b, err := json.Marshal(r)
	if err != nil {
		return zkhealth.Errorf(zkhealth.EInvalid, "request is not valid JSON")
	}
	ttl := time.Until(r.ExpiresAt.Add(RequestGrace))
	if ttl < time.Second {
		ttl = time.Second
	}
	if err := s.client.Set(ctx, s.requestKey(r.ID), b, ttl).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Request returns the request with the id. Errors: ENotFound when absent (never stored, or gone
// RequestGrace after expiry), EExpired when now is after its ExpiresAt, EUnavailable.
func (s *Store) Request(ctx context.Context, id string, now time.Time) (zkhealth.PresentationRequest, error) {
	b, err := s.client.Get(ctx, s.requestKey(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return zkhealth.PresentationRequest{}, zkhealth.Errorf(zkhealth.ENotFound, "presentation request not found")
	}
	if err != nil {
		return zkhealth.PresentationRequest{}, unavailable(err)
	}
	var r zkhealth.PresentationRequest
	if err := json.Unmarshal(b, &r); err != nil {
		return zkhealth.PresentationRequest{}, corrupt("presentation request", err)
	}
	if now.After(r.ExpiresAt) {
		return zkhealth.PresentationRequest{}, zkhealth.Errorf(zkhealth.EExpired, "presentation request has expired")
	}
	return r, nil
}

// UseNullifier records the nullifier in the scope's hash with claim as its value (HSETNX, one
// atomic command): of concurrent callers with different claims, in any process, exactly one sees
// first == true, and that claim sees true again when repeated. Errors: EInvalid for an empty
// argument, EUnavailable.
func (s *Store) UseNullifier(ctx context.Context, scope, nullifier, claim string) (bool, error) {
	if scope == "" || nullifier == "" || claim == "" {
		return false, zkhealth.Errorf(zkhealth.EInvalid, "scope, nullifier and claim must not be empty")
	}
	key := s.nullifierKey(scope)
	set, err := s.client.HSetNX(ctx, key, nullifier, claim).Result()
	if err != nil {
		return false, unavailable(err)
	}
	if set {
		return true, nil
	}
	// the nullifier is held; a held value never changes, so reading it after HSETNX is safe
	held, err := s.client.HGet(ctx, key, nullifier).Result()
	if err != nil {
		return false, unavailable(err)
	}
	return held == claim, nil
}

// putIssuer registers an issuer in one step: KEYS[1] is the issuers hash, ARGV[1] the public
// key, ARGV[2] the issuer JSON. It returns the stored "<seq> <json>", the existing one when the
// key is registered. One key only, so it also runs on Redis Cluster.
var putIssuer = goredis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then return v end
local n = redis.call('HINCRBY', KEYS[1], '#seq', 1)
v = tostring(n) .. ' ' .. ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], v)
return v
`)

const seqField = "#seq"

// PutIssuer registers the issuer unless its public key (compared case-insensitively) is
// registered, and returns the stored record (the existing one, unchanged, for a known key).
// Errors: EInvalid for an empty public key, EUnavailable.
func (s *Store) PutIssuer(ctx context.Context, is zkhealth.Issuer) (zkhealth.Issuer, error) {
	if is.PublicKey == "" || is.PublicKey == seqField {
		return zkhealth.Issuer{}, zkhealth.Errorf(zkhealth.EInvalid, "issuer public_key is empty")
	}
	b, err := json.Marshal(is)
	if err != nil {
		return zkhealth.Issuer{}, zkhealth.Errorf(zkhealth.EInvalid, "issuer is not valid JSON")
	}
	v, err := putIssuer.Run(ctx, s.client, []string{s.issuersKey()}, strings.ToLower(is.PublicKey), b).Text()
	if err != nil {
		return zkhealth.Issuer{}, unavailable(err)
	}
	_, stored, err := decodeIssuer(v)
	if err != nil {
		return zkhealth.Issuer{}, err
	}
	return stored, nil
}

func decodeIssuer(v string) (uint64, zkhealth.Issuer, error) {
	seq, js, ok := strings.Cut(v, " ")
	if !ok {
		return 0, zkhealth.Issuer{}, corrupt("issuer", errors.New("no sequence number"))
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return 0, zkhealth.Issuer{}, corrupt("issuer", err)
	}
	var is zkhealth.Issuer
	if err := json.Unmarshal([]byte(js), &is); err != nil {
		return 0, zkhealth.Issuer{}, corrupt("issuer", err)
	}
	return n, is, nil
}

// Issuers lists the registered issuers in the order they were first registered. Errors:
// EUnavailable.
func (s *Store) Issuers(ctx context.Context) ([]zkhealth.Issuer, error) {
	all, err := s.client.HGetAll(ctx, s.issuersKey()).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	type entry struct {
		seq uint64
		is  zkhealth.Issuer
	}
	entries := make([]entry, 0, len(all))
	for k, v := range all {
		if k == seqField {
			continue
		}
		seq, is, err := decodeIssuer(v)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{seq, is})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].seq < entries[j].seq })
	out := make([]zkhealth.Issuer, len(entries))
	for i, e := range entries {
		out[i] = e.is
	}
	return out, nil
}

// IssuerByKey returns the issuer registered with the public key, compared case-insensitively.
// Errors: ENotFound, EUnavailable.
func (s *Store) IssuerByKey(ctx context.Context, publicKey string) (zkhealth.Issuer, error) {
	if publicKey == seqField {
		return zkhealth.Issuer{}, zkhealth.Errorf(zkhealth.ENotFound, "issuer not found")
	}
	v, err := s.client.HGet(ctx, s.issuersKey(), strings.ToLower(publicKey)).Result()
	if errors.Is(err, goredis.Nil) {
		return zkhealth.Issuer{}, zkhealth.Errorf(zkhealth.ENotFound, "issuer not found")
	}
	if err != nil {
		return zkhealth.Issuer{}, unavailable(err)
	}
	_, is, err := decodeIssuer(v)
	return is, err
}

// Ping sends PING with the caller's context. Errors: EUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Close does nothing: the client belongs to the caller, who closes it after every user of it.
func (s *Store) Close() error { return nil }
