// Package app wires zkhealth's processes: Main is `zkhealth serve` (the HTTP API of package
// server over package service) and Worker is `zkhealth worker` (a Redis proof-job consumer). Both
// are types so end-to-end tests start real servers in process.
//
// Embedded mode (no Redis URL): the durable state lives in a bolt file under the data directory,
// caches and rate limits in memory, and proof jobs run on an in-process pool. Redis mode: state,
// caches, rate limits and the job queue live in Redis under one key prefix, shared by every serve
// and worker process; job payloads are sealed with AES-256-GCM under a key derived from the
// server secret.
//
// On first start the data directory gets the circuit keys (a development setup, logged loudly),
// the server secret (secret.key, 0600), the server's issuer key (issuer.key, 0600, registered
// as the trusted issuer "zkhealth-dev-issuer") and the verification log's signing key (log.key,
// 0600; auditlog.go): serve appends every verification to the log, in the bolt file or in Redis.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/bolt"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/inmem"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/metrics"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/redis"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/server"
	"github.com/zkhealth/zkhealth/service"
	"github.com/zkhealth/zkhealth/verifier"
	"github.com/zkhealth/zkhealth/verifier/auditlog"
)

// cacheEntries bounds each in-memory cache.
const cacheEntries = 10000

// Main is a running `zkhealth serve`. Use New, then Open (or Run).
type Main struct {
	cfg Config
	log *slog.Logger

	// Service is the application service behind the API (set by Open).
	Service *service.Service
	// DevKeys are the --dev API keys by role (set by Open in dev mode without configured keys).
	DevKeys map[server.Role]string
	// AuditLog is the verification log every verification is appended to (set by Open).
	AuditLog *auditlog.Log

	ln       net.Listener
	http     *http.Server
	served   chan error
	core     *core
	queue    *inmem.Queue // embedded mode
	closeMu  sync.Mutex
	closed   bool
	closeErr error
}

// New returns a Main for the configuration; nothing starts before Open.
func New(cfg Config) *Main {
	cfg = cfg.withDefaults()
	return &Main{cfg: cfg, log: slog.New(server.LogHandler(cfg.Logger.Handler()))}
}

// Addr is the address Open listens on (with the real port when Config.Addr asked for port 0).
func (m *Main) Addr() string {
	if m.ln == nil {
		return m.cfg.Addr
	}
	return m.ln.Addr().String()
}

// URL is the server's base URL, http://ADDR.
func (m *Main) URL() string { return "http://" + m.Addr() }

// core is what serve and worker share: the store, the proof cache, the prover and the proving use
// case on them (all a worker builds), with the Redis client in Redis mode.
type core struct {
	store      zkhealth.Store
	proofCache zkhealth.Cache
	rdb        *goredis.Client
	metrics    *metrics.Metrics
	secrets    secrets
	keyDir     string
	backend    keys.Backend
	prover     *prover.Prover
	proofs     *service.Proofs
}

func (c *core) close() {
	if c.store != nil {
		c.store.Close()
	}
	if c.rdb != nil {
		c.rdb.Close()
	}
}

