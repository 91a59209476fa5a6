// Package bolt implements zkhealth.Store on bbolt, an embedded key/value file: the durable state of
// the embedded (one-machine) mode: policies, presentation requests, the nullifier registry and the
// issuer registry, all in one file that survives restarts.
//
// Privacy: nothing private is stored. A policy is the verifier's published statement, a
// presentation request is what a holder must prove (policy, as-of date, scope, public challenge),
// a nullifier is a public input of a proof and an issuer is a public key. No attribute value,
// credential, holder secret or witness reaches this package, so the file needs no encryption;
// it is still created with mode 0600.
//
// Layout (one bucket each):
//
//	policies         policy id                    → StoredPolicy JSON
//	requests         request id                   → PresentationRequest JSON
//	request_expiry   expires_at (ns, BE) ‖ id     → empty (purge index)
//	nullifiers       scope ‖ 0x00 ‖ nullifier     → first-use time (ns, BE)
//	issuers          insertion sequence (BE)      → Issuer JSON
//	issuer_keys      lower-case public key        → insertion sequence (BE)
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"github.com/zkhealth/zkhealth"
)

// ExpiredRetention is how long an expired presentation request keeps answering EExpired before it
// is purged and answers ENotFound.
const ExpiredRetention = 24 * time.Hour

// LockTimeout is how long Open waits for the file lock held by another process before failing.
const LockTimeout = time.Second

var (
	bucketPolicies      = []byte("policies")
	bucketRequests      = []byte("requests")
	bucketRequestExpiry = []byte("request_expiry")
	bucketNullifiers    = []byte("nullifiers")
	bucketIssuers       = []byte("issuers")
	bucketIssuerKeys    = []byte("issuer_keys")

	allBuckets = [][]byte{bucketPolicies, bucketRequests, bucketRequestExpiry, bucketNullifiers,
		bucketIssuers, bucketIssuerKeys}
)

// Store is a zkhealth.Store in one bbolt file. It is safe for concurrent use; bbolt serialises
// writers, which is what makes UseNullifier atomic. Use Open to create one.
type Store struct {
	db  *bbolt.DB
	now func() time.Time // clock for purges; replaced in tests
	log groupCommit      // verification-log appends (log.go)
}

var _ zkhealth.Store = (*Store)(nil)

// Open opens (creating if needed, with mode 0600 and its directory with mode 0700) the store file
// at path. When another process holds the file, Open fails with EUnavailable after LockTimeout
// instead of hanging.
func Open(path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, unavailable(err, "cannot create the data directory %s", dir)
		}
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: LockTimeout})
	if err != nil {
		if errors.Is(err, bberrors.ErrTimeout) {
			return nil, unavailable(err, "data store %s is locked by another process", path)
		}
		return nil, unavailable(err, "cannot open data store %s", path)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, unavailable(err, "cannot initialise data store %s", path)
	}
	return &Store{db: db, now: time.Now}, nil
}

// Path returns the store's file name.
func (s *Store) Path() string { return s.db.Path() }

// PutPolicy stores p under p.ID; storing an existing id again is a no-op. EInvalid for an empty id,
// EUnavailable when the store is closed.
func (s *Store) PutPolicy(_ context.Context, p zkhealth.StoredPolicy) error {
	if p.ID == "" {
		return zkhealth.Errorf(zkhealth.EInvalid, "policy id is empty")
	}
	val, err := json.Marshal(p)
	if err != nil {
		return zkhealth.Wrap(zkhealth.EInvalid, err)
	}
	return s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketPolicies)
		if b.Get([]byte(p.ID)) != nil {
			return nil
		}
		return b.Put([]byte(p.ID), val)
	})
}

// Policy returns the policy with the id: ENotFound when there is none.
func (s *Store) Policy(_ context.Context, id string) (zkhealth.StoredPolicy, error) {
	var p zkhealth.StoredPolicy
	err := s.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketPolicies).Get([]byte(id))
		if v == nil {
			return zkhealth.Errorf(zkhealth.ENotFound, "policy %q not found", id)
		}
		return decode(v, &p)
	})
	return p, err
}

