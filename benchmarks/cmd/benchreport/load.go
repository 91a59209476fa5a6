package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/app"
	"github.com/zkhealth/zkhealth/benchmarks"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/redistest"
	"github.com/zkhealth/zkhealth/internal/testfixture"
)

// API keys of the servers the load run starts (loopback only, gone when the run ends).
const (
	keyIssuer   = "bench-issuer-key"
	keyHolder   = "bench-holder-key"
	keyVerifier = "bench-verifier-key"
	apiKeys     = "admin:bench-admin-key,issuer:" + keyIssuer + ",holder:" + keyHolder + ",verifier:" + keyVerifier
)

// loadPlan sizes the load runs. Every run is bounded both in requests and in time.
type loadPlan struct {
	syncCoverage, syncClinical int           // distinct synchronous proofs (cache misses)
	asyncJobs                  int           // asynchronous proofs per run
	verifyInFlight             int           // closed-loop concurrency of the verify runs
	verifyDuration             time.Duration // closed-loop verify runs
	rateDuration               time.Duration // open-loop verify runs, at openLoopShare of the closed-loop throughput
	maxUncached                int           // distinct (request, proof) pairs prepared for the uncached runs
	maxCached                  int           // requests of a cached run at most
}

// openLoopShare is the load of the open-loop verify runs, as a share of the closed-loop
// throughput: a busy but unsaturated server, whose latency is not queueing.
const openLoopShare = 1.0 / 3

func plan(o options) loadPlan {
	if o.quick {
		return loadPlan{syncCoverage: 4, syncClinical: 1, asyncJobs: 2, verifyInFlight: 4,
			verifyDuration: time.Second, rateDuration: 500 * time.Millisecond, maxUncached: 1000, maxCached: 10000}
	}
	return loadPlan{syncCoverage: 30, syncClinical: 8, asyncJobs: 16, verifyInFlight: 8,
		verifyDuration: 5 * time.Second, rateDuration: 4 * time.Second, maxUncached: 12000, maxCached: 150000}
}

// runHTTP runs the load scenarios in embedded mode and, when Redis is available (REDIS_URL, or a
// private redis-server), in Redis mode with 1 and 2 proof workers.
func runHTTP(ctx context.Context, o options, rep *Report) error {
	keysDir := testfixture.SharedKeysDir()
	for _, uc := range benchmarks.UseCases() {
		if _, err := benchmarks.KeysDir(uc, keys.Groth16); err != nil {
			return err
		}
	}
	p := plan(o)
	if err := runMode(ctx, o, rep, p, "embedded", "", keysDir); err != nil {
		return fmt.Errorf("embedded mode: %w", err)
	}
	url, private, stop, err := redisForBench()
	if err != nil {
		rep.Notes = append(rep.Notes, "Redis mode skipped: "+err.Error())
		logf("Redis mode skipped: %v", err)
		return nil
	}
	defer stop()
	if private != nil {
		rep.Redis = redisCapacity(private.Addr)
	}
	if err := runMode(ctx, o, rep, p, "redis", url, keysDir); err != nil {
		return fmt.Errorf("redis mode: %w", err)
	}
	return nil
}

// redisForBench is REDIS_URL when set, else a private redis-server (returned, so its capacity can
// be measured: a shared Redis is never load-tested).
func redisForBench() (url string, private *redistest.Server, stop func(), err error) {
	if u := os.Getenv(redistest.EnvURL); u != "" {
		return u, nil, func() {}, nil
	}
	s, err := redistest.StartServer()
	if err != nil {
		return "", nil, nil, err
	}
	return s.URL, s, s.Stop, nil
}

