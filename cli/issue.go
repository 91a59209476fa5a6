package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/fieldhash"
	"github.com/zkhealth/zkhealth/schema"
)

func issueCmd(e *env) *cobra.Command {
	var issuerPath, schemaID, holderHex, attrsPath, out string
	cmd := &cobra.Command{
		Use:   "issue --issuer ISSUER.key --schema S --holder-commitment HEX --attributes ATTRS.json [--issued-on DATE] [--expires-on DATE] --out CREDENTIAL.json",
		Short: "Sign a credential over a holder's attributes",
		Long: `issue normalises ATTRS.json for the schema (coverage or clinical), binds it to the holder
commitment, signs it with the issuer key and writes CREDENTIAL.json (mode 0600: it holds health
data). --issued-on defaults to today (UTC) and --expires-on to one year after --issued-on.

Unknown attributes, wrong types, bad dates, codes that do not parse and units with no known
conversion are refused with exit 2 and a message naming the field (never its value).`,
		Example: `  zkhealth issue --issuer issuer.key --schema clinical \
      --holder-commitment 0x0b1c… --attributes attrs.json \
      --issued-on 2026-11-01 --out credential.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			attrData, err := readInput(attrsPath, credential.MaxSize)
			if err != nil {
				return err
			}
			attrs, err := credential.ParseAttributes(s, attrData)
			if err != nil {
				return fail(attrsPath, err)
			}
			cred, err := credential.IssueAttributes(key, attrs, hc, issuedOn, expiresOn, nil)
			if err != nil {
				return fail(attrsPath, err)
			}
			data, err := cred.Marshal()
			if err != nil {
				return fail("", err)
			}
			if err := writeOutput(out, data, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "issued %s credential id=%s issued_on=%s expires_on=%s to %s\n", s.ID, cred.ID, cred.IssuedOn, cred.ExpiresOn, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&issuerPath, "issuer", "", "issuer key file (from issuer keygen)")
	f.StringVar(&schemaID, "schema", "", "credential schema: coverage or clinical")
	f.StringVar(&holderHex, "holder-commitment", "", "holder commitment (hex, from holder keygen)")
	f.StringVar(&attrsPath, "attributes", "", "ATTRS.json: the attributes to sign")
	f.String("issued-on", "", "issue date YYYY-MM-DD (default today, UTC)")
	f.String("expires-on", "", "expiry date YYYY-MM-DD (default one year after --issued-on)")
	f.StringVar(&out, "out", "", "CREDENTIAL.json to write")
	required(cmd, "issuer", "schema", "holder-commitment", "attributes", "out")
	return cmd
}
