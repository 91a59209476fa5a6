package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Q is one figure with its unit.
type Q struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func msQ(d time.Duration) Q       { return Q{round(float64(d)/1e6, 3), "ms"} }
func mibQ(bytes int64) Q          { return Q{round(float64(bytes)/(1<<20), 1), "MiB"} }
func (q Q) isZero() bool          { return q.Value == 0 && q.Unit == "" }
func qPtr(v float64, u string) *Q { return &Q{v, u} }

// Report is latest.json.
type Report struct {
	Format          int             `json:"format"`
	Generated       time.Time       `json:"generated"`
	Quick           bool            `json:"quick,omitempty"`
	WallTime        Q               `json:"report_wall_time"`
	Machine         Machine         `json:"machine"`
	Versions        Versions        `json:"versions"`
	Circuits        []CircuitResult `json:"circuits"`
	Sweep           Sweep           `json:"predicate_sweep"`
	HTTP            []Scenario      `json:"http"`
	Workers         []WorkerPoint   `json:"workers_sweep"`
	Redis           *RedisCapacity  `json:"redis_capacity,omitempty"`
	Budgets         []Budget        `json:"budgets"`
	Projection      Projection      `json:"projection"`
	Method          []string        `json:"method"`
	Notes           []string        `json:"notes,omitempty"`
	GoTestBenchFile string          `json:"go_test_bench_file,omitempty"`
	GoTestBench     []BenchLine     `json:"go_test_bench,omitempty"`
}

// CircuitResult is one circuit and backend.
type CircuitResult struct {
	Circuit          string `json:"circuit"`
	Backend          string `json:"backend"`
	Constraints      Q      `json:"constraints"`
	CompileMedian    Q      `json:"compile_median"`
	Setup            Q      `json:"setup"`
	SetupPeakRSS     Q      `json:"setup_peak_rss"`
	WitnessMedian    Q      `json:"witness_median"`
	ProveMedian      Q      `json:"prove_median"`
	ProveMin         Q      `json:"prove_min"`
	ProveMax         Q      `json:"prove_max"`
	ProveCPU         Q      `json:"prove_cpu_per_proof"`
	ProveIterations  int    `json:"prove_iterations"`
	VerifyMedian     Q      `json:"verify_median"`
	VerifyCPU        Q      `json:"verify_cpu_per_verification"`
	VerifyIterations int    `json:"verify_iterations"`
	ProofBytes       Q      `json:"proof_size"`
	VKBytes          Q      `json:"verifying_key_size"`
	PKBytes          Q      `json:"proving_key_size"`
	CCSBytes         Q      `json:"constraint_system_size"`
	ProverPeakRSS    Q      `json:"prover_peak_rss"`
}

// SweepPoint is the clinical circuit with one predicate capacity.
type SweepPoint struct {
	Predicates  int `json:"predicates"`
	Constraints Q   `json:"constraints"`
	Domain      Q   `json:"fft_domain"`
	Compile     Q   `json:"compile"`
	Setup       Q   `json:"setup"`
	ProveMedian Q   `json:"prove_median"`
	ProveMin    Q   `json:"prove_min"`
	ProveMax    Q   `json:"prove_max"`
	ProveCPU    Q   `json:"prove_cpu_per_proof"`
	Iterations  int `json:"prove_iterations"`
	PeakRSS     Q   `json:"peak_rss"`
}

// Sweep is prove time against constraint count. Groth16's FFT domain is the power of two at or
// above the constraint count, and the prover's MSM and FFT sizes follow it, so the points are
// grouped by domain.
type Sweep struct {
	Circuit  string        `json:"circuit"`
	Points   []SweepPoint  `json:"points"`
	ByDomain []DomainGroup `json:"by_fft_domain,omitempty"`
}

// DomainGroup is the sweep's points that share an FFT domain.
type DomainGroup struct {
	Log2           int `json:"log2"`
	Domain         Q   `json:"fft_domain"`
	MinPredicates  int `json:"min_predicates"`
	MaxPredicates  int `json:"max_predicates"`
	ProveMedianMin Q   `json:"prove_median_min"`
	ProveMedianMax Q   `json:"prove_median_max"`
	// RatioToPrevious is this group's mean prove median over the previous group's.
	RatioToPrevious float64 `json:"ratio_to_previous,omitempty"`
}

// domainLog2 is log2 of Groth16's FFT domain for n constraints (gnark: fft.NewDomain(n)).
func domainLog2(n int) int { return bits.Len(uint(max(n, 1) - 1)) }

