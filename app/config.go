package app

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/server"
)

// Defaults of Config.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultDataDir         = "./data"
	DefaultRedisPrefix     = "zkhealth:"
	DefaultRateLimit       = 600 // requests per minute per API key
	DefaultQueueCapacity   = 16
	DefaultRequestTimeout  = 60 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
	// DevIssuerName is the trusted-issuer name of the server's own issuer key.
	DevIssuerName = "zkhealth-dev-issuer"
)

// Files under the data directory.
const (
	dbFile      = "zkhealth.db"
	keysSubdir  = "keys"
	secretFile  = "secret.key"
	issuerFile  = "issuer.key"
	devKeysFile = "dev-keys.json"
)

// Config is how a serve or worker process is set up. The zero value of every field but Logger
// means its default.
type Config struct {
	// Addr is the listen address of serve (default 127.0.0.1:8080; ":0" style picks a free port).
	Addr string
	// DataDir holds the embedded store, the keys, the server secret, the issuer key and the dev
	// API keys (default ./data). serve and worker share it.
	DataDir string
	// RedisURL selects Redis mode (redis://…); empty means the embedded mode.
	RedisURL string
	// RedisPrefix starts every key this deployment writes to Redis (default "zkhealth:").
	RedisPrefix string
	// Dev allows starting without configured API keys: one key per role is created (or reused
	// from DataDir/dev-keys.json), printed once on Stdout and written to DataDir/dev-keys.json.
	Dev bool
	// Backend is the proving system: groth16 (default) or plonk.
	Backend string
	// APIKeys is "role:key,role:key,…" (ZKHEALTH_API_KEYS).
	APIKeys string
	// KeysFile is a file of API keys: the APIKeys format (commas or newlines), or a JSON object
	// {"role": "key", …} such as dev-keys.json.
	KeysFile string
	// KeysDir is a directory of already set-up circuit keys to load (never created); empty means
	// DataDir/keys, set up on first start.
	KeysDir string
	// Secret is the server secret, 64 hex characters (ZKHEALTH_SECRET); empty means
	// DataDir/secret.key, created on first start. Every serve and worker of a deployment needs the
	// same one.
	Secret string
	// BodyLimit bounds request bodies in bytes (default 1 MiB).
	BodyLimit int64
	// RateLimit is the number of requests per minute each API key may make (default 600;
	// negative: unlimited).
	RateLimit int
	// QueueCapacity is the number of proofs that may wait for a prover (default 16); more are
	// refused with 503 overloaded.
	QueueCapacity int
	// ProveWorkers is the number of proofs this process computes at once (default: half the CPUs,
	// at least 1).
	ProveWorkers int
	// RequestTimeout bounds every request (default 60 s).
	RequestTimeout time.Duration
	// ShutdownTimeout bounds a graceful shutdown (default 30 s).
	ShutdownTimeout time.Duration
	// Logger receives structured logs (default: discarded).
	Logger *slog.Logger
	// Stdout receives the --dev API keys (default os.Stdout).
	Stdout io.Writer
	// LogOrigin names the verification log (its checkpoints' origin line) when DataDir/log.key is
	// created; later starts refuse another origin. Empty: zkhealth/<host name>, or the key's.
	LogOrigin string

	// now is the service's clock (issue dates, default as-of dates, request expiry); nil means
	// time.Now. Tests set it to replay dated records (the Synthea bundles end in January 2021).
	now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = DefaultRedisPrefix
	}
	if c.Backend == "" {
		c.Backend = "groth16"
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.QueueCapacity <= 0 {
		c.QueueCapacity = DefaultQueueCapacity
	}
	if c.ProveWorkers <= 0 {
		c.ProveWorkers = max(1, runtime.NumCPU()/2)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	return c
}

// ParseAPIKeys reads "role:key" pairs separated by commas or newlines (blank entries and lines
// starting with '#' are skipped). Errors never echo a key.
func ParseAPIKeys(s string) (map[string]server.Role, error) {
	out := map[string]server.Role{}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" || strings.HasPrefix(f, "#") {
			continue
		}
		role, key, ok := strings.Cut(f, ":")
		if !ok || strings.TrimSpace(key) == "" {
			return nil, fmt.Errorf("API key entry %d: want role:key", i+1)
		}
		r, err := server.ParseRole(strings.TrimSpace(role))
		if err != nil {
			return nil, fmt.Errorf("API key entry %d: %v", i+1, err)
		}
		out[strings.TrimSpace(key)] = r
	}
	return out, nil
}

// readKeysFile reads a keys file: a JSON object {"role": "key"} or the ParseAPIKeys format.
func readKeysFile(path string) (map[string]server.Role, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var byRole map[string]string
		if err := json.Unmarshal(t, &byRole); err != nil {
			return nil, fmt.Errorf("keys file %s: want a JSON object of role to key", path)
		}
		out := map[string]server.Role{}
		for role, key := range byRole {
			r, err := server.ParseRole(role)
			if err != nil {
				return nil, fmt.Errorf("keys file %s: %v", path, err)
			}
			if key == "" {
				return nil, fmt.Errorf("keys file %s: empty key for role %s", path, role)
			}
			out[key] = r
		}
		return out, nil
	}
	keys, err := ParseAPIKeys(string(data))
	if err != nil {
		return nil, fmt.Errorf("keys file %s: %v", path, err)
	}
	return keys, nil
}

