package redis

import (
	"context"
	"encoding/binary"
	"errors"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/zkhealth/zkhealth"
)

// LogStore is a zkhealth.LogStore on Redis, shared by every serve process of a deployment. Its
// keys share the hash tag {log}, so its scripts also run on Redis Cluster:
//
//	<prefix>log:{log}:leaves             list, leaf i at position i
//	<prefix>log:{log}:key:<sha256 hex>   sorted set, the indexes of the leaves under a key (score = index)
//	<prefix>log:{log}:nodes              hash, level (1 byte) ‖ index (8 bytes BE) → node hash
//	<prefix>log:{log}:meta               hash, "synced" → synced size, "id" → the log's identity
//
// An append is one Lua script (RPUSH of the leaf, whose new length gives the index, and ZADD to
// the key's index), so concurrent appends from any number of processes get dense, unique
// indexes, and a leaf is never stored without its key index or the other way round. Redis
// acknowledges the script once it is applied in memory and, with the AOF, written per its
// appendfsync policy: `appendfsync always` makes an acknowledged leaf survive a crash of the
// Redis machine, the default (everysec) may lose the last second of them. A crash of a zkhealth
// process never loses an acknowledged leaf.
type LogStore struct {
	client goredis.UniversalClient
	prefix string
}

var _ zkhealth.LogStore = (*LogStore)(nil)

// NewLogStore returns a LogStore whose keys all start with prefix.
func NewLogStore(client goredis.UniversalClient, prefix string) *LogStore {
	return &LogStore{client: client, prefix: prefix}
}

func (s *LogStore) leavesKey() string        { return s.prefix + "log:{log}:leaves" }
func (s *LogStore) nodesKey() string         { return s.prefix + "log:{log}:nodes" }
func (s *LogStore) metaKey() string          { return s.prefix + "log:{log}:meta" }
func (s *LogStore) indexKey(k string) string { return s.prefix + "log:{log}:key:" + digest(k) }

// appendLeaf: KEYS[1] the leaves, KEYS[2] (optional) the key's index; ARGV[1] the leaf. Returns
// the leaf's index.
var appendLeaf = goredis.NewScript(`
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
if KEYS[2] then redis.call('ZADD', KEYS[2], n - 1, n - 1) end
return n - 1
`)

// logSize: KEYS[1] the leaves, KEYS[2] the meta hash. Returns {size, synced}, read atomically.
var logSize = goredis.NewScript(`
local s = redis.call('HGET', KEYS[2], 'synced')
return {redis.call('LLEN', KEYS[1]), tonumber(s) or 0}
`)

// putNodes: KEYS[1] the leaves, KEYS[2] the nodes hash, KEYS[3] the meta hash; ARGV[1] the synced
// size, then field, hash pairs. Returns -1 when synced is past the log's size, else 0.
var putNodes = goredis.NewScript(`
local synced = tonumber(ARGV[1])
if synced > redis.call('LLEN', KEYS[1]) then return -1 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
local old = tonumber(redis.call('HGET', KEYS[3], 'synced')) or 0
if synced > old then redis.call('HSET', KEYS[3], 'synced', ARGV[1]) end
return 0
`)

func nodeField(id zkhealth.LogNodeID) string {
	var k [9]byte
	k[0] = byte(id.Level)
	binary.BigEndian.PutUint64(k[1:], id.Index)
	return string(k[:])
}

// AppendLeaf appends the leaf and indexes it under key, in one script. Errors: EInvalid,
// EUnavailable.
func (s *LogStore) AppendLeaf(ctx context.Context, leaf []byte, key string) (uint64, error) {
	if len(leaf) == 0 || len(leaf) > zkhealth.MaxLogLeaf {
		return 0, zkhealth.Errorf(zkhealth.EInvalid, "log leaf: want 1 to %d bytes", zkhealth.MaxLogLeaf)
	}
	if len(key) > zkhealth.MaxLogKey {
		return 0, zkhealth.Errorf(zkhealth.EInvalid, "log key: want at most %d bytes", zkhealth.MaxLogKey)
	}
	keys := []string{s.leavesKey()}
	if key != "" {
		keys = append(keys, s.indexKey(key))
	}
	n, err := appendLeaf.Run(ctx, s.client, keys, leaf).Int64()
	if err != nil {
		return 0, unavailable(err)
	}
	return uint64(n), nil
}

// LogSize returns the number of leaves and the synced size. Errors: EUnavailable.
func (s *LogStore) LogSize(ctx context.Context) (uint64, uint64, error) {
	v, err := logSize.Run(ctx, s.client, []string{s.leavesKey(), s.metaKey()}).Int64Slice()
	if err != nil {
		return 0, 0, unavailable(err)
	}
	if len(v) != 2 || v[0] < 0 || v[1] < 0 || v[1] > v[0] {
		return 0, 0, corrupt("log size", errors.New("bad size or synced size"))
	}
	return uint64(v[0]), uint64(v[1]), nil
}

