package cli

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/spf13/cobra"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/verifier/onchain"
)

func exportCmd(e *env) *cobra.Command {
	return group("export", "Contracts and calldata for verifying proofs on an EVM chain",
		`  zkhealth export solidity --keys keys --out contracts
  zkhealth export calldata --proof proof.json --verifier 0x… --payee 0x…
  zkhealth export issuer --issuer-pub 8f1c…`,
		exportSolidityCmd(e), exportCalldataCmd(e), exportIssuerCmd(e))
}

func exportSolidityCmd(e *env) *cobra.Command {
	var dir, circuit, out string
	var gnarkVerifier bool
	cmd := &cobra.Command{
		Use:   "solidity --keys DIR [--circuit ID] [--gnark-verifier] --out DIR",
		Short: "Write the Groth16 verifier and the claims contract of each circuit",
		Long: `solidity writes, for each Groth16 circuit whose keys DIR holds (or only --circuit), the
directory OUT/<circuit id>/ with Verifier.sol (gnark's exported Groth16 verifier for that
verifying key, its two pairing checks folded into one call, about 29,000 gas less per
verification; --gnark-verifier writes gnark's output unmodified) and ClaimsRegistry.sol (the claims contract: issuer registry, request bindings,
one claim per nullifier and scope, log anchoring). Deploy Verifier, then ClaimsRegistry with the
Verifier's address. It prints one line per circuit: id, verifying-key fingerprint, directory.

Keys from a development setup make a verifier that accepts proofs forged by whoever ran setup:
a note on stderr says so.`,
		Example: `  zkhealth export solidity --keys keys --circuit coverage-v2-s --out contracts`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var circuits []string
			if circuit != "" {
				if _, _, err := schema.ByCircuit(circuit); err != nil {
					return usageErrorf("--circuit: unknown circuit %q", circuit)
				}
				circuits = []string{circuit}
			} else {
				circuits = schema.CircuitIDs()
			}
			exported := 0
			for _, id := range circuits {
				k, err := keys.Load(dir, id, keys.Groth16, false)
				if errors.Is(err, keys.ErrNotFound) && circuit == "" {
					continue
				}
				if err != nil {
					return fail(dir, err)
				}
				target := filepath.Join(out, id)
				if err := os.MkdirAll(target, 0o755); err != nil {
					return fail(target, err)
				}
				var ver, reg bytes.Buffer
				writeVerifier := onchain.WriteVerifier
				if gnarkVerifier {
					writeVerifier = onchain.WriteGnarkVerifier
				}
				if err := writeVerifier(&ver, k.VK.(groth16.VerifyingKey)); err != nil {
					return fail(id, err)
				}
				if err := onchain.WriteClaimsRegistry(&reg, onchain.Circuit{ID: id, VKFingerprint: k.Info.VKFingerprint}); err != nil {
					return fail(id, err)
				}
				for name, src := range map[string][]byte{onchain.VerifierFile: ver.Bytes(), onchain.ClaimsRegistryFile: reg.Bytes()} {
					if err := writeOutput(filepath.Join(target, name), bytes.TrimRight(src, "\n"), 0o644); err != nil {
						return err
					}
				}
				if k.Info.Development {
					fmt.Fprintf(e.stderr, "note: %s keys come from a development setup (single party): a verifier contract made from them accepts proofs forged by whoever ran setup; never deploy it for real claims.\n", id)
				}
				fmt.Fprintf(e.stdout, "%s vk_fingerprint=%s %s\n", id, k.Info.VKFingerprint, target)
				exported++
			}
			if exported == 0 {
				return fail(dir, keys.ErrNotFound)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "keys", "", "key directory (from setup; verifying keys suffice)")
	f.StringVar(&circuit, "circuit", "", "circuit id (default: every Groth16 circuit in DIR)")
	f.StringVar(&out, "out", "", "output directory (created if missing)")
	f.BoolVar(&gnarkVerifier, "gnark-verifier", false, "write gnark's verifier unmodified (two pairing calls)")
	required(cmd, "keys", "out")
	return cmd
}

// calldataJSON is what `export calldata` prints.
type calldataJSON struct {
	Circuit     string   `json:"circuit,omitempty"`
	Proof       string   `json:"proof,omitempty"`
	Input       []string `json:"input,omitempty"`
	VerifyProof string   `json:"verify_proof,omitempty"`
	Claim       string   `json:"claim,omitempty"`
	TreeSize    *uint64  `json:"tree_size,omitempty"`
	RootHash    string   `json:"root_hash,omitempty"`
	Anchor      string   `json:"anchor,omitempty"`
}

func hex0x(b []byte) string { return "0x" + hex.EncodeToString(b) }

func exportCalldataCmd(e *env) *cobra.Command {
	var proofPath, checkpointPath, verifierAddr, payeeAddr string
	cmd := &cobra.Command{
		Use:   "calldata (--proof PROOF.json [--verifier ADDR --payee ADDR] | --checkpoint FILE)",
		Short: "Print a proof, or a log checkpoint, as the contracts' calldata",
		Long: `calldata prints one JSON object on stdout.

With --proof (a Groth16 PROOF.json): "proof" (the 384 bytes verifyProof takes), "input" (the five
public inputs in circuit order: request binding, issuer X, issuer Y, challenge, nullifier), and
"verify_proof", the ABI-encoded call Verifier.verifyProof(proof, input). With --verifier (the
account that registered the binding) and --payee, also "claim", the ABI-encoded call
ClaimsRegistry.claim(verifier, binding, issuerX, issuerY, challenge, nullifier, payee, proof). The
public values are the proof file's own: the contracts check them.

With --checkpoint (a verification-log checkpoint, C2SP format; check its signature first):
"tree_size", "root_hash" and "anchor", the ABI-encoded call ClaimsRegistry.anchor(treeSize,
rootHash).`,
		Example: `  zkhealth export calldata --proof proof.json --verifier 0x5e1f… --payee 0x00ee…
  zkhealth export calldata --checkpoint checkpoint.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (proofPath == "") == (checkpointPath == "") {
				return usageErrorf("want exactly one of --proof and --checkpoint")
			}
			var out calldataJSON
			if checkpointPath != "" {
				if verifierAddr != "" || payeeAddr != "" {
					return usageErrorf("--verifier and --payee go with --proof")
				}
				data, err := readInput(checkpointPath, maxKeyFile)
				if err != nil {
					return err
				}
				cp, err := onchain.ParseCheckpoint(data)
				if err != nil {
					return &exitError{code: ExitUsage, msg: checkpointPath + ": " + err.Error(), err: err}
				}
				out.TreeSize, out.RootHash, out.Anchor = &cp.TreeSize, hex0x(cp.RootHash[:]), hex0x(cp.Anchor())
				return printJSON(e, out)
			}
			if (verifierAddr == "") != (payeeAddr == "") {
				return usageErrorf("--verifier and --payee go together")
			}
			data, err := readInput(proofPath, zkhealth.MaxProofSize)
			if err != nil {
				return err
			}
			pf, err := zkhealth.ParseProof(data)
			if err != nil {
				return fail(proofPath, err)
			}
			c, err := onchain.FromProofFile(pf)
			if err != nil {
				return fail(proofPath, err)
			}
			out.Circuit, out.Proof, out.Input, out.VerifyProof = c.Circuit, hex0x(c.Proof), c.InputHex(), hex0x(c.VerifyProof())
			if verifierAddr != "" {
				v, err := onchain.ParseAddress(verifierAddr)
				if err != nil {
					return usageErrorf("--verifier: %v", err)
				}
				p, err := onchain.ParseAddress(payeeAddr)
				if err != nil {
					return usageErrorf("--payee: %v", err)
				}
				out.Claim = hex0x(c.Claim(v, p))
			}
			return printJSON(e, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&proofPath, "proof", "", "a Groth16 PROOF.json")
	f.StringVar(&verifierAddr, "verifier", "", "with --proof: the address that registered the request binding")
	f.StringVar(&payeeAddr, "payee", "", "with --proof: the payee the challenge was made for")
	f.StringVar(&checkpointPath, "checkpoint", "", "a verification-log checkpoint (C2SP signed note)")
	return cmd
}

func exportIssuerCmd(e *env) *cobra.Command {
	var issuerHex string
	cmd := &cobra.Command{
		Use:   "issuer --issuer-pub HEX",
		Short: "Print an issuer key as the claims contract's issuer registry takes it",
		Long: `issuer prints one JSON object: the key's coordinates "x" and "y" (setIssuer's and claim's
issuerX, issuerY) and the ABI-encoded calls "trust" (setIssuer(x, y, true)) and "revoke"
(setIssuer(x, y, false)), which only the contract's owner may send.`,
		Example: `  zkhealth export issuer --issuer-pub 8f1c…`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, err := credential.ParsePublicKey(issuerHex)
			if err != nil {
				return usageErrorf("--issuer-pub: %v", err)
			}
			x, y := onchain.IssuerKey(pub)
			return printJSON(e, map[string]string{
				"x": fieldhash.Hex(x), "y": fieldhash.Hex(y),
				"trust": hex0x(onchain.SetIssuer(pub, true)), "revoke": hex0x(onchain.SetIssuer(pub, false)),
			})
		},
	}
	cmd.Flags().StringVar(&issuerHex, "issuer-pub", "", "the issuer's public key (hex, from issuer keygen)")
	required(cmd, "issuer-pub")
	return cmd
}

func printJSON(e *env, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("render JSON: %w", err)
	}
	fmt.Fprintln(e.stdout, string(b))
	return nil
}
