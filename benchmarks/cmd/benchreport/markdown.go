package main

import (
	"fmt"
	"strings"
)

func table(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

func (r *Report) machineLine() string {
	m, v := r.Machine, r.Versions
	commit := v.Commit
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("%s, %d logical CPUs (GOMAXPROCS %d), %s memory, %s/%s, Linux %s; load average %.2f at start, %.2f at end. Go %s, gnark %s, gnark-crypto %s, vegeta %s, gonum/plot %s; commit %s.",
		m.CPUModel, m.LogicalCPUs, m.GOMAXPROCS, fmtNum(m.Memory.Value, 1)+" "+m.Memory.Unit, m.OS, m.Arch, m.Kernel,
		m.LoadAvgStart[0], m.LoadAvgEnd[0], v.Go, v.Gnark, v.GnarkCrypto, v.Vegeta, v.GonumPlot, commit)
}

func (r *Report) budgetTable() string {
	var rows [][]string
	for _, b := range r.Budgets {
		measured, met := "not measured", "–"
		if b.Measured != nil {
			measured = fmtQ(*b.Measured)
			met = "missed"
			if *b.Met {
				met = "met"
			}
		}
		rows = append(rows, []string{b.Name, b.Op + " " + fmtQ(b.Limit), measured, met})
	}
	return table([]string{"budget", "limit", "measured", ""}, rows)
}

func (r *Report) circuitTable(full bool) string {
	header := []string{"circuit", "backend", "constraints", "prove, median", "verify, median", "proof", "proving key", "prover peak RSS"}
	if full {
		header = []string{"circuit", "backend", "constraints", "compile", "setup", "setup peak RSS", "witness", "prove, median (min–max, n)", "prove CPU", "verify, median (n)", "verify CPU", "proof", "verifying key", "proving key", "prover peak RSS"}
	}
	var rows [][]string
	for _, c := range r.Circuits {
		if !full {
			rows = append(rows, []string{c.Circuit, c.Backend, fmtQ(c.Constraints), fmtQ(c.ProveMedian), fmtQ(c.VerifyMedian),
				fmtQ(c.ProofBytes), fmtQ(c.PKBytes), fmtQ(c.ProverPeakRSS)})
			continue
		}
		rows = append(rows, []string{c.Circuit, c.Backend, fmtQ(c.Constraints), fmtQ(c.CompileMedian), fmtQ(c.Setup), fmtQ(c.SetupPeakRSS),
			fmtQ(c.WitnessMedian),
			fmt.Sprintf("%s (%s–%s, %d)", fmtQ(c.ProveMedian), fmtQ(c.ProveMin), fmtQ(c.ProveMax), c.ProveIterations),
			fmtQ(c.ProveCPU), fmt.Sprintf("%s (%d)", fmtQ(c.VerifyMedian), c.VerifyIterations), fmtQ(c.VerifyCPU),
			fmtQ(c.ProofBytes), fmtQ(c.VKBytes), fmtQ(c.PKBytes), fmtQ(c.ProverPeakRSS)})
	}
	return table(header, rows)
}

var scenarioTitles = map[string]string{
	"proofs_sync":     "POST /v1/proofs (sync)",
	"proofs_async":    "POST /v1/proofs?async=true",
	"verify_uncached": "POST /v1/verify, uncached",
	"verify_cached":   "POST /v1/verify, cached",
}

func (r *Report) httpTable() string {
	var rows [][]string
	for _, s := range r.HTTP {
		cache := "–"
		if s.CacheHits+s.CacheMisses > 0 {
			cache = fmt.Sprintf("%d / %d", s.CacheHits, s.CacheMisses)
		}
		redis := "–"
		if s.RedisCommands != nil {
			redis = fmtNum(s.RedisCommands.Value, 1)
		}
		rows = append(rows, []string{s.Mode, scenarioTitles[s.Name], s.Circuit, s.Load, fmtNum(float64(s.Requests), 0),
			fmtNum(s.Throughput.Value, throughputDigits(s.Throughput)) + " " + s.Throughput.Unit,
			fmtQ(s.P50), fmtQ(s.P90), fmtQ(s.P99), fmtNum(float64(s.Errors), 0), cache, redis})
	}
	return table([]string{"mode", "endpoint", "circuit", "load", "requests", "throughput", "p50", "p90", "p99", "errors", "cache hit / miss", "Redis cmds/req"}, rows)
}

func throughputDigits(q Q) int {
	if q.Value < 100 {
		return 1
	}
	return 0
}

// httpCompact is the README's view: one row per endpoint, one column per mode.
func (r *Report) httpCompact() string {
	modes := []string{"embedded"}
	if r.scenario("redis", "verify_uncached", "coverage-v1", false) != nil {
		modes = append(modes, "redis")
	}
	cell := func(mode, name, circuit string) string {
		sat, lat := r.scenario(mode, name, circuit, false), r.scenario(mode, name, circuit, true)
		switch {
		case sat == nil:
			return "–"
		case name == "proofs_sync":
			return fmt.Sprintf("p50 %s, p90 %s, p99 %s (1 client)", fmtQ(sat.P50), fmtQ(sat.P90), fmtQ(sat.P99))
		case lat != nil:
			return fmt.Sprintf("%s req/s; at %s req/s: p50 %s, p90 %s, p99 %s", fmtNum(sat.Throughput.Value, 0),
				fmtNum(lat.Rate.Value, 0), fmtQ(lat.P50), fmtQ(lat.P90), fmtQ(lat.P99))
		}
		return fmt.Sprintf("%s req/s, p50 %s, p99 %s", fmtNum(sat.Throughput.Value, 0), fmtQ(sat.P50), fmtQ(sat.P99))
	}
	header := []string{"endpoint"}
	for _, m := range modes {
		header = append(header, m+" mode")
	}
	var rows [][]string
	for _, e := range []struct{ title, name, circuit string }{
		{"POST /v1/verify, uncached", "verify_uncached", "coverage-v1"},
		{"POST /v1/verify, cached", "verify_cached", "coverage-v1"},
		{"POST /v1/proofs sync, coverage", "proofs_sync", "coverage-v1"},
		{"POST /v1/proofs sync, clinical", "proofs_sync", "clinical-v1"},
	} {
		row := []string{e.title}
		for _, m := range modes {
			row = append(row, cell(m, e.name, e.circuit))
		}
		rows = append(rows, row)
	}
	row := []string{"POST /v1/proofs async, coverage"}
	for _, m := range modes {
		var parts []string
		for _, s := range r.HTTP {
			if s.Mode == m && s.Name == "proofs_async" {
				parts = append(parts, fmt.Sprintf("%d prover(s): %s proofs/s", s.Workers, fmtNum(s.Throughput.Value, 2)))
			}
		}
		row = append(row, strings.Join(parts, "; "))
	}
	rows = append(rows, row)
	return table(header, rows)
}

func (r *Report) sweepTable() string {
	var rows [][]string
	for _, p := range r.Sweep.Points {
		rows = append(rows, []string{fmt.Sprint(p.Predicates), fmtQ(p.Constraints), fmt.Sprintf("2^%d", domainLog2(int(p.Constraints.Value))),
			fmtQ(p.Setup), fmt.Sprintf("%s (%d)", fmtQ(p.ProveMedian), p.Iterations), fmtQ(p.ProveCPU), fmtQ(p.PeakRSS)})
	}
	return table([]string{"predicate slots", "constraints", "FFT domain", "setup", "prove, median (n)", "prove CPU", "peak RSS"}, rows)
}

// sweepLine says how prove time moves with the FFT domain over the sweep.
func (r *Report) sweepLine() string {
	if len(r.Sweep.ByDomain) == 0 {
		return ""
	}
	var parts []string
	for _, g := range r.Sweep.ByDomain {
		span := fmtQ(g.ProveMedianMin)
		if g.ProveMedianMax.Value != g.ProveMedianMin.Value {
			span = fmtNum(g.ProveMedianMin.Value, 0) + "–" + fmtQ(g.ProveMedianMax)
		}
		preds := fmt.Sprintf("P = %d", g.MinPredicates)
		if g.MaxPredicates != g.MinPredicates {
			preds = fmt.Sprintf("P = %d–%d", g.MinPredicates, g.MaxPredicates)
		}
		part := fmt.Sprintf("domain 2^%d (%s): %s", g.Log2, preds, span)
		if g.RatioToPrevious > 0 {
			part += fmt.Sprintf(", ×%.2f", g.RatioToPrevious)
		}
		parts = append(parts, part)
	}
	line := "Groth16 prove time follows the FFT domain, the power of two at or above the constraint count, more than the count itself: " + strings.Join(parts, "; ") + "."
	if c := r.circuit("clinical-v1", "groth16"); c != nil {
		n := int(c.Constraints.Value)
		line += fmt.Sprintf(" clinical-v1 (%s constraints) is %s below its domain's 2^%d = %s: a circuit change that crosses it costs the step.",
			fmtNum(float64(n), 0), fmtNum(float64(int(1)<<domainLog2(n)-n), 0), domainLog2(n), fmtNum(float64(int(1)<<domainLog2(n)), 0))
	}
	return line
}

func (r *Report) workersTable() string {
	var rows [][]string
	for _, w := range r.Workers {
		pm := "–"
		if w.ProveMedian != nil {
			pm = fmtQ(*w.ProveMedian)
		}
		rows = append(rows, []string{fmt.Sprint(w.Workers), fmt.Sprint(w.Jobs), fmtNum(w.Throughput.Value, 2) + " proofs/s", fmt.Sprintf("×%.2f", w.Speedup), pm})
	}
	return table([]string{"workers", "jobs", "throughput", "vs 1 worker", "prove time per job, median"}, rows)
}

func (r *Report) projectionTable() string {
	var rows [][]string
	bound := func(s string, redis bool) string {
		if redis {
			return s + " (Redis ceiling)"
		}
		return s
	}
	for _, row := range r.Projection.Rows {
		rows = append(rows, []string{fmt.Sprint(row.Machines), bound(fmtNum(row.Proofs.Value, 1), row.ProofsRedisBound),
			bound(fmtNum(row.Verifications.Value, 0), row.VerificationsRedisBound)})
	}
	return table([]string{"machines", "coverage proofs/s (projected)", "uncached verifications/s (projected)"}, rows)
}

func (r *Report) summary(plots []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# zkhealth performance\n\nGenerated by `make bench` (benchmarks/cmd/benchreport) on %s in %s. Machine: %s\n\n",
		r.Generated.Format("2006-01-02 15:04 MST"), fmtQ(r.WallTime), r.machineLine())
	if r.Quick {
		b.WriteString("**Quick run (-quick): few iterations, short load runs; not for comparison.**\n\n")
	}
	b.WriteString("## Budgets (reported, never asserted)\n\n" + r.budgetTable())
	b.WriteString("\n## Circuits\n\n" + r.circuitTable(true))
	b.WriteString("\n## HTTP\n\n" + r.httpTable())
	b.WriteString("\n![latency distribution](latency.png)\n")
	b.WriteString("\n## Scaling\n\n### Prove time against constraints (" + r.Sweep.Circuit + ")\n\n" + r.sweepTable())
	if l := r.sweepLine(); l != "" {
		b.WriteString("\n" + l + "\n")
	}
	b.WriteString("\n![prove time against constraints](prove_vs_constraints.png)\n")
	if len(r.Workers) > 0 {
		b.WriteString("\n### Proving throughput against workers (Redis mode, coverage)\n\n" + r.workersTable())
	}
	b.WriteString("\n## Projection (computed from the figures above, not measured): N machines\n\n" + strings.Join(r.Projection.Text, " ") + "\n\n" + r.projectionTable())
	if r.Redis != nil {
		fmt.Fprintf(&b, "\nRedis ceiling measured with %s: %s GET, %s SET.\n", r.Redis.Tool, fmtQ(r.Redis.Get), fmtQ(r.Redis.Set))
	}
	b.WriteString("\n## Method\n\n")
	for _, m := range r.Method {
		b.WriteString("- " + m + "\n")
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			b.WriteString("- " + n + "\n")
		}
	}
	if r.GoTestBenchFile != "" {
		fmt.Fprintf(&b, "\nThe testing.B benchmarks' own output is in [%s](%s) (also in latest.json, `go_test_bench`).\n", r.GoTestBenchFile, r.GoTestBenchFile)
	}
	return b.String()
}

