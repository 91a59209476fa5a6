// Package keys compiles zkhealth's circuits and creates, stores and loads their proving and
// verifying keys (Groth16 by default, PLONK when asked).
//
// A key set lives in a directory as four files per circuit and backend: the constraint system, the
// proving key (gnark's raw, unchecked format: fast to load, so it must come from trusted local
// storage only), the verifying key (compressed; read back with checks) and a meta.json naming the
// circuit, backend, constraint count, constraint-system digest and verifying-key fingerprint.
// Setup is idempotent: keys whose constraint system has not changed are kept.
//
// The keys Setup makes come from a single-party development setup: whoever ran it could forge
// proofs. Setup says so on its log writer every time it makes keys.
package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/plonk"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/frontend/cs/scs"
	"github.com/consensys/gnark/test/unsafekzg"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/internal/checked"
	"github.com/zkhealth/zkhealth/schema"
)

// Backend names a proving system.
type Backend string

// The proving systems zkhealth supports, both on BN254.
const (
	Groth16 Backend = "groth16"
	PLONK   Backend = "plonk"
)

// ParseBackend accepts "groth16" or "plonk".
func ParseBackend(s string) (Backend, error) {
	switch Backend(s) {
	case Groth16, PLONK:
		return Backend(s), nil
	}
	return "", fmt.Errorf("unknown backend %q (groth16, plonk)", s)
}

// ErrNotFound is returned by Load when the directory holds no keys for the circuit and backend.
var ErrNotFound = errors.New("keys not found (run `zkhealth setup --keys DIR` first)")

// Info describes one circuit's key set.
type Info struct {
	Circuit       string  `json:"circuit"`
	Schema        string  `json:"schema"`
	Backend       Backend `json:"backend"`
	Constraints   int     `json:"constraints"`
	PublicInputs  int     `json:"public_inputs"`
	CCSDigest     string  `json:"ccs_sha256"`
	VKFingerprint string  `json:"vk_fingerprint"`
	Development   bool    `json:"development_setup"`
}

// Keys is a loaded key set: constraint system, proving key (nil for verify-only loads) and
// verifying key.
type Keys struct {
	Info    Info
	Schema  *schema.Schema
	Circuit *schema.Circuit
	CCS     constraint.ConstraintSystem
	PK      any // groth16.ProvingKey or plonk.ProvingKey
	VK      any // groth16.VerifyingKey or plonk.VerifyingKey
}

func base(dir, circuit string, b Backend) string { return filepath.Join(dir, circuit+"."+string(b)) }

// Compile compiles circuit c of schema s for the backend (R1CS for Groth16, SCS for PLONK).
func Compile(s *schema.Schema, c *schema.Circuit, b Backend) (constraint.ConstraintSystem, error) {
	builder := r1cs.NewBuilder[constraint.U64]
	if b == PLONK {
		builder = scs.NewBuilder[constraint.U64]
	}
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), builder, circuits.New(s, c))
	if err != nil {
		return nil, fmt.Errorf("compile %s for %s: %w", c.ID, b, err)
	}
	return ccs, nil
}

