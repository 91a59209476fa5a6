package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/bolt"
	"github.com/zkhealth/zkhealth/redis"
	"github.com/zkhealth/zkhealth/verifier/auditlog"
)

// logKeyFile is the verification log's signing key under the data directory.
const logKeyFile = "log.key"

// defaultLogOrigin names a new log when Config.LogOrigin is empty: zkhealth/<host name>.
func defaultLogOrigin() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	clean := strings.Map(func(r rune) rune {
		if auditlog.ValidOrigin(string(r)) {
			return r
		}
		return '-'
	}, host)
	return "zkhealth/" + clean
}

// openLog opens the verification log: its signing key DataDir/log.key (created on first start for
// Config.LogOrigin, default zkhealth/<host name>), on the bolt file in embedded mode and on Redis
// under the deployment's prefix otherwise. Every serve process of a Redis deployment needs the
// same log.key: the store refuses a second key.
func (m *Main) openLog(ctx context.Context) (*auditlog.Log, error) {
	cfg := m.cfg
	origin := cfg.LogOrigin
	if origin != "" && !auditlog.ValidOrigin(origin) {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "log origin: want 1 to %d of A-Z a-z 0-9 . _ ~ : / -", auditlog.MaxOrigin)
	}
	create := origin
	if create == "" {
		create = defaultLogOrigin()
	}
	path := filepath.Join(cfg.DataDir, logKeyFile)
	var key *auditlog.Key
	var created bool
	var err error
	if _, statErr := os.Stat(path); statErr == nil {
		key, created, err = auditlog.LoadOrCreateKey(path, origin)
	} else {
		key, created, err = auditlog.LoadOrCreateKey(path, create)
	}
	if errors.Is(err, auditlog.ErrKey) {
		return nil, zkhealth.Wrap(zkhealth.EInvalid, err)
	}
	if err != nil {
		return nil, zkhealth.Wrap(zkhealth.EUnavailable, err)
	}
	var store zkhealth.LogStore
	switch s := m.core.store.(type) {
	case *bolt.Store:
		store = s
	case *redis.Store:
		store = redis.NewLogStore(m.core.rdb, cfg.RedisPrefix)
	default:
		return nil, fmt.Errorf("app: no verification log store for a %T", m.core.store)
	}
	l, err := auditlog.Open(ctx, store, key)
	if err != nil {
		return nil, err
	}
	if created {
		m.log.Warn("created the verification log's signing key: publish its verifier key so that anyone can check the log (zkhealth log verify --key)",
			"path", path, "origin", key.Origin(), "verifier_key", key.VerifierKey())
	}
	m.log.Info("verification log open", "origin", key.Origin(), "verifier_key", key.VerifierKey())
	return l, nil
}
