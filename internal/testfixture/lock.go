package testfixture

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// lockDir takes an exclusive flock on dir/.lock so parallel test binaries do not set up the same
// keys at once.
func lockDir(tb testing.TB, dir string) func() {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		tb.Fatal(err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}
