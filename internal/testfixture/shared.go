package testfixture

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// EnvShared names the directory of the shared fixtures when it is not ../shared beside the
// repository.
const EnvShared = "ZKHEALTH_SHARED"

// sharedDir is $ZKHEALTH_SHARED, else the directory shared beside the repository's root (the
// directory holding go.mod, found upwards from the working directory: a test runs in its
// package's directory).
func sharedDir() (string, error) {
	if dir := os.Getenv(EnvShared); dir != "" {
		return dir, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// SyntheaDir is the directory of the shared Synthea FHIR bundles, shared/fixtures/fhir/synthea.
// When it is missing the test fails, saying where it looked and how to provide it.
func SyntheaDir(tb testing.TB) string {
	tb.Helper()
	shared, err := sharedDir()
	if err != nil {
		tb.Fatalf("shared fixtures: %v (set %s to the shared directory)", err, EnvShared)
	}
	dir := filepath.Join(shared, "fixtures", "fhir", "synthea")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		tb.Fatalf("the shared Synthea fixtures are missing: no directory %s. Clone the shared repository beside this one "+
			"(as ../shared) or set %s to where it is.", dir, EnvShared)
	}
	return dir
}

// SyntheaPath is the path of the one Synthea bundle whose file name starts with name + "_"
// ("Louis" or "Louis_Maggio").
func SyntheaPath(tb testing.TB, name string) string {
	tb.Helper()
	dir := SyntheaDir(tb)
	paths, err := filepath.Glob(filepath.Join(dir, name+"_*.json"))
	if err != nil || len(paths) != 1 {
		tb.Fatalf("Synthea bundle %s: %d files in %s match %s_*.json (%v), want 1", name, len(paths), dir, name, err)
	}
	return paths[0]
}

// SyntheaBundle reads the Synthea bundle SyntheaPath names.
func SyntheaBundle(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(SyntheaPath(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// SyntheaBundles reads every Synthea bundle, by file name.
func SyntheaBundles(tb testing.TB) map[string][]byte {
	tb.Helper()
	dir := SyntheaDir(tb)
	out := map[string][]byte{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".json" || filepath.Dir(p) != "." {
			return err
		}
		data, err := os.ReadFile(filepath.Join(dir, p))
		out[p] = data
		return err
	})
	if err != nil || len(out) == 0 {
		tb.Fatalf("Synthea bundles in %s: %d read, %v", dir, len(out), fmt.Sprint(err))
	}
	return out
}
