# natsmux developer tasks. `make help` lists them.

GO        ?= go
PKGS      ?= ./...
LINT       = $(GO) tool -modfile=tools/go.mod golangci-lint
BENCHTIME ?= 1s
FUZZTIME  ?= 10s

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
bench: ## Benchmarks (BENCHTIME=1s)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)
