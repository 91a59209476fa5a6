package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestBinary builds the binary and checks what only a real process shows: nothing but the
// command's own output reaches stdout (no gnark log lines from package initialisation) and the
// exit code reaches the shell.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "zkhealth")
	const commit = "0123456789abcdef0123456789abcdef01234567"
	ldflags := "-X github.com/zkhealth/zkhealth/cli.linkedCommit=" + commit // as make build does
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(args ...string) (stdout, stderr string, code int) {
		var o, e bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}

	stdout, stderr, code := run("holder", "keygen", "--out", filepath.Join(dir, "holder.key"))
	if code != 0 || stderr != "" || !regexp.MustCompile(`^0x[0-9a-f]{64}\n$`).MatchString(stdout) {
		t.Errorf("holder keygen: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, stderr, code = run("--version")
	if code != 0 || stderr != "" || !regexp.MustCompile(`^zkhealth \S+ \(commit `+commit+`\) go1\.\S+
$`).MatchString(stdout) {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, stderr, code = run("prove", "--no-such-flag")
	if code != 2 || stdout != "" || bytes.Count([]byte(stderr), []byte("\n")) != 1 {
		t.Errorf("bad flag: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
