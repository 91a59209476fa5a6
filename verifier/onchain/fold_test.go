package onchain

import (
	"strings"
	"testing"
)

// TestFoldNeedsItsAnchors: the rewrite of gnark's verifier is refused, not guessed, when the
// template it was written for is not what the exporter produced.
func TestFoldNeedsItsAnchors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		ok   bool
	}{
		{"the pinned template's code", "a\n" + pedersenCheck + "b\n" + groth16Check + "c\n", true},
		{"no commitment check", "a\n" + groth16Check, false},
		{"no Groth16 call", pedersenCheck + "b\n", false},
		{"two Groth16 calls", pedersenCheck + groth16Check + groth16Check, false},
		{"changed indentation", strings.ReplaceAll(pedersenCheck, "        ", "    ") + groth16Check, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := foldCommitmentCheck([]byte(tc.src))
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (strings.Contains(string(out), "0x180, f, 0x20") || !strings.Contains(string(out), "f, 0x480, f, 0x20")) {
				t.Errorf("not folded:\n%s", out)
			}
		})
	}
}
