// Package checked reads gnark proofs and verifying keys that come from elsewhere (the network, a
// file a user hands over) without trusting them.
//
// Why by hand: gnark-crypto's decoder reads a slice's uint32 length and allocates that many points
// before reading them, so 4 attacker bytes can demand hundreds of GiB. Before any gnark decoder
// sees the bytes, this package walks the compressed format, requires every point to be compressed,
// bounds every slice length, and requires the total length to match exactly; only then does it
// decode (with gnark's subgroup checks on) and confirm every byte was consumed.
package checked

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/plonk"
	plonkbn254 "github.com/consensys/gnark/backend/plonk/bn254"
)

// MaxProofSize and MaxVerifyingKeySize bound the inputs accepted at all.
const (
	MaxProofSize        = 4 << 10
	MaxVerifyingKeySize = 64 << 10
	maxSlice            = 64
)

// ErrMalformed marks a proof or key that is not a well-formed compressed serialisation.
var ErrMalformed = errors.New("malformed")

const (
	g1 = 32 // compressed BN254 G1 point
	g2 = 64 // compressed BN254 G2 point
	fe = 32 // scalar
)

// walker steps through a serialisation, checking shapes without decoding.
type walker struct {
	b   []byte
	off int
	err error
}

func (w *walker) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (w *walker) skip(n int, what string) {
	if w.err != nil {
		return
	}
	if n < 0 || w.off+n > len(w.b) {
		w.fail("truncated at %s", what)
		return
	}
	w.off += n
}

// point checks that the next point is in compressed form (top two bits ≠ 00) and skips it.
func (w *walker) point(size int, what string) {
	if w.err == nil && w.off < len(w.b) && w.b[w.off]>>6 == 0 {
		w.fail("%s is not a compressed point", what)
	}
	w.skip(size, what)
}

func (w *walker) points(n, size int, what string) {
	for i := 0; i < n && w.err == nil; i++ { // stop at the first error: n may be an unchecked count
		w.point(size, fmt.Sprintf("%s[%d]", what, i))
	}
}

func (w *walker) length(limit int, what string) int {
	if w.err != nil {
		return 0
	}
	if w.off+4 > len(w.b) {
		w.fail("truncated at %s length", what)
		return 0
	}
	n := int(binary.BigEndian.Uint32(w.b[w.off:]))
	w.off += 4
	if n > limit {
		w.fail("%s length %d above %d", what, n, limit)
		return 0
	}
	return n
}

func (w *walker) done() error {
	if w.err == nil && w.off != len(w.b) {
		w.fail("%d trailing bytes", len(w.b)-w.off)
	}
	return w.err
}

