// Package chaintest deploys what `zkhealth export solidity` writes on go-ethereum's simulated
// chain and claims with proofs made by `zkhealth prove`: the end-to-end test of package
// verifier/onchain, and the place its gas figures are measured.
//
// It is a Go module of its own so that zkhealth's root go.mod never requires go-ethereum (about
// 180 modules, minutes of cold build): the root module's `go test ./...` does not enter this
// directory; `make test` runs it after the root tests, with CGO_ENABLED=0 (go-ethereum's pure-Go
// code paths, which build faster than its C ones). The contracts are compiled by the solc-js
// that solc/package-lock.json pins (0.8.37), installed by `make test` with `npm ci`.
//
//	cd verifier/onchain/chaintest && CGO_ENABLED=0 go test -v -run TestClaimsOnChain . | grep gas:
package chaintest
