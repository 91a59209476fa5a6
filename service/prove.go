package service

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/metrics"
	"github.com/zkhealth/zkhealth/prover"
)

// Prover proves checked requests; package prover's *Prover implements it.
type Prover interface {
	// Prepare runs every native check of a request (signature, holder binding, validity dates,
	// issuer acceptance, the policy) and builds its witness, without proving. Errors are
	// *zkhealth.Error: EInvalid, ECredential, ENotSatisfied, EUnavailable (no keys for the circuit).
	Prepare(req prover.Request) (*prover.Prepared, error)
	// ProvePrepared proves a prepared request, waiting for a proving slot or ctx.
	ProvePrepared(ctx context.Context, prep *prover.Prepared) (*zkhealth.ProofFile, error)
}

// ProofsDeps are what proving needs, and all a `zkhealth worker` process builds: the prover, the
// store (presentation requests and the issuer registry) and the proof cache. Store, Cache, Prover
// and Secret are required.
type ProofsDeps struct {
	Store  zkhealth.Store
	Cache  zkhealth.Cache
	Prover Prover
	// Secret keys the HMACs of cache and job keys; at least 32 bytes, shared by every process
	// serving one deployment.
	Secret  []byte
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
	// TTL is how long a cached proof lives (default 1 h).
	TTL time.Duration
}

// Proofs is the proving use case: check a proof request, prove it (through the keyed-hash proof
// cache), and run queued proof jobs. The service's Prove and the proof workers both use it.
//
// Privacy: the credential and holder secret reach only the prover; the cache key is an HMAC under
// the server secret; nothing private is logged or returned in errors.
type Proofs struct {
	d        ProofsDeps
	requests *presentations
}

