# Swapwire's build. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
PYTHON    ?= /usr/bin/python3
GOBIN     := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
BIN       := $(CURDIR)/bin

# Pinned tool versions; `make tools` installs them with go install.
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPCURL_VERSION            := v1.9.4
# The S3-compatible server the object-store tests start (Apache-2.0).
VERSITYGW_VERSION          := v1.8.0
# MinIO, for the one test that needs atomic conditional writes (the
# compare-and-swap race): versitygw's are not atomic under concurrency. A
# test-only server process, never linked into swapwire.
MINIO_VERSION              := v0.0.0-20260212201848-7aac2a2c5b7c
CONTROLLER_GEN_VERSION     := v0.23.0

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Debian packages the tests use: the Python worker and client tests, the
# Python SDK's offline package build (setuptools, pip, venv) and its stub
# generator (protoc 3.21 and gRPC's Python plugin); the Chromium the
# dashboard's browser test drives (SWAPWIRE_SKIP_BROWSER=1 skips it); openssl
# for the token the docs' command blocks (TestDocCommands) generate; etcd for
# the operator's control plane (scripts/k8s-controlplane.sh).
DEB_PACKAGES := python3-sklearn python3-grpcio python3-protobuf python3-numpy \
	python3-setuptools python3-pip python3-venv protobuf-compiler protobuf-compiler-grpc \
	chromium openssl etcd-server

.PHONY: deps
deps: ## install what the tests need: the Debian Python packages (apt-get) and the pinned Go tools
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing $$missing"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi
	$(MAKE) tools