// Open sets everything up and starts serving: API keys, server secret, circuit keys, issuer key,
// store, caches, queue, service, and a listener, bound synchronously so a port in use fails here.
// On error everything opened so far is closed again.
func (m *Main) Open(ctx context.Context) (err error) {
	cfg := m.cfg
	apiKeys, dev, err := cfg.apiKeys()
	if err != nil {
		return err
	}
	m.DevKeys = dev
	defer func() {
		if err != nil {
			m.abort()
		}
	}()
	// Bind first: a port in use fails before the slow key loading.
	if m.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return zkhealth.Wrap(zkhealth.EUnavailable, fmt.Errorf("listen on %s: %w", cfg.Addr, err))
	}
	if m.core, err = cfg.buildCore(ctx, m.log); err != nil {
		return err
	}
	svc, limiter, err := m.buildService(ctx)
	if err != nil {
		return err
	}
	m.Service = svc
	if dev != nil {
		path := filepath.Join(cfg.DataDir, devKeysFile)
		printDevKeys(cfg.Stdout, dev, path)
		m.log.Warn("DEVELOPMENT MODE (--dev): API keys were printed on stdout and written to "+path+"; never use them in production",
			"keys_file", path)
	}
	srv, err := server.New(server.Deps{
		Service:          svc,
		Keys:             apiKeys,
		Limiter:          limiter,
		Metrics:          m.core.metrics,
		Logger:           m.log,
		BodyLimit:        cfg.BodyLimit,
		RequestTimeout:   cfg.RequestTimeout,
		MaxPendingProofs: cfg.ProveWorkers + cfg.QueueCapacity,
		Log:              m.AuditLog,
	})
	if err != nil {
		return err
	}
	m.http = &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	m.served = make(chan error, 1)
	ln, hs := m.ln, m.http
	go func() { m.served <- hs.Serve(ln) }()
	mode := "embedded"
	if cfg.RedisURL != "" {
		mode = "redis"
	}
	m.log.Info("zkhealth serving", "addr", m.Addr(), "mode", mode, "backend", cfg.Backend,
		"prove_workers", cfg.ProveWorkers, "queue_capacity", cfg.QueueCapacity, "pid", os.Getpid())
	return nil
}

// abort releases what a failed Open opened.
func (m *Main) abort() {
	if m.ln != nil {
		m.ln.Close()
	}
	if m.queue != nil {
		m.queue.Close(context.Background())
	}
	if m.core != nil {
		m.core.close()
	}
}

// Close shuts down gracefully within Config.ShutdownTimeout: it stops accepting connections,
// waits for requests in flight (synchronous proofs included), then lets running proof jobs
// finish, and closes the store. It is safe to call more than once.
func (m *Main) Close() error {
	m.closeMu.Lock()
	defer m.closeMu.Unlock()
	if m.closed {
		return m.closeErr
	}
	m.closed = true
	if m.http == nil {
		m.abort()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := m.http.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		m.http.Close()
	}
	if err := <-m.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	if m.queue != nil {
		if err := m.queue.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("proof queue: %w", err))
		}
	}
	m.core.close()
	m.closeErr = errors.Join(errs...)
	m.log.Info("zkhealth stopped")
	return m.closeErr
}

// Run opens the server and serves until ctx is done (SIGTERM in the CLI) or serving fails, then
// shuts down gracefully.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Open(ctx); err != nil {
		return err
	}
	var serveErr error
	select {
	case <-ctx.Done():
		m.log.Info("shutting down", "timeout", m.cfg.ShutdownTimeout.String())
	case serveErr = <-m.served:
		m.served <- serveErr // for Close
	}
	return errors.Join(serveErr, m.Close())
}

// Worker is a running `zkhealth worker`: it consumes the Redis proof queue.
type Worker struct {
	cfg Config
	log *slog.Logger
}

// NewWorker returns a Worker for the configuration, which must name a Redis URL.
func NewWorker(cfg Config) *Worker {
	cfg = cfg.withDefaults()
	return &Worker{cfg: cfg, log: slog.New(cfg.Logger.Handler())}
}

// Run loads the keys and consumes proof jobs until ctx is done, then lets running jobs finish
// (within Config.ShutdownTimeout).
func (w *Worker) Run(ctx context.Context) error {
	if w.cfg.RedisURL == "" {
		return zkhealth.Errorf(zkhealth.EInvalid, "the worker needs Redis: set --redis-url or REDIS_URL")
	}
	c, err := w.cfg.buildCore(ctx, w.log)
	if err != nil {
		return err
	}
	defer c.close()
	rw := redis.NewWorker(c.rdb, w.cfg.RedisPrefix, c.secrets.jobAEAD, c.proofs.Run, w.cfg.ProveWorkers)
	rw.ShutdownTimeout = w.cfg.ShutdownTimeout
	rw.Logger = w.log
	w.log.Info("zkhealth worker consuming proof jobs", "concurrency", w.cfg.ProveWorkers, "backend", w.cfg.Backend)
	err = rw.Run(ctx)
	w.log.Info("zkhealth worker stopped")
	return err
}

