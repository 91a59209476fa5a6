package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

// result is one in-process run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// zk runs the command line in process.
func zk(t *testing.T, args ...string) result {
	t.Helper()
	return zkEnv(t, time.Now, args...)
}

func zkEnv(t *testing.T, now func() time.Time, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: now}, args)
	return result{code, out.String(), errb.String()}
}

// mustZK runs the command line and fails the test unless it exits 0.
func mustZK(t *testing.T, args ...string) result {
	t.Helper()
	r := zk(t, args...)
	if r.code != ExitOK {
		t.Fatalf("zkhealth %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// wantFailure checks the exit code, that stderr is exactly one line holding every wanted
// substring and none of the forbidden ones, and that stdout is empty.
func wantFailure(t *testing.T, r result, code int, want []string, forbid ...string) {
	t.Helper()
	t.Logf("stderr: %s", r.stderr)
	if r.code != code {
		t.Fatalf("want exit %d, got %v", code, r)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not exactly one line: %q", r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout not empty: %q", r.stdout)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not contain %q", r.stderr, w)
		}
	}
	for _, f := range forbid {
		if strings.Contains(r.stderr, f) {
			t.Errorf("stderr %q leaks %q", r.stderr, f)
		}
	}
}

func keysDir(t *testing.T) string {
	t.Helper()
	testfixture.Quiet()
	return testfixture.KeysDir(t, keys.Groth16, schema.Coverage(), schema.Clinical())
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func randomChallenge(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "0x" + hex.EncodeToString(b)
}

// issued is a credential issued through the command line, with every file it took.
type issued struct {
	dir, issuerKey, pub, holderKey, commitment, attrs, policy, cred string
}

// issueCLI runs issuer keygen, holder keygen and issue (issued on 2026-11-01) for attrs, and
// writes policy beside them.
func issueCLI(t *testing.T, schemaID, attrs, policy string) *issued {
	t.Helper()
	dir := t.TempDir()
	is := &issued{
		dir:       dir,
		issuerKey: filepath.Join(dir, "issuer.key"),
		holderKey: filepath.Join(dir, "holder.key"),
		attrs:     writeFile(t, dir, "attrs.json", attrs),
		policy:    writeFile(t, dir, "policy.json", policy),
		cred:      filepath.Join(dir, "credential.json"),
	}
	is.pub = strings.TrimSpace(mustZK(t, "issuer", "keygen", "--out", is.issuerKey).stdout)
	is.commitment = strings.TrimSpace(mustZK(t, "holder", "keygen", "--out", is.holderKey).stdout)
	mustZK(t, "issue", "--issuer", is.issuerKey, "--schema", schemaID, "--holder-commitment", is.commitment,
		"--attributes", is.attrs, "--issued-on", "2026-11-01", "--out", is.cred)
	return is
}

func (is *issued) proveArgs(dir, challenge, out string) []string {
	return []string{"prove", "--keys", dir, "--credential", is.cred, "--holder", is.holderKey, "--policy", is.policy,
		"--challenge", challenge, "--as-of", testfixture.AsOf, "--out", out}
}

func (is *issued) verifyArgs(dir, proofPath, challenge string) []string {
	return []string{"verify", "--keys", dir, "--proof", proofPath, "--policy", is.policy, "--issuer-pub", is.pub,
		"--challenge", challenge, "--as-of", testfixture.AsOf}
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func writeJSON(t *testing.T, path string, m map[string]any) {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func noFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s was written (stat: %v)", path, err)
	}
}

var hexLine = regexp.MustCompile(`^(0x)?[0-9a-f]{64}\n$`)

func TestEndToEnd(t *testing.T) {
	dir := keysDir(t)
	for _, tc := range []struct {
		schema, attrs, policy, scope string
	}{
		{"coverage", testfixture.CoverageAttrs, testfixture.CoveragePolicy, "payer:acme:eligibility"},
		{"clinical", testfixture.ClinicalAttrs, testfixture.ClinicalPolicy, "trial:NCT04556851"},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			is := issueCLI(t, tc.schema, tc.attrs, tc.policy)
			ch := randomChallenge(t)
			out := filepath.Join(is.dir, "proof.json")
			r := mustZK(t, is.proveArgs(dir, ch, out)...)
			if r.stderr != "" {
				t.Errorf("prove wrote to stderr: %q", r.stderr)
			}
			pf := readJSON(t, out)
			if pf["scope"] != tc.scope || pf["as_of"] != testfixture.AsOf || pf["backend"] != "groth16" {
				t.Errorf("proof file: %v", pf)
			}
			nullifier := pf["public"].(map[string]any)["nullifier"].(string)

			r = mustZK(t, is.verifyArgs(dir, out, ch)...)
			if want := "valid nullifier=" + nullifier + "\n"; r.stdout != want || r.stderr != "" {
				t.Errorf("verify: %v, want stdout %q", r, want)
			}

			// The policy hash integrators compute matches the proof's.
			r = mustZK(t, "policy", "hash", "--policy", is.policy, "--as-of", testfixture.AsOf)
			if want := pf["public"].(map[string]any)["policy_hash"].(string) + "\n"; r.stdout != want {
				t.Errorf("policy hash %q, proof says %q", r.stdout, want)
			}
		})
	}
}

