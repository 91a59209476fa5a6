// Package cli is the zkhealth command line (CLI.md): setup, issuer and holder key generation,
// issuance, proving, verification, policy hashing and the export of contracts and calldata for
// on-chain verification, built with cobra.
//
// Main runs a command line in process and returns its exit code, so tests and the binary share
// one code path. Commands are built per call (no package-level state).
//
// Exit codes (ExitOK … ExitFailure) follow CLI.md: 0 success; 1 verify found the proof invalid;
// 2 bad usage or malformed input; 3 prove: the credential does not satisfy the policy; 4 any other
// failure. A missing or unreadable input file is an I/O failure (4), as is an existing key file
// that keygen refuses to overwrite. Every failure is reported as exactly one line on stderr; no
// message ever carries an attribute value or a secret.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/consensys/gnark/logger"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

// Exit codes (CLI.md).
const (
	ExitOK           = 0
	ExitInvalidProof = 1
	ExitUsage        = 2
	ExitNotSatisfied = 3
	ExitFailure      = 4
)

// env is what commands read and write besides files: the standard streams and the clock (for
// the "today" defaults of date flags).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
}

// today is the current date in UTC, YYYY-MM-DD.
func (e *env) today() string { return e.now().UTC().Format(dateLayout) }

const dateLayout = "2006-01-02"

// Main runs the zkhealth command line with args (without the program name) and returns the exit
// code. It disables gnark's logger, which would otherwise write to the process's stdout.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, &env{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}, args)
}

func run(ctx context.Context, e *env, args []string) int {
	logger.Disable()
	root := newRoot(e)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var xe *exitError
	if !errors.As(err, &xe) {
		// Anything cobra itself reports (unknown flag or command, missing required flag, stray
		// argument) is bad usage.
		xe = &exitError{code: ExitUsage, msg: fmt.Sprintf("%v (see %s --help)", err, cmd.CommandPath())}
	}
	msg := xe.msg
	if xe.code != ExitInvalidProof {
		msg = cmd.CommandPath() + ": " + msg
	}
	fmt.Fprintln(e.stderr, oneLine(msg))
	return xe.code
}

// NewRoot builds the zkhealth command tree writing to the given streams. Run it with
// ExecuteContext; Main also maps its errors to exit codes and prints them.
func NewRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	return newRoot(&env{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now})
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "zkhealth",
		Short: "Prove facts about issuer-signed health credentials in zero knowledge",
		Long: `zkhealth lets a patient prove a fact about an issuer-signed health record (coverage is
active, a lab value lies in a range, a diagnosis is absent) to an insurer or a trial sponsor,
who learns that the fact holds and nothing else.

Dates are YYYY-MM-DD (UTC); HEX is lower-case hex, with or without 0x.

Exit codes:
  0  success (verify: the proof is valid)
  1  verify: the proof is invalid (one line on stderr says why)
  2  bad usage or malformed input (one line naming the file or flag and the field)
  3  prove: the credential does not satisfy the policy (names the failing predicate)
  4  any other failure: missing or unreadable files, missing keys, a credential that cannot
     back a proof (bad signature, wrong holder, expired), a key file that already exists`,
		Example: `  zkhealth setup --keys keys
  zkhealth issuer keygen --out issuer.key
  zkhealth holder keygen --out holder.key
  zkhealth issue --issuer issuer.key --schema clinical --holder-commitment 0x… \
      --attributes attrs.json --out credential.json
  zkhealth prove --keys keys --credential credential.json --holder holder.key \
      --policy policy.json --challenge 0x… --out proof.json
  zkhealth verify --keys keys --proof proof.json --policy policy.json \
      --issuer-pub … --challenge 0x…`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("want a subcommand (see zkhealth --help)")
		},
	}
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return nonEmptyRequired(cmd) }
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	root.AddCommand(
		setupCmd(e),
		issuerCmd(e),
		holderCmd(e),
		issueCmd(e),
		proveCmd(e),
		verifyCmd(e),
		policyCmd(e),
		exportCmd(e),
		logCmd(e),
		newServeCommand(e),
		newWorkerCommand(e),
	)
	return root
}