// apiKeys gathers the configured keys; with none and Dev, it makes (or reuses) one per role,
// writes them to DataDir/dev-keys.json and returns them by role for printing.
func (c Config) apiKeys() (map[string]server.Role, map[server.Role]string, error) {
	keys := map[string]server.Role{}
	if c.APIKeys != "" {
		k, err := ParseAPIKeys(c.APIKeys)
		if err != nil {
			return nil, nil, zkhealth.Errorf(zkhealth.EInvalid, "ZKHEALTH_API_KEYS: %v", err)
		}
		keys = k
	}
	if c.KeysFile != "" {
		k, err := readKeysFile(c.KeysFile)
		if err != nil {
			return nil, nil, zkhealth.Wrap(zkhealth.EInvalid, err)
		}
		for key, r := range k {
			keys[key] = r
		}
	}
	if len(keys) > 0 {
		return keys, nil, nil
	}
	if !c.Dev {
		return nil, nil, zkhealth.Errorf(zkhealth.EInvalid, "no API keys configured: set ZKHEALTH_API_KEYS or --keys-file, or start with --dev")
	}
	path := filepath.Join(c.DataDir, devKeysFile)
	dev := map[server.Role]string{}
	if k, err := readKeysFile(path); err == nil && len(k) == len(server.Roles()) {
		for key, r := range k {
			dev[r] = key
		}
	}
	if len(dev) != len(server.Roles()) {
		dev = map[server.Role]string{}
		for _, r := range server.Roles() {
			var b [24]byte
			if _, err := rand.Read(b[:]); err != nil {
				return nil, nil, err
			}
			dev[r] = "zkh_" + string(r) + "_" + hex.EncodeToString(b[:])
		}
		byName := map[string]string{}
		for r, k := range dev {
			byName[string(r)] = k
		}
		data, _ := json.MarshalIndent(byName, "", "  ")
		if err := writeFile0600(path, append(data, '\n')); err != nil {
			return nil, nil, err
		}
	}
	for r, k := range dev {
		keys[k] = r
	}
	return keys, dev, nil
}

// printDevKeys prints the development keys once, by role.
func printDevKeys(w io.Writer, dev map[server.Role]string, path string) {
	roles := make([]string, 0, len(dev))
	for r := range dev {
		roles = append(roles, string(r))
	}
	sort.Strings(roles)
	fmt.Fprintf(w, "zkhealth: --dev: development API keys (also in %s):\n", path)
	for _, r := range roles {
		fmt.Fprintf(w, "  %-8s %s\n", r, dev[server.Role(r)])
	}
}

// writeFile0600 creates path (mode 0600) with data through a temporary file and a rename.
func writeFile0600(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// createFile0600 creates path (mode 0600) with data unless it exists, atomically: the file
// appears complete or not at all. created is false when it already existed.
func createFile0600(path string, data []byte) (created bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// secrets are the keys derived from the server secret, one per purpose.
type secrets struct {
	cacheHMAC []byte // keys the HMACs of cache and job ids (service.Deps.Secret)
	jobAEAD   []byte // AES-256-GCM key sealing queued proof jobs
}

// HKDF info labels: distinct, so no derived key can stand for another.
const (
	labelCacheHMAC = "zkhealth/v1 cache-hmac"
	labelJobAEAD   = "zkhealth/v1 job-aes-256-gcm"
)

// loadSecret reads the server secret from Config.Secret or DataDir/secret.key (creating it with
// mode 0600 on first start) and derives the per-purpose keys with HKDF-SHA256.
func (c Config) loadSecret() (secrets, error) {
	var raw []byte
	switch {
	case c.Secret != "":
		b, err := hex.DecodeString(strings.TrimSpace(c.Secret))
		if err != nil || len(b) != 32 {
			return secrets{}, zkhealth.Errorf(zkhealth.EInvalid, "ZKHEALTH_SECRET: want 64 hex characters")
		}
		raw = b
	default:
		path := filepath.Join(c.DataDir, secretFile)
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fresh := make([]byte, 32)
			if _, err := rand.Read(fresh); err != nil {
				return secrets{}, err
			}
			created, err := createFile0600(path, []byte(hex.EncodeToString(fresh)+"\n"))
			if err != nil {
				return secrets{}, fmt.Errorf("server secret: %w", err)
			}
			if !created { // another process sharing the data dir made it first: use theirs
				return c.loadSecret()
			}
			raw = fresh
		case err != nil:
			return secrets{}, fmt.Errorf("server secret: %w", err)
		default:
			b, err := hex.DecodeString(strings.TrimSpace(string(data)))
			if err != nil || len(b) != 32 {
				return secrets{}, zkhealth.Errorf(zkhealth.EInvalid, "%s: want 64 hex characters", path)
			}
			raw = b
		}
	}
	var s secrets
	var err error
	if s.cacheHMAC, err = hkdf.Key(sha256.New, raw, nil, labelCacheHMAC, 32); err != nil {
		return secrets{}, err
	}
	if s.jobAEAD, err = hkdf.Key(sha256.New, raw, nil, labelJobAEAD, 32); err != nil {
		return secrets{}, err
	}
	return s, nil
}