func TestVerifyInvalid(t *testing.T) {
	dir := keysDir(t)
	is := issueCLI(t, "clinical", testfixture.ClinicalAttrs, testfixture.ClinicalPolicy)
	ch := randomChallenge(t)
	proofPath := filepath.Join(is.dir, "proof.json")
	mustZK(t, is.proveArgs(dir, ch, proofPath)...)
	otherIssuer := strings.TrimSpace(mustZK(t, "issuer", "keygen", "--out", filepath.Join(is.dir, "other.key")).stdout)
	otherCh := randomChallenge(t)

	set := func(args []string, flag, value string) []string {
		out := append([]string(nil), args...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = value
			}
		}
		return out
	}
	policyVariant := func(name, old, new string) string {
		if !strings.Contains(testfixture.ClinicalPolicy, old) {
			t.Fatalf("policy has no %q", old)
		}
		return writeFile(t, is.dir, name, strings.Replace(testfixture.ClinicalPolicy, old, new, 1))
	}
	forged := filepath.Join(is.dir, "forged.json")
	pf := readJSON(t, proofPath)
	otherElem, err := fieldhash.ReduceHex(otherCh)
	if err != nil {
		t.Fatal(err)
	}
	pf["public"].(map[string]any)["challenge"] = fieldhash.Hex(otherElem) // as the prover writes it
	writeJSON(t, forged, pf)

	base := is.verifyArgs(dir, proofPath, ch)
	for _, tc := range []struct {
		name, reason string
		args         []string
	}{
		{"OtherChallenge", "challenge_mismatch", set(base, "--challenge", otherCh)},
		{"OtherAsOf", "as_of_mismatch", set(base, "--as-of", "2026-11-23")},
		{"OtherIssuer", "issuer_mismatch", set(base, "--issuer-pub", otherIssuer)},
		{"ModifiedPolicy", "policy_mismatch", set(base, "--policy", policyVariant("p1.json", "[7.5, 11.0]", "[7.0, 11.0]"))},
		{"OtherScope", "scope_mismatch", set(base, "--policy", policyVariant("p2.json", "NCT04556851", "NCT00000000"))},
		{"OtherSchema", "circuit_mismatch", set(base, "--policy", writeFile(t, is.dir, "p3.json", testfixture.CoveragePolicy))},
		// The proof's public block claims the other challenge: only the pairing check can tell.
		{"ForgedPublicBlock", "proof_rejected", set(set(base, "--proof", forged), "--challenge", otherCh)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := zk(t, tc.args...)
			wantFailure(t, r, ExitInvalidProof, []string{"invalid: " + tc.reason})
			if !strings.HasPrefix(r.stderr, "invalid: ") {
				t.Errorf("stderr %q does not start with invalid:", r.stderr)
			}
		})
	}
}

