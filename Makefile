# natsmux developer tasks. `make help` lists them.

GO        ?= go
PKGS      ?= ./...
LINT       = $(GO) tool -modfile=tools/go.mod golangci-lint
BENCHTIME ?= 1s
FUZZTIME  ?= 10s
SOAK      ?= 60s
# @asyncapi/parser for `make interop`, the version asyncapi/interop_test.go installs itself
ASYNCAPI_PARSER = 3.6.3
NATSJS          = 2.29.3

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run the minimal example service (embedded NATS server unless NATS_URL is set)
	$(GO) run ./examples/minimal

.PHONY: test
test: ## Run all tests with the race detector
	$(GO) test -race $(PKGS)

.PHONY: check
check: fmt-check vet lint test ## gofmt, go vet, golangci-lint and the tests

.PHONY: fmt-check
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet: ## go vet
	$(GO) vet $(PKGS)

.PHONY: lint
lint: ## golangci-lint (built from tools/go.mod on first use)
	$(LINT) run $(PKGS)

.PHONY: cover
cover: ## Tests with coverage; writes coverage.html
	$(GO) test -race -coverprofile=coverage.out -covermode=atomic $(PKGS)
	$(GO) tool cover -func=coverage.out | tail -1
	$(GO) tool cover -html=coverage.out -o coverage.html

.PHONY: bench
bench: ## The benchmark report: writes docs/benchmarks.md's report section and docs/benchmarks.svg
	$(GO) run ./internal/cmd/benchreport

.PHONY: bench-all
bench-all: ## Every testing.B benchmark of every package (BENCHTIME=1s)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

.PHONY: interop
interop: ## natscli v0.5.0 and nats.js read natsmux services, @asyncapi/parser their AsyncAPI documents (installs them into bin/)
	GOBIN=$(CURDIR)/bin $(GO) install github.com/nats-io/natscli/nats@v0.5.0
	NATS_CLI=$(CURDIR)/bin/nats $(GO) test -race -tags interop -count=1 -run Interop ./cmd/micro/
	npm install --no-audit --no-fund --prefix $(CURDIR)/bin/asyncapi-parser @asyncapi/parser@$(ASYNCAPI_PARSER)
	ASYNCAPI_PARSER_DIR=$(CURDIR)/bin/asyncapi-parser $(GO) test -race -tags interop -count=1 -run Interop ./asyncapi/
	npm install --no-audit --no-fund --prefix $(CURDIR)/bin/natsjs nats@$(NATSJS)
	NATSJS_DIR=$(CURDIR)/bin/natsjs $(GO) test -race -tags interop -count=1 -run Interop ./micro/

.PHONY: soak
soak: ## Steady mixed load, failovers and hedging for SOAK each (default 60s), then leak checks
	$(GO) test -run '^(TestSoak|TestResilientNodeFailure|TestSuperclusterFailover|TestHedgingSlowInstance)$$' -v -count 1 -timeout 20m ./internal/scaletest -args -soak=$(SOAK)

.PHONY: fuzz
fuzz: ## Every fuzz target of every package (found by go test -list) for FUZZTIME each (default 10s; 1000x is a count)
	@set -e; for pkg in $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' $(PKGS)); do \
		for name in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$name ($$pkg)"; \
			$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done
