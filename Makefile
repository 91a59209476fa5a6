# zkhealth — one command per job. `make test` is what CI runs (.ci/run).
GO       ?= go
BIN      := bin/zkhealth
PKGS     := ./...
# The commit `zkhealth --version` names: the toolchain stamps it too (-buildvcs), except in a git
# worktree, which it does not recognise.
COMMIT   := $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
# The chain test is a module of its own (go-ethereum stays out of the root go.mod); CGO_ENABLED=0
# builds go-ethereum's pure-Go code paths, faster than its C ones.
CHAINTEST := verifier/onchain/chaintest
CHAINGO   := cd $(CHAINTEST) && CGO_ENABLED=0 $(GO)

.PHONY: build test gas bench run lint fuzz clean

build:
	$(GO) build -buildvcs=auto -ldflags "-X github.com/zkhealth/zkhealth/cli.linkedCommit=$(COMMIT)" -o $(BIN) ./cmd/zkhealth

# Tests need Redis: REDIS_URL when set, else a private redis-server the tests start themselves;
# the chain test needs solc-js (npm ci from its package-lock.json) and node.
test:
	@scripts/ensure-redis
	@scripts/ensure-solc
	$(GO) test -timeout 14m $(PKGS)
	$(CHAINGO) test -timeout 10m ./...

# Gas of the contracts on the simulated chain (mainnet rules), from the chain test's log.
gas:
	@scripts/ensure-solc
	@$(CHAINGO) test -count=1 -v -run TestClaimsOnChain ./... | grep -E 'gas:|sizes:'

# Performance is measured here, never asserted in tests: the testing.B benchmarks (raw output in
# benchmarks/results/bench.txt), then benchmarks/cmd/benchreport (peak memory, HTTP load with
# vegeta on 127.0.0.1 in embedded and Redis mode, scaling sweeps), which writes
# benchmarks/results/{latest.json,summary.md,*.png} and README.md's generated Performance block.
# ZKHEALTH_BENCH_PLONK=0 skips PLONK; without Redis the Redis-mode runs are skipped.
bench:
	@scripts/ensure-redis || echo "bench: no Redis: the Redis-mode runs will be skipped"
	@mkdir -p benchmarks/results
	@bash -o pipefail -c "$(GO) test -run '^$$' -bench . -benchmem -timeout 14m ./benchmarks/ | tee benchmarks/results/bench.txt"
	$(GO) run ./benchmarks/cmd/benchreport -out benchmarks/results -readme README.md

# The service in its embedded default: no Redis, state and dev keys under ./data. The binary
# replaces the recipe's shell (exec), so it is make's own child: a SIGTERM to make, or to the pid
# the server logs, stops the server (`go run` would leave it running).
run: build
	exec $(BIN) serve --dev

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(CHAINGO) vet ./...

# Each fuzz target for FUZZTIME (default 10s).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Everything the commands above generate: the binary, the service's data (state and circuit
# keys), the walkthrough's key directory, the tests' shared key directory and benchmark scratch.
# It does not touch benchmarks/results.
clean:
	rm -rf bin data zkkeys benchmarks/results/tmp "$${ZKHEALTH_TEST_KEYS:-$${TMPDIR:-/tmp}/zkhealth-test-keys}"