func TestProveNotSatisfied(t *testing.T) {
	dir := keysDir(t)
	for _, tc := range []struct {
		name, schema, attrs, policy, old, new string
		want                                  []string
	}{
		{"CoverageCancelled", "coverage", testfixture.CoverageAttrs, testfixture.CoveragePolicy, `"status": "active"`, `"status": "cancelled"`,
			[]string{"predicate 0 (status eq \"active\")", "does not hold"}},
		{"CoverageNoService30", "coverage", testfixture.CoverageAttrs, testfixture.CoveragePolicy, `["30", `, `[`,
			[]string{"predicate 4 (service_categories exists 30)"}},
		{"ClinicalHbA1c12", "clinical", testfixture.ClinicalAttrs, testfixture.ClinicalPolicy, `"value": 7.5`, `"value": 12.0`,
			[]string{"predicate 2 (observations latest 4548-4 value [7.5,11.0] within 180 days)", "does not hold"}},
		{"ClinicalNoDiabetes", "clinical", testfixture.ClinicalAttrs, testfixture.ClinicalPolicy, `"E11.9"`, `"J45"`,
			[]string{"predicate 3 (conditions exists E11)"}},
		{"ClinicalRecentInfarction", "clinical", testfixture.ClinicalAttrs, testfixture.ClinicalPolicy, `"I10", "onset": "2012-06-10"`, `"I21.9", "onset": "2026-09-01"`,
			[]string{"predicate 4 (conditions none E10,I21,I63 within 180 days)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.attrs, tc.old) {
				t.Fatalf("attributes have no %q", tc.old)
			}
			is := issueCLI(t, tc.schema, strings.Replace(tc.attrs, tc.old, tc.new, 1), tc.policy)
			out := filepath.Join(is.dir, "proof.json")
			r := zk(t, is.proveArgs(dir, randomChallenge(t), out)...)
			wantFailure(t, r, ExitNotSatisfied, tc.want, "12.0", "J45", "2026-09-01", "cancelled")
			noFile(t, out)
		})
	}
}

