package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/verifier/auditlog"
)

// logTimeout bounds one command's conversation with the log service.
const logTimeout = 5 * time.Minute

func logCmd(e *env) *cobra.Command {
	return group("log", "Check the service's verification log (API.md)", `  zkhealth log verify --url http://127.0.0.1:8080 --key "$LOG_KEY" --out checkpoint.txt
  zkhealth log verify --url http://127.0.0.1:8080 --checkpoint checkpoint.txt --out checkpoint.txt
  zkhealth log audit --url http://127.0.0.1:8080 --key "$LOG_KEY" --holder holder.key --scope trial:NCT04556851`,
		logVerifyCmd(e), logAuditCmd(e))
}

// logFlags are what both log commands take.
type logFlags struct {
	url, key string
}

func (f *logFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "url", "", "the service's base URL, e.g. http://127.0.0.1:8080")
	cmd.Flags().StringVar(&f.key, "key", "", `the log's verifier key ("origin+hash+base64"), or a file holding it`)
	required(cmd, "url")
}

func (f *logFlags) client() (*auditlog.Client, error) {
	u, err := url.Parse(f.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--url: want an http or https URL")
	}
	return &auditlog.Client{BaseURL: f.url, HTTP: &http.Client{Timeout: time.Minute}}, nil
}

// verifierKey is --key: the key itself, or a file holding it. "" when not given.
func (f *logFlags) verifierKey() (string, error) {
	if f.key == "" {
		return "", nil
	}
	k := f.key
	if _, err := os.Stat(k); err == nil {
		data, err := readInput(k, 4096)
		if err != nil {
			return "", err
		}
		k = strings.TrimSpace(string(data))
	}
	if _, err := auditlog.ParseVerifierKey(k); err != nil {
		return "", usageErrorf("--key: want a signed-note verifier key (origin+hash+base64) or a file holding one")
	}
	return k, nil
}

// logFailure maps an error of Check or Audit to its exit code: a finding about the log is 1, an
// earlier checkpoint file that does not verify is bad input (2), anything else (the service does
// not answer, answers an error) 4.
func logFailure(checkpointPath string, err error) error {
	switch {
	case errors.Is(err, auditlog.ErrLogInvalid), errors.Is(err, auditlog.ErrWire):
		return &exitError{code: ExitInvalidProof, msg: "log does not verify: " + strings.TrimPrefix(err.Error(), auditlog.ErrLogInvalid.Error()+": "), err: err}
	case errors.Is(err, auditlog.ErrCheckpoint):
		return &exitError{code: ExitUsage, msg: checkpointPath + ": " + err.Error(), err: err}
	}
	return &exitError{code: ExitFailure, msg: err.Error(), err: err}
}

