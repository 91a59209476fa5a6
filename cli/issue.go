package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/fhir"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/schema"
)

func issueCmd(e *env) *cobra.Command {
	var issuerPath, schemaID, holderHex, attrsPath, fhirPath, loinc, out string
	cmd := &cobra.Command{
		Use:   "issue --issuer ISSUER.key --schema S --holder-commitment HEX (--attributes ATTRS.json | --fhir BUNDLE.json [--loinc CODE,…]) [--issued-on DATE] [--expires-on DATE] --out CREDENTIAL.json",
		Short: "Sign a credential over a holder's attributes",
		Long: `issue normalises ATTRS.json for the schema (coverage or clinical), binds it to the holder
commitment, signs it with the issuer key and writes CREDENTIAL.json (mode 0600: it holds health
data). --issued-on defaults to today (UTC) and --expires-on to one year after --issued-on.

Unknown attributes, wrong types, bad dates, codes that do not parse and units with no known
conversion are refused with exit 2 and a message naming the field (never its value).

With --fhir instead of --attributes, the attributes are read from a FHIR R4 Bundle holding one
Patient (package fhir documents the mapping): clinical from Patient, active Conditions (SNOMED CT
mapped to ICD-10-CM), Observations of the LOINC set (--loinc, default: HbA1c, glucose, BMI,
weight, eGFR, creatinine, blood pressure, lipids, hemoglobin) and medications; coverage from
Coverage resources (or those contained in ExplanationOfBenefit), choosing the coverage in force
on --issued-on. Malformed FHIR is refused with exit 2 and a message naming the resource and path.`,
		Example: `  zkhealth issue --issuer issuer.key --schema clinical \
      --holder-commitment 0x0b1c… --attributes attrs.json \
      --issued-on 2026-11-01 --out credential.json
  zkhealth issue --issuer issuer.key --schema clinical \
      --holder-commitment 0x0b1c… --fhir patient-bundle.json --loinc 4548-4,39156-5 \
      --out credential.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// one sentence, not cobra's flag-group message
			if (attrsPath == "") == (fhirPath == "") {
				return usageErrorf("give exactly one of --attributes ATTRS.json and --fhir BUNDLE.json")
			}
			s, err := schema.Get(schemaID)
			if err != nil {
				return usageErrorf("--schema: %v", err)
			}
			hc, err := fieldhash.ParseHex(holderHex)
			if err != nil {
				return usageErrorf("--holder-commitment: %v", err)
			}
			issuedOn, err := dateFlag(cmd, "issued-on", e.today())
			if err != nil {
				return err
			}
			t, _ := time.Parse(dateLayout, issuedOn)
			expiresOn, err := dateFlag(cmd, "expires-on", t.AddDate(1, 0, 0).Format(dateLayout))
			if err != nil {
				return err
			}
			if expiresOn < issuedOn {
				return usageErrorf("--expires-on: before --issued-on")
			}
			keyData, err := readInput(issuerPath, maxKeyFile)
			if err != nil {
				return err
			}
			key, err := credential.ParseIssuerKey(keyData)
			if err != nil {
				return fail(issuerPath, err)
			}
			attrs, source, err := issueAttributes(cmd, s, attrsPath, fhirPath, loinc, issuedOn)
			if err != nil {
				return err
			}
			cred, err := credential.IssueAttributes(key, attrs, hc, issuedOn, expiresOn, nil)
			if err != nil {
				return fail(source, err)
			}
			data, err := cred.Marshal()
			if err != nil {
				return fail("", err)
			}
			if err := writeOutput(out, data, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "issued %s credential id=%s issued_on=%s expires_on=%s to %s\n", s.ID, cred.ID, cred.IssuedOn, cred.ExpiresOn, out)
			for i, l := range s.Lists {
				fmt.Fprintf(e.stdout, "%s: %d entries, %s\n", l.Name, len(attrs.Lists[i]), describeCompleteness(attrs.Completeness[i]))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&issuerPath, "issuer", "", "issuer key file (from issuer keygen)")
	f.StringVar(&schemaID, "schema", "", "credential schema: coverage or clinical")
	f.StringVar(&holderHex, "holder-commitment", "", "holder commitment (hex, from holder keygen)")
	f.StringVar(&attrsPath, "attributes", "", "ATTRS.json: the attributes to sign")
	f.StringVar(&fhirPath, "fhir", "", "FHIR R4 Bundle to read the attributes from (instead of --attributes)")
	f.StringVar(&loinc, "loinc", "", "with --fhir and --schema clinical: the observation LOINC codes to sign, comma-separated (default: every code with a canonical unit)")
	f.String("issued-on", "", "issue date YYYY-MM-DD (default today, UTC)")
	f.String("expires-on", "", "expiry date YYYY-MM-DD (default one year after --issued-on)")
	f.StringVar(&out, "out", "", "CREDENTIAL.json to write")
	required(cmd, "issuer", "schema", "holder-commitment", "out")
	return cmd
}

// describeCompleteness says in words what a list's completeness lets a verifier prove.
func describeCompleteness(c credential.Completeness) string {
	switch {
	case c.Incomplete && c.CompleteSince != "":
		return "incomplete (an entry could not be signed) and complete only since " + c.CompleteSince + ": none and latest unprovable"
	case c.Incomplete:
		return "incomplete (an entry could not be signed): none and latest unprovable"
	case c.CompleteSince != "":
		return "complete since " + c.CompleteSince + " (older entries left out for capacity): none only for windows starting on or after it"
	}
	return "complete"
}

// issueAttributes reads the attributes to sign from ATTRS.json or a FHIR bundle and returns them
// with the path they came from.
func issueAttributes(cmd *cobra.Command, s *schema.Schema, attrsPath, fhirPath, loinc, issuedOn string) (*credential.Attributes, string, error) {
	if fhirPath == "" {
		if cmd.Flags().Changed("loinc") {
			return nil, "", usageErrorf("--loinc: only with --fhir")
		}
		data, err := readInput(attrsPath, credential.MaxSize)
		if err != nil {
			return nil, "", err
		}
		attrs, err := credential.ParseAttributes(s, data)
		if err != nil {
			return nil, "", fail(attrsPath, err)
		}
		return attrs, attrsPath, nil
	}
	opts := fhir.Options{AsOf: issuedOn}
	if cmd.Flags().Changed("loinc") {
		if s.ID != "clinical" {
			return nil, "", usageErrorf("--loinc: only with --schema clinical")
		}
		set, err := fhir.ParseLOINCSet(loinc)
		if err != nil {
			return nil, "", usageErrorf("--loinc: %v", err)
		}
		opts.LOINC = set
	}
	data, err := readInput(fhirPath, fhir.MaxBundleSize)
	if err != nil {
		return nil, "", err
	}
	attrs, err := fhir.Attributes(s, data, opts)
	if err != nil {
		return nil, "", fail(fhirPath, err)
	}
	return attrs, fhirPath, nil
}