// NewProofs checks the dependencies and returns the proving use case.
func NewProofs(d ProofsDeps) (*Proofs, error) {
	switch {
	case d.Store == nil || d.Cache == nil || d.Prover == nil:
		return nil, errors.New("service: store, proof cache and prover are required")
	case len(d.Secret) < 32:
		return nil, errors.New("service: the server secret must be at least 32 bytes")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	if d.TTL == 0 {
		d.TTL = time.Hour
	}
	return &Proofs{d: d, requests: newPresentations(d.Store, d.Now)}, nil
}

// keyed is the hex HMAC-SHA256 of parts under the server secret, with a purpose label and each
// part length-prefixed: the form of every cache or job key derived from private input.
func keyed(secret []byte, purpose string, parts ...[]byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	for _, p := range parts {
		var n [8]byte
		for i := range 8 {
			n[i] = byte(len(p) >> (8 * (7 - i)))
		}
		m.Write(n[:])
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// cacheKey is the keyed hash identifying a proof request (request id, credential, secret).
func (p *Proofs) cacheKey(in ProveInput) string {
	var cred bytes.Buffer
	if json.Compact(&cred, in.Credential) != nil {
		cred.Write(in.Credential)
	}
	return keyed(p.d.Secret, "proof", []byte(in.RequestID), cred.Bytes(), []byte(in.HolderSecret))
}

// jobID names the asynchronous job of a proof request: the same body queued twice is one job.
func (p *Proofs) jobID(in ProveInput) string { return "job_" + p.cacheKey(in)[:32] }

// checked is a proof request that passed every check short of proving.
type checked struct {
	req  *Presentation
	prep *prover.Prepared
}

// check validates the input, loads the open request and runs the prover's native checks.
// Errors: EInvalid, ENotFound/EExpired (request), ECredential (bad signature, wrong holder,
// expired credential, untrusted issuer), ENotSatisfied.
func (p *Proofs) check(ctx context.Context, in ProveInput) (*checked, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	req, err := p.requests.get(ctx, in.RequestID)
	if err != nil {
		return nil, err
	}
	return p.checkFor(ctx, req, in)
}

// checkFor is check for a validated input and its loaded request.
func (p *Proofs) checkFor(ctx context.Context, req *Presentation, in ProveInput) (*checked, error) {
	cred, err := credential.Parse(in.Credential)
	if err != nil {
		return nil, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("credential: %w", err))
	}
	hk, err := credential.HolderKeyFromHex(in.HolderSecret)
	if err != nil {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "holder_secret: want 32 bytes of hex")
	}
	if _, err := p.d.Store.IssuerByKey(ctx, cred.Issuer); err != nil {
		if zkhealth.ErrorCode(err) == zkhealth.ENotFound {
			return nil, zkhealth.Errorf(zkhealth.ECredential, "the credential's issuer is not in the trusted-issuer registry")
		}
		return nil, err
	}
	prep, err := p.d.Prover.Prepare(prover.Request{Credential: cred, Holder: hk, Policy: req.Policy,
		AsOf: req.AsOf, Challenge: req.Challenge, Compiled: req.Compiled})
	if err != nil {
		p.count(req, err)
		return nil, err
	}
	return &checked{req: req, prep: prep}, nil
}

// Check runs every check a proof request gets before proving (the input, the open request, the
// issuer registry, and the prover's native checks of credential and policy) and proves nothing:
// a request it refuses would be refused by Prove with the same error.
func (p *Proofs) Check(ctx context.Context, in ProveInput) error {
	_, err := p.check(ctx, in)
	return err
}

// Prove proves a proof request. A repeated identical request returns the cached proof (hit =
// true). The open request is checked first: an expired request answers EExpired even when its
// proof is cached. Errors: those of Check, EUnavailable, EInternal.
func (p *Proofs) Prove(ctx context.Context, in ProveInput) (proofJSON []byte, hit bool, err error) {
	if err := in.Validate(); err != nil {
		return nil, false, err
	}
	req, err := p.requests.get(ctx, in.RequestID) // read once, before the cache
	if err != nil {
		return nil, false, err
	}
	key := p.cacheKey(in)
	if cached, ok := cacheGet(ctx, p.d.Metrics, p.d.Logger, p.d.Cache, "proof", key); ok {
		return cached, true, nil
	}
	c, err := p.checkFor(ctx, req, in)
	if err != nil {
		return nil, false, err
	}
	start := time.Now()
	f, err := p.d.Prover.ProvePrepared(ctx, c.prep)
	if err != nil {
		p.count(c.req, err)
		return nil, false, err
	}
	p.d.Metrics.Proofs.WithLabelValues(f.Circuit, "ok").Inc()
	p.d.Metrics.ProofLatency.WithLabelValues(f.Circuit).Observe(time.Since(start).Seconds())
	out, err := json.Marshal(f)
	if err != nil {
		return nil, false, fmt.Errorf("encode proof: %w", err)
	}
	stored, err := p.d.Cache.SetNX(ctx, key, out, p.d.TTL)
	if err != nil {
		p.d.Logger.WarnContext(ctx, "proof cache unavailable", "err_code", zkhealth.ErrorCode(err))
	} else if !stored {
		// another process answered the same request first: its answer wins
		if cached, ok := cacheGet(ctx, p.d.Metrics, p.d.Logger, p.d.Cache, "proof", key); ok {
			return cached, false, nil
		}
	}
	return out, false, nil
}

// count records a refused or failed proof in the metrics.
func (p *Proofs) count(req *Presentation, err error) {
	outcome := "error"
	if c := zkhealth.ErrorCode(err); c != zkhealth.EInternal && c != zkhealth.EUnavailable {
		outcome = "refused"
	}
	p.d.Metrics.Proofs.WithLabelValues(req.Compiled.Assigned.Circuit.ID, outcome).Inc()
}

// Run is the zkhealth.ProofRunner of the proof queues: it proves the job as Prove does (and
// fills the proof cache).
func (p *Proofs) Run(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
	out, _, err := p.Prove(ctx, ProveInput(job))
	return out, err
}

// cacheGet reads a cache, counting hits, misses and errors; a cache that cannot answer is a miss
// (logged by its error code only).
func cacheGet(ctx context.Context, m *metrics.Metrics, log *slog.Logger, c zkhealth.Cache, name, key string) ([]byte, bool) {
	v, ok, err := c.Get(ctx, key)
	switch {
	case err != nil:
		m.Cache.WithLabelValues(name, "error").Inc()
		log.WarnContext(ctx, "cache unavailable", "cache", name, "err_code", zkhealth.ErrorCode(err))
		return nil, false
	case ok:
		m.Cache.WithLabelValues(name, "hit").Inc()
		return v, true
	}
	m.Cache.WithLabelValues(name, "miss").Inc()
	return nil, false
}
