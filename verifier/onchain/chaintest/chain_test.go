package chaintest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
)

// contract is a compiled contract (solc/compile.js's artifact) and, once deployed, its address.
type contract struct {
	name string
	abi  abi.ABI
	code []byte
	addr common.Address
}

// compile compiles the given Solidity files with the pinned solc-js and loads the named contracts.
func compile(t *testing.T, files []string, names ...string) map[string]*contract {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("solc", "compile.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("solc", "node_modules", "solc")); err != nil {
		t.Fatalf("solc-js is not installed: run `npm ci` in %s (make test does)", filepath.Dir(script))
	}
	out := t.TempDir()
	cmd := exec.Command("node", append([]string{script, out}, files...)...)
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("solc: %v\n%s", err, msg)
	}
	t.Logf("solc:\n%s", msg)
	cs := map[string]*contract{}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(out, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var art struct {
			ABI      json.RawMessage `json:"abi"`
			Bytecode string          `json:"bytecode"`
		}
		if err := json.Unmarshal(data, &art); err != nil {
			t.Fatalf("%s artifact: %v", name, err)
		}
		parsed, err := abi.JSON(bytes.NewReader(art.ABI))
		if err != nil {
			t.Fatalf("%s ABI: %v", name, err)
		}
		cs[name] = &contract{name: name, abi: parsed, code: common.FromHex(art.Bytecode)}
	}
	return cs
}

// pack ABI-encodes a call of method.
func (c *contract) pack(t *testing.T, method string, args ...any) []byte {
	t.Helper()
	data, err := c.abi.Pack(method, args...)
	if err != nil {
		t.Fatalf("pack %s.%s: %v", c.name, method, err)
	}
	return data
}

// account is a funded key on the simulated chain.
type account struct {
	addr common.Address
	opts *bind.TransactOpts
}

// chain is a simulated chain under mainnet's current rules, with funded accounts.
type chain struct {
	t        *testing.T
	sim      *simulated.Backend
	client   simulated.Client
	chainID  *big.Int
	accounts map[string]*account
	abis     []abi.ABI // to name custom errors in reverts
}

// newChain starts a simulated chain funding one account per name. The backend's default rules
// (params.AllDevChainProtocolChanges) include, in go-ethereum v1.17.10, the "Bogota" dev fork,
// which reprices storage writes and contract creation (EIP-8037/8038 drafts); gas here is
// measured under mainnet's rules (Prague and Osaka) instead, so that fork and Amsterdam are
// switched off.
func newChain(t *testing.T, names ...string) *chain {
	t.Helper()
	alloc := types.GenesisAlloc{}
	keys := map[string]*ecdsa.PrivateKey{}
	balance := new(big.Int).Exp(big.NewInt(10), big.NewInt(21), nil) // 1000 ether
	for _, n := range names {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[n] = k
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: balance}
	}
	mainnetRules := func(_ *node.Config, ec *ethconfig.Config) {
		cfg := *ec.Genesis.Config
		cfg.BogotaTime, cfg.AmsterdamTime = nil, nil
		ec.Genesis.Config = &cfg
	}
	sim := simulated.NewBackend(alloc, mainnetRules)
	t.Cleanup(func() { sim.Close() })
	c := &chain{t: t, sim: sim, client: sim.Client(), accounts: map[string]*account{}}
	id, err := c.client.ChainID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.chainID = id
	for n, k := range keys {
		opts := bind.NewKeyedTransactor(k, id)
		c.accounts[n] = &account{addr: opts.From, opts: opts}
	}
	return c
}

// deploy deploys k from the named account with ABI-encoded constructor arguments.
func (c *chain) deploy(from string, k *contract, args ...any) *types.Receipt {
	c.t.Helper()
	input := k.pack(c.t, "", args...)
	addr, tx, err := bind.DeployContract(c.accounts[from].opts, k.code, c.client, input)
	if err != nil {
		c.t.Fatalf("deploy %s: %v", k.name, c.revert(err))
	}
	c.sim.Commit()
	rc := c.receipt(tx)
	if rc.Status != types.ReceiptStatusSuccessful {
		c.t.Fatalf("deploy %s failed", k.name)
	}
	k.addr = addr
	c.abis = append(c.abis, k.abi)
	return rc
}

