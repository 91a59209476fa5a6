package cli

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/verifier/onchain"
)

func TestExportSolidity(t *testing.T) {
	dir := keysDir(t)
	const folded, gnarks = "PRECOMPILE_VERIFY, f, 0x480, f, 0x20", "PRECOMPILE_VERIFY, f, 0x180, f, 0x20"
	for _, tc := range []struct {
		name     string
		flags    []string
		circuits []string
		pairing  string // in Verifier.sol
	}{
		{"OneCircuit", []string{"--circuit", "coverage-v2-s"}, []string{"coverage-v2-s"}, folded},
		{"EveryCircuit", nil, schema.CircuitIDs(), folded},
		{"GnarkVerifier", []string{"--circuit", "clinical-v2-s", "--gnark-verifier"}, []string{"clinical-v2-s"}, gnarks},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "contracts")
			r := mustZK(t, append([]string{"export", "solidity", "--keys", dir, "--out", out}, tc.flags...)...)
			if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != len(tc.circuits) {
				t.Fatalf("stdout %q: want one line per circuit %v", r.stdout, tc.circuits)
			}
			if !strings.Contains(r.stderr, "development setup") {
				t.Errorf("no development-setup note on stderr: %q", r.stderr)
			}
			entries, _ := os.ReadDir(out)
			if len(entries) != len(tc.circuits) {
				t.Errorf("%d directories in %s, want %v", len(entries), out, tc.circuits)
			}
			for _, id := range tc.circuits {
				if !strings.Contains(r.stdout, id+" vk_fingerprint=") {
					t.Errorf("stdout %q does not name %s", r.stdout, id)
				}
				for file, want := range map[string]string{
					onchain.VerifierFile:       tc.pairing,
					onchain.ClaimsRegistryFile: `string public constant CIRCUIT = "` + id + `";`,
				} {
					src, err := os.ReadFile(filepath.Join(out, id, file))
					if err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(string(src), want) {
						t.Errorf("%s/%s lacks %q", id, file, want)
					}
				}
			}
		})
	}
}

func TestExportCalldata(t *testing.T) {
	dir := keysDir(t)
	is := issueCLI(t, "coverage", testfixture.CoverageAttrs, testfixture.CoveragePolicy)
	ch := randomChallenge(t)
	proofPath := filepath.Join(is.dir, "proof.json")
	mustZK(t, is.proveArgs(dir, ch, proofPath)...)
	pf := readJSON(t, proofPath)
	public := pf["public"].(map[string]any)

	var got struct {
		Circuit, Proof, Claim string
		VerifyProof           string `json:"verify_proof"`
		Input                 []string
	}
	decode := func(r result) {
		t.Helper()
		got.Claim = ""
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
		}
	}
	decode(mustZK(t, "export", "calldata", "--proof", proofPath))
	if got.Circuit != "coverage-v2-s" || len(got.Proof) != 2+2*onchain.ProofSize || len(got.Input) != onchain.NbPublic {
		t.Fatalf("calldata: %+v", got)
	}
	if got.Input[0] != public["policy_hash"] || got.Input[3] != public["challenge"] || got.Input[4] != public["nullifier"] {
		t.Errorf("inputs %v, proof's public block %v", got.Input, public)
	}
	if got.Claim != "" || !strings.HasPrefix(got.VerifyProof, "0x") {
		t.Errorf("without --verifier and --payee: claim %q, verify_proof %q", got.Claim, got.VerifyProof)
	}
	decode(mustZK(t, "export", "calldata", "--proof", proofPath, "--verifier", "0x"+strings.Repeat("a1", 20), "--payee", "0x"+strings.Repeat("ee", 20)))
	if len(got.Claim) != 2+2*(4+9*32+onchain.ProofSize) {
		t.Errorf("claim calldata %d hex digits", len(got.Claim))
	}

	note := writeFile(t, is.dir, "checkpoint", "zkhealth.test/log\n7\n"+base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n\n— zkhealth.test/log AAAA\n")
	var cp struct {
		TreeSize uint64 `json:"tree_size"`
		Anchor   string
	}
	if err := json.Unmarshal([]byte(mustZK(t, "export", "calldata", "--checkpoint", note).stdout), &cp); err != nil || cp.TreeSize != 7 || len(cp.Anchor) != 2+2*(4+64) {
		t.Errorf("checkpoint calldata: %+v %v", cp, err)
	}

	var iss map[string]string
	if err := json.Unmarshal([]byte(mustZK(t, "export", "issuer", "--issuer-pub", is.pub).stdout), &iss); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"x", "y", "trust", "revoke"} {
		if !strings.HasPrefix(iss[k], "0x") {
			t.Errorf("export issuer: %q = %q", k, iss[k])
		}
	}

	plonk := readJSON(t, proofPath)
	plonk["backend"] = "plonk"
	plonkPath := filepath.Join(is.dir, "plonk.json")
	writeJSON(t, plonkPath, plonk)
	badNote := writeFile(t, is.dir, "bad-checkpoint", "zkhealth.test/log\nseven\nAAAA\n")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"NeitherProofNorCheckpoint", []string{"export", "calldata"}, []string{"exactly one of --proof and --checkpoint"}},
		{"BothProofAndCheckpoint", []string{"export", "calldata", "--proof", proofPath, "--checkpoint", note}, []string{"exactly one"}},
		{"VerifierWithoutPayee", []string{"export", "calldata", "--proof", proofPath, "--verifier", "0x" + strings.Repeat("a1", 20)}, []string{"--verifier and --payee"}},
		{"BadAddress", []string{"export", "calldata", "--proof", proofPath, "--verifier", "0x1234", "--payee", "0x" + strings.Repeat("ee", 20)}, []string{"--verifier", "40 hex digits"}},
		{"PlonkProof", []string{"export", "calldata", "--proof", plonkPath}, []string{"plonk.json", "only groth16"}},
		{"MalformedCheckpoint", []string{"export", "calldata", "--checkpoint", badNote}, []string{"bad-checkpoint", "tree size"}},
		{"AddressesWithCheckpoint", []string{"export", "calldata", "--checkpoint", note, "--payee", "0x" + strings.Repeat("ee", 20)}, []string{"go with --proof"}},
		{"UnknownCircuit", []string{"export", "solidity", "--keys", dir, "--circuit", "dental-v1", "--out", is.dir}, []string{"--circuit", "dental-v1"}},
		{"BadIssuerKey", []string{"export", "issuer", "--issuer-pub", "00"}, []string{"--issuer-pub"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFailure(t, zk(t, tc.args...), ExitUsage, tc.want)
		})
	}
	t.Run("NoKeys", func(t *testing.T) {
		empty := t.TempDir()
		wantFailure(t, zk(t, "export", "solidity", "--keys", empty, "--out", filepath.Join(empty, "out")), ExitFailure, []string{empty, "keys not found"})
	})
}
