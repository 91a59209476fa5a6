package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/prover"
)

func proveCmd(e *env) *cobra.Command {
	var dir, credPath, holderPath, policyPath, challengeHex, backend, out string
	cmd := &cobra.Command{
		Use:   "prove --keys DIR --credential CREDENTIAL.json --holder HOLDER.key --policy POLICY.json --challenge HEX [--as-of DATE] [--backend groth16|plonk] --out PROOF.json",
		Short: "Prove that a credential satisfies a policy, revealing nothing else",
		Long: `prove checks the credential (issuer signature, holder binding, validity on the as-of date)
and the policy natively, then proves in zero knowledge that the credential satisfies the policy
for the verifier's challenge, and writes PROOF.json. It runs on the holder's machine: the record
never leaves it. --as-of defaults to today (UTC); it must be the verifier's as-of date.

Exit 3 names the first predicate the credential does not satisfy (index and as written); no proof
is written on any failure.`,
		Example: `  zkhealth prove --keys keys --credential credential.json --holder holder.key \
      --policy policy.json --challenge 0x5f3a… --as-of 2026-11-22 --out proof.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asOf, err := dateFlag(cmd, "as-of", e.today())
			if err != nil {
				return err
			}
			b, err := keys.ParseBackend(backend)
			if err != nil {
				return usageErrorf("--backend: %v", err)
			}
			challenge, err := fieldhash.ReduceHex(challengeHex)
			if err != nil {
				return usageErrorf("--challenge: %v", err)
			}
			data, err := readInput(credPath, credential.MaxSize)
			if err != nil {
				return err
			}
			cred, err := credential.Parse(data)
			if err != nil {
				return fail(credPath, err)
			}
			if _, err := cred.Decode(); err != nil {
				return fail(credPath, err)
			}
			if data, err = readInput(holderPath, maxKeyFile); err != nil {
				return err
			}
			hk, err := credential.ParseHolderKey(data)
			if err != nil {
				return fail(holderPath, err)
			}
			pol, err := readPolicy(policyPath, asOf)
			if err != nil {
				return err
			}
			if pol.Schema != cred.Schema {
				return usageErrorf("%s is a policy for schema %s but %s is a %s credential", policyPath, pol.Schema, credPath, cred.Schema)
			}
			req := prover.Request{Credential: cred, Holder: hk, Policy: pol, AsOf: asOf, Challenge: challenge}

			// Run every native check before loading the (large) proving key, so a credential that
			// cannot back a proof is reported at once. A prover with no circuits answers
			// EUnavailable exactly when every check passed.
			precheck, err := prover.New(dir, b, nil, 1)
			if err != nil {
				return fail(dir, err)
			}
			if _, err := precheck.Prepare(req); err != nil && zkhealth.ErrorCode(err) != zkhealth.EUnavailable {
				return proveFailure(credPath, policyPath, err)
			}
			// only the smallest circuit that holds the policy: its proving key is all this proof needs
			compiled, err := pol.Compile(asOf)
			if err != nil {
				return proveFailure(credPath, policyPath, err)
			}
			req.Compiled = compiled
			pr, err := prover.New(dir, b, []string{compiled.Assigned.Circuit.ID}, 1)
			if err != nil {
				return fail(dir, err)
			}
			pf, err := pr.Prove(cmd.Context(), req)
			if err != nil {
				return proveFailure(credPath, policyPath, err)
			}
			js, err := pf.Marshal()
			if err != nil {
				return fail("", err)
			}
			if err := writeOutput(out, js, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote %s circuit=%s backend=%s as_of=%s scope=%s nullifier=%s\n", out, pf.Circuit, pf.Backend, pf.AsOf, pf.Scope, pf.Public.Nullifier)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "keys", "", "key directory (from setup)")
	f.StringVar(&credPath, "credential", "", "CREDENTIAL.json (from issue)")
	f.StringVar(&holderPath, "holder", "", "holder key file (from holder keygen)")
	f.StringVar(&policyPath, "policy", "", "POLICY.json (the verifier's)")
	f.StringVar(&challengeHex, "challenge", "", "the verifier's challenge (hex, up to 32 bytes)")
	f.String("as-of", "", "as-of date YYYY-MM-DD (default today, UTC)")
	f.StringVar(&backend, "backend", string(keys.Groth16), "proving system: groth16 or plonk")
	f.StringVar(&out, "out", "", "PROOF.json to write")
	required(cmd, "keys", "credential", "holder", "policy", "challenge", "out")
	return cmd
}

// proveFailure reports a prover error against the file it is about: both files for a predicate
// that does not hold, the credential for one that cannot back a proof.
func proveFailure(credPath, policyPath string, err error) error {
	switch zkhealth.ErrorCode(err) {
	case zkhealth.ENotSatisfied:
		return fail(credPath+" does not satisfy "+policyPath, err)
	case zkhealth.ECredential, zkhealth.EInvalid:
		return fail(credPath, err)
	}
	return fail("", err)
}

// readPolicy reads POLICY.json and compiles it for asOf, so every policy error (exit 2) names
// the file and the predicate.
func readPolicy(path, asOf string) (*policy.Policy, error) {
	data, err := readInput(path, policy.MaxSize)
	if err != nil {
		return nil, err
	}
	pol, err := policy.Parse(data)
	if err != nil {
		return nil, fail(path, err)
	}
	if _, err := pol.Compile(asOf); err != nil {
		return nil, fail(path, err)
	}
	return pol, nil
}