// redisCapacity measures GET and SET throughput of the private Redis with redis-benchmark (when
// installed): the ceiling of the projection.
func redisCapacity(addr string) *RedisCapacity {
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return nil
	}
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command(bin, "-h", host, "-p", port, "-t", "get,set", "-n", "100000", "-c", "16", "--csv").Output()
	if err != nil {
		return nil
	}
	rc := &RedisCapacity{Tool: "redis-benchmark -t get,set -n 100000 -c 16 (no pipelining)"}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(strings.ReplaceAll(sc.Text(), `"`, ""), ",")
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "GET":
			rc.Get = Q{round(v, 0), "ops/s"}
		case "SET":
			rc.Set = Q{round(v, 0), "ops/s"}
		}
	}
	if rc.Get.Value == 0 {
		return nil
	}
	return rc
}

// harness is one running `zkhealth serve` (in process, on 127.0.0.1) and its workers.
type harness struct {
	mode    string
	cfg     app.Config
	m       *app.Main
	client  *http.Client
	rdb     *redis.Client
	workers []func()
}

func startHarness(ctx context.Context, mode, redisURL, keysDir string) (*harness, error) {
	dataDir, err := os.MkdirTemp("", "benchreport-data-")
	if err != nil {
		return nil, err
	}
	cfg := app.Config{
		Addr: "127.0.0.1:0", DataDir: dataDir, KeysDir: keysDir, APIKeys: apiKeys,
		RateLimit: -1, QueueCapacity: 64, Logger: slog.New(slog.DiscardHandler), Stdout: io.Discard,
	}
	h := &harness{mode: mode, client: &http.Client{Timeout: 2 * time.Minute}}
	if redisURL != "" {
		var b [6]byte
		rand.Read(b[:])
		cfg.RedisURL, cfg.RedisPrefix = redisURL, "zkhbench:"+hex.EncodeToString(b[:])+":"
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			return nil, err
		}
		h.rdb = redis.NewClient(opt)
	}
	h.cfg = cfg
	h.m = app.New(cfg)
	if err := h.m.Open(ctx); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// addWorker starts one more `zkhealth worker` (in process, proving one job at a time).
func (h *harness) addWorker() {
	cfg := h.cfg
	cfg.ProveWorkers = 1
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.NewWorker(cfg).Run(ctx) }()
	h.workers = append(h.workers, func() {
		cancel()
		if err := <-done; err != nil {
			logf("worker: %v", err)
		}
	})
}

func (h *harness) close() {
	for _, stop := range h.workers {
		stop()
	}
	if h.m != nil {
		h.m.Close()
	}
	if h.rdb != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		redistest.DeleteKeys(ctx, h.rdb, h.cfg.RedisPrefix)
		redistest.DeleteKeys(ctx, h.rdb, "asynq:{"+h.cfg.RedisPrefix)
		cancel()
		h.rdb.Close()
	}
	os.RemoveAll(h.cfg.DataDir)
}

