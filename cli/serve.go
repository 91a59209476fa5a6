package cli

import (
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/zkhealth/zkhealth/app"
	"github.com/zkhealth/zkhealth/internal/keys"
)

// Environment variables serve and worker read (API.md). Secrets are never flags, so they do not
// show in process listings.
const (
	envRedisURL = "REDIS_URL"
	envAPIKeys  = "ZKHEALTH_API_KEYS"
	envSecret   = "ZKHEALTH_SECRET"
)

// newLogger is the structured log of serve and worker: JSON (or text) lines on stderr.
func newLogger(e *env, format string) (*slog.Logger, error) {
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, nil)), nil
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, nil)), nil
	}
	return nil, usageErrorf("--log-format: want json or text")
}

// sharedFlags are the flags serve and worker both take.
type sharedFlags struct {
	dataDir, redisURL, redisPrefix, backend, logFormat string
	workers                                            int
	shutdownTimeout                                    time.Duration
}

func (s *sharedFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.dataDir, "data-dir", app.DefaultDataDir, "data directory: keys, server secret, issuer key, embedded store (shared by serve and worker)")
	f.StringVar(&s.redisURL, "redis-url", "", "Redis URL (redis://host:port/db); default $"+envRedisURL+"; empty: embedded mode")
	f.StringVar(&s.redisPrefix, "redis-prefix", app.DefaultRedisPrefix, "prefix of every Redis key of this deployment")
	f.StringVar(&s.backend, "backend", string(keys.Groth16), "proving system: groth16 or plonk")
	f.IntVar(&s.workers, "workers", max(1, runtime.NumCPU()/2), "proofs computed at once by this process")
	f.DurationVar(&s.shutdownTimeout, "shutdown-timeout", app.DefaultShutdownTimeout, "how long a graceful shutdown (SIGTERM) may take")
	f.StringVar(&s.logFormat, "log-format", "json", "log format on stderr: json or text")
}

func (s *sharedFlags) config(e *env) (app.Config, error) {
	if _, err := keys.ParseBackend(s.backend); err != nil {
		return app.Config{}, usageErrorf("--backend: %v", err)
	}
	if s.workers < 1 {
		return app.Config{}, usageErrorf("--workers: want at least 1")
	}
	if s.redisURL == "" {
		s.redisURL = os.Getenv(envRedisURL) // not the flag's default: --help would show a password
	}
	log, err := newLogger(e, s.logFormat)
	if err != nil {
		return app.Config{}, err
	}
	return app.Config{
		DataDir:         s.dataDir,
		RedisURL:        s.redisURL,
		RedisPrefix:     s.redisPrefix,
		Backend:         s.backend,
		Secret:          os.Getenv(envSecret),
		ProveWorkers:    s.workers,
		ShutdownTimeout: s.shutdownTimeout,
		Logger:          log,
		Stdout:          e.stdout,
	}, nil
}

