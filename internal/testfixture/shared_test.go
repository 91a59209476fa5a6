package testfixture

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// fatalTB records the first Fatalf and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestSyntheaDirMissing: without the shared fixtures, a test that needs them fails saying what is
// missing, where it looked and how to provide it.
func TestSyntheaDirMissing(t *testing.T) {
	t.Setenv(EnvShared, t.TempDir())
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		SyntheaDir(f)
	}()
	<-done
	for _, want := range []string{"shared Synthea fixtures are missing", "fixtures/fhir/synthea", "../shared", EnvShared} {
		if !strings.Contains(f.msg, want) {
			t.Errorf("failure %q does not say %q", f.msg, want)
		}
	}
}

// TestSyntheaBundle: the shared bundles are found from a package directory.
func TestSyntheaBundle(t *testing.T) {
	if len(SyntheaBundle(t, "Louis_Maggio")) == 0 || len(SyntheaBundles(t)) < 2 {
		t.Fatal("no Synthea bundles")
	}
}
