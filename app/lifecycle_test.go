package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/redistest"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/server"
	"github.com/zkhealth/zkhealth/server/servertest"
)

// TestRestart checks that the embedded store keeps requests, nullifiers and the issuer registry
// across a restart, and that the server secret and issuer key are reused.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, Config{DataDir: dir})
	pid := a.registerPolicy(t, coveragePolicy())
	req := a.openRequest(t, pid, 3600)
	h := a.issue(t, "coverage", coverageAttrs())
	proof, _ := a.prove(t, req.ID, h)
	if res, _ := a.verify(t, req.ID, proof); !res.Valid || !res.FirstUse {
		t.Fatalf("before restart: %+v", res)
	}
	var issuersBefore []zkhealth.Issuer
	a.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/issuers"}).JSON(t, &issuersBefore)
	secret, _ := os.ReadFile(filepath.Join(dir, secretFile))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b := startApp(t, Config{DataDir: dir})
	var again presentationRequest
	b.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/requests/" + req.ID}).JSON(t, &again)
	if again != req {
		t.Errorf("request after restart: %+v, want %+v", again, req)
	}
	// the same verification repeated keeps its first answer, although caches are in memory
	res, xc := b.verify(t, req.ID, proof)
	if !res.Valid || !res.FirstUse || xc != "miss" {
		t.Errorf("same verification after restart: %+v X-Cache %q, want the first answer recomputed", res, xc)
	}
	// a new proof by the same holder for the same scope: the nullifier registry survived
	req2 := b.openRequest(t, pid, 3600)
	proof2, _ := b.prove(t, req2.ID, h)
	if res, _ := b.verify(t, req2.ID, proof2); !res.Valid || res.FirstUse {
		t.Errorf("second enrolment after restart (nullifiers on disk): %+v", res)
	}
	var issuersAfter []zkhealth.Issuer
	b.do(t, 200, servertest.Request{Method: "GET", Path: "/v1/issuers"}).JSON(t, &issuersAfter)
	if len(issuersAfter) != 1 || issuersAfter[0] != issuersBefore[0] {
		t.Errorf("issuers: before %+v, after %+v", issuersBefore, issuersAfter)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, secretFile)); !bytes.Equal(now, secret) {
		t.Error("the server secret changed across a restart")
	}
	for _, f := range []string{secretFile, issuerFile, dbFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v", f, err, fi.Mode())
		}
	}
}