// Digest is the sha256 of the constraint system's serialisation: it changes exactly when the
// circuit does.
func Digest(ccs constraint.ConstraintSystem) (string, error) {
	h := sha256.New()
	if _, err := ccs.WriteTo(h); err != nil {
		return "", fmt.Errorf("serialise constraint system: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Fingerprint is the sha256 of a verifying key's compressed serialisation.
func Fingerprint(vk io.WriterTo) (string, error) {
	h := sha256.New()
	if _, err := vk.WriteTo(h); err != nil {
		return "", fmt.Errorf("serialise verifying key: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Reporter receives what Setup is doing, in sentences: progress at Info, the development-setup
// warning at Warn, each with the circuit and backend as attributes. *slog.Logger implements it;
// LineReporter writes the sentences as lines.
type Reporter interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

// LineReporter writes each sentence a Reporter receives on its own line of w (attributes left out).
func LineReporter(w io.Writer) Reporter { return lineReporter{w} }

type lineReporter struct{ w io.Writer }

func (l lineReporter) Info(msg string, _ ...any) { fmt.Fprintln(l.w, msg) }
func (l lineReporter) Warn(msg string, _ ...any) { fmt.Fprintln(l.w, msg) }

type quietReporter struct{}

func (quietReporter) Info(string, ...any) {}
func (quietReporter) Warn(string, ...any) {}

// Setup makes sure dir holds keys for schema s's circuit and backend b. Existing keys whose
// constraint system is unchanged are kept (reused = true); otherwise new development keys are made.
// It tells r (nil: nobody) when it starts, the development-setup warning when it makes keys, and
// how long it took ("setting up coverage-v2-s keys (groth16)…", "coverage-v2-s keys (groth16) set up
// in 14.2s"). It honours ctx between its long steps.
func Setup(ctx context.Context, dir string, s *schema.Schema, c *schema.Circuit, b Backend, r Reporter) (info Info, reused bool, err error) {
	if r == nil {
		r = quietReporter{}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return info, false, fmt.Errorf("keys dir: %w", err)
	}
	start := time.Now()
	attrs := []any{"circuit", c.ID, "backend", string(b)}
	r.Info(fmt.Sprintf("setting up %s keys (%s)…", c.ID, b), attrs...)
	took := func() string { return time.Since(start).Round(100 * time.Millisecond).String() }
	ccs, err := Compile(s, c, b)
	if err != nil {
		return info, false, err
	}
	digest, err := Digest(ccs)
	if err != nil {
		return info, false, err
	}
	if old, err := readInfo(dir, c.ID, b); err == nil && old.CCSDigest == digest {
		if _, err := Load(dir, c.ID, b, false); err == nil {
			r.Info(fmt.Sprintf("%s keys (%s) unchanged, kept (checked in %s)", c.ID, b, took()), attrs...)
			return old, true, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return info, false, err
	}
	r.Warn(fmt.Sprintf("WARNING: %s/%s: DEVELOPMENT SETUP (single party). Whoever ran it can forge proofs; never use these keys in production.", c.ID, b), attrs...)
	var vk io.WriterTo
	var pkRaw func(io.Writer) (int64, error)
	switch b {
	case Groth16:
		gpk, gvk, err := groth16.Setup(ccs)
		if err != nil {
			return info, false, fmt.Errorf("groth16 setup %s: %w", c.ID, err)
		}
		vk, pkRaw = gvk, gpk.WriteRawTo
	case PLONK:
		tau, err := rand.Int(rand.Reader, fr.Modulus())
		if err != nil {
			return info, false, fmt.Errorf("plonk srs: %w", err)
		}
		srs, lagrange, err := unsafekzg.NewSRS(ccs, unsafekzg.WithToxicValue(new(big.Int).Add(tau, big.NewInt(2))))
		if err != nil {
			return info, false, fmt.Errorf("plonk srs: %w", err)
		}
		ppk, pvk, err := plonk.Setup(ccs, srs, lagrange)
		if err != nil {
			return info, false, fmt.Errorf("plonk setup %s: %w", c.ID, err)
		}
		vk, pkRaw = pvk, ppk.WriteRawTo
	default:
		return info, false, fmt.Errorf("unknown backend %q", b)
	}
	fp, err := Fingerprint(vk)
	if err != nil {
		return info, false, err
	}
	info = Info{Circuit: c.ID, Schema: s.ID, Backend: b, Constraints: ccs.GetNbConstraints(),
		PublicInputs: circuits.NbPublic, CCSDigest: digest, VKFingerprint: fp, Development: true}
	p := base(dir, c.ID, b)
	meta, _ := json.MarshalIndent(info, "", "  ")
	for _, f := range []struct {
		path  string
		write func(io.Writer) (int64, error)
	}{
		{p + ".ccs", ccs.WriteTo},
		{p + ".pk", pkRaw},
		{p + ".vk", vk.WriteTo},
		{p + ".json", func(w io.Writer) (int64, error) { n, err := w.Write(meta); return int64(n), err }},
	} {
		if err := writeAtomic(f.path, f.write); err != nil {
			return info, false, err
		}
	}
	r.Info(fmt.Sprintf("%s keys (%s) set up in %s", c.ID, b, took()), attrs...)
	return info, false, nil
}

// SetupSchema sets up every circuit of schema s's ladder (see Setup), smallest first.
func SetupSchema(ctx context.Context, dir string, s *schema.Schema, b Backend, r Reporter) ([]Info, error) {
	var infos []Info
	for _, c := range s.Circuits {
		info, _, err := Setup(ctx, dir, s, c, b, r)
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// writeAtomic writes a file through a temporary file and a rename, so a crash never leaves a
// half-written key that a later load would trust.
func writeAtomic(path string, write func(io.Writer) (int64, error)) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

func readInfo(dir, circuit string, b Backend) (Info, error) {
	var info Info
	data, err := os.ReadFile(base(dir, circuit, b) + ".json")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return info, fmt.Errorf("%s/%s: %w", circuit, b, ErrNotFound)
		}
		return info, fmt.Errorf("read key meta: %w", err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("read key meta %s/%s: %w", circuit, b, err)
	}
	return info, nil
}

// Load reads the key set of a circuit and backend from dir. With withPK it also loads the
// constraint system and the proving key (raw format, trusted local storage). The verifying key is
// read with the checked reader and must match the recorded fingerprint.
func Load(dir, circuit string, b Backend, withPK bool) (*Keys, error) {
	info, err := readInfo(dir, circuit, b)
	if err != nil {
		return nil, err
	}
	s, c, err := schema.ByCircuit(circuit)
	if err != nil {
		return nil, err
	}
	k := &Keys{Info: info, Schema: s, Circuit: c}
	p := base(dir, circuit, b)
	vkBytes, err := os.ReadFile(p + ".vk")
	if err != nil {
		return nil, fmt.Errorf("read verifying key %s/%s: %w", circuit, b, err)
	}
	var vk io.WriterTo
	if b == PLONK {
		vk, err = checked.PlonkVerifyingKey(vkBytes)
	} else {
		vk, err = checked.Groth16VerifyingKey(vkBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("verifying key %s/%s: %w", circuit, b, err)
	}
	if fp, _ := Fingerprint(vk); fp != info.VKFingerprint {
		return nil, fmt.Errorf("verifying key %s/%s does not match its recorded fingerprint", circuit, b)
	}
	k.VK = vk
	if !withPK {
		return k, nil
	}
	if k.CCS, err = readCCS(p+".ccs", b); err != nil {
		return nil, err
	}
	if k.PK, err = readPK(p+".pk", b); err != nil {
		return nil, err
	}
	return k, nil
}

func readCCS(path string, b Backend) (constraint.ConstraintSystem, error) {
	var ccs constraint.ConstraintSystem
	if b == PLONK {
		ccs = plonk.NewCS(ecc.BN254)
	} else {
		ccs = groth16.NewCS(ecc.BN254)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read constraint system: %w", err)
	}
	defer f.Close()
	if _, err := ccs.ReadFrom(bufio(f)); err != nil {
		return nil, fmt.Errorf("read constraint system %s: %w", path, err)
	}
	return ccs, nil
}

func readPK(path string, b Backend) (any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read proving key: %w", err)
	}
	defer f.Close()
	if b == PLONK {
		pk := plonk.NewProvingKey(ecc.BN254)
		if _, err := pk.UnsafeReadFrom(bufio(f)); err != nil {
			return nil, fmt.Errorf("read proving key %s: %w", path, err)
		}
		return pk, nil
	}
	pk := groth16.NewProvingKey(ecc.BN254)
	if _, err := pk.UnsafeReadFrom(bufio(f)); err != nil {
		return nil, fmt.Errorf("read proving key %s: %w", path, err)
	}
	return pk, nil
}

func bufio(r io.Reader) io.Reader {
	data, err := io.ReadAll(r)
	if err != nil {
		return errReader{err}
	}
	return bytes.NewReader(data)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Registry is a read-only set of loaded key sets, one per circuit: what a service lists as its
// circuits and serves as their verifying keys. Each verifying key is serialised once, in
// NewRegistry. It is safe for concurrent use.
type Registry struct {
	infos []Info
	vks   map[string][]byte // compressed verifying key by circuit id
}

// NewRegistry serialises the verifying key of each set (nil sets are skipped). Circuits lists
// them in the order given.
func NewRegistry(sets ...*Keys) (*Registry, error) {
	r := &Registry{vks: map[string][]byte{}}
	for _, k := range sets {
		if k == nil {
			continue
		}
		w, ok := k.VK.(io.WriterTo)
		if !ok {
			return nil, fmt.Errorf("verifying key of %s cannot be serialised", k.Info.Circuit)
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("serialise verifying key of %s: %w", k.Info.Circuit, err)
		}
		r.infos = append(r.infos, k.Info)
		r.vks[k.Info.Circuit] = buf.Bytes()
	}
	return r, nil
}

// Circuits describes the registered circuits.
func (r *Registry) Circuits() []Info { return append([]Info(nil), r.infos...) }

// VerifyingKey returns a copy of the circuit's compressed verifying key, or false when the
// registry has no such circuit.
func (r *Registry) VerifyingKey(circuit string) ([]byte, bool) {
	vk, ok := r.vks[circuit]
	return bytes.Clone(vk), ok
}