func (s *Sweep) group() {
	s.Circuit = "clinical-v1 with P predicate slots (Groth16)"
	var groups []DomainGroup
	var means []float64
	for _, p := range s.Points {
		k := domainLog2(int(p.Constraints.Value))
		if len(groups) == 0 || groups[len(groups)-1].Log2 != k {
			groups = append(groups, DomainGroup{Log2: k, Domain: Q{float64(int(1) << k), "constraints"},
				MinPredicates: p.Predicates, ProveMedianMin: p.ProveMedian, ProveMedianMax: p.ProveMedian})
			means = append(means, 0)
		}
		g := &groups[len(groups)-1]
		g.MaxPredicates = p.Predicates
		if p.ProveMedian.Value < g.ProveMedianMin.Value {
			g.ProveMedianMin = p.ProveMedian
		}
		if p.ProveMedian.Value > g.ProveMedianMax.Value {
			g.ProveMedianMax = p.ProveMedian
		}
		means[len(means)-1] += p.ProveMedian.Value
	}
	for i := range groups {
		n := 0
		for _, p := range s.Points {
			if domainLog2(int(p.Constraints.Value)) == groups[i].Log2 {
				n++
			}
		}
		means[i] /= float64(n)
		if i > 0 && means[i-1] > 0 {
			groups[i].RatioToPrevious = round(means[i]/means[i-1], 2)
		}
	}
	s.ByDomain = groups
}

// Scenario is one HTTP load run.
type Scenario struct {
	Name          string   `json:"name"`
	Mode          string   `json:"mode"`
	Circuit       string   `json:"circuit"`
	Load          string   `json:"load"`
	InFlight      int      `json:"in_flight,omitempty"`
	Rate          *Q       `json:"rate,omitempty"`
	Workers       int      `json:"provers,omitempty"`
	Requests      int      `json:"requests"`
	Errors        int      `json:"errors"`
	CacheHits     int      `json:"cache_hits"`
	CacheMisses   int      `json:"cache_misses"`
	Throughput    Q        `json:"throughput"`
	Duration      Q        `json:"duration"`
	P50           Q        `json:"latency_p50"`
	P90           Q        `json:"latency_p90"`
	P99           Q        `json:"latency_p99"`
	Max           Q        `json:"latency_max"`
	ProveMedian   *Q       `json:"prove_median,omitempty"`
	RedisCommands *Q       `json:"redis_commands,omitempty"`
	ErrorSample   []string `json:"error_sample,omitempty"`

	latencies []time.Duration
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (s *Scenario) setPercentiles() {
	slices.Sort(s.latencies)
	s.P50, s.P90, s.P99 = msQ(percentile(s.latencies, .5)), msQ(percentile(s.latencies, .9)), msQ(percentile(s.latencies, .99))
	s.Max = msQ(percentile(s.latencies, 1))
}

// WorkerPoint is asynchronous proving throughput with a number of Redis workers.
type WorkerPoint struct {
	Workers     int     `json:"workers"`
	Jobs        int     `json:"jobs"`
	Throughput  Q       `json:"throughput"`
	ProveMedian *Q      `json:"prove_median,omitempty"`
	Speedup     float64 `json:"speedup_vs_1"`
}

// RedisCapacity is what the private Redis served under redis-benchmark on this machine.
type RedisCapacity struct {
	Tool string `json:"tool"`
	Get  Q      `json:"get"`
	Set  Q      `json:"set"`
}

// Budget is one of the budgets against its measurement.
type Budget struct {
	Name     string `json:"name"`
	Op       string `json:"op"`
	Limit    Q      `json:"limit"`
	Measured *Q     `json:"measured"`
	Met      *bool  `json:"met"`
}

// Projection is what N machines give, from the per-machine figures.
type Projection struct {
	ProofsPerMachine        *Q              `json:"proofs_per_worker_machine,omitempty"`
	VerificationsPerMachine *Q              `json:"verifications_per_serve_machine,omitempty"`
	RedisCommandsPerVerify  *Q              `json:"redis_commands_per_verification,omitempty"`
	RedisCommandsPerProof   *Q              `json:"redis_commands_per_proof,omitempty"`
	RedisCeilingVerify      *Q              `json:"redis_ceiling_verifications,omitempty"`
	RedisCeilingProofs      *Q              `json:"redis_ceiling_proofs,omitempty"`
	Rows                    []ProjectionRow `json:"rows,omitempty"`
	Text                    []string        `json:"text"`
}

// ProjectionRow is the projected throughput of N machines.
type ProjectionRow struct {
	Machines      int `json:"machines"`
	Proofs        Q   `json:"proofs"`
	Verifications Q   `json:"verifications"`
	// which figures the Redis ceiling bounds rather than N × the per-machine figure
	ProofsRedisBound        bool `json:"proofs_redis_bound,omitempty"`
	VerificationsRedisBound bool `json:"verifications_redis_bound,omitempty"`
}

// BenchLine is one line of `go test -bench` output.
type BenchLine struct {
	Name       string `json:"name"`
	Iterations int    `json:"iterations"`
	Metrics    []Q    `json:"metrics"`
}

func parseBenchTxt(s string) []BenchLine {
	var out []BenchLine
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		bl := BenchLine{Name: f[0], Iterations: n}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			bl.Metrics = append(bl.Metrics, Q{v, f[i+1]})
		}
		out = append(out, bl)
	}
	return out
}