// buildCore makes what serve and worker share: the data directory, the server secret, the circuit
// keys (set up on first start), the prover, the store and the proof cache (bolt and memory in
// embedded mode, Redis in Redis mode) and the proving use case on them.
func (c Config) buildCore(ctx context.Context, log *slog.Logger) (_ *core, err error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, zkhealth.Wrap(zkhealth.EUnavailable, fmt.Errorf("data dir: %w", err))
	}
	out := &core{metrics: metrics.New()}
	if out.backend, err = keys.ParseBackend(c.Backend); err != nil {
		return nil, zkhealth.Wrap(zkhealth.EInvalid, err)
	}
	if out.secrets, err = c.loadSecret(); err != nil {
		return nil, err
	}
	if out.keyDir, err = c.ensureKeys(ctx, log, out.backend); err != nil {
		return nil, err
	}
	circuits := schema.CircuitIDs()
	start := time.Now()
	log.Info("loading circuit keys…", "keys_dir", out.keyDir)
	if out.prover, err = prover.New(out.keyDir, out.backend, circuits, c.ProveWorkers); err != nil {
		return nil, err
	}
	log.Info("circuit keys loaded in "+time.Since(start).Round(100*time.Millisecond).String(), "keys_dir", out.keyDir)
	defer func() {
		if err != nil {
			out.close()
		}
	}()
	if c.RedisURL == "" {
		if out.store, err = bolt.Open(filepath.Join(c.DataDir, dbFile)); err != nil {
			return nil, err
		}
		out.proofCache = inmem.NewCache(cacheEntries)
	} else {
		opt, err := goredis.ParseURL(c.RedisURL)
		if err != nil {
			return nil, zkhealth.Errorf(zkhealth.EInvalid, "redis URL: %v", redactURL(err))
		}
		// Fail fast when Redis is down (requests answer 503 at once); go-redis redials by itself
		// when it is back. A URL's own settings win.
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = 2*time.Second, 2*time.Second, 2*time.Second, 3*time.Second
		if opt.MaxRetries == 0 {
			opt.MaxRetries = 1
		}
		if opt.DialerRetries == 0 {
			opt.DialerRetries = 2
		}
		out.rdb = goredis.NewClient(opt)
		out.store = redis.NewStore(out.rdb, c.RedisPrefix)
		out.proofCache = redis.NewCache(out.rdb, c.RedisPrefix)
	}
	out.proofs, err = service.NewProofs(service.ProofsDeps{Store: out.store, Cache: out.proofCache, Prover: out.prover,
		Secret: out.secrets.cacheHMAC, Metrics: out.metrics, Logger: log, Now: c.now})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// buildService makes the rest of serve on m.core: the verifier, the key registry, the