// do sends one JSON request and decodes a 2xx answer into out.
func (h *harness) do(method, path, key string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.m.URL()+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// redisCommands is the private or shared Redis's total_commands_processed (0 in embedded mode).
func (h *harness) redisCommands() int64 {
	if h.rdb == nil {
		return 0
	}
	info, err := h.rdb.Info(context.Background(), "stats").Result()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

func day(offset int) string { return time.Now().UTC().AddDate(0, 0, offset).Format("2006-01-02") }

// holderWith is a holder and a credential the server issued to it.
type holderWith struct {
	secret     string
	credential json.RawMessage
}

// world is what the scenarios prove and verify against: holders with credentials and policies of
// both use cases.
type world struct {
	coverage, clinical             []holderWith
	coveragePolicy, clinicalPolicy string // ids
}

func (h *harness) setUp(nCoverage, nClinical int) (*world, error) {
	w := &world{}
	covAttrs := json.RawMessage(fmt.Sprintf(`{"payer": "ACME-HEALTH", "plan": "GOLD-PPO", "member_id": "M123456",
 "status": "active", "period_start": %q, "period_end": %q, "insurance_type": "PPO",
 "service_categories": ["30", "1", "33", "35", "47", "48", "50", "86", "88", "98", "AL", "MH", "UC"]}`, day(-300), day(300)))
	clinAttrs := json.RawMessage(fmt.Sprintf(`{"birth_date": "1976-01-16", "sex": "male",
 "conditions":   [{"code": "E11.9", "onset": "2015-03-01"}, {"code": "I10", "onset": "2012-06-10"}],
 "observations": [{"code": "4548-4", "value": 7.5, "unit": "%%", "date": %q},
                  {"code": "39156-5", "value": 30.0, "unit": "kg/m2", "date": %q}],
 "medications":  [{"code": "860975", "start": "2016-01-01"}]}`, day(-30), day(-30)))
	for _, spec := range []struct {
		schemaID string
		attrs    json.RawMessage
		n        int
		into     *[]holderWith
	}{{"coverage", covAttrs, nCoverage, &w.coverage}, {"clinical", clinAttrs, nClinical, &w.clinical}} {
		for range spec.n {
			hk, err := credential.GenerateHolderKey(nil)
			if err != nil {
				return nil, err
			}
			var out struct {
				Credential json.RawMessage `json:"credential"`
			}
			if err := h.do("POST", "/v1/credentials", keyIssuer, map[string]any{
				"schema": spec.schemaID, "holder_commitment": fieldhash.Hex(hk.Commitment()), "attributes": spec.attrs,
			}, &out); err != nil {
				return nil, err
			}
			*spec.into = append(*spec.into, holderWith{secret: hk.SecretHex(), credential: out.Credential})
		}
	}
	covPolicy := fmt.Sprintf(`{"schema": "coverage", "scope": "payer:acme:eligibility",
 "predicates": [
   {"attribute": "status", "op": "eq", "value": "active"},
   {"attribute": "payer", "op": "eq", "value": "ACME-HEALTH"},
   {"attribute": "period_start", "op": "lte", "value": %q},
   {"attribute": "period_end", "op": "gte", "value": %q},
   {"list": "service_categories", "match": "exists", "code": ["30"]}
 ]}`, day(0), day(0))
	for _, p := range []struct {
		js string
		id *string
	}{{covPolicy, &w.coveragePolicy}, {testfixture.ClinicalPolicy, &w.clinicalPolicy}} {
		var sp struct{ ID string }
		if err := h.do("POST", "/v1/policies", keyVerifier, json.RawMessage(p.js), &sp); err != nil {
			return nil, err
		}
		*p.id = sp.ID
	}
	return w, nil
}

// presentation is an open request: its id and challenge.
type presentation struct{ id, challenge string }

func (h *harness) openRequests(policyID string, n int) ([]presentation, error) {
	out := make([]presentation, n)
	for i := range out {
		var r struct {
			ID        string `json:"id"`
			Challenge string `json:"challenge"`
		}
		if err := h.do("POST", "/v1/requests", keyVerifier, map[string]any{"policy_id": policyID, "ttl_seconds": 7200}, &r); err != nil {
			return nil, err
		}
		ch, err := fieldhash.ReduceHex(r.Challenge)
		if err != nil {
			return nil, err
		}
		out[i] = presentation{id: r.ID, challenge: fieldhash.Hex(ch)}
	}
	return out, nil
}

func (h *harness) target(method, path, key string, body any) vegeta.Target {
	b, _ := json.Marshal(body)
	hdr := http.Header{}
	hdr.Set("Authorization", "Bearer "+key)
	hdr.Set("Content-Type", "application/json")
	return vegeta.Target{Method: method, URL: h.m.URL() + path, Body: b, Header: hdr}
}

// proofTargets are POST /v1/proofs bodies, one per request, cycling through the holders: each is
// a distinct (request, credential, secret), so each misses the proof cache.
func (h *harness) proofTargets(path string, reqs []presentation, holders []holderWith) []vegeta.Target {
	out := make([]vegeta.Target, len(reqs))
	for i, r := range reqs {
		hw := holders[i%len(holders)]
		out[i] = h.target("POST", path, keyHolder, map[string]any{"request_id": r.id, "credential": hw.credential, "holder_secret": hw.secret})
	}
	return out
}

// attackRun is the outcome of one vegeta attack.
type attackRun struct {
	latencies    []time.Duration
	codes        map[int]int
	errors       int
	errSample    []string
	hits, misses int
	bodies       [][]byte
	submitted    []time.Time // per body: when its request was sent
	metrics      vegeta.Metrics
}

// attack sends targets (cycled up to limit requests when cycle is set) with vegeta: a closed loop
// with inFlight requests at once when rate is 0, else an open loop at rate requests per second;
// it stops when the targets run out or after dur. A 2xx answer whose body lacks expect (when set)
// counts as an error. With keepBodies it keeps the 2xx bodies.
func (h *harness) attack(name string, tgts []vegeta.Target, cycle bool, limit, inFlight, rate int, dur time.Duration, expect []byte, keepBodies bool) *attackRun {
	var next atomic.Int64
	targeter := func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		if i >= int64(limit) || (!cycle && i >= int64(len(tgts))) {
			return vegeta.ErrNoTargets
		}
		*t = tgts[i%int64(len(tgts))]
		return nil
	}
	opts := []func(*vegeta.Attacker){vegeta.KeepAlive(true), vegeta.Timeout(2 * time.Minute), vegeta.MaxBody(64 << 10)}
	pacer := vegeta.ConstantPacer{} // zero: as fast as the workers go
	if rate == 0 {
		opts = append(opts, vegeta.Workers(uint64(inFlight)), vegeta.MaxWorkers(uint64(inFlight)), vegeta.Connections(inFlight))
	} else {
		pacer = vegeta.ConstantPacer{Freq: rate, Per: time.Second}
		opts = append(opts, vegeta.Workers(16), vegeta.MaxWorkers(128))
	}
	atk := vegeta.NewAttacker(opts...)
	r := &attackRun{codes: map[int]int{}}
	for res := range atk.Attack(vegeta.Targeter(targeter), pacer, dur, name) {
		if res.Code == 0 && res.Error == vegeta.ErrNoTargets.Error() {
			continue
		}
		r.metrics.Add(res)
		r.latencies = append(r.latencies, res.Latency)
		r.codes[int(res.Code)]++
		if res.Code < 200 || res.Code >= 300 || expect != nil && !bytes.Contains(res.Body, expect) {
			r.errors++
			if len(r.errSample) < 3 {
				r.errSample = append(r.errSample, fmt.Sprintf("%d %s %.200s", res.Code, res.Error, res.Body))
			}
			continue
		}
		switch res.Headers.Get("X-Cache") {
		case "hit":
			r.hits++
		case "miss":
			r.misses++
		}
		if keepBodies {
			r.bodies = append(r.bodies, res.Body)
			r.submitted = append(r.submitted, res.Timestamp)
		}
	}
	r.metrics.Close()
	return r
}

// scenario turns a run into its report entry.
func (h *harness) scenario(name, circuit, load string, inFlight, rate int, r *attackRun) Scenario {
	s := Scenario{
		Name: name, Mode: h.mode, Circuit: circuit, Load: load, InFlight: inFlight,
		Requests: len(r.latencies), Errors: r.errors, CacheHits: r.hits, CacheMisses: r.misses,
		Throughput:  Q{round(r.metrics.Throughput, 1), "req/s"},
		Duration:    Q{round((r.metrics.Duration + r.metrics.Wait).Seconds(), 2), "s"},
		ErrorSample: r.errSample,
		latencies:   r.latencies,
	}
	if rate > 0 {
		s.Rate = &Q{float64(rate), "req/s"}
	}
	s.setPercentiles()
	return s
}

// validTrue is in every answer of a verification that accepted the proof.
var validTrue = []byte(`"valid":true`)

// verifyPair is a proof and the request it answers.
type verifyPair struct {
	request string
	proof   *zkhealth.ProofFile
}

// proofsOf maps synchronous proof answers back to their requests by challenge.
func proofsOf(bodies [][]byte, reqs []presentation) ([]verifyPair, error) {
	byChallenge := map[string]string{}
	for _, r := range reqs {
		byChallenge[r.challenge] = r.id
	}
	var out []verifyPair
	for _, b := range bodies {
		f, err := zkhealth.ParseProof(b)
		if err != nil {
			return nil, err
		}
		id, ok := byChallenge[f.Public.Challenge]
		if !ok {
			return nil, errors.New("a proof answers no request of the run")
		}
		out = append(out, verifyPair{id, f})
	}
	return out, nil
}

func (h *harness) verifyTarget(p verifyPair) vegeta.Target {
	return h.target("POST", "/v1/verify", keyVerifier, map[string]any{"request_id": p.request, "proof": p.proof})
}

// uncachedTargets are n verifications, each of a distinct valid proof: the pairs' proofs
// re-randomised (benchmarks.Rerandomised), so no (request, proof) pair repeats and each takes the
// full verification path.
func (h *harness) uncachedTargets(pairs []verifyPair, n int) ([]vegeta.Target, error) {
	per := (n + len(pairs) - 1) / len(pairs)
	out := make([][]vegeta.Target, len(pairs))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, runtime.NumCPU())
	for i, p := range pairs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rs, err := benchmarks.Rerandomised(p.proof, per)
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			for _, r := range rs {
				out[i] = append(out[i], h.verifyTarget(verifyPair{p.request, r}))
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	// interleave the requests, so consecutive verifications are of different requests
	var all []vegeta.Target
	for k := range per {
		for i := range out {
			all = append(all, out[i][k])
		}
	}
	return all[:n], nil
}

// asyncRun queues n proofs with POST /v1/proofs?async=true and polls until all are done: the
// throughput is proofs per second from the first submission to the last completion seen (polled
// every 100 ms); the latencies are the jobs' own queue + prove times.
func (h *harness) asyncRun(name string, reqs []presentation, holders []holderWith, workers int) (Scenario, error) {
	tgts := h.proofTargets("/v1/proofs?async=true", reqs, holders)
	start := time.Now()
	sub := h.attack(name+"_submit", tgts, false, len(tgts), 4, 0, time.Minute, []byte(`"job_id"`), true)
	if sub.errors > 0 {
		return Scenario{}, fmt.Errorf("async submit: %d errors: %v", sub.errors, sub.errSample)
	}
	pending := map[string]bool{}
	for _, b := range sub.bodies {
		var acc struct {
			JobID string `json:"job_id"`
		}
		if err := json.Unmarshal(b, &acc); err != nil {
			return Scenario{}, err
		}
		pending[acc.JobID] = true
	}
	var lat, proveMS []time.Duration
	var last time.Time
	deadline := time.Now().Add(5 * time.Minute)
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			return Scenario{}, fmt.Errorf("async: %d jobs still pending after 5 minutes", len(pending))
		}
		time.Sleep(100 * time.Millisecond)
		for id := range pending {
			var job struct {
				Status  string          `json:"status"`
				Error   json.RawMessage `json:"error"`
				QueueMS *int64          `json:"queue_ms"`
				ProveMS *int64          `json:"prove_ms"`
			}
			if err := h.do("GET", "/v1/proofs/jobs/"+id, keyHolder, nil, &job); err != nil {
				return Scenario{}, err
			}
			switch job.Status {
			case "failed":
				return Scenario{}, fmt.Errorf("async job failed: %s", job.Error)
			case "done":
				delete(pending, id)
				last = time.Now()
				if job.QueueMS != nil && job.ProveMS != nil {
					lat = append(lat, time.Duration(*job.QueueMS+*job.ProveMS)*time.Millisecond)
					proveMS = append(proveMS, time.Duration(*job.ProveMS)*time.Millisecond)
				}
			}
		}
	}
	elapsed := last.Sub(start)
	load := fmt.Sprintf("%d jobs queued at once, %d prover(s)", len(reqs), workers)
	s := Scenario{
		Name: name, Mode: h.mode, Circuit: "coverage-v1", Load: load, Workers: workers, Requests: len(reqs),
		Throughput: Q{round(float64(len(reqs))/elapsed.Seconds(), 2), "proofs/s"},
		Duration:   Q{round(elapsed.Seconds(), 2), "s"},
		latencies:  lat,
	}
	if len(proveMS) > 0 {
		pm := msQ(median(proveMS))
		s.ProveMedian = &pm
	}
	s.setPercentiles()
	return s, nil
}