func (r *Report) circuit(id, backend string) *CircuitResult {
	for i := range r.Circuits {
		if r.Circuits[i].Circuit == id && r.Circuits[i].Backend == backend {
			return &r.Circuits[i]
		}
	}
	return nil
}

// scenario finds an HTTP run: closed loop (rate false) or open loop (rate true).
func (r *Report) scenario(mode, name, circuit string, rate bool) *Scenario {
	for i := range r.HTTP {
		s := &r.HTTP[i]
		if s.Mode == mode && s.Name == name && s.Circuit == circuit && (s.Rate != nil) == rate {
			return s
		}
	}
	return nil
}

func (r *Report) evaluateBudgets() {
	add := func(name, op string, limit Q, measured *Q) {
		b := Budget{Name: name, Op: op, Limit: limit}
		if measured != nil {
			m := *measured
			met := m.Value <= limit.Value
			if op == "≥" {
				met = m.Value >= limit.Value
			}
			b.Measured, b.Met = &m, &met
		}
		r.Budgets = append(r.Budgets, b)
	}
	proveOf := func(id string) *Q {
		if c := r.circuit(id, "groth16"); c != nil {
			return &c.ProveMedian
		}
		return nil
	}
	verifyOf := func(id string) *Q {
		if c := r.circuit(id, "groth16"); c != nil {
			return &c.VerifyMedian
		}
		return nil
	}
	for _, c := range []struct {
		id    string
		limit float64
	}{{"coverage-v1", 15000}, {"clinical-v1", 60000}} {
		if r := r.circuit(c.id, "groth16"); r != nil {
			add(c.id+" R1CS constraints", "≤", Q{c.limit, "constraints"}, &r.Constraints)
		}
	}
	add("coverage-v1 Groth16 prove, median", "≤", Q{100, "ms"}, proveOf("coverage-v1"))
	add("clinical-v1 Groth16 prove, median", "≤", Q{500, "ms"}, proveOf("clinical-v1"))
	add("coverage-v1 Groth16 verify, median", "≤", Q{1.5, "ms"}, verifyOf("coverage-v1"))
	add("clinical-v1 Groth16 verify, median", "≤", Q{1.5, "ms"}, verifyOf("clinical-v1"))
	for _, mode := range []string{"embedded", "redis"} {
		if s := r.scenario(mode, "verify_uncached", "coverage-v1", false); s != nil {
			add("POST /v1/verify uncached, "+mode+" mode", "≥", Q{800, "req/s"}, &s.Throughput)
		}
		if s := r.scenario(mode, "verify_cached", "coverage-v1", false); s != nil {
			add("POST /v1/verify cached, "+mode+" mode", "≥", Q{10000, "req/s"}, &s.Throughput)
		}
		if s := r.scenario(mode, "proofs_sync", "coverage-v1", false); s != nil {
			add("POST /v1/proofs coverage sync, median end to end, "+mode+" mode", "≤", Q{150, "ms"}, &s.P50)
		}
	}
}

