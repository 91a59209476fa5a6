// Package testfixture holds the example inputs of CLI.md (attributes and policies of both use
// cases) and helpers that give tests keys and credentials, so every test speaks of the same data.
package testfixture

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/consensys/gnark/logger"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

// CoverageAttrs is CLI.md's coverage ATTRS.json.
const CoverageAttrs = `{"payer": "ACME-HEALTH", "plan": "GOLD-PPO", "member_id": "M123456", "status": "active",
 "period_start": "2026-01-01", "period_end": "2026-12-31", "insurance_type": "PPO",
 "service_categories": ["30", "1", "33", "35", "47", "48", "50", "86", "88", "98", "AL", "MH", "UC"]}`

// ClinicalAttrs is CLI.md's clinical ATTRS.json.
const ClinicalAttrs = `{"birth_date": "1976-01-16", "sex": "male",
 "conditions":   [{"code": "E11.9", "onset": "2015-03-01"}, {"code": "I10", "onset": "2012-06-10"}],
 "observations": [{"code": "4548-4", "value": 7.5, "unit": "%", "date": "2026-10-09"},
                  {"code": "39156-5", "value": 30.0, "unit": "kg/m2", "date": "2026-10-09"}],
 "medications":  [{"code": "860975", "start": "2016-01-01"}]}`

// ClinicalAttrsV2 is CLI.md's version-2 clinical ATTRS.json: a resolved myocardial infarction that
// began two months before AsOf, which CLI.md's trial policy must refuse (predicate 4, none within
// 180 days), resolved or not.
const ClinicalAttrsV2 = `{"birth_date": "1976-01-16", "sex": "male",
 "conditions":   [{"code": "E11.9", "onset": "2015-03-01"}, {"code": "I10", "onset": "2012-06-10"},
                  {"code": "I21.4", "onset": "2026-09-20", "abatement": "2026-10-05",
                   "clinical_status": "resolved", "verification_status": "confirmed"}],
 "observations": [{"code": "4548-4", "value": 7.5, "unit": "%", "date": "2026-10-09"},
                  {"code": "39156-5", "value": 30.0, "unit": "kg/m2", "date": "2026-10-09"}],
 "medications":  [{"code": "860975", "start": "2016-01-01"}]}`

// ClinicalPolicy is CLI.md's trial policy.
const ClinicalPolicy = `{"schema": "clinical", "scope": "trial:NCT04556851",
 "predicates": [
   {"attribute": "age", "op": "between", "value": [18, 75]},
   {"attribute": "sex", "op": "in", "value": ["female", "male"]},
   {"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 180},
   {"list": "conditions", "match": "exists", "code": ["E11"]},
   {"list": "conditions", "match": "none", "code": ["E10", "I21", "I63"], "within_days": 180}
 ]}`

// CoveragePolicy is CLI.md's insurer policy.
const CoveragePolicy = `{"schema": "coverage", "scope": "payer:acme:eligibility",
 "predicates": [
   {"attribute": "status", "op": "eq", "value": "active"},
   {"attribute": "payer", "op": "eq", "value": "ACME-HEALTH"},
   {"attribute": "period_start", "op": "lte", "value": "2026-11-22"},
   {"attribute": "period_end", "op": "gte", "value": "2026-11-22"},
   {"list": "service_categories", "match": "exists", "code": ["30"]}
 ]}`

// AsOf is the as-of date the examples are written for.
const AsOf = "2026-11-22"

// Quiet turns gnark's own logger off (it writes to stdout).
func Quiet() { logger.Disable() }

var setupOnce sync.Map // dir+circuit+backend -> *sync.Once

// SharedKeysDir is the key directory every test binary of one `go test` run shares:
// ZKHEALTH_TEST_KEYS when set, else zkhealth-test-keys-<checkout> in the system temp dir, where
// <checkout> names the module root, so two checkouts on one machine (whose circuits may differ)
// never regenerate each other's keys under a running test.
func SharedKeysDir() string {
	if dir := os.Getenv("ZKHEALTH_TEST_KEYS"); dir != "" {
		return dir
	}
	root := "unknown"
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(os.TempDir(), "zkhealth-test-keys-"+hex.EncodeToString(sum[:6]))
}

// KeysDir returns SharedKeysDir with keys for the given schemas and backend set up once (see
// SetupKeys).
func KeysDir(tb testing.TB, b keys.Backend, schemas ...*schema.Schema) string {
	tb.Helper()
	dir := SharedKeysDir()
	if err := SetupKeys(dir, b, schemas...); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// SetupKeys sets up keys for the given schemas and backend in dir, once per process and under an
// exclusive lock on dir, so parallel test binaries (and the benchmark report) do not set up the
// same keys at once. Setup is idempotent, so processes reuse one another's keys.
func SetupKeys(dir string, b keys.Backend, schemas ...*schema.Schema) error {
	for _, s := range schemas {
		for _, c := range s.Circuits {
			once, _ := setupOnce.LoadOrStore(dir+c.ID+string(b), new(sync.Once))
			var err error
			once.(*sync.Once).Do(func() {
				var unlock func()
				if unlock, err = lockDir(dir); err != nil {
					return
				}
				defer unlock()
				_, _, err = keys.Setup(context.Background(), dir, s, c, b, keys.LineReporter(os.Stderr))
			})
			if err != nil {
				return fmt.Errorf("setup %s: %w", c.ID, err)
			}
		}
	}
	return nil
}

// CircuitIDs returns the ids of the circuits of a schema's ladder, smallest first.
func CircuitIDs(s *schema.Schema) []string {
	var ids []string
	for _, c := range s.Circuits {
		ids = append(ids, c.ID)
	}
	return ids
}

// Issued is a credential issued to a fresh holder by a fresh issuer.
type Issued struct {
	Issuer     *credential.IssuerKey
	Holder     *credential.HolderKey
	Credential *credential.Credential
}

// Issue issues attrs of schema s, valid from issuedOn to expiresOn.
func Issue(tb testing.TB, s *schema.Schema, attrs, issuedOn, expiresOn string) *Issued {
	tb.Helper()
	is, err := NewIssued(s, attrs, issuedOn, expiresOn)
	if err != nil {
		tb.Fatal(err)
	}
	return is
}

// NewIssued is Issue for code without a testing.TB.
func NewIssued(s *schema.Schema, attrs, issuedOn, expiresOn string) (*Issued, error) {
	ik, err := credential.GenerateIssuerKey(nil)
	if err != nil {
		return nil, err
	}
	hk, err := credential.GenerateHolderKey(nil)
	if err != nil {
		return nil, err
	}
	c, err := credential.Issue(ik, s, hk.Commitment(), []byte(attrs), issuedOn, expiresOn, nil)
	if err != nil {
		return nil, fmt.Errorf("issue: %w", err)
	}
	return &Issued{Issuer: ik, Holder: hk, Credential: c}, nil
}

// Policy parses a policy or fails the test.
func Policy(tb testing.TB, js string) *policy.Policy {
	tb.Helper()
	p, err := policy.Parse([]byte(js))
	if err != nil {
		tb.Fatalf("policy: %v", err)
	}
	return p
}