// readmeBlock is the generated part of README.md's Performance section; dir is the results
// directory relative to the README.
func (r *Report) readmeBlock(dir string, plots []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured by `make bench` on %s (%s; all figures: [summary](%s/summary.md), [latest.json](%s/latest.json)).\n\n",
		r.Generated.Format("2006-01-02"), r.machineShort(), dir, dir)
	if r.Quick {
		b.WriteString("**Quick run: few iterations, short load runs.**\n\n")
	}
	b.WriteString(r.circuitTable(false))
	b.WriteString("\nHTTP, coverage credential, server and load generator sharing the machine:\n\n" + r.httpCompact())
	b.WriteString("\n**Budgets** (reported, never asserted):\n\n" + r.budgetTable())
	b.WriteString("\n**Scaling.** ")
	if l := r.sweepLine(); l != "" {
		fmt.Fprintf(&b, "Over the clinical circuit with %d to %d predicate slots: %s ",
			r.Sweep.Points[0].Predicates, r.Sweep.Points[len(r.Sweep.Points)-1].Predicates, l)
	}
	b.WriteString(strings.Join(r.Projection.Text, " ") + "\n\nProjected from the per-machine figures (not measured):\n\n" + r.projectionTable())
	b.WriteString("\nPlots: [prove time against constraints](" + dir + "/prove_vs_constraints.png), [latency distribution](" + dir + "/latency.png).\n")
	return b.String()
}

func (r *Report) machineShort() string {
	m := r.Machine
	return fmt.Sprintf("%s, %d cores, %s %s, Go %s, gnark %s", m.CPUModel, m.LogicalCPUs, fmtNum(m.Memory.Value, 0), m.Memory.Unit, r.Versions.Go, r.Versions.Gnark)
}