// PutRequest stores r under r.ID (replacing a request with the same id). The same transaction
// purges requests that expired more than ExpiredRetention ago. EInvalid for an empty id or a zero
// ExpiresAt.
func (s *Store) PutRequest(_ context.Context, r zkhealth.PresentationRequest) error {
	if r.ID == "" {
		return zkhealth.Errorf(zkhealth.EInvalid, "request id is empty")
	}
	if r.ExpiresAt.IsZero() {
		return zkhealth.Errorf(zkhealth.EInvalid, "request expires_at is missing")
	}
	val, err := json.Marshal(r)
	if err != nil {
		return zkhealth.Wrap(zkhealth.EInvalid, err)
	}
	now := s.now()
	return s.update(func(tx *bbolt.Tx) error {
		if err := purge(tx, now); err != nil {
			return err
		}
		reqs, idx := tx.Bucket(bucketRequests), tx.Bucket(bucketRequestExpiry)
		if old := reqs.Get([]byte(r.ID)); old != nil {
			var prev zkhealth.PresentationRequest
			if err := decode(old, &prev); err != nil {
				return err
			}
			if err := idx.Delete(expiryKey(prev.ExpiresAt, prev.ID)); err != nil {
				return err
			}
		}
		if err := reqs.Put([]byte(r.ID), val); err != nil {
			return err
		}
		return idx.Put(expiryKey(r.ExpiresAt, r.ID), nil)
	})
}

// Request returns the request with the id. It answers EExpired once now is past ExpiresAt, and
// ENotFound for an unknown id or one that expired more than ExpiredRetention before now (purged or
// about to be).
func (s *Store) Request(_ context.Context, id string, now time.Time) (zkhealth.PresentationRequest, error) {
	var r zkhealth.PresentationRequest
	err := s.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketRequests).Get([]byte(id))
		if v == nil {
			return zkhealth.Errorf(zkhealth.ENotFound, "request %q not found", id)
		}
		return decode(v, &r)
	})
	if err != nil {
		return zkhealth.PresentationRequest{}, err
	}
	switch {
	case now.After(r.ExpiresAt.Add(ExpiredRetention)):
		return zkhealth.PresentationRequest{}, zkhealth.Errorf(zkhealth.ENotFound, "request %q not found", id)
	case now.After(r.ExpiresAt):
		return zkhealth.PresentationRequest{}, zkhealth.Errorf(zkhealth.EExpired, "request %q expired at %s",
			id, r.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return r, nil
}

// Purge deletes the requests that expired more than ExpiredRetention before now and reports how
// many it deleted. PutRequest calls it; a server may also call it periodically.
func (s *Store) Purge(now time.Time) (int, error) {
	var n int
	err := s.update(func(tx *bbolt.Tx) error {
		var err error
		n, err = purgeCount(tx, now)
		return err
	})
	return n, err
}

func purge(tx *bbolt.Tx, now time.Time) error {
	_, err := purgeCount(tx, now)
	return err
}

// purgeCount walks the expiry index from the oldest expiry and deletes every request whose expiry
// is more than ExpiredRetention before now.
func purgeCount(tx *bbolt.Tx, now time.Time) (int, error) {
	reqs, idx := tx.Bucket(bucketRequests), tx.Bucket(bucketRequestExpiry)
	cutoff := now.Add(-ExpiredRetention).UnixNano()
	var dead [][]byte
	c := idx.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) < 8 || int64(binary.BigEndian.Uint64(k[:8])^signBit) >= cutoff {
			break
		}
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := reqs.Delete(k[8:]); err != nil {
			return 0, err
		}
		if err := idx.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(dead), nil
}

// signBit flips int64 order into uint64 order so big-endian keys sort by time, even before 1970.
const signBit = 1 << 63

func expiryKey(t time.Time, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano())^signBit)
	return append(k, id...)
}

// UseNullifier records nullifier for scope on behalf of claim and reports whether claim is the one
// that first recorded it (the claim is stored as the value). The check and the write happen in one
// bbolt write transaction, so of concurrent calls (in this process; the file lock excludes others)
// with different claims exactly one sees true, and that claim sees true again when repeated.
// EInvalid when scope contains a NUL byte (the key separator) or an argument is empty.
func (s *Store) UseNullifier(_ context.Context, scope, nullifier, claim string) (bool, error) {
	if scope == "" || nullifier == "" || claim == "" {
		return false, zkhealth.Errorf(zkhealth.EInvalid, "scope, nullifier and claim must not be empty")
	}
	if strings.IndexByte(scope, 0) >= 0 {
		return false, zkhealth.Errorf(zkhealth.EInvalid, "scope contains a NUL byte")
	}
	key := []byte(scope + "\x00" + nullifier)
	var first bool
	err := s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketNullifiers)
		if held := b.Get(key); held != nil {
			first = string(held) == claim
			return nil
		}
		first = true
		return b.Put(key, []byte(claim))
	})
	if err != nil {
		return false, err
	}
	return first, nil
}