func logVerifyCmd(e *env) *cobra.Command {
	var f logFlags
	var checkpointPath, outPath string
	cmd := &cobra.Command{
		Use:   "verify --url URL [--key KEY] [--checkpoint FILE] [--out FILE]",
		Short: "Check the verification log: signature, consistency with an earlier checkpoint, every entry",
		Long: `verify fetches the log's latest checkpoint and checks its signature under the log's
verifier key; with --checkpoint, that the log grew from that earlier checkpoint (its signature, a
consistency proof, and that the first entries still hash to its root); and that all the entries
hash to the new checkpoint's root. --out writes the new checkpoint for next time (it may be the
--checkpoint file).

The key (--key) is learnt out of band: the service publishes it, and GET URL/v1/log/key serves
it, but a server that could rewrite its log could serve another key too. Without --key, the key
the service serves is used only if it verifies the earlier checkpoint (--checkpoint): the key that
signed what you checked before.

Exit codes: 0 the log verifies; 1 it does not (one line says why: a bad signature, a rewritten
history, an altered entry); 2 bad usage, or a --checkpoint file that does not verify; 4 the service
could not be read.`,
		Example: `  zkhealth log verify --url http://127.0.0.1:8080 --key "zkhealth/host+1a2b3c4d+AbC…" --out checkpoint.txt
  zkhealth log verify --url http://127.0.0.1:8080 --checkpoint checkpoint.txt --out checkpoint.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			key, err := f.verifierKey()
			if err != nil {
				return err
			}
			var earlier []byte
			if checkpointPath != "" {
				if earlier, err = readInput(checkpointPath, auditlog.MaxCheckpointSize); err != nil {
					return err
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), logTimeout)
			defer cancel()
			if key == "" {
				if earlier == nil {
					return usageErrorf("--key: required without --checkpoint (the log's verifier key, learnt out of band; GET %s/v1/log/key serves it, which alone proves nothing)", strings.TrimSuffix(f.url, "/"))
				}
				if key, err = c.VerifierKey(ctx); err != nil {
					return logFailure(checkpointPath, err)
				}
				if _, err := auditlog.OpenCheckpoint(earlier, key); err != nil {
					return &exitError{code: ExitInvalidProof, msg: "log does not verify: the key it serves does not verify the earlier checkpoint " + checkpointPath, err: err}
				}
			}
			cp, err := auditlog.Check(ctx, c, key, earlier)
			if err != nil {
				return logFailure(checkpointPath, err)
			}
			if outPath != "" {
				if err := writeOutput(outPath, []byte(strings.TrimSuffix(string(cp.Note), "\n")), 0o644); err != nil {
					return err
				}
			}
			msg := fmt.Sprintf("log verified: origin %s, %d entries, root %x", cp.Origin, cp.Size, cp.Hash)
			if earlier != nil {
				msg += " (consistent with the earlier checkpoint)"
			}
			fmt.Fprintln(e.stdout, msg)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&checkpointPath, "checkpoint", "", "an earlier checkpoint of this log (what --out wrote last time)")
	cmd.Flags().StringVar(&outPath, "out", "", "write the new checkpoint here")
	return cmd
}

func logAuditCmd(e *env) *cobra.Command {
	var f logFlags
	var holderPath, scope string
	cmd := &cobra.Command{
		Use:   "audit --url URL --key KEY --holder HOLDER.key --scope SCOPE",
		Short: "List the log's entries about you in a scope, each checked included in the log",
		Long: `audit computes your nullifier for the scope from HOLDER.key (it never leaves this
machine: only the nullifier is sent), finds the log's entries that name it, and checks each
entry's inclusion proof against the log's latest checkpoint, verified under --key. It prints the
nullifier, then one line per entry: index, time, result, request binding. An entry whose result is
not "valid" names your nullifier without proving it was you (a proof of yours replayed against
another request shows so). That the service left no entry out, only reading every entry
(zkhealth log verify) shows.

Exit codes: 0 the entries verify (possibly none); 1 the log does not verify; 2 bad usage or a
malformed HOLDER.key; 4 the service could not be read.`,
		Example: `  zkhealth log audit --url http://127.0.0.1:8080 --key "$LOG_KEY" --holder holder.key --scope trial:NCT04556851`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			key, err := f.verifierKey()
			if err != nil {
				return err
			}
			if key == "" {
				return usageErrorf("--key: required (the log's verifier key, learnt out of band)")
			}
			if scope == "" || len(scope) > policy.MaxScopeLen {
				return usageErrorf("--scope: want 1 to %d characters", policy.MaxScopeLen)
			}
			data, err := readInput(holderPath, maxKeyFile)
			if err != nil {
				return err
			}
			hk, err := credential.ParseHolderKey(data)
			if err != nil {
				return fail(holderPath, err)
			}
			nullifier := hk.Nullifier(fieldhash.String(scope))
			ctx, cancel := context.WithTimeout(cmd.Context(), logTimeout)
			defer cancel()
			cp, entries, err := auditlog.Audit(ctx, c, key, nullifier)
			if err != nil {
				return logFailure("", err)
			}
			fmt.Fprintf(e.stdout, "nullifier=%s log=%s size=%d entries=%d\n", fieldhash.Hex(nullifier), cp.Origin, cp.Size, len(entries))
			for _, ix := range entries {
				fmt.Fprintf(e.stdout, "%d %s %s binding=%s\n", ix.Index, ix.Entry.Time.UTC().Format(time.RFC3339), ix.Entry.Result, fieldhash.Hex(ix.Entry.Binding))
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&holderPath, "holder", "", "HOLDER.key")
	cmd.Flags().StringVar(&scope, "scope", "", "the scope, as in the verifier's policy (e.g. trial:NCT04556851)")
	required(cmd, "holder", "scope")
	return cmd
}