.PHONY: tools
tools: ## install the pinned code generators and test tools
	$(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	$(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
	@$(GO) version -m $(GOBIN)/versitygw 2>/dev/null | grep -q 'mod.*versitygw.*$(VERSITYGW_VERSION)' || \
		{ echo "installing versitygw $(VERSITYGW_VERSION) (a few minutes)"; $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION); }
	@$(GO) version -m $(GOBIN)/minio 2>/dev/null | grep -q 'mod.*minio/minio.*$(MINIO_VERSION)' || \
		{ echo "installing minio $(MINIO_VERSION) (a long compile)"; $(GO) install github.com/minio/minio@$(MINIO_VERSION); }
	$(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)

# The commit `swapwire version` prints when the Go toolchain records none
# (a git worktree, GOFLAGS=-buildvcs=false).
COMMIT    := $(shell git rev-parse HEAD 2>/dev/null)

.PHONY: build
build: ## build the swapwire binary and the Go examples into bin/
	@mkdir -p $(BIN)
	$(GO) build -ldflags "-X main.commit=$(COMMIT)" -o $(BIN)/swapwire ./cmd/swapwire
	$(GO) build -o $(BIN)/digits ./examples/digits
	$(GO) build -o $(BIN)/sentiment ./examples/sentiment

.PHONY: generate
generate: ## regenerate the Go and Python code from proto/
	buf generate
	@if [ -x sdk/python/generate.sh ]; then sdk/python/generate.sh; fi

.PHONY: checkgenerate
checkgenerate: generate ## fail when the checked-in generated code is stale
	@test -z "$$(git status --porcelain -- proto sdk)" || { echo "generated code is stale; run make generate and commit:"; git status --porcelain -- proto sdk; exit 1; }

.PHONY: lint
lint: ## gofmt, go vet, buf lint and buf format
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$unformatted" || { echo "gofmt would change:"; echo "$$unformatted"; exit 1; }
	$(GO) vet ./...
	buf lint
	buf format -d --exit-code

.PHONY: test
test: deps ## install what is missing, lint, check generated code, run every test (Go with -race; the operator on a local control plane), fuzz briefly
	$(MAKE) lint checkgenerate
	$(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) test-deploy
	$(MAKE) test-python
	$(MAKE) test-node
	$(MAKE) fuzz FUZZTIME=50000x
	$(MAKE) checkgenerate-operator test-operator

# Every decoder's fuzz target, as package:target.
FUZZ_TARGETS := ./modelstore:FuzzManifest ./internal/valueconv:FuzzValueFromProto ./internal/valueconv:FuzzRequestFromProto ./internal/oipconv:FuzzBatchRoundTrip \
	./internal/rekcurdconv:FuzzParseOption ./internal/oipconv:FuzzDecodeInputs \
	./internal/jsonvalue:FuzzParseLabeledExample ./serving/sidecar:FuzzReadFrame
FUZZ_TARGETS += ./cmd/swapwire:FuzzParseStoreURL ./internal/archive:FuzzExtractTar
FUZZ_TARGETS += ./internal/protocol/rest:FuzzDecodeRequest
FUZZ_TARGETS += ./serving/sidecar:FuzzParseProcStat ./internal/valueconv:FuzzResultsFromPacked
# FUZZTIME is a duration, or a count of runs such as 50000x.
FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	GO=$(GO) ./scripts/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

.PHONY: faults
faults: ## run the process-level fault tests (bounded) and print the fault matrix of docs/reliability.md
	@set -o pipefail; $(GO) test -race -count=1 -timeout 10m -run '^TestFault' -v ./cmd/swapwire/ 2>&1 | tee $${TMPDIR:-/tmp}/swapwire-faults.log | grep -E '^(--- |ok|FAIL)' ; status=$$?; \
	echo; echo '| fault | test | requests sent | failed | codes | recovery |'; echo '|---|---|---|---|---|---|'; \
	grep -o 'FAULT|.*' $${TMPDIR:-/tmp}/swapwire-faults.log | awk -F'|' '{ printf "|"; for (i = 2; i <= NF; i++) printf " %s |", $$i; print "" }'; \
	exit $$status

.PHONY: breaking
breaking: ## fail when the protos break wire compatibility with main
	buf breaking --against '.git#branch=main'

.PHONY: test-deploy
test-deploy: ## validate deploy/kubernetes offline by strict decoding into the Kubernetes API types (a nested module)
	cd deploy && $(GO) vet ./... && $(GO) test -count=1 ./...

.PHONY: test-node
test-node: ## the Node client tests (@grpc/grpc-js from the npm registry, versions locked), then the packed tarball
	cd sdk/node && npm ci --no-audit --no-fund && node --test
	$(MAKE) test-node-package

.PHONY: test-node-package
test-node-package: ## npm pack the Node client, install the tarball in a temp project outside the checkout, type-check and predict
	PYTHON=$(PYTHON) GO=$(GO) ./scripts/test-sdk-node.sh

.PHONY: test-python
test-python: ## the Python worker runtime and client tests (Debian python3-grpcio, python3-sklearn), then the installed package
	cd sdk/python && $(PYTHON) -m unittest discover -s tests -v
	$(MAKE) test-python-package

.PHONY: test-python-package
test-python-package: ## build the Python SDK wheel, install it in a fresh venv outside the checkout, run a worker and the clients from there
	PYTHON=$(PYTHON) GO=$(GO) ./scripts/test-sdk-python.sh

.PHONY: check-python-protobuf
check-python-protobuf: ## the Python SDK on a current protobuf runtime from a protobuf git dir (not in make test): PROTOBUF_SRC=DIR PROTOBUF_REF=v6.31.1
	@test -n "$(PROTOBUF_SRC)" || { echo "set PROTOBUF_SRC to a protobuf git dir (and PROTOBUF_REF) or source tree"; exit 2; }
	PYTHON=$(PYTHON) GO=$(GO) ./scripts/check-python-protobuf.sh "$(PROTOBUF_SRC)" $(PROTOBUF_REF)

.PHONY: demo
demo: build ## serve the Go digits model, predict, publish version 2, watch the hot swap
	./scripts/demo.sh

.PHONY: demo-python
demo-python: build ## serve the scikit-learn digits model through Python workers, publish version 2, watch the swap
	./scripts/demo-python.sh

.PHONY: demo-fleet
demo-fleet: build ## three replicas on one S3 store (versitygw): upload through one, watch all three converge
	./scripts/demo-fleet.sh

.PHONY: bench
bench: ## run every benchmark and rewrite docs/benchmarks.md and docs/benchmarks.svg (about 2 minutes)
	$(GO) run ./bench/cmd/swapwire-bench all -out docs/

.PHONY: bench-overhead
bench-overhead: ## bare grpc-go vs Swapwire on the same 64 floats, in one run
	$(GO) run ./bench/cmd/swapwire-bench overhead

.PHONY: bench-swap
bench-swap: ## failures, p99 and memory during 1,000 hot swaps under load
	$(GO) run ./bench/cmd/swapwire-bench swap

.PHONY: bench-batching
bench-batching: ## a Go BatchPredictor with batching off vs on
	$(GO) run ./bench/cmd/swapwire-bench batching

.PHONY: bench-workers
bench-workers: ## scikit-learn digits through Python workers: 1 vs N workers, batching off vs on
	$(GO) run ./bench/cmd/swapwire-bench workers

.PHONY: bench-fleet
bench-fleet: ## three swapwire serve processes on one store (directory and S3): convergence and failed requests
	$(GO) run ./bench/cmd/swapwire-bench fleet

.PHONY: clean
clean: ## remove build output
	rm -rf $(BIN)

# The operator is a nested module (operator/, cmd/swapwire-operator/): the
# Kubernetes libraries stay out of the core module, and `go test ./...` at
# the root does not enter it, so these targets run it.
OPERATOR_MODULES := operator cmd/swapwire-operator

.PHONY: k8s-controlplane
k8s-controlplane: ## build (once per machine, cached by version) etcd, kube-apiserver, -controller-manager, -scheduler, kubectl, kwok
	./scripts/k8s-controlplane.sh build

.PHONY: generate-operator
generate-operator: ## regenerate the ModelService deepcopy code, CRD and RBAC with controller-gen
	cd operator && controller-gen object paths=./api/... crd:maxDescLen=0 paths=./api/... output:crd:artifacts:config=../deploy/operator/crd
	cd operator && controller-gen rbac:roleName=swapwire-operator paths=./controller/... output:rbac:artifacts:config=../deploy/operator/rbac

.PHONY: checkgenerate-operator
checkgenerate-operator: generate-operator ## fail when the operator's generated code, CRD or RBAC is stale
	@test -z "$$(git status --porcelain -- operator deploy/operator)" || { echo "operator generated code is stale; run make generate-operator and commit:"; git status --porcelain -- operator deploy/operator; exit 1; }

.PHONY: vet-operator
vet-operator: ## vet (and so compile) the operator's nested modules
	@for m in $(OPERATOR_MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

# test-operator is part of make test. Its control plane is built once per
# machine and cached by version (the first build is the long part of a cold
# .ci/run; the README's test section gives the measured time); kubectl,
# which only the demo uses, is left out of that build.
.PHONY: test-operator
test-operator: vet-operator ## test the operator against a real API server, scheduler, controller manager and kwok nodes
	./scripts/k8s-controlplane.sh build-test
	cd cmd/swapwire-operator && $(GO) build -o $(BIN)/swapwire-operator .
	cd operator && KUBEBUILDER_ASSETS=$$(../scripts/k8s-controlplane.sh dir) $(GO) test -race -count=1 -timeout 15m ./...

.PHONY: demo-k8s
demo-k8s: build k8s-controlplane ## local control plane + operator: apply a ModelService, switch its version with kubectl apply, show the status
	cd cmd/swapwire-operator && $(GO) build -o $(BIN)/swapwire-operator .
	./scripts/demo-k8s.sh

.PHONY: screenshots
screenshots: ## rerun only the dashboard's browser test, which rewrites docs/dashboard/*.png
	$(GO) test -count=1 -run TestDashboard ./internal/dashboard/