// decode runs gnark's decoder on bytes the walker accepted and requires it to consume them all.
func decode(data []byte, r io.ReaderFrom) error {
	n, err := r.ReadFrom(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if n != int64(len(data)) {
		return fmt.Errorf("%w: decoder read %d of %d bytes", ErrMalformed, n, len(data))
	}
	return nil
}

// Groth16Proof reads a compressed BN254 Groth16 proof: Ar, Bs, Krs, the commitments (at most
// maxCommitments) and their proof of knowledge.
func Groth16Proof(data []byte, maxCommitments int) (groth16.Proof, error) {
	if len(data) > MaxProofSize {
		return nil, fmt.Errorf("%w: proof larger than %d bytes", ErrMalformed, MaxProofSize)
	}
	w := &walker{b: data}
	w.point(g1, "Ar")
	w.point(g2, "Bs")
	w.point(g1, "Krs")
	w.points(w.length(maxCommitments, "commitments"), g1, "commitment")
	w.point(g1, "commitment pok")
	if err := w.done(); err != nil {
		return nil, err
	}
	p := groth16.NewProof(ecc.BN254)
	if err := decode(data, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Groth16VerifyingKey reads a compressed BN254 Groth16 verifying key.
func Groth16VerifyingKey(data []byte) (groth16.VerifyingKey, error) {
	if len(data) > MaxVerifyingKeySize {
		return nil, fmt.Errorf("%w: verifying key larger than %d bytes", ErrMalformed, MaxVerifyingKeySize)
	}
	w := &walker{b: data}
	w.point(g1, "alpha")
	w.point(g1, "beta")
	w.point(g2, "beta")
	w.point(g2, "gamma")
	w.point(g1, "delta")
	w.point(g2, "delta")
	w.points(w.length(maxSlice, "K"), g1, "K")
	committed := w.length(maxSlice, "public committed")
	for i := range committed {
		w.skip(8*w.length(maxSlice, "public committed entry"), fmt.Sprintf("public committed[%d]", i))
	}
	if w.err == nil && w.off+4 <= len(w.b) {
		n := int(binary.BigEndian.Uint32(w.b[w.off:]))
		w.off += 4
		if n > maxSlice {
			w.fail("commitment keys %d above %d", n, maxSlice)
		}
		w.points(2*n, g2, "commitment key")
	} else {
		w.fail("truncated at commitment keys")
	}
	if err := w.done(); err != nil {
		return nil, err
	}
	vk := groth16.NewVerifyingKey(ecc.BN254)
	if err := decode(data, vk); err != nil {
		return nil, err
	}
	return vk, nil
}

// PlonkProof reads a compressed BN254 PLONK proof.
func PlonkProof(data []byte) (plonk.Proof, error) {
	if len(data) > MaxProofSize {
		return nil, fmt.Errorf("%w: proof larger than %d bytes", ErrMalformed, MaxProofSize)
	}
	w := &walker{b: data}
	w.points(3, g1, "LRO")
	w.point(g1, "Z")
	w.points(3, g1, "H")
	w.point(g1, "batched H")
	w.skip(fe*w.length(maxSlice, "claimed values"), "claimed values")
	w.point(g1, "shifted H")
	w.skip(fe, "shifted claimed value")
	w.points(w.length(maxSlice, "bsb22 commitments"), g1, "bsb22 commitment")
	if err := w.done(); err != nil {
		return nil, err
	}
	p := plonk.NewProof(ecc.BN254)
	if err := decode(data, p); err != nil {
		return nil, err
	}
	return p, nil
}

// plonkLinesSize is the size of the fixed-length KZG pairing lines of a PLONK verifying key,
// measured on an empty key so it follows gnark's encoding.
func plonkLinesSize() int {
	var vk plonkbn254.VerifyingKey
	var buf bytes.Buffer
	if _, err := vk.WriteTo(&buf); err != nil {
		return -1
	}
	fixed := 8 + 8 + 8 + fe + fe + 8 + fe + 3*g1 + 5*g1 + 4 + g1 + 2*g2 + 4
	return buf.Len() - fixed
}

// PlonkVerifyingKey reads a compressed BN254 PLONK verifying key (current version).
func PlonkVerifyingKey(data []byte) (plonk.VerifyingKey, error) {
	if len(data) > MaxVerifyingKeySize {
		return nil, fmt.Errorf("%w: verifying key larger than %d bytes", ErrMalformed, MaxVerifyingKeySize)
	}
	w := &walker{b: data}
	w.skip(8+8+8+fe+fe+8+fe, "header")
	w.points(3, g1, "S")
	w.points(5, g1, "selectors")
	nbQcp := w.length(maxSlice, "Qcp")
	w.points(nbQcp, g1, "Qcp")
	w.point(g1, "kzg G1")
	w.points(2, g2, "kzg G2")
	w.skip(plonkLinesSize(), "kzg lines")
	if n := w.length(maxSlice, "commitment indexes"); n != nbQcp && w.err == nil {
		w.fail("%d commitment indexes for %d commitments", n, nbQcp)
	} else {
		w.skip(8*n, "commitment indexes")
	}
	if err := w.done(); err != nil {
		return nil, err
	}
	vk := plonk.NewVerifyingKey(ecc.BN254)
	if err := decode(data, vk); err != nil {
		return nil, err
	}
	return vk, nil
}