func TestProveTamperedCredential(t *testing.T) {
	dir := keysDir(t)
	other := strings.TrimSpace(mustZK(t, "issuer", "keygen", "--out", filepath.Join(t.TempDir(), "other.key")).stdout)
	for _, tc := range []struct {
		name   string
		edit   func(cred map[string]any)
		code   int
		want   []string
		forbid []string
	}{
		{"AttributeChanged", func(c map[string]any) { c["attributes"].(map[string]any)["sex"] = "female" },
			ExitFailure, []string{"signature does not verify"}, []string{"female"}},
		{"ListEntryDropped", func(c map[string]any) {
			a := c["attributes"].(map[string]any)
			a["conditions"] = a["conditions"].([]any)[:1]
		}, ExitFailure, []string{"signature does not verify"}, nil},
		{"ExpiryExtended", func(c map[string]any) { c["expires_on"] = "2099-01-01" },
			ExitFailure, []string{"signature does not verify"}, nil},
		{"IssuerSwapped", func(c map[string]any) { c["issuer"] = other },
			ExitFailure, []string{"signature does not verify"}, nil},
		{"MalformedDate", func(c map[string]any) { c["attributes"].(map[string]any)["birth_date"] = "1976-02-30" },
			ExitUsage, []string{"credential.json: birth_date:"}, []string{"1976-02-30"}},
		{"MalformedCode", func(c map[string]any) {
			a := c["attributes"].(map[string]any)
			a["conditions"].([]any)[0].(map[string]any)["code"] = "ZZ9.SECRET"
		}, ExitUsage, []string{"conditions[0].code"}, []string{"ZZ9", "SECRET"}},
		{"UnknownField", func(c map[string]any) { c["comment"] = "x" },
			ExitUsage, []string{"credential.json: comment: unknown field"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := issueCLI(t, "clinical", testfixture.ClinicalAttrs, testfixture.ClinicalPolicy)
			cred := readJSON(t, is.cred)
			tc.edit(cred)
			writeJSON(t, is.cred, cred)
			out := filepath.Join(is.dir, "proof.json")
			r := zk(t, is.proveArgs(dir, randomChallenge(t), out)...)
			wantFailure(t, r, tc.code, tc.want, append(tc.forbid, "1976-01-16", "E11.9")...)
			noFile(t, out)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	dir := keysDir(t)
	is := issueCLI(t, "coverage", testfixture.CoverageAttrs, testfixture.CoveragePolicy)
	clin := issueCLI(t, "clinical", testfixture.ClinicalAttrs, testfixture.ClinicalPolicy)
	ch := randomChallenge(t)
	out := filepath.Join(is.dir, "out.json")
	proofPath := filepath.Join(is.dir, "proof.json")
	mustZK(t, is.proveArgs(dir, ch, proofPath)...)

	file := func(name, content string) string { return writeFile(t, is.dir, name, content) }
	nAttrs := 0
	attrs := func(old, new string) string {
		if !strings.Contains(testfixture.CoverageAttrs, old) {
			t.Fatalf("attributes have no %q", old)
		}
		nAttrs++
		return file(fmt.Sprintf("attrs-%d.json", nAttrs), strings.Replace(testfixture.CoverageAttrs, old, new, 1))
	}
	clinAttrs := func(name, old, new string) string {
		if !strings.Contains(testfixture.ClinicalAttrs, old) {
			t.Fatalf("attributes have no %q", old)
		}
		return file(name, strings.Replace(testfixture.ClinicalAttrs, old, new, 1))
	}
	issue := func(schemaID, attrsPath string, extra ...string) []string {
		return append([]string{"issue", "--issuer", is.issuerKey, "--schema", schemaID, "--holder-commitment", is.commitment,
			"--attributes", attrsPath, "--out", out}, extra...)
	}
	prove := func(policyPath string, extra ...string) []string {
		return append([]string{"prove", "--keys", dir, "--credential", is.cred, "--holder", is.holderKey, "--policy", policyPath,
			"--challenge", ch, "--as-of", testfixture.AsOf, "--out", out}, extra...)
	}
	policyWith := func(name, preds string) string {
		return file(name, `{"schema": "coverage", "scope": "payer:acme:eligibility", "predicates": [`+preds+`]}`)
	}
	tooMany := strings.TrimSuffix(strings.Repeat(`{"attribute": "status", "op": "eq", "value": "active"},`, 9), ",")

	for _, tc := range []struct {
		name   string
		args   []string
		want   []string
		forbid []string
	}{
		{"MissingRequiredFlag", []string{"prove", "--keys", dir, "--credential", is.cred, "--holder", is.holderKey, "--policy", is.policy, "--out", out},
			[]string{`required flag(s) "challenge" not set`}, nil},
		{"EmptyRequiredFlag", prove(is.policy, "--challenge", ""), []string{"--challenge"}, nil},
		{"UnknownFlag", prove(is.policy, "--verbose"), []string{"unknown flag: --verbose"}, nil},
		{"UnknownCommand", []string{"provee"}, []string{`unknown command "provee"`}, nil},
		{"StrayArgument", append(prove(is.policy), "extra"), []string{`"extra"`}, nil},
		{"NoSubcommand", []string{"issuer"}, []string{"want a subcommand"}, nil},
		{"BadAsOf", prove(is.policy, "--as-of", "22-11-2026"), []string{"--as-of", "YYYY-MM-DD"}, nil},
		{"ImpossibleIssuedOn", issue("coverage", is.attrs, "--issued-on", "2026-02-30"), []string{"--issued-on"}, nil},
		{"ExpiresBeforeIssued", issue("coverage", is.attrs, "--issued-on", "2026-11-01", "--expires-on", "2026-10-01"), []string{"--expires-on"}, nil},
		{"BadBackend", prove(is.policy, "--backend", "stark"), []string{"--backend", "stark"}, nil},
		{"UnknownSchema", issue("dental", is.attrs), []string{"--schema", "dental"}, nil},
		{"BadHolderCommitment", []string{"issue", "--issuer", is.issuerKey, "--schema", "coverage", "--holder-commitment", "0xabc!",
			"--attributes", is.attrs, "--out", out}, []string{"--holder-commitment"}, nil},
		{"ChallengeNotHex", prove(is.policy, "--challenge", "0xnothex"), []string{"--challenge", "hex"}, nil},
		{"ChallengeTooLong", prove(is.policy, "--challenge", strings.Repeat("ab", 33)), []string{"--challenge"}, nil},
		{"ChallengeUpperCase", prove(is.policy, "--challenge", "0xABCD"), []string{"--challenge", "lower-case"}, nil},
		{"AttrsUnknownAttribute", issue("coverage", attrs(`"plan": "GOLD-PPO",`, `"plan": "GOLD-PPO", "favourite_colour": "blue",`)),
			[]string{"attrs-", "favourite_colour", "unknown attribute"}, []string{"blue"}},
		{"AttrsMissingAttribute", issue("coverage", attrs(`"member_id": "M123456", `, ``)), []string{"member_id", "missing"}, nil},
		{"AttrsWrongType", issue("coverage", attrs(`"payer": "ACME-HEALTH"`, `"payer": 42`)), []string{"payer", "want a string"}, nil},
		{"AttrsBadEnum", issue("coverage", attrs(`"status": "active"`, `"status": "paused"`)), []string{"status", "want one of"}, []string{"paused"}},
		{"AttrsBadDate", issue("coverage", attrs(`"2026-12-31"`, `"2026-12-32"`)), []string{"period_end", "YYYY-MM-DD"}, []string{"2026-12-32"}},
		{"AttrsBadServiceType", issue("coverage", attrs(`"AL"`, `"A-L"`)), []string{"service_categories[10].code"}, []string{"A-L"}},
		{"AttrsBadICD10", issue("clinical", clinAttrs("c1.json", `"E11.9"`, `"E1.19"`)), []string{"conditions[0].code"}, []string{"E1.19"}},
		{"AttrsBadLOINCCheckDigit", issue("clinical", clinAttrs("c2.json", `"4548-4"`, `"4548-3"`)), []string{"observations[0].code"}, []string{"4548-3"}},
		{"AttrsUnknownUnit", issue("clinical", clinAttrs("c3.json", `"unit": "%"`, `"unit": "furlongs"`)),
			[]string{"observations[0].unit: unit without a known conversion"}, []string{"furlongs", "7.5"}},
		{"AttrsBirthDate1850", issue("clinical", clinAttrs("c4.json", `"1976-01-16"`, `"1850-01-16"`)),
			[]string{"c4.json: birth_date: out of range (want a date YYYY-MM-DD from 1900-01-01 to 2099-12-31)"}, []string{"1850"}},
		{"AttrsNotJSON", issue("coverage", file("garbage.json", "{not json")),
			[]string{"garbage.json", "malformed JSON at line 1, column 2: want an object key"}, []string{"repeats a key"}},
		{"PolicyUnknownAttribute", prove(policyWith("p1.json", `{"attribute": "height", "op": "gte", "value": "1"}`)),
			[]string{"p1.json", "predicate 0 (height gte", "no attribute"}, nil},
		{"PolicyOrderOnHashed", prove(policyWith("p2.json", `{"attribute": "status", "op": "eq", "value": "active"}, {"attribute": "payer", "op": "lt", "value": "ACME"}`)),
			[]string{"predicate 1 (payer lt \"ACME\")", "hashed string"}, nil},
		{"PolicyTooManyPredicates", prove(policyWith("p3.json", tooMany)), []string{"p3.json", "predicate 8", "coverage-v2-l circuit holds 8 attribute predicates"}, nil},
		{"PolicyBadValue", prove(policyWith("p4.json", `{"attribute": "period_start", "op": "lte", "value": "soon"}`)),
			[]string{"predicate 0 (period_start lte \"soon\")"}, nil},
		{"PolicyUnknownList", prove(policyWith("p5.json", `{"list": "procedures", "match": "exists", "code": ["30"]}`)),
			[]string{"predicate 0", "procedures"}, nil},
		{"PolicyNotJSON", prove(file("p6.json", `{"schema": "coverage",`)),
			[]string{"p6.json", "malformed JSON at line 1, column 23: unexpected end of input"}, []string{"repeats a key"}},
		{"PolicyRepeatedKey", prove(file("p8.json", "{\"schema\": \"coverage\",\n \"schema\": \"clinical\"}")),
			[]string{"p8.json", "an object repeats a key at line 2, column 2"}, nil},
		{"PolicyOtherSchema", prove(clin.policy), []string{"clinical", "coverage"}, nil},
		{"HolderKeyMalformed", append(prove(is.policy), "--holder", file("holder-bad.key", `{"secret": "00"}`)),
			[]string{"holder-bad.key", "32 bytes"}, nil},
		{"VerifyProofNotJSON", []string{"verify", "--keys", dir, "--proof", file("proof-bad.json", "[]"), "--policy", is.policy,
			"--issuer-pub", is.pub, "--challenge", ch, "--as-of", testfixture.AsOf}, []string{"proof-bad.json"}, nil},
		{"VerifyBadIssuerPub", []string{"verify", "--keys", dir, "--proof", proofPath, "--policy", is.policy,
			"--issuer-pub", "00", "--challenge", ch, "--as-of", testfixture.AsOf}, []string{"--issuer-pub"}, nil},
		{"PolicyHashBadPolicy", []string{"policy", "hash", "--policy", policyWith("p7.json", `{"attribute": "payer", "op": "between", "value": ["A", "B"]}`)},
			[]string{"p7.json", "predicate 0"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := zk(t, tc.args...)
			wantFailure(t, r, ExitUsage, tc.want, tc.forbid...)
			noFile(t, out)
		})
	}
}

func TestOtherFailures(t *testing.T) {
	dir := keysDir(t)
	is := issueCLI(t, "coverage", testfixture.CoverageAttrs, testfixture.CoveragePolicy)
	ch := randomChallenge(t)
	proofPath := filepath.Join(is.dir, "proof.json")
	mustZK(t, is.proveArgs(dir, ch, proofPath)...)
	empty := t.TempDir()
	out := filepath.Join(is.dir, "out.json")
	otherHolder := filepath.Join(is.dir, "other-holder.key")
	mustZK(t, "holder", "keygen", "--out", otherHolder)

	replace := func(args []string, flag, value string) []string {
		out := append([]string(nil), args...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = value
			}
		}
		return out
	}
	prove := is.proveArgs(dir, ch, out)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"ProveKeysDirEmpty", replace(prove, "--keys", empty), []string{empty, "keys not found"}},
		{"ProveKeysDirMissing", replace(prove, "--keys", filepath.Join(empty, "nope")), []string{"keys not found"}},
		{"ProvePlonkKeysMissing", append(replace(prove, "--keys", empty), "--backend", "plonk"), []string{"plonk"}},
		{"VerifyKeysDirEmpty", replace(is.verifyArgs(dir, proofPath, ch), "--keys", empty), []string{empty, "no verifying keys"}},
		{"CredentialMissing", replace(prove, "--credential", filepath.Join(empty, "c.json")), []string{"c.json", "no such file"}},
		{"WrongHolder", replace(prove, "--holder", otherHolder), []string{"holder key does not match"}},
		{"Expired", replace(prove, "--as-of", "2028-01-01"), []string{"expired on 2027-11-01"}},
		{"NotYetIssued", replace(prove, "--as-of", "2026-10-01"), []string{"issued on 2026-11-01"}},
		{"OutDirMissing", replace(prove, "--out", filepath.Join(empty, "no", "proof.json")), []string{"proof.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := zk(t, tc.args...)
			wantFailure(t, r, ExitFailure, tc.want)
			noFile(t, out)
		})
	}
}