// Leaves returns the leaves [start, end). Errors: EInvalid, EUnavailable.
func (s *LogStore) Leaves(ctx context.Context, start, end uint64) ([][]byte, error) {
	if start > end || end-start > zkhealth.MaxLogBatch {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "log leaves: want start ≤ end and at most %d leaves", zkhealth.MaxLogBatch)
	}
	if start == end {
		size, _, err := s.LogSize(ctx)
		if err != nil {
			return nil, err
		}
		if end > size {
			return nil, zkhealth.Errorf(zkhealth.EInvalid, "log leaves: end %d is past the log's size", end)
		}
		return [][]byte{}, nil
	}
	vs, err := s.client.LRange(ctx, s.leavesKey(), int64(start), int64(end-1)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	if uint64(len(vs)) != end-start {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "log leaves: end %d is past the log's size", end)
	}
	out := make([][]byte, len(vs))
	for i, v := range vs {
		out[i] = []byte(v)
	}
	return out, nil
}

// LeafIndexes returns the first limit indexes ≥ start of leaves appended under key. Errors:
// EInvalid, EUnavailable.
func (s *LogStore) LeafIndexes(ctx context.Context, key string, start uint64, limit int) ([]uint64, error) {
	if key == "" || limit < 1 || limit > zkhealth.MaxLogBatch {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "log key index: want a key and a limit of 1 to %d", zkhealth.MaxLogBatch)
	}
	vs, err := s.client.ZRangeArgs(ctx, goredis.ZRangeArgs{Key: s.indexKey(key), ByScore: true,
		Start: strconv.FormatUint(start, 10), Stop: "+inf", Count: int64(limit)}).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]uint64, len(vs))
	for i, v := range vs {
		if out[i], err = strconv.ParseUint(v, 10, 64); err != nil {
			return nil, corrupt("log key index", err)
		}
	}
	return out, nil
}

func checkNodes(n int, level func(i int) uint) error {
	if n > zkhealth.MaxLogBatch {
		return zkhealth.Errorf(zkhealth.EInvalid, "log nodes: at most %d at once", zkhealth.MaxLogBatch)
	}
	for i := 0; i < n; i++ {
		if level(i) > zkhealth.MaxLogLevel {
			return zkhealth.Errorf(zkhealth.EInvalid, "log nodes: level over %d", zkhealth.MaxLogLevel)
		}
	}
	return nil
}

// LogNodes returns the stored node hashes (nil where none is stored). Errors: EInvalid,
// EUnavailable.
func (s *LogStore) LogNodes(ctx context.Context, ids []zkhealth.LogNodeID) ([][]byte, error) {
	if err := checkNodes(len(ids), func(i int) uint { return ids[i].Level }); err != nil {
		return nil, err
	}
	out := make([][]byte, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	fields := make([]string, len(ids))
	for i, id := range ids {
		fields[i] = nodeField(id)
	}
	vs, err := s.client.HMGet(ctx, s.nodesKey(), fields...).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	for i, v := range vs {
		if str, ok := v.(string); ok {
			out[i] = []byte(str)
		}
	}
	return out, nil
}

// PutLogNodes stores the node hashes and raises the synced size, in one script. Errors:
// EInvalid, EUnavailable.
func (s *LogStore) PutLogNodes(ctx context.Context, nodes []zkhealth.LogNode, synced uint64) error {
	if err := checkNodes(len(nodes), func(i int) uint { return nodes[i].ID.Level }); err != nil {
		return err
	}
	args := make([]any, 0, 1+2*len(nodes))
	args = append(args, strconv.FormatUint(synced, 10))
	for _, n := range nodes {
		args = append(args, nodeField(n.ID), n.Hash)
	}
	r, err := putNodes.Run(ctx, s.client, []string{s.leavesKey(), s.nodesKey(), s.metaKey()}, args...).Int64()
	if err != nil {
		return unavailable(err)
	}
	if r < 0 {
		return zkhealth.Errorf(zkhealth.EInvalid, "log nodes: synced size %d is past the log's size", synced)
	}
	return nil
}

// BindLog records id the first time (HSETNX) and returns the recorded id. Errors: EInvalid,
// EUnavailable.
func (s *LogStore) BindLog(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", zkhealth.Errorf(zkhealth.EInvalid, "log id is empty")
	}
	if err := s.client.HSetNX(ctx, s.metaKey(), "id", id).Err(); err != nil {
		return "", unavailable(err)
	}
	got, err := s.client.HGet(ctx, s.metaKey(), "id").Result()
	if err != nil {
		return "", unavailable(err)
	}
	return got, nil
}
