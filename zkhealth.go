// Package zkhealth is the domain every zkhealth surface shares: one error type with a machine
// code (the CLI maps codes to exit codes and the service to HTTP statuses, in one place each, and
// messages never carry attribute values or secrets), the service's ports (Store, Cache, Queue,
// RateLimiter) that the adapters in bolt/, inmem/ and redis/ implement, and PROOF.json.
package zkhealth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Error codes.
const (
	// EInvalid: malformed input (a file, a field, a flag); the message names it.
	EInvalid = "invalid_request"
	// ENotSatisfied: the credential does not satisfy the policy; Predicate names the first failing one.
	ENotSatisfied = "policy_not_satisfied"
	// ECredential: the credential cannot back a proof (bad signature, wrong holder, expired,
	// issuer not accepted).
	ECredential = "credential_invalid"
	// ENotFound: an id that names nothing.
	ENotFound = "not_found"
	// EUnavailable: keys or a dependency are missing or down.
	EUnavailable = "unavailable"
	// EExpired: a presentation request past its expiry.
	EExpired = "expired"
	// EOverloaded: the proving queue is full; retry later.
	EOverloaded = "overloaded"
	// EUnauthorized: no API key, or an unknown one.
	EUnauthorized = "unauthorized"
	// EForbidden: the key's role may not call this endpoint.
	EForbidden = "forbidden"
	// ERateLimited: the key exceeded its request rate.
	ERateLimited = "rate_limited"
	// ETooLarge: the request body is over the limit.
	ETooLarge = "body_too_large"
	// EMethod: the path exists, but not with this method (HTTP only).
	EMethod = "method_not_allowed"
	// EInternal: anything else; its message is not shown to clients.
	EInternal = "internal"
)

// Error is a domain error with a machine code and a one-sentence message safe to show to the
// party that caused it.
type Error struct {
	Code    string
	Message string
	// Predicate is the index of the failing predicate for ENotSatisfied, else -1.
	Predicate int
	Err       error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Predicate: -1}
}

