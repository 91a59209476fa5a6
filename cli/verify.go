package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/verifier"
)

// explain says in a few words what a verifier reason means.
func explain(reason string) string {
	switch reason {
	case verifier.ReasonMalformed:
		return "the proof bytes or nullifier do not decode"
	case verifier.ReasonCircuitMismatch:
		return "the proof is for another circuit than the policy's schema"
	case verifier.ReasonUnknownKey:
		return "the proof names a verifying key this directory does not hold"
	case verifier.ReasonPolicyMismatch:
		return "the proof was made for another policy"
	case verifier.ReasonAsOfMismatch:
		return "the proof was made for another as-of date"
	case verifier.ReasonScopeMismatch:
		return "the proof was made for another scope"
	case verifier.ReasonIssuerMismatch:
		return "the proof was made for another issuer"
	case verifier.ReasonChallenge:
		return "the proof was made for another challenge"
	case verifier.ReasonUntrustedIssuer:
		return "the policy does not accept this issuer"
	case verifier.ReasonRejected:
		return "the proof does not verify for these public values"
	}
	return ""
}

func verifyCmd(e *env) *cobra.Command {
	var dir, proofPath, policyPath, issuerHex, challengeHex string
	cmd := &cobra.Command{
		Use:   "verify --keys DIR --proof PROOF.json --policy POLICY.json --issuer-pub HEX --challenge HEX [--as-of DATE]",
		Short: "Check a proof against your own policy, as-of date, issuer and challenge",
		Long: `verify rebuilds the public values from your own POLICY.json, --as-of (default today, UTC),
--issuer-pub and --challenge, never from the proof's "public" block, and checks the proof with the
verifying key in DIR named by the proof's circuit and backend.

A valid proof prints "valid nullifier=0x…" on stdout and exits 0; the nullifier is the same for one
holder within one scope. An invalid proof prints "invalid: <reason>" on stderr and exits 1.
Missing keys exit 4; a malformed policy, proof file or flag exits 2.`,
		Example: `  zkhealth verify --keys keys --proof proof.json --policy policy.json \
      --issuer-pub 8f1c… --challenge 0x5f3a… --as-of 2026-11-22`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asOf, err := dateFlag(cmd, "as-of", e.today())
			if err != nil {
				return err
			}
			issuer, err := credential.ParsePublicKey(issuerHex)
			if err != nil {
				return usageErrorf("--issuer-pub: %v", err)
			}
			challenge, err := fieldhash.ReduceHex(challengeHex)
			if err != nil {
				return usageErrorf("--challenge: %v", err)
			}
			data, err := readInput(proofPath, zkhealth.MaxProofSize)
			if err != nil {
				return err
			}
			pf, err := zkhealth.ParseProof(data)
			if err != nil {
				return fail(proofPath, err)
			}
			pol, err := readPolicy(policyPath, asOf)
			if err != nil {
				return err
			}
			s, err := pol.SchemaOf()
			if err != nil {
				return fail(policyPath, err)
			}
			// The proof names its backend; an unknown one is left to the verifier, which finds
			// no key for it and says the proof is invalid.
			b, err := keys.ParseBackend(pf.Backend)
			if err != nil {
				b = keys.Groth16
			}
			var ids []string
			for _, c := range s.Circuits {
				ids = append(ids, c.ID)
			}
			v, err := verifier.New(dir, ids, b)
			if err != nil {
				return fail(dir, err)
			}
			res, err := v.Verify(cmd.Context(), verifier.Request{Proof: pf, Policy: pol, AsOf: asOf, Issuer: issuer, Challenge: challenge})
			if err != nil {
				return fail("", err)
			}
			if !res.Valid {
				msg := "invalid: " + res.Reason
				if why := explain(res.Reason); why != "" {
					msg += " (" + why + ")"
				}
				return &exitError{code: ExitInvalidProof, msg: msg}
			}
			fmt.Fprintf(e.stdout, "valid nullifier=%s\n", res.Nullifier)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "keys", "", "key directory (from setup; verifying keys suffice)")
	f.StringVar(&proofPath, "proof", "", "PROOF.json to check")
	f.StringVar(&policyPath, "policy", "", "your POLICY.json")
	f.StringVar(&issuerHex, "issuer-pub", "", "the issuer's public key (hex, from issuer keygen)")
	f.StringVar(&challengeHex, "challenge", "", "the challenge you gave the holder (hex)")
	f.String("as-of", "", "as-of date YYYY-MM-DD (default today, UTC)")
	required(cmd, "keys", "proof", "policy", "issuer-pub", "challenge")
	return cmd
}
