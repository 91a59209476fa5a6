// Command benchreport is the second half of `make bench` (after the testing.B benchmarks): it
// measures zkhealth on the machine it runs on and writes benchmarks/results/latest.json (every
// figure with its unit, the machine, the Go and gnark versions), summary.md, two PNG plots, and the
// generated part of README.md's Performance section.
//
// What it measures, each in a fresh child process of itself so peak memory is per task and one
// task's garbage does not slow the next:
//
//   - per circuit and backend: compile, development setup, witness building, prove, verify,
//     constraint counts, proof and key sizes, peak resident memory;
//   - a sweep of the clinical circuit's predicate capacity (prove time against constraints);
//
// and, in process, an HTTP load run with vegeta against zkhealth servers it starts itself on
// 127.0.0.1 (embedded mode, and Redis mode with 1 and 2 proof workers): POST /v1/verify cached
// and uncached, POST /v1/proofs synchronous and asynchronous, with latency percentiles and
// throughput. Every run is bounded in requests and in time. Budgets are reported, never asserted.
//
// Usage (from the repository root; `make bench` runs it):
//
//	go run ./benchmarks/cmd/benchreport [-quick] [-out benchmarks/results] [-readme README.md]
//	    [-cpuprofile-dir DIR]
//
// -quick is a smoke run of the whole program in about a minute: Groth16 only, no fresh key
// setups (the tests' shared keys), no sweep, one worker and short load runs. Its output
// goes to a new temporary directory and README.md is left alone, unless -out or -readme say
// otherwise: a smoke run never overwrites the committed results.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/zkhealth/zkhealth/benchmarks"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

// options are the command's flags.
type options struct {
	out, benchTxt, readme, profileDir  string
	render                             string
	quick, noHTTP, noSweep, noCircuits bool
	// child mode (internal): which task to run and report as JSON on stdout
	child, circuit, backend string
	predicates, iters       int
}