// verification cache, the rate limiter, the proof queue (an in-process pool in embedded mode,
// started here; Redis for `zkhealth worker`s otherwise), the server's issuer key, and the
// service, with the issuer key registered as a trusted issuer.
func (m *Main) buildService(ctx context.Context) (*service.Service, zkhealth.RateLimiter, error) {
	c, cfg := m.core, m.cfg
	var circuits []*keys.Keys
	var ids []string
	for _, id := range schema.CircuitIDs() {
		circuits = append(circuits, c.prover.Keys(id))
		ids = append(ids, id)
	}
	registry, err := keys.NewRegistry(circuits...)
	if err != nil {
		return nil, nil, err
	}
	vr, err := verifier.New(c.keyDir, ids, c.backend)
	if err != nil {
		return nil, nil, err
	}
	ik, err := cfg.issuerKey()
	if err != nil {
		return nil, nil, err
	}
	var verifyCache zkhealth.Cache
	var limiter zkhealth.RateLimiter
	var queue zkhealth.Queue
	if cfg.RedisURL == "" {
		verifyCache = inmem.NewCache(cacheEntries)
		if cfg.RateLimit > 0 {
			limiter = inmem.NewRateLimiter(float64(cfg.RateLimit)/60, cfg.RateLimit)
		}
		m.queue = inmem.NewQueue(c.proofs.Run, cfg.ProveWorkers, cfg.QueueCapacity)
		m.queue.Start(context.Background())
		queue = m.queue
	} else {
		verifyCache = c.proofCache // one Redis cache; keys of the two uses never collide
		if cfg.RateLimit > 0 {
			limiter = redis.NewRateLimiter(c.rdb, cfg.RedisPrefix, cfg.RateLimit, time.Minute)
		}
		if queue, err = redis.NewQueue(c.rdb, cfg.RedisPrefix, c.secrets.jobAEAD, cfg.QueueCapacity); err != nil {
			return nil, nil, err
		}
	}
	c.metrics.WatchQueue(queue.Depth)
	if m.AuditLog, err = m.openLog(ctx); err != nil {
		return nil, nil, err
	}
	svc, err := service.New(service.Deps{
		Store: c.store, ProofCache: c.proofCache, VerifyCache: verifyCache, Queue: queue,
		Prover: c.prover, Verifier: vr, Keys: registry, Proofs: c.proofs,
		Secret: c.secrets.cacheHMAC, IssuerKey: ik, Log: m.AuditLog,
		Metrics: c.metrics, Logger: m.log, Now: cfg.now,
	})
	if err != nil {
		return nil, nil, err
	}
	if _, err := svc.RegisterIssuer(ctx, service.IssuerInput{Name: DevIssuerName, PublicKey: ik.PublicHex()}); err != nil {
		return nil, nil, fmt.Errorf("register the server's issuer key: %w", err)
	}
	return svc, limiter, nil
}

// redactURL keeps a Redis URL's password out of an error.
func redactURL(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "@"); i >= 0 {
		return "malformed URL"
	}
	return msg
}

// ensureKeys returns the directory to load circuit keys from. Config.KeysDir is used as it is;
// otherwise DataDir/keys is set up (idempotent; new keys come from a development setup, which is
// logged loudly at warn level), logging each circuit's progress and the time it took.
func (c Config) ensureKeys(ctx context.Context, log *slog.Logger, backend keys.Backend) (string, error) {
	if c.KeysDir != "" {
		return c.KeysDir, nil
	}
	dir := filepath.Join(c.DataDir, keysSubdir)
	// serve and worker processes sharing the data dir may start together: one sets up, the
	// others wait and then find the keys unchanged, so all load the same keys.
	unlock, err := lockDir(dir)
	if err != nil {
		return "", zkhealth.Wrap(zkhealth.EUnavailable, fmt.Errorf("key setup: %w", err))
	}
	defer unlock()
	for _, s := range schema.All() {
		for _, circuit := range s.Circuits {
			info, reused, err := keys.Setup(ctx, dir, s, circuit, backend, log.With("keys_dir", dir))
			if err != nil {
				return "", zkhealth.Wrap(zkhealth.EUnavailable, fmt.Errorf("key setup: %w", err))
			}
			if reused && info.Development {
				log.Warn("DEVELOPMENT SETUP keys in use: whoever ran the setup can forge proofs; never use them in production",
					"circuit", info.Circuit, "backend", string(info.Backend), "keys_dir", dir)
			}
		}
	}
	return dir, nil
}

// issuerKey loads DataDir/issuer.key, creating it (0600) on first start.
func (c Config) issuerKey() (*credential.IssuerKey, error) {
	path := filepath.Join(c.DataDir, issuerFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err := credential.GenerateIssuerKey(nil)
		if err != nil {
			return nil, err
		}
		js, err := k.MarshalJSON()
		if err != nil {
			return nil, err
		}
		if err := credential.WriteKeyFile(path, js); err != nil {
			if !errors.Is(err, fs.ErrExist) {
				return nil, err
			}
			// another process (a worker sharing the data dir) created it first
		} else {
			return k, nil
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	k, err := credential.ParseIssuerKey(data)
	if err != nil {
		return nil, fmt.Errorf("issuer key %s: %w", path, err)
	}
	return k, nil
}

// lockDir takes an exclusive advisory lock on dir/.lock (creating dir), waiting for other
// processes; the returned function releases it.
func lockDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
