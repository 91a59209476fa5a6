package checked_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth/internal/checked"
	"github.com/zkhealth/zkhealth/internal/keys"
)

// reader is one of the checked readers, with where its input comes from and the offset of a slice
// length prefix inside a real serialisation.
type reader struct {
	name   string
	plonk  bool
	vk     bool // reads a verifying key (else a proof)
	limit  int  // the size bound it enforces
	lenAt  int  // offset of a uint32 slice length in the real bytes
	lastAt int  // offset of the last point before that length
	read   func([]byte) (io.WriterTo, error)
}

var readers = []reader{
	{name: "Groth16Proof", limit: checked.MaxProofSize, lenAt: 32 + 64 + 32, lastAt: 32 + 64,
		read: func(b []byte) (io.WriterTo, error) { return nilSafe(checked.Groth16Proof(b, maxCommitments)) }},
	{name: "Groth16VerifyingKey", vk: true, limit: checked.MaxVerifyingKeySize, lenAt: 32 + 32 + 64 + 64 + 32 + 64, lastAt: 32 + 32 + 64 + 64 + 32,
		read: func(b []byte) (io.WriterTo, error) { return nilSafe(checked.Groth16VerifyingKey(b)) }},
	{name: "PlonkProof", plonk: true, limit: checked.MaxProofSize, lenAt: 3*32 + 32 + 3*32 + 32, lastAt: 3*32 + 32 + 3*32,
		read: func(b []byte) (io.WriterTo, error) { return nilSafe(checked.PlonkProof(b)) }},
	{name: "PlonkVerifyingKey", plonk: true, vk: true, limit: checked.MaxVerifyingKeySize, lenAt: 8 + 8 + 8 + 32 + 32 + 8 + 32 + 3*32 + 5*32, lastAt: 8 + 8 + 8 + 32 + 32 + 8 + 32 + 3*32 + 4*32,
		read: func(b []byte) (io.WriterTo, error) { return nilSafe(checked.PlonkVerifyingKey(b)) }},
}

// nilSafe turns a typed result into an io.WriterTo, keeping a nil result nil.
func nilSafe[T io.WriterTo](v T, err error) (io.WriterTo, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// input returns the real bytes the reader reads.
func (r reader) input(t *testing.T) []byte {
	t.Helper()
	var rb *real
	if r.plonk {
		rb = realBytes(t, keys.PLONK)
	} else {
		rb = realBytes(t, keys.Groth16)
	}
	if r.vk {
		return bytes.Clone(rb.VK)
	}
	return bytes.Clone(rb.Proof)
}

func TestRoundTrip(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			in := r.input(t)
			v, err := r.read(in)
			if err != nil {
				t.Fatalf("real bytes refused: %v", err)
			}
			var out bytes.Buffer
			if _, err := v.WriteTo(&out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), in) {
				t.Fatalf("round trip changed the bytes: %d in, %d out", len(in), out.Len())
			}
		})
	}
}

// TestRefusals mutates real bytes into every shape the readers must refuse.
func TestRefusals(t *testing.T) {
	mutations := []struct {
		name string
		mut  func(r reader, b []byte) []byte
	}{
		{"Empty", func(r reader, b []byte) []byte { return nil }},
		{"TruncatedByOne", func(r reader, b []byte) []byte { return b[:len(b)-1] }},
		{"TruncatedToHalf", func(r reader, b []byte) []byte { return b[:len(b)/2] }},
		{"TruncatedInsideLength", func(r reader, b []byte) []byte { return b[:r.lenAt+2] }},
		{"TrailingByte", func(r reader, b []byte) []byte { return append(b, 0) }},
		{"TrailingPoint", func(r reader, b []byte) []byte { return append(b, b[:32]...) }},
		{"UncompressedFirstPoint", func(r reader, b []byte) []byte {
			off := 0
			if r.plonk && r.vk {
				off = 8 + 8 + 8 + 32 + 32 + 8 + 32 // the header holds no point
			}
			b[off] &= 0x3f
			return b
		}},
		{"UncompressedPointBeforeLength", func(r reader, b []byte) []byte { b[r.lastAt] &= 0x3f; return b }},
		{"HugeLength", func(r reader, b []byte) []byte { binary.BigEndian.PutUint32(b[r.lenAt:], 0xFFFFFFFF); return b }},
		{"LengthAboveLimit", func(r reader, b []byte) []byte { binary.BigEndian.PutUint32(b[r.lenAt:], 65); return b }},
		{"LengthPlusOne", func(r reader, b []byte) []byte {
			binary.BigEndian.PutUint32(b[r.lenAt:], binary.BigEndian.Uint32(b[r.lenAt:])+1)
			return b
		}},
		{"Oversize", func(r reader, b []byte) []byte { return append(b, make([]byte, r.limit)...) }},
		{"OversizeZeros", func(r reader, b []byte) []byte { return make([]byte, r.limit+1) }},
		{"FirstPointXAboveModulus", func(r reader, b []byte) []byte {
			off := 0
			if r.plonk && r.vk {
				off = 8 + 8 + 8 + 32 + 32 + 8 + 32
			}
			for i := off; i < off+32; i++ {
				b[i] = 0xff // compressed flag 11, x = 2^254 − 1 ≥ p
			}
			return b
		}},
		{"LastPointXAboveModulus", func(r reader, b []byte) []byte {
			for i := r.lastAt; i < r.lastAt+32; i++ {
				b[i] = 0xff
			}
			return b
		}},
		{"AllZeros", func(r reader, b []byte) []byte { return make([]byte, len(b)) }},
		{"AllOnes", func(r reader, b []byte) []byte { return bytes.Repeat([]byte{0xff}, len(b)) }},
	}
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			in := r.input(t)
			for _, m := range mutations {
				t.Run(m.name, func(t *testing.T) {
					v, err := r.read(m.mut(r, bytes.Clone(in)))
					if err == nil {
						t.Fatalf("accepted")
					}
					if v != nil {
						t.Errorf("returned a value with the error %v", err)
					}
					if !errors.Is(err, checked.ErrMalformed) {
						t.Errorf("error %v does not wrap ErrMalformed", err)
					}
				})
			}
		})
	}
}