// Wrap returns an *Error with the code whose message is err's.
func Wrap(code string, err error) *Error {
	return &Error{Code: code, Message: err.Error(), Predicate: -1, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for any other error and
// "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// StoredPolicy is a verifier's policy as registered with the service. Its ID is derived from the
// policy's canonical content, so the same policy always gets the same id.
type StoredPolicy struct {
	ID     string          `json:"id"`
	Policy json.RawMessage `json:"policy"`
}

// PresentationRequest is what a holder must prove: a policy, an as-of date, a scope and a fresh
// challenge, valid until ExpiresAt.
type PresentationRequest struct {
	ID        string          `json:"id"`
	PolicyID  string          `json:"policy_id"`
	Policy    json.RawMessage `json:"policy"`
	AsOf      string          `json:"as_of"`
	Scope     string          `json:"scope"`
	Challenge string          `json:"challenge"`
	ExpiresAt time.Time       `json:"expires_at"`
}

// Issuer is a trusted issuer in the registry.
type Issuer struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
}

// Store is the service's durable state: policies, presentation requests, the nullifier registry
// and the issuer registry. Implementations: package bolt (embedded, on disk) and package
// redis (shared by several processes); internal/porttest.Store is the contract they pass.
//
// Errors: EInvalid for an empty id, key or argument, ENotFound for unknown ids, EExpired for
// expired requests, EUnavailable when the backing store cannot answer. No method stores attribute
// values or holder secrets.
type Store interface {
	// PutPolicy stores a policy under its id; storing an existing id again is a no-op.
	PutPolicy(ctx context.Context, p StoredPolicy) error
	// Policy returns the policy with the id, or ENotFound.
	Policy(ctx context.Context, id string) (StoredPolicy, error)
	// PutRequest stores a presentation request (EInvalid without an id or an expiry), replacing
	// one with the same id. It stays readable until ExpiresAt and answers EExpired (not
	// ENotFound) for at least a day after that.
	PutRequest(ctx context.Context, r PresentationRequest) error
	// Request returns the request, ENotFound, or EExpired once now is past ExpiresAt.
	Request(ctx context.Context, id string, now time.Time) (PresentationRequest, error)
	// UseNullifier records the nullifier for the scope on behalf of claim (an id of the
	// verification: a hash of request and proof) and reports whether that claim is the one that
	// first recorded it. It is atomic and idempotent: of concurrent calls with different claims
	// exactly one sees true, and repeating the winning claim sees true again, so a verification
	// retried after a crash or raced by an identical one keeps its first answer. Distinct
	// (scope, nullifier) pairs never collide; an empty argument is EInvalid.
	UseNullifier(ctx context.Context, scope, nullifier, claim string) (first bool, err error)
	// PutIssuer registers a trusted issuer. Registering a public key already present (compared
	// case-insensitively) returns the existing record unchanged.
	PutIssuer(ctx context.Context, is Issuer) (Issuer, error)
	// Issuers lists the trusted issuers, oldest first.
	Issuers(ctx context.Context) ([]Issuer, error)
	// IssuerByKey returns the issuer with the public key (hex, compared case-insensitively), or
	// ENotFound.
	IssuerByKey(ctx context.Context, publicKey string) (Issuer, error)
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Cache is a byte cache with expiry. Keys are keyed hashes (HMAC) or hashes of public data, never
// plain private data; values never hold attribute values or secrets. Implementations: package
// inmem and package redis; internal/porttest.Cache is the contract they pass.
type Cache interface {
	// Get returns the value and true on a hit (an empty value is a hit), nil and false on a miss
	// or an expired entry. An error means the cache could not answer (a miss is not an error).
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores the value for ttl, replacing any entry for the key. Every entry expires: a ttl
	// that is not positive is EInvalid.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetNX stores the value for ttl only when the key is absent (or expired) and reports whether
	// it stored; of concurrent calls exactly one stores, so the first answer wins when two
	// processes race. A ttl that is not positive is EInvalid.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
}

// RateLimiter counts requests per key. Implementations: package inmem (a token bucket per key)
// and package redis (a fixed window shared by processes); internal/porttest.RateLimiter is the
// contract they pass.
type RateLimiter interface {
	// Allow counts one request for key and reports whether it is within the limit; when it is
	// not, retryAfter (positive) says when to try again. Keys are counted apart.
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// JobStatus is the state of an asynchronous proof job.
type JobStatus string

// Job states.
const (
	JobQueued  JobStatus = "queued"
	JobRunning JobStatus = "running"
	JobDone    JobStatus = "done"
	JobFailed  JobStatus = "failed"
)

// ErrorBody is an error as the API shows it.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Job is what a holder sees of an asynchronous proof job.
type Job struct {
	ID      string          `json:"id"`
	Status  JobStatus       `json:"status"`
	Proof   json.RawMessage `json:"proof,omitempty"`
	Error   *ErrorBody      `json:"error,omitempty"`
	QueueMS *int64          `json:"queue_ms,omitempty"`
	ProveMS *int64          `json:"prove_ms,omitempty"`
}

// ProofJob is the private input of an asynchronous proof job. Queues keep it only encrypted and
// delete it when the job ends.
type ProofJob struct {
	RequestID    string          `json:"request_id"`
	Credential   json.RawMessage `json:"credential"`
	HolderSecret string          `json:"holder_secret"`
}

// ProofRunner executes one proof job and returns PROOF.json; a *Error it returns is shown to the
// holder as the job's error.
type ProofRunner func(ctx context.Context, job ProofJob) ([]byte, error)

// Queue is the asynchronous proving queue. Implementations: package inmem (in-process pool) and
// package redis (asynq on Redis, consumed by `zkhealth worker` processes); internal/porttest.Queue
// is the contract they pass. A job that fails with a *Error shows its code and message (except
// EInternal); any other failure, a panic or a runner answer that is not JSON shows as
// EInternal "proof generation failed".
type Queue interface {
	// Enqueue queues job under id. An id already queued, running or finished is not queued again
	// (the call succeeds, even on a full queue). EInvalid for an empty id, EOverloaded when the
	// queue holds its maximum of waiting jobs.
	Enqueue(ctx context.Context, id string, job ProofJob) error
	// Job returns the job's state, or ENotFound.
	Job(ctx context.Context, id string) (Job, error)
	// Depth is the number of jobs waiting.
	Depth(ctx context.Context) (int, error)
}
