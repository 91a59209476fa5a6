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
	quick, noHTTP, noSweep, noCircuits bool
	// child mode (internal): which task to run and report as JSON on stdout
	child, circuit, backend string
	predicates, iters       int
}

// sweepPredicates are the predicate capacities of the prove-time sweep (the shipped clinical
// circuit has 16).
var sweepPredicates = []int{4, 8, 16, 24, 32}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "benchmarks/results", "directory for latest.json, summary.md and the plots")
	flag.StringVar(&o.benchTxt, "bench-txt", "", "`go test -bench` output to include in latest.json (default OUT/bench.txt when it exists)")
	flag.StringVar(&o.readme, "readme", "README.md", "README whose generated Performance block to update (empty: none)")
	flag.StringVar(&o.profileDir, "cpuprofile-dir", "", "write CPU profiles of proving and of the HTTP verify path here")
	flag.BoolVar(&o.quick, "quick", false, "fewer iterations and shorter load runs (for trying the program, not for figures)")
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

	if o.child != "" {
		if err := runChild(o); err != nil {
			fmt.Fprintf(os.Stderr, "benchreport %s: %v\n", o.child, err)
			os.Exit(1)
		}
		return
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintf(os.Stderr, "benchreport: %v\n", err)
		os.Exit(1)
	}
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
		for _, be := range benchmarks.Backends() {
			if _, err := benchmarks.KeysDir(uc, be); err != nil {
				return err
			}
		}
	}

	for _, uc := range benchmarks.UseCases() {
		for _, be := range benchmarks.Backends() {
			if o.noCircuits {
				break
			}
			logf("circuit %s/%s: compile and setup", uc.Schema.Circuit, be)
			var setup, meas CircuitResult
			if err := child(o, &setup, "-child", "setup", "-circuit", uc.Schema.Circuit, "-backend", string(be)); err != nil {
				return err
			}
			logf("circuit %s/%s: witness, prove, verify", uc.Schema.Circuit, be)
			if err := child(o, &meas, "-child", "circuit", "-circuit", uc.Schema.Circuit, "-backend", string(be),
				"-iters", strconv.Itoa(proveIters(o, uc.Schema, be))); err != nil {
				return err
			}
			rep.Circuits = append(rep.Circuits, merge(setup, meas))
		}
	}

	if !o.noSweep {
		preds := sweepPredicates
		if o.quick {
			preds = []int{4, 16, 32}
		}
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
	return rep.write(o)
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
