package redis_test

import (
	"context"
	"testing"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/porttest"
	"github.com/zkhealth/zkhealth/internal/redistest"
	"github.com/zkhealth/zkhealth/redis"
)

// TestLogStore runs the port's conformance suite, each test on a fresh prefix; and its
// cross-process part on two clients (two connection pools, as two serve processes have) of one
// prefix.
func TestLogStore(t *testing.T) {
	porttest.LogStore(t, func(t *testing.T) zkhealth.LogStore {
		_, c, prefix := mustOpen(t)
		return redis.NewLogStore(c, prefix)
	})
	t.Run("Shared", func(t *testing.T) {
		porttest.LogStoreShared(t, func(t *testing.T) (zkhealth.LogStore, zkhealth.LogStore) {
			_, c, prefix := mustOpen(t)
			return redis.NewLogStore(c, prefix), redis.NewLogStore(redistest.Client(t, redisURL), prefix)
		})
	})
}

// TestLogStoreDown: a Redis that does not answer is EUnavailable, on every method.
func TestLogStoreDown(t *testing.T) {
	ctx := context.Background()
	s := redis.NewLogStore(downClient(t), "down:")
	for name, err := range map[string]error{
		"AppendLeaf": func() error { _, err := s.AppendLeaf(ctx, []byte("x"), "k"); return err }(),
		"LogSize":    func() error { _, _, err := s.LogSize(ctx); return err }(),
		"Leaves":     func() error { _, err := s.Leaves(ctx, 0, 1); return err }(),
		"LeafIndexes": func() error {
			_, err := s.LeafIndexes(ctx, "k", 0, 1)
			return err
		}(),
		"LogNodes":    func() error { _, err := s.LogNodes(ctx, []zkhealth.LogNodeID{{}}); return err }(),
		"PutLogNodes": s.PutLogNodes(ctx, nil, 0),
		"BindLog":     func() error { _, err := s.BindLog(ctx, "id"); return err }(),
	} {
		if zkhealth.ErrorCode(err) != zkhealth.EUnavailable {
			t.Errorf("%s: %v, want EUnavailable", name, err)
		}
	}
}
