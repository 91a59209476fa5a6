package checked_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime/metrics"
	"testing"

	"github.com/zkhealth/zkhealth/internal/checked"
	"github.com/zkhealth/zkhealth/internal/keys"
)

// maxFuzzAlloc bounds what one read of at most MaxVerifyingKeySize bytes may allocate; a length
// prefix honoured before the walker checks it would allocate gigabytes.
const maxFuzzAlloc = 16 << 20

var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// heapAllocated returns the cumulative bytes allocated on the heap so far.
func heapAllocated() uint64 {
	metrics.Read(allocSample)
	return allocSample[0].Value.Uint64()
}

// fuzzReader runs one checked reader on data: it must not panic, must not allocate much, must wrap
// ErrMalformed when it refuses, and what it accepts must re-serialise to exactly data.
func fuzzReader(t *testing.T, r reader, data []byte) {
	before := heapAllocated()
	v, err := r.read(data)
	if n := heapAllocated() - before; n > maxFuzzAlloc {
		t.Fatalf("%s allocated %d bytes on %d input bytes", r.name, n, len(data))
	}
	if err != nil {
		if !errors.Is(err, checked.ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		return
	}
	if len(data) > r.limit {
		t.Fatalf("accepted %d bytes, above the %d limit", len(data), r.limit)
	}
	var out bytes.Buffer
	if _, err := v.WriteTo(&out); err != nil {
		t.Fatalf("accepted value does not serialise: %v", err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("accepted bytes are not canonical: %x re-serialises as %x", data, out.Bytes())
	}
}

// fuzzSeeds adds the real bytes and a few of their refusals as seeds.
func fuzzSeeds(f *testing.F, r reader, real []byte) {
	f.Add(bytes.Clone(real))
	f.Add(real[:len(real)-1])
	f.Add(append(bytes.Clone(real), 0))
	huge := bytes.Clone(real)
	binary.BigEndian.PutUint32(huge[r.lenAt:], 0xFFFFFFFF)
	f.Add(huge)
	f.Add([]byte{})
}

func readerNamed(name string) reader {
	for _, r := range readers {
		if r.name == name {
			return r
		}
	}
	panic("no reader " + name)
}

func fuzzChecked(f *testing.F, name string, b keys.Backend, vk bool) {
	r := readerNamed(name)
	rb := realBytes(f, b)
	real := rb.Proof
	if vk {
		real = rb.VK
	}
	fuzzSeeds(f, r, real)
	if name == "Groth16VerifyingKey" {
		_, at := groth16CommitmentKeys(f, real)
		huge := bytes.Clone(real)
		binary.BigEndian.PutUint32(huge[at:], 0xFFFFFFFF)
		f.Add(huge)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzReader(t, r, data) })
}

func FuzzGroth16Proof(f *testing.F) { fuzzChecked(f, "Groth16Proof", keys.Groth16, false) }

func FuzzGroth16VerifyingKey(f *testing.F) {
	fuzzChecked(f, "Groth16VerifyingKey", keys.Groth16, true)
}

func FuzzPlonkProof(f *testing.F) { fuzzChecked(f, "PlonkProof", keys.PLONK, false) }

func FuzzPlonkVerifyingKey(f *testing.F) { fuzzChecked(f, "PlonkVerifyingKey", keys.PLONK, true) }

// TestRealReadAllocation checks that fuzzReader's allocation bound leaves room for reading real
// keys, so a fuzz failure means a real problem.
func TestRealReadAllocation(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			in := r.input(t)
			before := heapAllocated()
			if _, err := r.read(in); err != nil {
				t.Fatal(err)
			}
			n := heapAllocated() - before
			t.Logf("%d bytes read, %d allocated", len(in), n)
			if n > maxFuzzAlloc/4 {
				t.Fatalf("reading real bytes allocated %d, too close to the fuzz bound %d", n, maxFuzzAlloc)
			}
		})
	}
}