// TestVerifyingKeyTails refuses bad counts in the tails of the verifying keys: the commitment keys
// of a Groth16 key and the commitment indexes of a PLONK key.
func TestVerifyingKeyTails(t *testing.T) {
	g := realBytes(t, keys.Groth16).VK
	p := realBytes(t, keys.PLONK).VK
	// A Groth16 key ends with uint32(n) and n pairs of G2 points; a PLONK key ends with uint32(n)
	// and n uint64 indexes, n being its Qcp count (at offset 384).
	gn, gAt := groth16CommitmentKeys(t, g)
	pn := int(binary.BigEndian.Uint32(p[384:]))
	pAt := len(p) - 4 - 8*pn
	if binary.BigEndian.Uint32(p[pAt:]) != uint32(pn) {
		t.Fatalf("PLONK key does not end with %d commitment indexes", pn)
	}
	t.Logf("groth16: %d commitment keys; plonk: %d commitments", gn, pn)
	put := func(b []byte, at int, n uint32) []byte {
		b = bytes.Clone(b)
		binary.BigEndian.PutUint32(b[at:], n)
		return b
	}
	for _, tc := range []struct {
		name string
		read func([]byte) (io.WriterTo, error)
		data []byte
	}{
		{"Groth16TruncatedBeforeCommitmentKeys", readerNamed("Groth16VerifyingKey").read, g[:gAt]},
		{"Groth16TruncatedInCommitmentKeyCount", readerNamed("Groth16VerifyingKey").read, g[:gAt+3]},
		{"Groth16CommitmentKeysHuge", readerNamed("Groth16VerifyingKey").read, put(g, gAt, 0xFFFFFFFF)},
		{"Groth16CommitmentKeysAboveLimit", readerNamed("Groth16VerifyingKey").read, put(g, gAt, 65)},
		{"Groth16CommitmentKeysPlusOne", readerNamed("Groth16VerifyingKey").read, put(g, gAt, uint32(gn+1))},
		{"PlonkIndexesPlusOne", readerNamed("PlonkVerifyingKey").read, put(p, pAt, uint32(pn+1))},
		{"PlonkIndexesHuge", readerNamed("PlonkVerifyingKey").read, put(p, pAt, 0xFFFFFFFF)},
		{"PlonkTruncatedInIndexes", readerNamed("PlonkVerifyingKey").read, p[:len(p)-1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			if _, err := tc.read(tc.data); !errors.Is(err, checked.ErrMalformed) {
				t.Fatalf("error %v, want ErrMalformed", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("refusal took %v", d)
			}
		})
	}
	if gn > 0 {
		t.Run("Groth16CommitmentKeyUncompressed", func(t *testing.T) {
			b := bytes.Clone(g)
			b[gAt+4] &= 0x3f
			if _, err := readerNamed("Groth16VerifyingKey").read(b); !errors.Is(err, checked.ErrMalformed) {
				t.Fatalf("error %v, want ErrMalformed", err)
			}
		})
	}
}

// groth16CommitmentKeys finds the count of commitment keys at the end of a Groth16 verifying key
// (uint32(n) then n pairs of compressed G2 points) and returns it with its offset.
func groth16CommitmentKeys(tb testing.TB, vk []byte) (n, at int) {
	tb.Helper()
	for n = 0; n <= maxCommitments; n++ {
		at = len(vk) - 4 - 2*64*n
		if at >= 0 && binary.BigEndian.Uint32(vk[at:]) == uint32(n) {
			return n, at
		}
	}
	tb.Fatal("cannot find the commitment key count of the Groth16 verifying key")
	return 0, 0
}

// TestWrongKind feeds each reader the other readers' real bytes.
func TestWrongKind(t *testing.T) {
	for _, r := range readers {
		for _, other := range readers {
			if other.name == r.name {
				continue
			}
			t.Run(r.name+"/"+other.name, func(t *testing.T) {
				r.input(t) // skip when r's backend is skipped
				if _, err := r.read(other.input(t)); err == nil {
					t.Fatalf("%s accepted %s bytes", r.name, other.name)
				}
			})
		}
	}
}

// TestHugeLengthDoesNotAllocate is the reason package checked exists: a length prefix of 2^32−1
// must be refused before anything allocates for it.
func TestHugeLengthDoesNotAllocate(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			b := r.input(t)
			binary.BigEndian.PutUint32(b[r.lenAt:], 0xFFFFFFFF)
			const runs = 20
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				if _, err := r.read(b); err == nil {
					t.Fatal("accepted")
				}
			}
			runtime.ReadMemStats(&after)
			if per := (after.TotalAlloc - before.TotalAlloc) / runs; per >= 1<<20 {
				t.Fatalf("allocated %d bytes per refusal", per)
			}
		})
	}
}

// TestRandomBytes checks that random inputs of many lengths (including the real length) are
// refused.
func TestRandomBytes(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			real := r.input(t)
			for i := range 200 {
				n := rng.IntN(len(real) + 64)
				if i%4 == 0 {
					n = len(real)
				}
				b := make([]byte, n)
				for j := range b {
					b[j] = byte(rng.Uint32())
				}
				if _, err := r.read(b); err == nil {
					t.Fatalf("accepted %d random bytes %x", n, b)
				}
			}
		})
	}
}
