package cli

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/zkhealth/zkhealth/app"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/server/servertest"
	"github.com/zkhealth/zkhealth/verifier/auditlog"
)

const logTestVerifier = "log-test-verifier-key"

// logServer is a real embedded `zkhealth serve` for the log commands to check.
type logServer struct {
	t       *testing.T
	cfg     app.Config
	m       *app.Main
	c       *servertest.Client
	policy  string
	vkey    string
	holder  string // HOLDER.key path
	scope   string
	nullHex string
}

func startLogServer(t *testing.T, dataDir string) *logServer {
	t.Helper()
	s := &logServer{t: t, cfg: app.Config{
		Addr: "127.0.0.1:0", DataDir: dataDir, KeysDir: keysDir(t), APIKeys: "verifier:" + logTestVerifier,
		RateLimit: -1, ProveWorkers: 1, LogOrigin: "zkhealth.test/cli", Logger: slog.New(slog.DiscardHandler), Stdout: io.Discard,
	}}
	s.start()
	return s
}

func (s *logServer) start() {
	s.t.Helper()
	s.m = app.New(s.cfg)
	if err := s.m.Open(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	m := s.m
	s.t.Cleanup(func() { m.Close() })
	s.c = servertest.New(s.t, s.m.URL())
	s.vkey = s.m.AuditLog.VerifierKey()
}

func (s *logServer) stop() {
	s.t.Helper()
	if err := s.m.Close(); err != nil {
		s.t.Fatal(err)
	}
}

// verifyJunk has the service verify n proofs that name the holder's nullifier but do not verify
// (their issuer key does not parse): n entries with result malformed_proof, made without
// proving.
func (s *logServer) verifyJunk(n int) {
	s.t.Helper()
	if s.policy == "" {
		r := s.c.Do(servertest.Request{Method: "POST", Path: "/v1/policies", Key: logTestVerifier, Body: testfixture.CoveragePolicy})
		var sp struct{ ID string }
		r.JSON(s.t, &sp)
		s.policy = sp.ID
	}
	for range n {
		var req struct{ ID, Scope string }
		s.c.Do(servertest.Request{Method: "POST", Path: "/v1/requests", Key: logTestVerifier, Body: map[string]any{"policy_id": s.policy}}).JSON(s.t, &req)
		proof := map[string]any{"version": 1, "circuit": "coverage-v2-s", "backend": "groth16", "vk_fingerprint": "00", "proof": "AAAA",
			"public": map[string]any{"policy_hash": "0x01", "issuer": "not a key", "challenge": "0x01", "nullifier": s.nullHex},
			"as_of":  testfixture.AsOf, "scope": req.Scope}
		r := s.c.Do(servertest.Request{Method: "POST", Path: "/v1/verify", Key: logTestVerifier, Body: map[string]any{"request_id": req.ID, "proof": proof}})
		if r.Status != 200 || !strings.Contains(string(r.Body), "malformed_proof") {
			s.t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
	}
}

// alterLeaf rewrites entry i in the stopped server's bolt file (its result becomes
// proof_rejected); with rehash, it also drops the stored tree so the next start derives a new one
// from the altered leaves: a rewritten history, signed as if it were the log's.
func (s *logServer) alterLeaf(i uint64, rehash bool) {
	s.t.Helper()
	db, err := bbolt.Open(filepath.Join(s.cfg.DataDir, "zkhealth.db"), 0o600, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		leaves := tx.Bucket([]byte("log_leaves"))
		k := binary.BigEndian.AppendUint64(nil, i)
		e, err := auditlog.UnmarshalEntry(leaves.Get(k))
		if err != nil {
			return err
		}
		e.Result = "proof_rejected"
		b, err := e.MarshalBinary()
		if err != nil {
			return err
		}
		if err := leaves.Put(k, b); err != nil {
			return err
		}
		if !rehash {
			return nil
		}
		if err := tx.DeleteBucket([]byte("log_nodes")); err != nil {
			return err
		}
		return tx.Bucket([]byte("log_meta")).Delete([]byte("synced"))
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// TestLogVerify is `zkhealth log verify` and `zkhealth log audit` against a real server: a log
// that grows verifies against its earlier checkpoint; a stored entry altered in place, or a
// history rewritten and re-signed, is found (exit 1) against an earlier checkpoint; bad usage
// exits 2 and an unreachable service 4.
func TestLogVerify(t *testing.T) {
	dir := t.TempDir()
	s := startLogServer(t, filepath.Join(dir, "data"))
	hk, err := credential.GenerateHolderKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.holder = writeFile(t, dir, "holder.key", string(must(hk.MarshalJSON())))
	s.scope = "payer:acme:eligibility" // testfixture.CoveragePolicy's
	s.nullHex = fieldhash.Hex(hk.Nullifier(fieldhash.String(s.scope)))
	s.verifyJunk(3)
	url := s.m.URL()
	cp1, cp2 := filepath.Join(dir, "cp1.txt"), filepath.Join(dir, "cp2.txt")
	keyFile := writeFile(t, dir, "log.pub", s.vkey+"\n")

	r := mustZK(t, "log", "verify", "--url", url, "--key", s.vkey, "--out", cp1)
	if !strings.Contains(r.stdout, "log verified: origin zkhealth.test/cli, 3 entries") {
		t.Fatalf("log verify: %v", r)
	}
	s.verifyJunk(2)
	// no --key: the key the service serves must verify the earlier checkpoint
	r = mustZK(t, "log", "verify", "--url", url, "--checkpoint", cp1, "--out", cp2)
	if !strings.Contains(r.stdout, "5 entries") || !strings.Contains(r.stdout, "consistent with the earlier checkpoint") {
		t.Fatalf("log verify --checkpoint: %v", r)
	}
	mustZK(t, "log", "verify", "--url", url, "--key", keyFile, "--checkpoint", cp2)

	r = mustZK(t, "log", "audit", "--url", url, "--key", s.vkey, "--holder", s.holder, "--scope", s.scope)
	if !strings.HasPrefix(r.stdout, "nullifier="+s.nullHex+" log=zkhealth.test/cli size=5 entries=5\n") || strings.Count(r.stdout, " malformed_proof binding=") != 5 {
		t.Fatalf("log audit: %v", r)
	}
	if strings.Contains(r.stdout, hk.SecretHex()) {
		t.Fatal("log audit printed the holder secret")
	}
	r = mustZK(t, "log", "audit", "--url", url, "--key", s.vkey, "--holder", s.holder, "--scope", "another:scope")
	if !strings.Contains(r.stdout, " entries=0\n") {
		t.Fatalf("log audit of another scope: %v", r)
	}

	t.Run("Refused", func(t *testing.T) {
		other, err := auditlog.GenerateKey("zkhealth.test/cli")
		if err != nil {
			t.Fatal(err)
		}
		garbage := writeFile(t, dir, "garbage.txt", "not a checkpoint\n")
		for _, tc := range []struct {
			name string
			args []string
			code int
			want []string
		}{
			{"NoKeyNoCheckpoint", []string{"log", "verify", "--url", url}, ExitUsage, []string{"--key: required", "/v1/log/key"}},
			{"BadKey", []string{"log", "verify", "--url", url, "--key", "nonsense"}, ExitUsage, []string{"--key"}},
			{"BadURL", []string{"log", "verify", "--url", "ftp://x", "--key", s.vkey}, ExitUsage, []string{"--url"}},
			{"NoURL", []string{"log", "verify", "--key", s.vkey}, ExitUsage, []string{"url"}},
			{"GarbageCheckpoint", []string{"log", "verify", "--url", url, "--key", s.vkey, "--checkpoint", garbage}, ExitUsage, []string{garbage, "checkpoint"}},
			{"MissingCheckpoint", []string{"log", "verify", "--url", url, "--key", s.vkey, "--checkpoint", garbage + ".missing"}, ExitFailure, []string{garbage + ".missing"}},
			{"AnotherKey", []string{"log", "verify", "--url", url, "--key", other.VerifierKey()}, ExitInvalidProof, []string{"log does not verify", "checkpoint"}},
			{"EarlierUnderAnotherKey", []string{"log", "verify", "--url", url, "--key", other.VerifierKey(), "--checkpoint", cp2}, ExitUsage, []string{cp2}},
			{"Unreachable", []string{"log", "verify", "--url", "http://127.0.0.1:1", "--key", s.vkey}, ExitFailure, []string{"/v1/log/checkpoint"}},
			{"AuditNoKey", []string{"log", "audit", "--url", url, "--holder", s.holder, "--scope", s.scope}, ExitUsage, []string{"--key"}},
			{"AuditBadHolder", []string{"log", "audit", "--url", url, "--key", s.vkey, "--holder", garbage, "--scope", s.scope}, ExitUsage, []string{garbage}},
		} {
			t.Run(tc.name, func(t *testing.T) { wantFailure(t, zk(t, tc.args...), tc.code, tc.want) })
		}
	})

	// A stored entry altered in place (the tree's hashes left alone): the checkpoint still says
	// the old root, but the entries no longer hash to it.
	s.stop()
	s.alterLeaf(1, false)
	s.start()
	url = s.m.URL()
	wantFailure(t, zk(t, "log", "verify", "--url", url, "--checkpoint", cp2), ExitInvalidProof,
		[]string{"log does not verify", "first 5 entries do not hash to the earlier checkpoint's root", "altered"})
	wantFailure(t, zk(t, "log", "verify", "--url", url, "--key", s.vkey), ExitInvalidProof,
		[]string{"5 entries do not hash to its checkpoint's root"})

	// A rewritten history: entry 1 altered and the tree derived anew from the altered leaves, then
	// one more verification. Its checkpoints verify on their own, but not as a continuation of
	// the earlier one.
	s.stop()
	s.alterLeaf(1, true)
	s.start()
	url = s.m.URL()
	mustZK(t, "log", "verify", "--url", url, "--key", s.vkey) // self-consistent: only a kept checkpoint shows the rewrite
	wantFailure(t, zk(t, "log", "verify", "--url", url, "--checkpoint", cp2), ExitInvalidProof,
		[]string{"another root than the earlier checkpoint", "history was rewritten"})
	s.verifyJunk(1)
	wantFailure(t, zk(t, "log", "verify", "--url", url, "--key", s.vkey, "--checkpoint", cp2), ExitInvalidProof,
		[]string{"6 entries is not consistent with the earlier checkpoint of 5", "history was rewritten"})
	if _, err := os.Stat(filepath.Join(s.cfg.DataDir, "log.key")); err != nil {
		t.Fatalf("log.key: %v", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return b
}

func TestLogHelp(t *testing.T) {
	for _, path := range [][]string{{"log"}, {"log", "verify"}, {"log", "audit"}} {
		r := zk(t, append(path, "--help")...)
		if r.code != ExitOK || r.stderr != "" {
			t.Fatal(r)
		}
		for _, want := range []string{"Usage:", "Examples:", "zkhealth " + strings.Join(path, " ")} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v help lacks %q:\n%s", path, want, r.stdout)
			}
		}
	}
}
