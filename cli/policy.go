package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zkhealth/zkhealth/internal/fieldhash"
)

func policyCmd(e *env) *cobra.Command {
	return group("policy", "Inspect verifier policies", "  zkhealth policy hash --policy policy.json --as-of 2026-11-22", policyHashCmd(e), policyFromFHIRCmd(e))
}

func policyHashCmd(e *env) *cobra.Command {
	var policyPath string
	cmd := &cobra.Command{
		Use:   "hash --policy POLICY.json [--as-of DATE]",
		Short: "Validate a policy and print its policy hash for an as-of date",
		Long: `hash validates POLICY.json against its schema (exit 2 names the predicate at fault), compiles
it for --as-of (default today, UTC) and prints the policy hash: the public input a proof for this
policy, as-of date and scope carries (PROOF.json's public.policy_hash).`,
		Example: `  zkhealth policy hash --policy policy.json --as-of 2026-11-22`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asOf, err := dateFlag(cmd, "as-of", e.today())
			if err != nil {
				return err
			}
			pol, err := readPolicy(policyPath, asOf)
			if err != nil {
				return err
			}
			c, err := pol.Compile(asOf)
			if err != nil {
				return fail(policyPath, err)
			}
			// the request binding of the smallest circuit that holds the policy (what a proof of it uses)
			fmt.Fprintln(e.stdout, fieldhash.Hex(c.Assigned.Hash))
			return nil
		},
	}
	cmd.Flags().StringVar(&policyPath, "policy", "", "POLICY.json")
	cmd.Flags().String("as-of", "", "as-of date YYYY-MM-DD (default today, UTC)")
	required(cmd, "policy")
	return cmd
}
