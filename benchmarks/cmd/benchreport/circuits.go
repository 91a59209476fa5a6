package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/solidity"

	"github.com/zkhealth/zkhealth/benchmarks"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
)

func useCase(circuit string) (benchmarks.UseCase, error) {
	for _, uc := range benchmarks.UseCases() {
		if uc.Circuit.ID == circuit {
			return uc, nil
		}
	}
	return benchmarks.UseCase{}, fmt.Errorf("unknown circuit %q", circuit)
}

// timed runs f n times and returns the wall time of each run and the CPU time per run.
func timed(n int, f func() error) (walls []time.Duration, cpuPerOp time.Duration, err error) {
	cpu := benchmarks.CPUTime()
	for range n {
		t := time.Now()
		if err := f(); err != nil {
			return nil, 0, err
		}
		walls = append(walls, time.Since(t))
	}
	return walls, (benchmarks.CPUTime() - cpu) / time.Duration(n), nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// profile writes a CPU profile of f to dir/name when dir is set.
func profile(dir, name string, f func() error) error {
	if dir == "" {
		return f()
	}
	return profileTo(filepath.Join(dir, name), f)
}

// profileTo writes a CPU profile of f to path when path is set.
func profileTo(path string, f func() error) error {
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return f()
}

// measureSetup compiles the circuit (median of three) and runs the development setup into a fresh
// directory once: setup time, key sizes and the process's peak memory.
func measureSetup(o options) (*CircuitResult, error) {
	uc, err := useCase(o.circuit)
	if err != nil {
		return nil, err
	}
	be, err := keys.ParseBackend(o.backend)
	if err != nil {
		return nil, err
	}
	var constraints int
	walls, _, err := timed(ifQuick(o, 3, 1), func() error {
		ccs, err := keys.Compile(uc.Schema, uc.Circuit, be)
		if err == nil {
			constraints = ccs.GetNbConstraints()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	// A quick run times no fresh setup: it reads the sizes of the shared keys.
	dir := testfixture.SharedKeysDir()
	var setup time.Duration
	if !o.quick {
		if dir, err = os.MkdirTemp("", "benchreport-setup-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		t := time.Now()
		if _, _, err = keys.Setup(context.Background(), dir, uc.Schema, uc.Circuit, be, nil); err != nil {
			return nil, err
		}
		setup = time.Since(t)
	}
	r := &CircuitResult{
		Circuit:       uc.Circuit.ID,
		Backend:       string(be),
		Constraints:   Q{float64(constraints), "constraints"},
		CompileMedian: msQ(median(walls)),
		Setup:         Q{round(setup.Seconds(), 2), "s"},
		SetupPeakRSS:  mibQ(benchmarks.PeakRSS()),
	}
	if o.quick {
		r.Setup, r.SetupPeakRSS = Q{}, Q{} // not measured
	}
	base := filepath.Join(dir, uc.Circuit.ID+"."+string(be))
	for _, f := range []struct {
		ext string
		q   *Q
	}{{".pk", &r.PKBytes}, {".vk", &r.VKBytes}, {".ccs", &r.CCSBytes}} {
		st, err := os.Stat(base + f.ext)
		if err != nil {
			return nil, err
		}
		*f.q = Q{float64(st.Size()), "bytes"}
	}
	return r, nil
}

// measureCircuit loads the shared keys and times witness building, proving (o.iters proofs) and
// verification; the process's peak memory is that of a prover holding one circuit's keys.
func measureCircuit(o options) (*CircuitResult, error) {
	uc, err := useCase(o.circuit)
	if err != nil {
		return nil, err
	}
	be, err := keys.ParseBackend(o.backend)
	if err != nil {
		return nil, err
	}
	dir, err := benchmarks.KeysDir(uc, be)
	if err != nil {
		return nil, err
	}
	f, err := benchmarks.NewFixture(dir, uc, be)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	witness, _, err := timed(ifQuick(o, 50, 10), f.Witness)
	if err != nil {
		return nil, err
	}
	// one proof first: it warms the caches and gives the proof to verify
	pf, err := f.Prove(ctx)
	if err != nil {
		return nil, err
	}
	var proves []time.Duration
	var proveCPU time.Duration
	err = profile(o.profileDir, fmt.Sprintf("prove_%s_%s.pprof", uc.Circuit.ID, be), func() (err error) {
		proves, proveCPU, err = timed(o.iters, func() error {
			var err error
			pf, err = f.Prove(ctx)
			return err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	nVerify := ifQuick(o, 300, 30)
	if be == keys.PLONK {
		nVerify = ifQuick(o, 150, 20)
	}
	var verifies []time.Duration
	var verifyCPU time.Duration
	err = profile(o.profileDir, fmt.Sprintf("verify_%s_%s.pprof", uc.Circuit.ID, be), func() (err error) {
		verifies, verifyCPU, err = timed(nVerify, func() error { return f.Verify(ctx, pf) })
		return err
	})
	if err != nil {
		return nil, err
	}
	raw, err := pf.Bytes()
	if err != nil {
		return nil, err
	}
	return &CircuitResult{
		Circuit:          uc.Circuit.ID,
		Backend:          string(be),
		WitnessMedian:    msQ(median(witness)),
		ProveMedian:      msQ(median(proves)),
		ProveMin:         msQ(slices.Min(proves)),
		ProveMax:         msQ(slices.Max(proves)),
		ProveCPU:         msQ(proveCPU),
		ProveIterations:  len(proves),
		VerifyMedian:     msQ(median(verifies)),
		VerifyCPU:        msQ(verifyCPU),
		VerifyIterations: len(verifies),
		ProofBytes:       Q{float64(len(raw)), "bytes"},
		ProverPeakRSS:    mibQ(benchmarks.PeakRSS()),
	}, nil
}

// measureSweep compiles the clinical circuit with o.predicates predicate slots, runs a Groth16
// setup in memory and times o.iters proofs of CLI.md's trial policy (each checked once).
func measureSweep(o options) (*SweepPoint, error) {
	s := benchmarks.ClinicalWithCapacity(o.predicates)
	uc, err := useCase("clinical-v2-s")
	if err != nil {
		return nil, err
	}
	t := time.Now()
	ccs, err := keys.Compile(s, s.Circuits[0], keys.Groth16)
	if err != nil {
		return nil, err
	}
	compile := time.Since(t)
	t = time.Now()
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		return nil, err
	}
	setup := time.Since(t)
	full, public, err := benchmarks.VariantWitness(s, uc)
	if err != nil {
		return nil, err
	}
	// zkhealth's proofs hash the commitment with Keccak-256 (package prover): the sweep does too.
	prf, err := groth16.Prove(ccs, pk, full, solidity.WithProverTargetSolidityVerifier(backend.GROTH16)) // warm-up, and the proof to check
	if err != nil {
		return nil, err
	}
	if err := groth16.Verify(prf, vk, public, solidity.WithVerifierTargetSolidityVerifier(backend.GROTH16)); err != nil {
		return nil, fmt.Errorf("sweep proof with %d predicates does not verify: %w", o.predicates, err)
	}
	proves, cpu, err := timed(o.iters, func() error {
		_, err := groth16.Prove(ccs, pk, full, solidity.WithProverTargetSolidityVerifier(backend.GROTH16))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &SweepPoint{
		Predicates:  o.predicates,
		Constraints: Q{float64(ccs.GetNbConstraints()), "constraints"},
		Domain:      Q{float64(int(1) << domainLog2(ccs.GetNbConstraints())), "constraints"},
		Compile:     msQ(compile),
		Setup:       Q{round(setup.Seconds(), 2), "s"},
		ProveMedian: msQ(median(proves)),
		ProveMin:    msQ(slices.Min(proves)),
		ProveMax:    msQ(slices.Max(proves)),
		ProveCPU:    msQ(cpu),
		Iterations:  len(proves),
		PeakRSS:     mibQ(benchmarks.PeakRSS()),
	}, nil
}

// merge combines the setup child's and the measuring child's results for one circuit.
func merge(setup, meas CircuitResult) CircuitResult {
	r := meas
	r.Constraints, r.CompileMedian = setup.Constraints, setup.CompileMedian
	r.Setup, r.SetupPeakRSS = setup.Setup, setup.SetupPeakRSS
	r.PKBytes, r.VKBytes, r.CCSBytes = setup.PKBytes, setup.VKBytes, setup.CCSBytes
	return r
}
