package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zkhealth/zkhealth/fhir"
)

func policyFromFHIRCmd(e *env) *cobra.Command {
	var in, scope, out string
	var allowPartial bool
	cmd := &cobra.Command{
		Use:   "from-fhir --in FILE [--scope S] --out POLICY.json [--allow-partial]",
		Short: "Turn FHIR eligibility criteria into a clinical POLICY.json",
		Long: `from-fhir reads eligibility criteria from FHIR: an R4 ResearchStudy whose enrollment names a
Group (characteristic code, value, exclude), an R5 ResearchStudy or EvidenceVariable
(definitionByTypeAndValue, definitionCodeableConcept, definitionByCombination all-of / any-of over
code sets, timeFromEvent windows), as a Bundle or a single resource, and writes the clinical
POLICY.json they describe (package fhir documents the mapping).

The scope is "trial:NCT…" from the study's ClinicalTrials.gov identifier unless --scope sets it.
Criteria that cannot be expressed are listed on stderr, one per line ("unsupported: PATH (TEXT):
REASON"), and make the command fail with exit 2 without writing anything unless --allow-partial
is given, in which case the policy holds the others. Malformed FHIR exits 2 with a line naming the
resource and path.`,
		Example: `  zkhealth policy from-fhir --in study-bundle.json --out policy.json
  zkhealth policy from-fhir --in criteria.json --scope trial:NCT04556851 --out policy.json --allow-partial`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := readInput(in, fhir.MaxBundleSize)
			if err != nil {
				return err
			}
			p, unsupported, err := fhir.PolicyFromFHIR(data)
			for _, u := range unsupported {
				fmt.Fprintln(e.stderr, oneLine("unsupported: "+u.String()))
			}
			if err != nil {
				return fail(in, err)
			}
			if cmd.Flags().Changed("scope") {
				p.Scope = scope
			}
			if p.Scope == "" {
				return usageErrorf("--scope: the criteria name no study; give a scope")
			}
			if err := p.Validate(); err != nil {
				return fail(in, err)
			}
			if len(unsupported) > 0 && !allowPartial {
				return usageErrorf("%s: %d criteria cannot be expressed (listed above); --allow-partial writes the policy without them", in, len(unsupported))
			}
			enc, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				return fail("", err)
			}
			if err := writeOutput(out, enc, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote clinical policy with %d predicates (scope %s, %d criteria left out) to %s\n", len(p.Predicates), p.Scope, len(unsupported), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&in, "in", "", "FHIR criteria: a Bundle, ResearchStudy, Group or EvidenceVariable (JSON)")
	f.StringVar(&scope, "scope", "", "the policy's scope (default: trial:NCT… from the study)")
	f.StringVar(&out, "out", "", "POLICY.json to write")
	f.BoolVar(&allowPartial, "allow-partial", false, "write the policy even when some criteria cannot be expressed")
	required(cmd, "in", "out")
	return cmd
}