func (c *chain) receipt(tx *types.Transaction) *types.Receipt {
	c.t.Helper()
	rc, err := bind.WaitMined(context.Background(), c.client, tx.Hash())
	if err != nil {
		c.t.Fatal(err)
	}
	return rc
}

// send sends calldata to k from the named account and mines it. Gas is estimated first, so a
// revert comes back as an error naming the contract's custom error.
func (c *chain) send(from string, k *contract, data []byte) (*types.Receipt, error) {
	c.t.Helper()
	bc := bind.NewBoundContract(k.addr, k.abi, c.client, c.client, c.client)
	tx, err := bc.RawTransact(c.accounts[from].opts, data)
	if err != nil {
		return nil, c.revert(err)
	}
	c.sim.Commit()
	rc := c.receipt(tx)
	if rc.Status != types.ReceiptStatusSuccessful {
		return rc, errors.New("transaction reverted")
	}
	return rc, nil
}

// mustSend is send for calls that must succeed.
func (c *chain) mustSend(from string, k *contract, data []byte) *types.Receipt {
	c.t.Helper()
	rc, err := c.send(from, k, data)
	if err != nil {
		c.t.Fatalf("%s: %v", k.name, err)
	}
	return rc
}

// call runs a view method of k and returns its outputs.
func (c *chain) call(k *contract, method string, args ...any) []any {
	c.t.Helper()
	out, err := c.client.CallContract(context.Background(), ethereum.CallMsg{To: &k.addr, Data: k.pack(c.t, method, args...)}, nil)
	if err != nil {
		c.t.Fatalf("%s.%s: %v", k.name, method, c.revert(err))
	}
	vals, err := k.abi.Unpack(method, out)
	if err != nil {
		c.t.Fatalf("%s.%s: unpack: %v", k.name, method, err)
	}
	return vals
}

// estimate is eth_estimateGas of calldata sent to k by the named account: the whole transaction,
// intrinsic 21,000 and calldata included.
func (c *chain) estimate(from string, k *contract, data []byte) (uint64, error) {
	g, err := c.client.EstimateGas(context.Background(), ethereum.CallMsg{From: c.accounts[from].addr, To: &k.addr, Data: data})
	if err != nil {
		return 0, c.revert(err)
	}
	return g, nil
}

// revertError is a revert decoded to the contract's custom error (or require message).
type revertError struct{ name string }

func (e *revertError) Error() string { return "revert " + e.name }

// revert turns a JSON-RPC error carrying revert data into a *revertError.
func (c *chain) revert(err error) error {
	var de interface{ ErrorData() any }
	if !errors.As(err, &de) {
		return err
	}
	s, _ := de.ErrorData().(string)
	data := common.FromHex(s)
	if len(data) < 4 {
		return fmt.Errorf("revert without data: %w", err)
	}
	for _, a := range c.abis {
		for name, e := range a.Errors {
			if bytes.Equal(e.ID[:4], data[:4]) {
				return &revertError{name: name}
			}
		}
	}
	if reason, uerr := abi.UnpackRevert(data); uerr == nil {
		return &revertError{name: fmt.Sprintf("%q", reason)}
	}
	return fmt.Errorf("revert 0x%x", data)
}

// reverted reports whether err is a revert with the named custom error.
func reverted(err error, name string) bool {
	var re *revertError
	return errors.As(err, &re) && re.name == name
}

// events returns the named events of k in a receipt, each unpacked (non-indexed fields only).
func events(t *testing.T, k *contract, rc *types.Receipt, name string) []map[string]any {
	t.Helper()
	ev := k.abi.Events[name]
	var out []map[string]any
	for _, l := range rc.Logs {
		if l.Address != k.addr || len(l.Topics) == 0 || l.Topics[0] != ev.ID {
			continue
		}
		m := map[string]any{}
		if err := ev.Inputs.NonIndexed().UnpackIntoMap(m, l.Data); err != nil {
			t.Fatalf("unpack %s: %v", name, err)
		}
		out = append(out, m)
	}
	return out
}

// calldataGas is the EIP-2028 cost of calldata (4 per zero byte, 16 per other byte).
func calldataGas(data []byte) uint64 {
	var g uint64
	for _, b := range data {
		if b == 0 {
			g += 4
		} else {
			g += 16
		}
	}
	return g
}