// redisProc is a redis-server of the test's own, so the test can stop it and start it again on
// the same port.
type redisProc struct {
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedis(t *testing.T, port int) *redisProc {
	t.Helper()
	if !redistest.Installed() {
		t.Fatal(redistest.InstallHint)
	}
	dir := t.TempDir()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &redisProc{port: port, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	c := redis.NewClient(&redis.Options{Addr: p.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %d: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *redisProc) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

func (p *redisProc) stop() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
		<-p.done
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestRedisFault stops Redis under a serving process: /readyz turns 503 within a second and
// requests fail cleanly (503 unavailable, quickly, no panic); when Redis is back on the same port
// the process recovers without a restart.
func TestRedisFault(t *testing.T) {
	port := freePort(t)
	rp := startRedis(t, port)
	a := startApp(t, Config{RedisURL: "redis://" + rp.addr() + "/0", RedisPrefix: "zkhfault:", RateLimit: 1000})
	pid := a.registerPolicy(t, coveragePolicy())
	req := a.openRequest(t, pid, 0)
	a.do(t, 200, servertest.Request{Method: "GET", Path: "/readyz"})

	rp.stop()
	waitStatus(t, a, "/readyz", 503, 1500*time.Millisecond)
	for _, r := range []servertest.Request{
		{Method: "GET", Path: "/v1/requests/" + req.ID},
		{Method: "GET", Path: "/v1/issuers"},
		{Method: "POST", Path: "/v1/policies", Key: verifierKey, Body: coveragePolicy()},
		{Method: "POST", Path: "/v1/requests", Key: verifierKey, Body: map[string]any{"policy_id": pid}},
		{Method: "POST", Path: "/v1/verify", Key: verifierKey, Body: map[string]any{"request_id": req.ID,
			"proof": map[string]any{"version": 1, "circuit": "coverage-v2-s", "backend": "groth16", "vk_fingerprint": "00",
				"proof": "AAAA", "public": map[string]any{"policy_hash": "0x1", "issuer": "00", "challenge": "0x1", "nullifier": "0x1"},
				"as_of": day(0), "scope": "s"}}},
		{Method: "POST", Path: "/v1/proofs?async=true", Key: holderKey, Body: map[string]any{"request_id": req.ID, "credential": map[string]any{"version": 1}, "holder_secret": "00"}},
	} {
		start := time.Now()
		res := a.c.Do(r)
		if res.Status != 503 || res.ErrorCode() != "unavailable" {
			t.Errorf("%s %s with Redis down: %d %s", r.Method, r.Path, res.Status, res.Body)
		}
		t.Logf("%s %s with Redis down: %d in %v", r.Method, r.Path, res.Status, time.Since(start).Round(time.Millisecond))
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s %s took %v with Redis down", r.Method, r.Path, d)
		}
	}
	a.do(t, 200, servertest.Request{Method: "GET", Path: "/healthz"})

	startRedis(t, port) // empty: no persistence
	waitStatus(t, a, "/readyz", 200, 3*time.Second)
	pid2 := a.registerPolicy(t, coveragePolicy())
	a.openRequest(t, pid2, 0)
	a.do(t, 404, servertest.Request{Method: "GET", Path: "/v1/requests/" + req.ID})
}

func waitStatus(t *testing.T, a *testApp, path string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := a.c.Do(servertest.Request{Method: "GET", Path: path})
		if r.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %d after %v, want %d", path, r.Status, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLoad sends 200 concurrent verifications over loopback: half repeat a verified proof (cache
// hits, first use), half verify another proof of the same holder and scope (double use). All must
// answer correctly within a bounded time.
func TestLoad(t *testing.T) {
	const n = 200
	a := startApp(t, Config{})
	pid := a.registerPolicy(t, coveragePolicy())
	h := a.issue(t, "coverage", coverageAttrs())
	r1, r2 := a.openRequest(t, pid, 0), a.openRequest(t, pid, 0)
	p1, _ := a.prove(t, r1.ID, h)
	p2, _ := a.prove(t, r2.ID, h)
	first, _ := a.verify(t, r1.ID, p1)
	if !first.Valid || !first.FirstUse {
		t.Fatalf("first verification: %+v", first)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if ctx.Err() != nil {
				errs <- ctx.Err()
				return
			}
			req, proof, wantFirst := r1.ID, p1, true
			if i%2 == 1 {
				req, proof, wantFirst = r2.ID, p2, false
			}
			resp, err := a.c.Try(servertest.Request{Method: "POST", Path: "/v1/verify", Key: verifierKey,
				Body: map[string]any{"request_id": req, "proof": proof}})
			if err != nil {
				errs <- err
				return
			}
			var res verifyResult
			if resp.Status != 200 || json.Unmarshal(resp.Body, &res) != nil || !res.Valid || res.FirstUse != wantFirst || res.Nullifier != first.Nullifier {
				errs <- fmt.Errorf("request %d: %d %s", i, resp.Status, resp.Body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	d := time.Since(start)
	t.Logf("%d concurrent verifications in %v", n, d)
	if d > 30*time.Second {
		t.Errorf("%d verifications took %v", n, d)
	}
}

// TestStartup covers the start-up rules: no API keys without --dev, --dev keys (printed once,
// written 0600, one per role, working), a port in use failing at once, and distinct derived keys.
func TestStartup(t *testing.T) {
	t.Run("ErrNoAPIKeys", func(t *testing.T) {
		cfg, _ := baseConfig(t, Config{APIKeys: "", Dev: false})
		cfg.APIKeys = ""
		err := New(cfg).Open(context.Background())
		if zkhealth.ErrorCode(err) != zkhealth.EInvalid {
			t.Errorf("open without keys: %v", err)
		}
	})
	t.Run("Dev", func(t *testing.T) {
		out := &servertest.LogBuffer{}
		a := startApp(t, Config{Dev: true, Stdout: out})
		if len(a.DevKeys) != 4 {
			t.Fatalf("dev keys: %v", a.DevKeys)
		}
		fi, err := os.Stat(filepath.Join(a.cfg.DataDir, devKeysFile))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("dev-keys.json: %v %v", err, fi)
		}
		for role, key := range a.DevKeys {
			if !bytes.Contains([]byte(out.String()), []byte(key)) {
				t.Errorf("the %s key was not printed", role)
			}
			if bytes.Contains([]byte(a.log.String()), []byte(key)) {
				t.Errorf("the %s key is in the log", role)
			}
		}
		a.do(t, 201, servertest.Request{Method: "POST", Path: "/v1/policies", Key: a.DevKeys[server.RoleVerifier], Body: coveragePolicy()})
		a.do(t, 403, servertest.Request{Method: "POST", Path: "/v1/policies", Key: a.DevKeys[server.RoleHolder], Body: coveragePolicy()})
		keysFile := filepath.Join(a.cfg.DataDir, devKeysFile)
		// A keys file in the dev-keys.json format is accepted as such.
		k, err := readKeysFile(keysFile)
		if err != nil || len(k) != 4 {
			t.Errorf("keys file: %v %v", k, err)
		}
	})
	t.Run("FirstStartProgress", func(t *testing.T) {
		// the data dir's key directory holds the shared keys, so the first start checks them
		// (compiling each circuit: seconds) instead of making new ones; it says so as it goes
		data := t.TempDir()
		src, dst := testKeysDir(t), filepath.Join(data, keysSubdir)
		if err := os.MkdirAll(dst, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, id := range schema.CircuitIDs() {
			for _, ext := range []string{".ccs", ".pk", ".vk", ".json"} {
				b, err := os.ReadFile(filepath.Join(src, id+".groth16"+ext))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dst, id+".groth16"+ext), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		cfg, log := baseConfig(t, Config{DataDir: data})
		cfg.KeysDir = ""
		m := New(cfg)
		if err := m.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var msgs []string
		for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
			var rec struct{ Msg string }
			if json.Unmarshal([]byte(line), &rec) == nil {
				msgs = append(msgs, rec.Msg)
			}
		}
		all := strings.Join(msgs, "\n")
		for _, id := range schema.CircuitIDs() {
			if !regexp.MustCompile(`setting up ` + id + ` keys \(groth16\)…\n` + id + ` keys \(groth16\) unchanged, kept \(checked in [0-9.hms]+\)`).MatchString(all) {
				t.Errorf("no progress for %s in the log:\n%s", id, all)
			}
		}
		if !regexp.MustCompile(`loading circuit keys…\ncircuit keys loaded in [0-9.hms]+`).MatchString(all) {
			t.Errorf("no progress of key loading in the log:\n%s", all)
		}
	})
	t.Run("ErrPortInUse", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		cfg, _ := baseConfig(t, Config{Addr: l.Addr().String()})
		start := time.Now()
		err = New(cfg).Open(context.Background())
		if err == nil || time.Since(start) > 2*time.Second {
			t.Errorf("open on a used port: %v after %v", err, time.Since(start))
		}
	})
	t.Run("DerivedKeys", func(t *testing.T) {
		cfg := Config{Secret: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}
		s, err := cfg.loadSecret()
		if err != nil || bytes.Equal(s.cacheHMAC, s.jobAEAD) || len(s.jobAEAD) != 32 {
			t.Errorf("derived keys: %v", err)
		}
		if _, err := (Config{Secret: "abc"}).loadSecret(); zkhealth.ErrorCode(err) != zkhealth.EInvalid {
			t.Errorf("short secret: %v", err)
		}
	})
	t.Run("ParseAPIKeys", func(t *testing.T) {
		k, err := ParseAPIKeys("admin:a1, holder:h1\nverifier:v1")
		if err != nil || len(k) != 3 || k["h1"] != server.RoleHolder {
			t.Errorf("ParseAPIKeys: %v %v", k, err)
		}
		for _, bad := range []string{"nobody:SECRETKEY1", "holder:", "SECRETKEY1"} {
			if _, err := ParseAPIKeys(bad); err == nil || strings.Contains(err.Error(), "SECRETKEY1") {
				t.Errorf("ParseAPIKeys(%q): %v", bad, err)
			}
		}
	})
}

// TestGracefulShutdown closes the server while a synchronous proof and a proof job are in
// flight: both finish.
func TestGracefulShutdown(t *testing.T) {
	cfg, _ := baseConfig(t, Config{})
	m := New(cfg)
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := &testApp{Main: m, cfg: cfg, c: servertest.New(t, m.URL())}
	pid := a.registerPolicy(t, testfixture.ClinicalPolicy)
	h := a.issue(t, "clinical", clinicalAttrs())
	jobReq, syncReq := a.openRequest(t, pid, 0), a.openRequest(t, pid, 0)
	r := a.do(t, 202, servertest.Request{Method: "POST", Path: "/v1/proofs?async=true", Key: holderKey, Body: proveBody(jobReq.ID, h)})
	var acc struct {
		JobID string `json:"job_id"`
	}
	r.JSON(t, &acc)
	syncDone := make(chan *servertest.Response, 1)
	go func() {
		r, _ := a.c.Try(servertest.Request{Method: "POST", Path: "/v1/proofs", Key: holderKey, Body: proveBody(syncReq.ID, h)})
		syncDone <- r
	}()
	time.Sleep(100 * time.Millisecond) // the synchronous proof is under way
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if r := <-syncDone; r == nil || r.Status != 200 {
		t.Errorf("synchronous proof in flight at shutdown: %+v", r)
	}
	job, err := m.Service.Job(context.Background(), acc.JobID)
	if err != nil || job.Status != zkhealth.JobDone {
		t.Errorf("proof job in flight at shutdown: %+v %v", job, err)
	}
	if _, err := net.DialTimeout("tcp", m.Addr(), time.Second); err == nil {
		t.Error("still accepting connections after Close")
	}
}
