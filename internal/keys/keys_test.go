package keys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

// copyKeys copies the shared coverage Groth16 key set into a fresh directory.
func copyKeys(t *testing.T) string {
	t.Helper()
	testfixture.Quiet()
	src := testfixture.KeysDir(t, keys.Groth16, schema.Coverage())
	dst := t.TempDir()
	for _, ext := range []string{".ccs", ".pk", ".vk", ".json"} {
		data, err := os.ReadFile(filepath.Join(src, "coverage-v2-s.groth16"+ext))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, "coverage-v2-s.groth16"+ext), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestSetupIdempotent(t *testing.T) {
	dir := copyKeys(t)
	cov := schema.Coverage()
	covS := cov.Circuits[0]
	before, _ := os.ReadFile(filepath.Join(dir, "coverage-v2-s.groth16.vk"))
	var log bytes.Buffer
	info, reused, err := keys.Setup(context.Background(), dir, cov, covS, keys.Groth16, keys.LineReporter(&log))
	if err != nil || !reused {
		t.Fatalf("Setup on unchanged keys: reused=%v err=%v", reused, err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "coverage-v2-s.groth16.vk"))
	if !bytes.Equal(before, after) || bytes.Contains(log.Bytes(), []byte("WARNING")) {
		t.Fatalf("unchanged keys were rewritten (log %q)", log.String())
	}
	// progress: what it does, then that it kept the keys and how long checking took
	if !regexp.MustCompile(`^setting up coverage-v2-s keys \(groth16\)…\ncoverage-v2-s keys \(groth16\) unchanged, kept \(checked in [0-9.hms]+\)\n$`).Match(log.Bytes()) {
		t.Errorf("progress of a kept setup: %q", log.String())
	}
	log.Reset()
	if info.Constraints == 0 || info.VKFingerprint == "" || info.PublicInputs != 5 {
		t.Errorf("info %+v", info)
	}

	// a recorded digest that no longer matches the circuit means the circuit changed: new keys
	meta := filepath.Join(dir, "coverage-v2-s.groth16.json")
	var m map[string]any
	data, _ := os.ReadFile(meta)
	json.Unmarshal(data, &m)
	m["ccs_sha256"] = "0000"
	data, _ = json.Marshal(m)
	os.WriteFile(meta, data, 0o600)
	info2, reused, err := keys.Setup(context.Background(), dir, cov, covS, keys.Groth16, keys.LineReporter(&log))
	if err != nil || reused {
		t.Fatalf("Setup after a circuit change: reused=%v err=%v", reused, err)
	}
	if !regexp.MustCompile(`^setting up coverage-v2-s keys \(groth16\)…\nWARNING: coverage-v2-s/groth16: DEVELOPMENT SETUP .*\ncoverage-v2-s keys \(groth16\) set up in [0-9.hms]+\n$`).Match(log.Bytes()) {
		t.Errorf("progress of a new setup, with the warning: %q", log.String())
	}
	if info2.VKFingerprint == info.VKFingerprint {
		t.Errorf("new keys have the old fingerprint")
	}
	if _, err := keys.Load(dir, "coverage-v2-s", keys.Groth16, true); err != nil {
		t.Fatalf("load new keys: %v", err)
	}
}

func TestLoadRefusals(t *testing.T) {
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := keys.Load(t.TempDir(), "coverage-v2-s", keys.Groth16, false); !errors.Is(err, keys.ErrNotFound) {
			t.Fatalf("empty dir: %v", err)
		}
	})
	t.Run("ErrFingerprint", func(t *testing.T) {
		dir := copyKeys(t)
		vk := filepath.Join(dir, "coverage-v2-s.groth16.vk")
		data, _ := os.ReadFile(vk)
		data[len(data)-1] ^= 1 // a different (or malformed) key under this key set's meta
		os.WriteFile(vk, data, 0o600)
		if _, err := keys.Load(dir, "coverage-v2-s", keys.Groth16, false); err == nil {
			t.Fatal("altered verifying key loaded")
		}
	})
	t.Run("ErrBackend", func(t *testing.T) {
		if _, err := keys.ParseBackend("stark"); err == nil {
			t.Fatal("unknown backend accepted")
		}
		for _, b := range []string{"groth16", "plonk"} {
			if _, err := keys.ParseBackend(b); err != nil {
				t.Errorf("%s: %v", b, err)
			}
		}
	})
}
