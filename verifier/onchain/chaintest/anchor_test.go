package chaintest

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/zkhealth/zkhealth/bolt"
	"github.com/zkhealth/zkhealth/verifier/auditlog"
)

// anchorRealLog is issue 13 part 3 on the simulated chain: a verification log kept by package
// auditlog (on the bolt store, with a signed checkpoint) is anchored in the ClaimsRegistry with
// the calldata `zkhealth export calldata --checkpoint` prints, read back, and extended; the log's
// later checkpoint proves consistent with the anchored root read from the chain, while a
// rewritten log's root does not match the anchor, is not consistent with it, and cannot replace
// it. The entries are the verifications of good (the proof's binding and nullifier). It runs
// after the "anchor" subtest, whose anchored sizes (up to 5) are below this log's.
func anchorRealLog(t *testing.T, w *world, good *proved) {
	ctx := context.Background()
	c, reg := w.c, w.reg
	key, err := auditlog.GenerateKey("zkhealth.test/chain-log")
	if err != nil {
		t.Fatal(err)
	}
	openLog := func(name string) *auditlog.Log {
		store, err := bolt.Open(filepath.Join(w.dir, name+".db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		l, err := auditlog.Open(ctx, store, key)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	in := good.inputs()
	var binding, nullifier fr.Element
	binding.SetBigInt(in[0])
	nullifier.SetBigInt(in[4])
	entry := func(i int, result string) auditlog.Entry {
		return auditlog.Entry{Time: time.Unix(1795000000+int64(60*i), 0).UTC(), Binding: binding, Scope: "payer:acme:eligibility",
			Nullifier: &nullifier, Result: result}
	}
	results := []string{"valid", "challenge_mismatch", "valid", "untrusted_issuer", "valid", "valid", "proof_rejected", "valid", "valid", "valid", "scope_mismatch", "valid"}
	appendTo := func(l *auditlog.Log, from, to int, alter int) {
		for i := from; i < to; i++ {
			r := results[i]
			if i == alter {
				r = "proof_rejected" // a valid verification rewritten as a refusal
			}
			if _, err := l.Append(ctx, entry(i, r)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// anchor checks a checkpoint's signature, turns it into calldata with the CLI and sends it.
	anchor := func(l *auditlog.Log, from string) (*auditlog.Checkpoint, error) {
		signed, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := auditlog.OpenCheckpoint(signed, key.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		path := w.file(fmt.Sprintf("log-checkpoint-%d", cp.Size), string(signed))
		var out struct {
			TreeSize uint64 `json:"tree_size"`
			RootHash string `json:"root_hash"`
			Anchor   string `json:"anchor"`
		}
		if err := json.Unmarshal([]byte(zk(t, "export", "calldata", "--checkpoint", path)), &out); err != nil {
			t.Fatal(err)
		}
		if out.TreeSize != cp.Size || common.HexToHash(out.RootHash) != common.BytesToHash(cp.Hash) {
			t.Fatalf("export calldata read %d %s from a checkpoint of %d %x", out.TreeSize, out.RootHash, cp.Size, cp.Hash)
		}
		rc, err := c.send(from, reg, common.FromHex(out.Anchor))
		if err != nil {
			return cp, err
		}
		w.report(fmt.Sprintf("anchor a real log's checkpoint (tree size %d)", cp.Size), rc.GasUsed, "")
		if ev := events(t, reg, rc, "Anchored"); len(ev) != 1 {
			t.Fatalf("Anchored events: %v", ev)
		}
		return cp, nil
	}
	onChain := func() (uint64, []byte) {
		size := c.call(reg, "checkpointSize")[0].(uint64)
		root := c.call(reg, "checkpointRoot")[0].([32]byte)
		return size, root[:]
	}

	real := openLog("real")
	appendTo(real, 0, 8, -1)
	first, err := anchor(real, "owner")
	if err != nil {
		t.Fatal(err)
	}
	size, root := onChain()
	if size != 8 || common.BytesToHash(root) != common.BytesToHash(first.Hash) {
		t.Fatalf("on chain: size %d root %x; the log's checkpoint: %d %x", size, root, first.Size, first.Hash)
	}

	// The log grows: its new checkpoint is consistent with the root the chain holds, and is
	// anchored in turn.
	appendTo(real, 8, 12, -1)
	second, err := anchor(real, "owner")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := real.ConsistencyProof(ctx, size, second.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size, second.Size, cons, root, second.Hash); err != nil {
		t.Fatalf("the log's growth is not consistent with its anchor: %v", err)
	}
	size2, root2 := onChain()

	// A rewritten history (entry 2 turned into a refusal, every hash recomputed, signed with the
	// log's own key): its checkpoint verifies, but its root is not the anchored one, it is not
	// consistent with the earlier anchor, and it cannot replace the anchor.
	rewritten := openLog("rewritten")
	appendTo(rewritten, 0, 12, 2)
	signed, err := rewritten.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := auditlog.OpenCheckpoint(signed, key.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if forged.Size != size2 || common.BytesToHash(forged.Hash) == common.BytesToHash(root2) {
		t.Fatalf("the rewritten log's root %x matches the anchor %x", forged.Hash, root2)
	}
	cons, err = rewritten.ConsistencyProof(ctx, size, forged.Size)
	if err != nil {
		t.Fatal(err)
	}
	if proof.VerifyConsistency(rfc6962.DefaultHasher, size, forged.Size, cons, root, forged.Hash) == nil {
		t.Fatal("the rewritten log proves consistent with the first anchor")
	}
	if _, err := anchor(rewritten, "owner"); !reverted(err, "StaleCheckpoint") {
		t.Fatalf("anchoring the rewritten log over the anchor: %v", err)
	}
	if s, r := onChain(); s != size2 || common.BytesToHash(r) != common.BytesToHash(root2) {
		t.Fatal("the anchor changed")
	}
}