// project writes the N-machine projection from the per-machine figures.
func (r *Report) project() {
	p := &r.Projection
	var best *WorkerPoint
	for i := range r.Workers {
		w := &r.Workers[i]
		if len(r.Workers) > 0 && r.Workers[0].Throughput.Value > 0 {
			w.Speedup = round(w.Throughput.Value/r.Workers[0].Throughput.Value, 2)
		}
		if best == nil || w.Throughput.Value > best.Throughput.Value {
			best = w
		}
	}
	mode := "redis"
	if best == nil {
		mode = "embedded"
		if s := r.scenario("embedded", "proofs_async", "coverage-v1", false); s != nil {
			p.ProofsPerMachine = &Q{s.Throughput.Value, "proofs/s"}
		}
	} else {
		p.ProofsPerMachine = &Q{best.Throughput.Value, "proofs/s"}
	}
	if s := r.scenario(mode, "verify_uncached", "coverage-v1", false); s != nil {
		p.VerificationsPerMachine = &Q{s.Throughput.Value, "verifications/s"}
		p.RedisCommandsPerVerify = s.RedisCommands
	}
	if s := r.scenario("redis", "proofs_sync", "coverage-v1", false); s != nil {
		p.RedisCommandsPerProof = s.RedisCommands
	}
	if r.Redis != nil {
		capacity := min(r.Redis.Get.Value, r.Redis.Set.Value)
		if c := p.RedisCommandsPerVerify; c != nil && c.Value > 0 {
			p.RedisCeilingVerify = &Q{round(capacity/c.Value, -2), "verifications/s"}
		}
		if c := p.RedisCommandsPerProof; c != nil && c.Value > 0 {
			p.RedisCeilingProofs = &Q{round(capacity/c.Value, -2), "proofs/s"}
		}
	}
	if p.ProofsPerMachine == nil || p.VerificationsPerMachine == nil {
		p.Text = []string{"No projection: the HTTP runs did not run."}
		return
	}
	for _, n := range []int{1, 2, 4, 8, 16, 32} {
		row := ProjectionRow{Machines: n}
		proofs := float64(n) * p.ProofsPerMachine.Value
		if c := p.RedisCeilingProofs; c != nil && c.Value < proofs {
			proofs, row.ProofsRedisBound = c.Value, true
		}
		ver := float64(n) * p.VerificationsPerMachine.Value
		if c := p.RedisCeilingVerify; c != nil && c.Value < ver {
			ver, row.VerificationsRedisBound = c.Value, true
		}
		row.Proofs, row.Verifications = Q{round(proofs, 1), "proofs/s"}, Q{round(ver, 0), "verifications/s"}
		p.Rows = append(p.Rows, row)
	}
	cores := r.Machine.LogicalCPUs
	p.Text = append(p.Text, fmt.Sprintf(
		"Proving is CPU-bound and shares nothing but the queue: each added machine of this kind (%d cores) running `zkhealth worker` adds about %s coverage proofs/s (the best asynchronous throughput measured here), so N machines give about N × %s proofs/s.",
		cores, fmtNum(p.ProofsPerMachine.Value, 1), fmtNum(p.ProofsPerMachine.Value, 1)))
	if len(r.Workers) >= 2 {
		sp := r.Workers[len(r.Workers)-1].Speedup
		if sp < 1.3 {
			p.Text = append(p.Text, fmt.Sprintf(
				"A second worker on the same machine gave ×%.2f: gnark's prover already uses every core, so add machines, not workers per machine.", sp))
		} else {
			p.Text = append(p.Text, fmt.Sprintf(
				"A second worker on the same machine gave ×%.2f, so a machine of this kind is best run with %d workers.", sp, len(r.Workers)))
		}
	}
	p.Text = append(p.Text, fmt.Sprintf(
		"Verification is stateless apart from Redis: each `zkhealth serve` machine adds about %s uncached verifications/s (measured with the load generator on the same cores, so a dedicated machine does somewhat better).",
		fmtNum(p.VerificationsPerMachine.Value, 0)))
	if p.RedisCeilingVerify != nil && p.RedisCommandsPerVerify != nil {
		p.Text = append(p.Text, fmt.Sprintf(
			"The shared Redis is the ceiling: an uncached verification costs %s Redis commands and a synchronous proof %s; the private Redis here served %s GET/s and %s SET/s, which caps one Redis at about %s verifications/s whatever the number of machines (more needs Redis Cluster or a Redis per region).",
			fmtNum(p.RedisCommandsPerVerify.Value, 1), fmtQPtr(p.RedisCommandsPerProof, 1), fmtNum(r.Redis.Get.Value, 0), fmtNum(r.Redis.Set.Value, 0), fmtNum(p.RedisCeilingVerify.Value, 0)))
	}
}

func fmtQPtr(q *Q, digits int) string {
	if q == nil {
		return "n/a"
	}
	return fmtNum(q.Value, digits)
}