// runMode runs every scenario against one server.
func runMode(ctx context.Context, o options, rep *Report, p loadPlan, mode, redisURL, keysDir string) error {
	logf("HTTP %s: starting server", mode)
	h, err := startHarness(ctx, mode, redisURL, keysDir)
	if err != nil {
		return err
	}
	defer h.close()
	w, err := h.setUp(5, 3)
	if err != nil {
		return err
	}
	add := func(s Scenario, cmdsBefore int64) {
		if h.rdb != nil && cmdsBefore > 0 && s.Requests > 0 {
			per := Q{round(float64(h.redisCommands()-cmdsBefore)/float64(s.Requests), 1), "commands/request"}
			s.RedisCommands = &per
		}
		logf("HTTP %s %s (%s): %d requests, %.1f %s, p50 %.2f ms, p99 %.2f ms, %d errors",
			mode, s.Name, s.Load, s.Requests, s.Throughput.Value, s.Throughput.Unit, s.P50.Value, s.P99.Value, s.Errors)
		rep.HTTP = append(rep.HTTP, s)
	}

	// Synchronous proofs, one client: the latency a holder sees. Each is a proof-cache miss.
	var pairs []verifyPair
	for _, spec := range []struct {
		circuit, policy string
		n               int
		holders         []holderWith
	}{{"coverage-v1", w.coveragePolicy, p.syncCoverage, w.coverage}, {"clinical-v1", w.clinicalPolicy, p.syncClinical, w.clinical}} {
		reqs, err := h.openRequests(spec.policy, spec.n)
		if err != nil {
			return err
		}
		before := h.redisCommands()
		r := h.attack("proofs_sync", h.proofTargets("/v1/proofs", reqs, spec.holders), false, spec.n, 1, 0, 3*time.Minute, []byte(`"proof"`), true)
		if r.errors > 0 {
			return fmt.Errorf("proofs_sync %s: %d errors: %v", spec.circuit, r.errors, r.errSample)
		}
		add(h.scenario("proofs_sync", spec.circuit, "1 client, distinct requests", 1, 0, r), before)
		if spec.circuit == "coverage-v1" {
			if pairs, err = proofsOf(r.bodies, reqs); err != nil {
				return err
			}
		}
	}

	// Verification without the cache: every (request, proof) pair is new.
	uncached, err := h.uncachedTargets(pairs, p.maxUncached)
	if err != nil {
		return err
	}
	verify := func(name string, tgts []vegeta.Target, cycle bool, limit, rate int, dur time.Duration) (Scenario, error) {
		before := h.redisCommands()
		var r *attackRun
		err := profileTo(profileFor(o, mode, name, rate), func() error {
			r = h.attack(name, tgts, cycle, limit, p.verifyInFlight, rate, dur, validTrue, false)
			return nil
		})
		if err != nil {
			return Scenario{}, err
		}
		if r.errors > 0 {
			return Scenario{}, fmt.Errorf("%s: %d errors: %v", name, r.errors, r.errSample)
		}
		load := fmt.Sprintf("closed loop, %d in flight", p.verifyInFlight)
		inFlight := p.verifyInFlight
		if rate > 0 {
			load, inFlight = fmt.Sprintf("open loop, %d req/s", rate), 0
		}
		s := h.scenario(name, "coverage-v1", load, inFlight, rate, r)
		add(s, before)
		return s, nil
	}
	sat, err := verify("verify_uncached", uncached, false, len(uncached), 0, p.verifyDuration)
	if err != nil {
		return err
	}
	used := sat.Requests
	if sat.CacheHits > 0 {
		return fmt.Errorf("verify_uncached: %d cache hits", sat.CacheHits)
	}
	rate := int(sat.Throughput.Value * openLoopShare)
	if left := len(uncached) - used; rate*int(p.rateDuration.Seconds()) > left {
		rate = left / max(1, int(p.rateDuration.Seconds()))
	}
	if rate > 0 {
		s, err := verify("verify_uncached", uncached[used:], false, len(uncached)-used, rate, p.rateDuration)
		if err != nil {
			return err
		}
		if s.CacheHits > 0 {
			return fmt.Errorf("verify_uncached at a fixed rate: %d cache hits", s.CacheHits)
		}
	}

	// Verification of pairs already verified once: the cache answers.
	cached := make([]vegeta.Target, len(pairs))
	for i, pr := range pairs {
		cached[i] = h.verifyTarget(pr)
	}
	if warm := h.attack("verify_warm", cached, false, len(cached), 1, 0, time.Minute, validTrue, false); warm.errors > 0 {
		return fmt.Errorf("verify_warm: %d errors: %v", warm.errors, warm.errSample)
	}
	satC, err := verify("verify_cached", cached, true, p.maxCached, 0, p.verifyDuration)
	if err != nil {
		return err
	}
	if satC.CacheMisses > 0 {
		return fmt.Errorf("verify_cached: %d cache misses", satC.CacheMisses)
	}
	if rate := int(satC.Throughput.Value * openLoopShare); rate > 0 {
		if _, err := verify("verify_cached", cached, true, p.maxCached, rate, p.rateDuration); err != nil {
			return err
		}
	}

	// Asynchronous proofs: the embedded in-process pool, or 1 then 2 Redis workers.
	asyncCounts := []int{0}
	switch {
	case mode == "redis" && o.quick:
		asyncCounts = []int{1}
	case mode == "redis":
		asyncCounts = []int{1, 2}
	}
	for _, n := range asyncCounts {
		provers := n
		if n == 0 {
			provers = h.proveWorkers()
		}
		for len(h.workers) < n {
			h.addWorker()
		}
		reqs, err := h.openRequests(w.coveragePolicy, p.asyncJobs)
		if err != nil {
			return err
		}
		s, err := h.asyncRun("proofs_async", reqs, w.coverage, provers)
		if err != nil {
			return err
		}
		add(s, 0)
		if mode == "redis" {
			rep.Workers = append(rep.Workers, WorkerPoint{Workers: n, Throughput: s.Throughput, Jobs: s.Requests, ProveMedian: s.ProveMedian})
		}
	}
	return nil
}

// proveWorkers is the server's in-process proving pool (app.Config's default: half the CPUs).
func (h *harness) proveWorkers() int {
	if h.cfg.ProveWorkers > 0 {
		return h.cfg.ProveWorkers
	}
	return max(1, runtime.NumCPU()/2)
}

// profileFor names the CPU profile of a closed-loop verify run (the verify path at its busiest),
// or "" when profiles are not asked for.
func profileFor(o options, mode, name string, rate int) string {
	if o.profileDir == "" || rate != 0 {
		return ""
	}
	return filepath.Join(o.profileDir, fmt.Sprintf("http_%s_%s.pprof", name, mode))
}