func TestKeygen(t *testing.T) {
	for _, tc := range []struct {
		name   string
		field  string // the key file's field that stdout prints
		secret string // the key file's field that must never be printed
	}{
		{"issuer", "public_key", "private_key"},
		{"holder", "commitment", "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.name+".key")
			r := mustZK(t, tc.name, "keygen", "--out", path)
			if !hexLine.MatchString(r.stdout) || r.stderr != "" {
				t.Fatalf("keygen output: %v", r)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
			before, _ := os.ReadFile(path)
			kf := readJSON(t, path)
			if kf[tc.field] != strings.TrimSpace(r.stdout) {
				t.Errorf("stdout %q, file says %v", r.stdout, kf[tc.field])
			}
			secret := kf[tc.secret].(string)
			if strings.Contains(r.stdout, secret) {
				t.Error("keygen printed the secret")
			}

			r = zk(t, tc.name, "keygen", "--out", path)
			wantFailure(t, r, ExitFailure, []string{path, "already exists"}, secret)
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("refused keygen changed the key file")
			}
		})
	}
}

func TestSetupKeepsKeys(t *testing.T) {
	dir := keysDir(t)
	r := mustZK(t, "setup", "--keys", dir, "--backend", "groth16")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	ids := schema.CircuitIDs()
	if len(lines) != len(ids) {
		t.Fatalf("want one line per circuit: %v", r)
	}
	for i, id := range ids {
		var meta keys.Info
		data, err := os.ReadFile(filepath.Join(dir, id+".groth16.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &meta); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%s groth16 constraints=%d vk_fingerprint=%s kept", id, meta.Constraints, meta.VKFingerprint)
		if lines[i] != want {
			t.Errorf("line %d: %q, want %q", i, lines[i], want)
		}
	}
	if strings.Contains(r.stderr, "WARNING") {
		t.Errorf("setup made new keys: %q", r.stderr)
	}
	// progress on stderr: what it does, and how long it took
	for _, id := range ids {
		if !regexp.MustCompile(`setting up ` + id + ` keys \(groth16\)…\n` + id + ` keys \(groth16\) unchanged, kept \(checked in [0-9.hms]+\)\n`).MatchString(r.stderr) {
			t.Errorf("no progress for %s on stderr: %q", id, r.stderr)
		}
	}
	wantFailure(t, zk(t, "setup", "--keys", dir, "--schema", "dental"), ExitUsage, []string{"--schema", "dental"})
}

func TestIssueDefaultDates(t *testing.T) {
	is := issueCLI(t, "coverage", testfixture.CoverageAttrs, testfixture.CoveragePolicy)
	now := func() time.Time { return time.Date(2028, 2, 29, 23, 30, 0, 0, time.FixedZone("UTC-5", -5*3600)) } // 2028-03-01 UTC
	out := filepath.Join(is.dir, "c.json")
	r := zkEnv(t, now, "issue", "--issuer", is.issuerKey, "--schema", "coverage", "--holder-commitment", is.commitment,
		"--attributes", is.attrs, "--out", out)
	if r.code != ExitOK {
		t.Fatal(r)
	}
	c := readJSON(t, out)
	if c["issued_on"] != "2028-03-01" || c["expires_on"] != "2029-03-01" {
		t.Errorf("issued_on %v, expires_on %v", c["issued_on"], c["expires_on"])
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Errorf("credential mode %v, want 0600", st.Mode().Perm())
	}
}

func TestHelp(t *testing.T) {
	for _, path := range [][]string{
		{}, {"setup"}, {"issuer"}, {"issuer", "keygen"}, {"holder"}, {"holder", "keygen"},
		{"issue"}, {"prove"}, {"verify"}, {"policy"}, {"policy", "hash"},
		{"export"}, {"export", "solidity"}, {"export", "calldata"}, {"export", "issuer"},
	} {
		t.Run(strings.Join(append([]string{"zkhealth"}, path...), "_"), func(t *testing.T) {
			r := zk(t, append(path, "--help")...)
			if r.code != ExitOK || r.stderr != "" {
				t.Fatal(r)
			}
			for _, want := range []string{"Usage:", "Examples:", "zkhealth " + strings.Join(path, " ")} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("help lacks %q:\n%s", want, r.stdout)
				}
			}
		})
	}
}

// TestVersion: --version prints one line naming the module version, the commit (or why it is not
// known) and the Go version, and exits 0.
func TestVersion(t *testing.T) {
	r := zk(t, "--version")
	if r.code != ExitOK || r.stderr != "" || !regexp.MustCompile(`^zkhealth \S+ \((commit [0-9a-f]+|commit unknown: built without VCS information)[^)]*\) go1\.\d+\S*\n$`).MatchString(r.stdout) {
		t.Fatalf("--version: %v", r)
	}
}
