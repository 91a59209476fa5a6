package auditlog

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/bolt"
	"github.com/zkhealth/zkhealth/internal/redistest"
	"github.com/zkhealth/zkhealth/redis"
)

// The crash child's environment: which store to append to, and the log key file.
const (
	envCrashBolt   = "ZKHEALTH_CRASH_CHILD_BOLT"
	envCrashRedis  = "ZKHEALTH_CRASH_CHILD_REDIS"
	envCrashPrefix = "ZKHEALTH_CRASH_CHILD_PREFIX"
	envCrashKey    = "ZKHEALTH_CRASH_CHILD_KEY"
)

// crashStore opens the store the crash test names (in the child or, after the kill, in the
// parent).
func crashStore(t *testing.T, boltPath, redisURL, prefix string) zkhealth.LogStore {
	t.Helper()
	if boltPath != "" {
		s, err := bolt.Open(boltPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return redis.NewLogStore(redistest.Client(t, redisURL), prefix)
}

// TestCrashChild is the process TestCrashMidAppend kills: it appends sampleEntry(i) at each index
// i from the log's size on, forever, printing each index on stdout once Append has returned (the
// acknowledgement), and takes a checkpoint now and then (so a kill also lands in a sync). It does
// nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	boltPath, redisURL := os.Getenv(envCrashBolt), os.Getenv(envCrashRedis)
	if boltPath == "" && redisURL == "" {
		t.Skip("the child of TestCrashMidAppend")
	}
	store := crashStore(t, boltPath, redisURL, os.Getenv(envCrashPrefix))
	key, _, err := LoadOrCreateKey(os.Getenv(envCrashKey), "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(ctx, store, key)
	if err != nil {
		t.Fatal(err)
	}
	size, _, err := store.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := size; ; i++ {
		idx, err := l.Append(ctx, sampleEntry(int(i)))
		if err != nil || idx != i {
			t.Fatalf("append %d: index %d, %v", i, idx, err)
		}
		fmt.Fprintln(os.Stdout, idx) // one write(2): the parent sees whole lines
		if i%7 == 3 {
			if _, err := l.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCrashMidAppend: a process appending to the log is killed with SIGKILL (kill -9) at a random
// moment, three times, each time most likely inside a commit; after each kill the log reopens,
// holds every entry that was acknowledged, each at its index, derives its tree again, verifies,
// and is consistent with the checkpoint taken after the previous kill. Embedded (bolt) and Redis.
func TestCrashMidAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, mode := range []string{"Bolt", "Redis"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			var boltPath, redisURL, prefix string
			env := []string{}
			if mode == "Bolt" {
				boltPath = filepath.Join(dir, "zkhealth.db")
				env = append(env, envCrashBolt+"="+boltPath)
			} else {
				redisURL = redistest.Start(t)
				prefix = redistest.Prefix(t)
				redistest.Cleanup(t, redistest.Client(t, redisURL), prefix)
				env = append(env, envCrashRedis+"="+redisURL, envCrashPrefix+"="+prefix)
			}
			keyPath := filepath.Join(dir, "log.key")
			key, _, err := LoadOrCreateKey(keyPath, "zkhealth.test/crash")
			if err != nil {
				t.Fatal(err)
			}
			env = append(env, envCrashKey+"="+keyPath)
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 1))
			var earlier []byte
			next := uint64(0) // the log's size: where the next child starts
			for round := range 3 {
				acked := crashRound(t, env, 15+rng.IntN(40), next)
				// the parent reopens the store: every acknowledged entry is there, in its place
				store := crashStore(t, boltPath, redisURL, prefix)
				l, err := Open(ctx, store, key)
				if err != nil {
					t.Fatalf("round %d: reopen: %v", round, err)
				}
				size, synced, err := store.LogSize(ctx)
				if err != nil || int64(size) <= acked || synced != size {
					t.Fatalf("round %d: size %d (synced %d), %v; %d acknowledged", round, size, synced, err, acked+1)
				}
				leaves, err := store.Leaves(ctx, 0, size)
				if err != nil {
					t.Fatal(err)
				}
				for i, leaf := range leaves {
					want, _ := sampleEntry(i).MarshalBinary()
					if !bytes.Equal(leaf, want) {
						t.Fatalf("round %d: entry %d is not what was appended at %d", round, i, i)
					}
				}
				cp, err := Check(ctx, l, key.VerifierKey(), earlier)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if !bytes.Equal(cp.Hash, refRoot(leaves)) {
					t.Fatalf("round %d: root is not RFC 6962's of the leaves", round)
				}
				t.Logf("round %d: killed after the append of entry %d was acknowledged; the log holds %d entries", round, acked, size)
				earlier, next = cp.Note, size
				if mode == "Bolt" {
					store.(*bolt.Store).Close() // the next child needs the file lock
				}
			}
		})
	}
}

// crashRound starts a child appender on a log of next entries, kills it with SIGKILL once it has
// acknowledged `after` appends, and returns the highest index it acknowledged.
func crashRound(t *testing.T, env []string, after int, next uint64) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	seen, acked := 0, int64(next)-1
	for sc.Scan() {
		i, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			continue // the test framework's own lines
		}
		if i != acked+1 {
			cmd.Process.Kill()
			t.Fatalf("the child acknowledged entry %d after entry %d", i, acked)
		}
		acked = i
		if seen++; seen == after {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
		}
	}
	// lines written before the kill are acknowledgements too; then the pipe closes
	if err := cmd.Wait(); err == nil {
		t.Fatal("the child exited by itself")
	}
	if seen < after {
		t.Fatalf("the child stopped after %d acknowledgements", seen)
	}
	return acked
}