// fmtNum formats v with digits decimals and thousands separators.
func fmtNum(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// fmtMS formats a time in ms with a precision that suits its size.
func fmtMS(q Q) string {
	switch {
	case q.isZero():
		return "–"
	case q.Unit == "s":
		return fmtNum(q.Value, 1) + " s"
	case math.Abs(q.Value) < 1:
		return fmtNum(q.Value, 3) + " ms"
	case math.Abs(q.Value) < 10:
		return fmtNum(q.Value, 2) + " ms"
	case math.Abs(q.Value) < 100:
		return fmtNum(q.Value, 1) + " ms"
	}
	return fmtNum(q.Value, 0) + " ms"
}

// fmtQ formats any figure with its unit.
func fmtQ(q Q) string {
	switch q.Unit {
	case "ms", "s":
		return fmtMS(q)
	case "bytes":
		switch {
		case q.Value >= 1<<20:
			return fmtNum(q.Value/(1<<20), 1) + " MiB"
		case q.Value >= 10<<10:
			return fmtNum(q.Value/(1<<10), 0) + " KiB"
		}
		return fmtNum(q.Value, 0) + " B"
	case "MiB":
		return fmtNum(q.Value, 0) + " MiB"
	case "constraints":
		return fmtNum(q.Value, 0)
	case "req/s", "verifications/s", "ops/s":
		return fmtNum(q.Value, 0) + " " + q.Unit
	}
	return fmtNum(q.Value, 2) + " " + q.Unit
}

// write writes latest.json, summary.md, the plots, and the README block.
func (r *Report) write(o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	r.Method = method()
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "latest.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	plots, err := r.plots(o.out)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "summary.md"), []byte(r.summary(plots)), 0o644); err != nil {
		return err
	}
	if o.readme != "" {
		results := o.out
		if o.render != "" {
			results = filepath.Dir(o.render) // the block links to the results it was made from
		}
		rel, err := filepath.Rel(filepath.Dir(o.readme), results)
		if err != nil {
			return err
		}
		if err := updateReadme(o.readme, r.readmeBlock(filepath.ToSlash(rel), plots)); err != nil {
			return err
		}
	}
	logf("wrote %s/{latest.json,summary.md,%s}", o.out, strings.Join(plots, ","))
	return nil
}

// method is how the figures were made, for latest.json and the summary.
func method() []string {
	return []string{
		"Circuit figures come from child processes of the report, one per task, so peak RSS (getrusage maxrss) is per task: a setup child compiles three times and runs the development setup into a fresh directory; a circuit child loads the shared keys and times witness building, proofs and verifications (verifier.Verify: policy compile, public witness, checked proof read, pairing check). CPU time per operation is beside each wall-clock median: it is steadier when other work shares the machine.",
		"HTTP runs use vegeta against `zkhealth serve` (app.Main) started in the same process on 127.0.0.1, so the load generator shares the machine's cores with the server. Synchronous proofs are sent by one client, each for a distinct request (a proof-cache miss). Closed-loop runs keep a fixed number of requests in flight (throughput); open-loop runs send at a fixed rate, a third of the closed-loop throughput (latency of a busy but unsaturated server).",
		"Uncached verification: the service caches results by (request, proof bytes), so each request carries a (request, proof) pair never sent before: the synchronous proofs re-randomised (A·2⁻ᵏ, B·2ᵏ, a Groth16 identity), all valid, each taking the full path (cache miss, request and issuer lookups, policy compile, pairing check, nullifier registry). Cached verification replays pairs verified once before. Every run checks the X-Cache header of every answer, and that every verification answered valid.",
		"Asynchronous proofs: all jobs are queued at once, then polled every 100 ms; throughput is jobs over the time from the first submission to the last completion seen; latencies are the jobs' own queue + prove times. Redis mode runs 1 and then 2 in-process `zkhealth worker`s (one proof at a time each) against a private redis-server (or REDIS_URL).",
	}
}

const (
	readmeBegin = "<!-- benchreport:begin (generated by `make bench` from benchmarks/results/latest.json; do not edit) -->"
	readmeEnd   = "<!-- benchreport:end -->"
)

// updateReadme replaces the text between the markers (which must exist) with block.
func updateReadme(path, block string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	i, j := strings.Index(s, readmeBegin), strings.Index(s, readmeEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no generated Performance block (%q … %q)", path, readmeBegin, readmeEnd)
	}
	s = s[:i+len(readmeBegin)] + "\n" + block + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
