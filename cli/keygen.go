package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
)

func issuerCmd(e *env) *cobra.Command {
	return group("issuer", "Issuer key management", "  zkhealth issuer keygen --out issuer.key", issuerKeygenCmd(e))
}

func holderCmd(e *env) *cobra.Command {
	return group("holder", "Holder (patient) key management", "  zkhealth holder keygen --out holder.key", holderKeygenCmd(e))
}

func issuerKeygenCmd(e *env) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --out ISSUER.key",
		Short: "Make an issuer signing key; print its public key (hex)",
		Long: `keygen makes a new EdDSA key on BN254's twisted Edwards curve and writes it to ISSUER.key as
{"private_key": HEX, "public_key": HEX} with mode 0600. It prints the public key (hex) on stdout:
verifiers pass it to verify --issuer-pub. An existing file is never overwritten (exit 4).`,
		Example: `  zkhealth issuer keygen --out issuer.key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := credential.GenerateIssuerKey(nil)
			if err != nil {
				return fail("", err)
			}
			return writeNewKey(e, out, k, k.PublicHex())
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "key file to create (mode 0600; must not exist)")
	required(cmd, "out")
	return cmd
}

func holderKeygenCmd(e *env) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --out HOLDER.key",
		Short: "Make a holder secret; print the holder commitment (hex)",
		Long: `keygen makes a 32-byte random holder secret and writes HOLDER.key as
{"secret": HEX, "commitment": HEX} with mode 0600. It prints the commitment (hex) on stdout: give
it to the issuer (issue --holder-commitment). The secret never leaves the file. An existing file
is never overwritten (exit 4).`,
		Example: `  zkhealth holder keygen --out holder.key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := credential.GenerateHolderKey(nil)
			if err != nil {
				return fail("", err)
			}
			return writeNewKey(e, out, k, fieldhash.Hex(k.Commitment()))
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "key file to create (mode 0600; must not exist)")
	required(cmd, "out")
	return cmd
}

// writeNewKey writes a freshly made key to path (mode 0600, never over an existing file) and
// prints its public part on stdout.
func writeNewKey(e *env, path string, k json.Marshaler, public string) error {
	data, err := k.MarshalJSON()
	if err != nil {
		return fail("", err)
	}
	if err := writeKey(path, data); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, public)
	return nil
}

// writeKey writes a key file with mode 0600, refusing to replace an existing file.
func writeKey(path string, data []byte) error {
	if err := credential.WriteKeyFile(path, data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return failf("%s: already exists; refusing to overwrite a key file", path)
		}
		return fail(path, err)
	}
	return nil
}