// sweepPredicates are the predicate capacities of the prove-time sweep (the shipped clinical
// circuit has 16).
var sweepPredicates = []int{2, 3, 4, 5}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "benchmarks/results", "directory for latest.json, summary.md and the plots")
	flag.StringVar(&o.benchTxt, "bench-txt", "", "`go test -bench` output to include in latest.json (default OUT/bench.txt when it exists)")
	flag.StringVar(&o.readme, "readme", "README.md", "README whose generated Performance block to update (empty: none)")
	flag.StringVar(&o.profileDir, "cpuprofile-dir", "", "write CPU profiles of proving and of the HTTP verify path here")
	flag.StringVar(&o.render, "render", "", "measure nothing: write summary.md, the prove-time plot and the README block from this latest.json (into -out; the latency plot needs raw latencies latest.json does not keep)")
	flag.BoolVar(&o.quick, "quick", false, "a smoke run of about a minute, into a temporary directory unless -out is given (for trying the program, not for figures)")
	flag.BoolVar(&o.noHTTP, "no-http", false, "skip the HTTP load runs")
	flag.BoolVar(&o.noSweep, "no-sweep", false, "skip the predicate-capacity sweep")
	flag.BoolVar(&o.noCircuits, "no-circuits", false, "skip the per-circuit measurements")
	flag.StringVar(&o.child, "child", "", "internal: run one task in this process and print its result as JSON")
	flag.StringVar(&o.circuit, "circuit", "", "internal: circuit id of a child task")
	flag.StringVar(&o.backend, "backend", "", "internal: backend of a child task")
	flag.IntVar(&o.predicates, "predicates", 0, "internal: predicate slots of a sweep task")
	flag.IntVar(&o.iters, "iters", 0, "internal: iterations of a child task")
	flag.Parse()
	testfixture.Quiet()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if o.child != "" {
		if err := runChild(o); err != nil {
			fmt.Fprintf(os.Stderr, "benchreport %s: %v\n", o.child, err)
			os.Exit(1)
		}
		return
	}
	if o.render != "" {
		if err := render(o); err != nil {
			fmt.Fprintf(os.Stderr, "benchreport: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if o.quick {
		if err := quickDefaults(&o, set); err != nil {
			fmt.Fprintf(os.Stderr, "benchreport: %v\n", err)
			os.Exit(1)
		}
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintf(os.Stderr, "benchreport: %v\n", err)
		os.Exit(1)
	}
}

// quickDefaults points a quick run's output at a new temporary directory and leaves README.md
// alone, for each of -out and -readme not given on the command line.
func quickDefaults(o *options, set map[string]bool) error {
	if !set["out"] {
		dir, err := os.MkdirTemp("", "benchreport-quick-")
		if err != nil {
			return err
		}
		o.out = dir
	}
	if !set["readme"] {
		o.readme = ""
	}
	if !set["bench-txt"] {
		o.benchTxt = filepath.Join(o.out, "bench.txt") // not the committed one
	}
	return nil
}

// render writes the outputs of an earlier run from its latest.json, measuring nothing.
func render(o options) error {
	data, err := os.ReadFile(o.render)
	if err != nil {
		return err
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return fmt.Errorf("%s: %w", o.render, err)
	}
	return rep.write(o)
}

// backends are the proving systems a run measures: Groth16 only in a quick run.
func backends(o options) []keys.Backend {
	if o.quick {
		return []keys.Backend{keys.Groth16}
	}
	return benchmarks.Backends()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchreport: "+format+"\n", args...)
}

// run measures everything and writes the outputs.
func run(ctx context.Context, o options) error {
	start := time.Now()
	rep := &Report{Format: 1, Generated: start.UTC().Truncate(time.Second), Quick: o.quick}
	rep.Machine = describeMachine()
	rep.Versions = describeVersions()
	logf("%s, %d CPUs, Go %s, gnark %s", rep.Machine.CPUModel, rep.Machine.LogicalCPUs, rep.Versions.Go, rep.Versions.Gnark)

	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	// Keys once, in the directory the tests share, before any child needs them.
	for _, uc := range benchmarks.UseCases() {
		for _, be := range backends(o) {
			if _, err := benchmarks.KeysDir(uc, be); err != nil {
				return err
			}
		}
	}

	for _, uc := range benchmarks.UseCases() {
		for _, be := range backends(o) {
			if o.noCircuits {
				break
			}
			logf("circuit %s/%s: compile and setup", uc.Circuit.ID, be)
			var setup, meas CircuitResult
			if err := child(o, &setup, "-child", "setup", "-circuit", uc.Circuit.ID, "-backend", string(be)); err != nil {
				return err
			}
			logf("circuit %s/%s: witness, prove, verify", uc.Circuit.ID, be)
			if err := child(o, &meas, "-child", "circuit", "-circuit", uc.Circuit.ID, "-backend", string(be),
				"-iters", strconv.Itoa(proveIters(o, uc.Schema, be))); err != nil {
				return err
			}
			rep.Circuits = append(rep.Circuits, merge(setup, meas))
		}
	}

	// The sweep sets up a circuit per point: a quick run skips it.
	if !o.noSweep && !o.quick {
		preds := sweepPredicates
		for _, p := range preds {
			logf("sweep: clinical with %d predicate slots", p)
			var pt SweepPoint
			if err := child(o, &pt, "-child", "sweep", "-predicates", strconv.Itoa(p), "-iters", strconv.Itoa(ifQuick(o, 5, 2))); err != nil {
				return err
			}
			rep.Sweep.Points = append(rep.Sweep.Points, pt)
		}
		rep.Sweep.group()
	}

	if !o.noHTTP {
		if err := runHTTP(ctx, o, rep); err != nil {
			return err
		}
	}

	benchTxt := o.benchTxt
	if benchTxt == "" {
		benchTxt = filepath.Join(o.out, "bench.txt")
	}
	if data, err := os.ReadFile(benchTxt); err == nil {
		rep.GoTestBench = parseBenchTxt(string(data))
		rep.GoTestBenchFile = filepath.Base(benchTxt)
	}

	rep.Machine.LoadAvgEnd = loadAvg()
	rep.WallTime = Q{round(time.Since(start).Seconds(), 1), "s"}
	rep.evaluateBudgets()
	rep.project()
	if err := rep.write(o); err != nil {
		return err
	}
	logf("done in %s", time.Since(start).Round(time.Second))
	return nil
}

func ifQuick(o options, full, quick int) int {
	if o.quick {
		return quick
	}
	return full
}

// proveIters is how many proofs a circuit child makes: enough for a median, few for the slow
// PLONK proofs.
func proveIters(o options, s *schema.Schema, be keys.Backend) int {
	switch {
	case be == keys.PLONK && s.ID == "clinical":
		return ifQuick(o, 3, 1)
	case be == keys.PLONK:
		return ifQuick(o, 5, 2)
	case s.ID == "clinical":
		return ifQuick(o, 11, 3)
	}
	return ifQuick(o, 21, 3)
}

// child runs this program again with args and decodes the JSON it prints into out.
func child(o options, out any, args ...string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if o.profileDir != "" {
		args = append(args, "-cpuprofile-dir", o.profileDir)
	}
	if o.quick {
		args = append(args, "-quick")
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%v: %w", args, err)
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		return fmt.Errorf("%v: result: %w", args, err)
	}
	return nil
}

// runChild runs one task and prints its result.
func runChild(o options) error {
	var res any
	var err error
	switch o.child {
	case "setup":
		res, err = measureSetup(o)
	case "circuit":
		res, err = measureCircuit(o)
	case "sweep":
		res, err = measureSweep(o)
	default:
		return fmt.Errorf("unknown child task %q", o.child)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}