// newServeCommand is `zkhealth serve`: the HTTP API of API.md.
func newServeCommand(e *env) *cobra.Command {
	var (
		shared         sharedFlags
		addr, keysFile string
		dev            bool
		bodyLimit      int64
		rateLimit      int
		queueCapacity  int
		requestTimeout time.Duration
		logOrigin      string
	)
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--data-dir DIR] [--redis-url URL] [--dev]",
		Short: "Serve the HTTP API (API.md)",
		Long: `serve runs the HTTP API of API.md until SIGTERM or SIGINT, then shuts down gracefully:
requests in flight, synchronous proofs included, and queued proof jobs already running finish.

Embedded mode (default): no Redis; durable state (policies, presentation requests, nullifiers,
issuers) in DIR/zkhealth.db, caches and the proving pool in process. Redis mode (--redis-url or
$REDIS_URL): state, caches, rate limits and the proof job queue in Redis, shared with other serve
and ` + "`zkhealth worker`" + ` processes using the same Redis, prefix and server secret.

On first start DIR gets the circuit keys (a single-party DEVELOPMENT setup, logged as a warning),
the server secret (secret.key; or set $ZKHEALTH_SECRET, 64 hex, on every process) and the
server's issuer key (issuer.key), registered as trusted issuer "zkhealth-dev-issuer", and the
verification log's signing key (log.key; its origin --log-origin): every verification is appended
to the log (GET /v1/log/…; zkhealth log verify). Redis-mode serve processes need the same log.key.

API keys come from $ZKHEALTH_API_KEYS ("role:key,role:key"; roles issuer, holder, verifier,
admin) or --keys-file. Without any, serve refuses to start unless --dev is given: --dev creates
one key per role (reused from DIR/dev-keys.json on later starts) and prints them once.`,
		Example: `  zkhealth serve --dev
  ZKHEALTH_API_KEYS="verifier:v-key,holder:h-key" zkhealth serve --addr 127.0.0.1:8080
  zkhealth serve --redis-url redis://127.0.0.1:6379/0 --keys-file keys.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := shared.config(e)
			if err != nil {
				return err
			}
			if bodyLimit < 1 {
				return usageErrorf("--body-limit: want at least 1 byte")
			}
			if queueCapacity < 1 {
				return usageErrorf("--queue-capacity: want at least 1")
			}
			if rateLimit == 0 {
				rateLimit = -1 // 0 on the command line means no limit
			}
			cfg.Addr, cfg.Dev, cfg.KeysFile, cfg.LogOrigin = addr, dev, keysFile, logOrigin
			cfg.APIKeys = os.Getenv(envAPIKeys)
			cfg.BodyLimit, cfg.RateLimit, cfg.QueueCapacity, cfg.RequestTimeout = bodyLimit, rateLimit, queueCapacity, requestTimeout
			if err := app.New(cfg).Run(cmd.Context()); err != nil {
				return fail("", err)
			}
			return nil
		},
	}
	shared.add(cmd)
	f := cmd.Flags()
	f.StringVar(&addr, "addr", app.DefaultAddr, "listen address")
	f.BoolVar(&dev, "dev", false, "development mode: create and print one API key per role when none is configured")
	f.StringVar(&keysFile, "keys-file", "", `API keys file: "role:key" entries (commas or newlines) or a JSON object {"role":"key"}`)
	f.Int64Var(&bodyLimit, "body-limit", 1<<20, "request body limit in bytes")
	f.IntVar(&rateLimit, "rate-limit", app.DefaultRateLimit, "requests per minute per API key (0: no limit)")
	f.IntVar(&queueCapacity, "queue-capacity", app.DefaultQueueCapacity, "proofs that may wait for a prover before 503 overloaded")
	f.DurationVar(&requestTimeout, "request-timeout", app.DefaultRequestTimeout, "time limit of one request")
	f.StringVar(&logOrigin, "log-origin", "", "the verification log's origin (checkpoint origin line), fixed when DIR/log.key is created; default zkhealth/<host name>")
	return cmd
}

// newWorkerCommand is `zkhealth worker`: a proof-job consumer for Redis mode.
func newWorkerCommand(e *env) *cobra.Command {
	var shared sharedFlags
	cmd := &cobra.Command{
		Use:   "worker --redis-url URL [--data-dir DIR]",
		Short: "Consume proof jobs from Redis (Redis mode)",
		Long: `worker consumes the asynchronous proof jobs that ` + "`zkhealth serve`" + ` processes queue in
Redis, until SIGTERM or SIGINT; jobs already running then finish (within --shutdown-timeout).
Adding workers adds proving throughput. It needs the same --redis-url, --redis-prefix and server
secret (DIR/secret.key or $ZKHEALTH_SECRET) as serve: job payloads are sealed with a key derived
from that secret. It loads (or, on an empty DIR, sets up) the circuit keys in DIR/keys.`,
		Example: `  zkhealth worker --redis-url redis://127.0.0.1:6379/0 --data-dir ./data`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := shared.config(e)
			if err != nil {
				return err
			}
			if cfg.RedisURL == "" {
				return usageErrorf("--redis-url: required (or set $%s): the worker consumes the Redis job queue", envRedisURL)
			}
			if err := app.NewWorker(cfg).Run(cmd.Context()); err != nil {
				return fail("", err)
			}
			return nil
		},
	}
	shared.add(cmd)
	return cmd
}
