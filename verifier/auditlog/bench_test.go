package auditlog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/bolt"
	"github.com/zkhealth/zkhealth/inmem"
	"github.com/zkhealth/zkhealth/internal/redistest"
	"github.com/zkhealth/zkhealth/redis"
)

// benchStores are the log stores the benchmarks run on: memory, a bolt file (each append one
// commit with fdatasync) and Redis (REDIS_URL, or a private redis-server; skipped without one).
func benchStores(b *testing.B) map[string]func(b *testing.B) zkhealth.LogStore {
	return map[string]func(b *testing.B) zkhealth.LogStore{
		"inmem": func(*testing.B) zkhealth.LogStore { return inmem.NewLogStore() },
		"bolt": func(b *testing.B) zkhealth.LogStore {
			s, err := bolt.Open(filepath.Join(b.TempDir(), "zkhealth.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
		"redis": func(b *testing.B) zkhealth.LogStore {
			if !redistest.Installed() && os.Getenv(redistest.EnvURL) == "" {
				b.Skip("no Redis")
			}
			url := redistest.Start(b)
			prefix := redistest.Prefix(b)
			c := redistest.Client(b, url)
			redistest.Cleanup(b, c, prefix)
			return redis.NewLogStore(c, prefix)
		},
	}
}

// BenchmarkAppend is the cost of one acknowledged append (what a verification waits for), and
// of an append with its share of the tree hashing (a checkpoint every 64 appends). Metrics:
// entry_bytes, the canonical entry of a typical verification.
func BenchmarkAppend(b *testing.B) {
	for name, open := range benchStores(b) {
		for _, withSync := range []bool{false, true} {
			label := name
			if withSync {
				label += "/with-hashing"
			}
			b.Run(label, func(b *testing.B) {
				l, err := Open(ctx, open(b), mustKey(b, "zkhealth.bench/append"))
				if err != nil {
					b.Fatal(err)
				}
				e := sampleEntry(1)
				leaf, _ := e.MarshalBinary()
				for i := 0; b.Loop(); i++ {
					if _, err := l.Append(ctx, e); err != nil {
						b.Fatal(err)
					}
					if withSync && i%64 == 63 {
						if _, err := l.Checkpoint(ctx); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(len(leaf)), "entry_bytes")
			})
		}
	}
}

// BenchmarkProofs is the cost of serving a checkpoint and proofs from a log of 100,000 entries,
// with the sizes of what is served: an inclusion proof's and a consistency proof's hashes.
func BenchmarkProofs(b *testing.B) {
	const n = 100_000
	store := inmem.NewLogStore()
	l, err := Open(ctx, store, mustKey(b, "zkhealth.bench/proofs"))
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, err := l.Append(ctx, sampleEntry(i)); err != nil {
			b.Fatal(err)
		}
	}
	note, err := l.Checkpoint(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("checkpoint", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(note)), "note_bytes")
	})
	b.Run("inclusion", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := l.InclusionProof(ctx, uint64(i%n), n); err != nil {
				b.Fatal(err)
			}
		}
		p, _ := l.InclusionProof(ctx, 12345, n)
		b.ReportMetric(float64(len(p)), "hashes")
		b.ReportMetric(float64(32*len(p)), "proof_bytes")
	})
	b.Run("consistency", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := l.ConsistencyProof(ctx, uint64(1+i%(n-1)), n); err != nil {
				b.Fatal(err)
			}
		}
		p, _ := l.ConsistencyProof(ctx, 54321, n)
		b.ReportMetric(float64(len(p)), "hashes")
		b.ReportMetric(float64(32*len(p)), "proof_bytes")
	})
}

// BenchmarkAppendParallel is appends from concurrent verifications (8 per core): on bolt they
// share commits (group commit), so the cost per append falls below one fdatasync.
func BenchmarkAppendParallel(b *testing.B) {
	for name, open := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			l, err := Open(ctx, open(b), mustKey(b, "zkhealth.bench/parallel"))
			if err != nil {
				b.Fatal(err)
			}
			e := sampleEntry(1)
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := l.Append(ctx, e); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