// group is a command that only holds subcommands.
func group(use, short, example string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("want a subcommand (see %s --help)", cmd.CommandPath())
		},
	}
	c.AddCommand(subs...)
	return c
}

// exitError is a failure with its exit code and a one-line message safe to print.
type exitError struct {
	code int
	msg  string
	err  error
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

func failf(format string, args ...any) error {
	return &exitError{code: ExitFailure, msg: fmt.Sprintf(format, args...)}
}

// fail reports err, prefixed with what it is about (a file path, or "" for none), with the exit
// code its kind calls for.
func fail(about string, err error) error {
	msg := describe(err)
	if about != "" {
		msg = about + ": " + msg
	}
	return &exitError{code: exitCode(err), msg: msg, err: err}
}

// exitCode maps an error to its exit code: EInvalid and the malformed-input sentinels of the
// input packages → 2, ENotSatisfied → 3, anything else → 4.
func exitCode(err error) int {
	var xe *exitError
	if errors.As(err, &xe) {
		return xe.code
	}
	var ze *zkhealth.Error
	if errors.As(err, &ze) {
		switch ze.Code {
		case zkhealth.EInvalid:
			return ExitUsage
		case zkhealth.ENotSatisfied:
			return ExitNotSatisfied
		}
		return ExitFailure
	}
	for _, sentinel := range []error{credential.ErrMalformed, policy.ErrInvalid, credential.ErrMalformedHolderKey, zkhealth.ErrMalformedProof, schema.ErrUnknownSchema} {
		if errors.Is(err, sentinel) {
			return ExitUsage
		}
	}
	return ExitFailure
}

// describe renders err for the user: its own text, which the zkhealth packages keep free of
// attribute values and secrets by contract (credential.FieldError, policy.PredicateError and
// strictjson.Error are built so), except that an I/O error drops the path it repeats.
func describe(err error) string {
	var ioe *fs.PathError
	if errors.As(err, &ioe) {
		return ioe.Err.Error()
	}
	return err.Error()
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// maxKeyFile bounds a key file read.
const maxKeyFile = 64 << 10

// readInput reads an input file, at most max+1 bytes (so the parser, which knows its own limit,
// refuses a larger file). A missing or unreadable file is an I/O failure (exit 4).
func readInput(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fail(path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fail(path, err)
	}
	return data, nil
}

// writeOutput writes data to path through a temporary file and a rename, so a failure never
// leaves a partial file, and an existing file is replaced only by a complete one.
func writeOutput(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fail(path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fail(path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fail(path, err)
	}
	if err := tmp.Close(); err != nil {
		return fail(path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fail(path, err)
	}
	return nil
}

// dateFlag returns the value of a date flag, def when it was not given; a malformed date is bad
// usage.
func dateFlag(cmd *cobra.Command, name, def string) (string, error) {
	if !cmd.Flags().Changed(name) {
		return def, nil
	}
	v, _ := cmd.Flags().GetString(name)
	if _, err := encode.Date(v); err != nil {
		return "", usageErrorf("--%s: want a date YYYY-MM-DD between 1900-01-01 and 2099-12-31", name)
	}
	return v, nil
}

// nonEmptyRequired refuses a required flag given an empty value (cobra only checks presence,
// after this hook runs).
func nonEmptyRequired(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if _, req := f.Annotations[cobra.BashCompOneRequiredFlag]; req && err == nil && f.Changed && f.Value.String() == "" {
			err = usageErrorf("--%s: must not be empty", f.Name)
		}
	})
	return err
}

// required marks flags required (they are defined just before; a typo panics at build time).
func required(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		if err := cmd.MarkFlagRequired(n); err != nil {
			panic(err)
		}
	}
}
