package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/schema"
)

func setupCmd(e *env) *cobra.Command {
	var dir, schemaID, backend string
	cmd := &cobra.Command{
		Use:   "setup --keys DIR [--schema coverage|clinical|all] [--backend groth16|plonk]",
		Short: "Compile the circuits and make (or keep) their proving and verifying keys",
		Long: `setup compiles each schema's circuit and makes sure DIR holds its proving and verifying
keys. It is idempotent: keys whose circuit has not changed are kept. It prints one line per
circuit: id, backend, constraint count, verifying-key fingerprint, and "kept" or "created".

The keys come from a single-party DEVELOPMENT setup: whoever ran it could forge proofs. A
warning says so on stderr; never use these keys in production.`,
		Example: `  zkhealth setup --keys keys
  zkhealth setup --keys keys --schema clinical --backend plonk`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := keys.ParseBackend(backend)
			if err != nil {
				return usageErrorf("--backend: %v", err)
			}
			var schemas []*schema.Schema
			if schemaID == "all" {
				schemas = schema.All()
			} else {
				s, err := schema.Get(schemaID)
				if err != nil {
					return usageErrorf("--schema: unknown schema %q (coverage, clinical or all)", schemaID)
				}
				schemas = []*schema.Schema{s}
			}
			for _, s := range schemas {
				for _, c := range s.Circuits {
					info, reused, err := keys.Setup(cmd.Context(), dir, s, c, b, keys.LineReporter(e.stderr))
					if err != nil {
						return fail(dir, err)
					}
					state := "created"
					if reused {
						state = "kept"
						if info.Development {
							fmt.Fprintf(e.stderr, "note: %s/%s keys come from a development setup (single party); never use them in production.\n", info.Circuit, info.Backend)
						}
					}
					fmt.Fprintf(e.stdout, "%s %s constraints=%d vk_fingerprint=%s %s\n", info.Circuit, info.Backend, info.Constraints, info.VKFingerprint, state)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "keys", "", "key directory (created if missing)")
	f.StringVar(&schemaID, "schema", "all", "schema whose circuit to set up: coverage, clinical or all")
	f.StringVar(&backend, "backend", string(keys.Groth16), "proving system: groth16 or plonk")
	required(cmd, "keys")
	return cmd
}