// PutIssuer registers is. When an issuer with the same public key (compared case-insensitively)
// exists, it returns that record unchanged and stores nothing. The record is stored as given (the
// caller assigns ID). EInvalid for an empty public key.
func (s *Store) PutIssuer(_ context.Context, is zkhealth.Issuer) (zkhealth.Issuer, error) {
	if is.PublicKey == "" {
		return zkhealth.Issuer{}, zkhealth.Errorf(zkhealth.EInvalid, "issuer public_key is empty")
	}
	val, err := json.Marshal(is)
	if err != nil {
		return zkhealth.Issuer{}, zkhealth.Wrap(zkhealth.EInvalid, err)
	}
	out := is
	err = s.update(func(tx *bbolt.Tx) error {
		issuers, keys := tx.Bucket(bucketIssuers), tx.Bucket(bucketIssuerKeys)
		pk := []byte(strings.ToLower(is.PublicKey))
		if seq := keys.Get(pk); seq != nil {
			out = zkhealth.Issuer{}
			return decode(issuers.Get(seq), &out)
		}
		n, err := issuers.NextSequence()
		if err != nil {
			return err
		}
		seq := make([]byte, 8)
		binary.BigEndian.PutUint64(seq, n)
		if err := issuers.Put(seq, val); err != nil {
			return err
		}
		return keys.Put(pk, seq)
	})
	if err != nil {
		return zkhealth.Issuer{}, err
	}
	return out, nil
}

// Issuers lists the trusted issuers in registration order, oldest first; empty (not nil) when
// there are none.
func (s *Store) Issuers(_ context.Context) ([]zkhealth.Issuer, error) {
	out := []zkhealth.Issuer{}
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketIssuers).ForEach(func(_, v []byte) error {
			var is zkhealth.Issuer
			if err := decode(v, &is); err != nil {
				return err
			}
			out = append(out, is)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// IssuerByKey returns the issuer with the public key (compared case-insensitively), or ENotFound.
func (s *Store) IssuerByKey(_ context.Context, publicKey string) (zkhealth.Issuer, error) {
	var is zkhealth.Issuer
	err := s.view(func(tx *bbolt.Tx) error {
		seq := tx.Bucket(bucketIssuerKeys).Get([]byte(strings.ToLower(publicKey)))
		if seq == nil {
			return zkhealth.Errorf(zkhealth.ENotFound, "issuer with public key %q not found", publicKey)
		}
		return decode(tx.Bucket(bucketIssuers).Get(seq), &is)
	})
	return is, err
}

// Ping reports whether the store answers: EUnavailable once it is closed.
func (s *Store) Ping(_ context.Context) error {
	return s.view(func(*bbolt.Tx) error { return nil })
}

// Close closes the file and releases its lock; later calls on the store answer EUnavailable.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return unavailable(err, "cannot close data store")
	}
	return nil
}

// view and update run fn in a bbolt transaction and map bbolt's own errors (closed database, I/O)
// to EUnavailable; *zkhealth.Error values from fn pass through.
func (s *Store) view(fn func(*bbolt.Tx) error) error   { return mapErr(s.db.View(fn)) }
func (s *Store) update(fn func(*bbolt.Tx) error) error { return mapErr(s.db.Update(fn)) }

func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var ze *zkhealth.Error
	if errors.As(err, &ze) {
		return err
	}
	if errors.Is(err, bberrors.ErrDatabaseNotOpen) {
		return unavailable(err, "data store is closed")
	}
	return unavailable(err, "data store failed")
}

func unavailable(err error, format string, args ...any) *zkhealth.Error {
	e := zkhealth.Errorf(zkhealth.EUnavailable, format, args...)
	e.Err = err
	return e
}

// decode unmarshals a stored record; a record that does not decode is corruption, an internal
// error (never shown to clients).
func decode(v []byte, dst any) error {
	if err := json.Unmarshal(v, dst); err != nil {
		e := zkhealth.Errorf(zkhealth.EInternal, "corrupt record in data store")
		e.Err = fmt.Errorf("bolt: decode: %w", err)
		return e
	}
	return nil
}
