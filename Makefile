# vault-intermediate-issuer
#
# Everything is built from the Go module proxy into bin/ (git-ignored): the
# controller, controller-gen, helm, and the real servers the tests run on
# (etcd, kube-apiserver, OpenBao, HashiCorp Vault, the cert-manager
# controllers and webhook) and the consumers' own code the tests hand our
# certificates to (cmctl, Istio's CA, SPIRE's cert-manager upstream
# authority). Tool targets are file targets, so a second run rebuilds only
# what changed.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

BIN := $(CURDIR)/bin
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export CGO_ENABLED := 0
# Never depend on a tool found on the PATH.
export PATH := $(BIN):$(PATH)

CONTROLLER_GEN_VERSION := v0.23.0
GOLANGCI_LINT_VERSION := v2.15.0
KUBE_VERSION := v1.36.2
ETCD_VERSION := v3.6.16
OPENBAO_VERSION := 2.4.0
# HashiCorp Vault's version is pinned by e2e/tools/vault/go.mod (1.13.0, the
# last MPL-2.0 release whose sdk is published).
CERT_MANAGER_VERSION := v1.20.3
# The helm CLI's version; e2e/tools/helm/go.mod pins the same.
HELM_VERSION := v3.19.0
# cmctl's version and the commit of its tag; e2e/tools/cmctl/go.mod pins the
# same. The checksum database has no entry for this module: GONOSUMDB names
# it alone, for its rule only (the committed go.sum is what is verified).
CMCTL_VERSION := v2.3.0
CMCTL_GIT_COMMIT := 29b59b934c5a6f533b2d278f4541dca89d1eb288

CHART := deploy/charts/vault-intermediate-issuer
# The static install: the chart rendered with its default values.
MANIFESTS := deploy/manifests/vault-intermediate-issuer.yaml
MANIFESTS_NAMESPACE := vault-intermediate-issuer

GO_BUILD := $(GO) build -trimpath -mod=readonly

TOOLS := $(BIN)/etcd $(BIN)/kube-apiserver $(BIN)/openbao $(BIN)/hashicorp-vault $(BIN)/cert-manager-controller \
	$(BIN)/cert-manager-webhook $(BIN)/cmctl $(BIN)/istio-ca $(BIN)/spire-upstream \
	$(BIN)/controller-gen $(BIN)/helm $(BIN)/crds/cert-manager/.stamp $(BIN)/charts/cert-manager/.stamp

##@ General

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-12s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build

.PHONY: build
build: $(BIN)/vault-intermediate-issuer $(BIN)/vault-intermediate-issuer-race ## Build the controller into bin/, and its race-detector build for the e2e suite.

CONTROLLER_SOURCES := $(shell find api signer controllers cmd -name '*.go' -not -name '*_test.go') go.mod go.sum

$(BIN)/vault-intermediate-issuer: $(CONTROLLER_SOURCES)
	$(GO_BUILD) -ldflags "-s -w -X main.version=$(VERSION)" -o $@ ./cmd/vault-intermediate-issuer

# The same controller built with the race detector, which the main e2e suite
# runs (and fails on any race it reports); never shipped. -race needs cgo.
$(BIN)/vault-intermediate-issuer-race: $(CONTROLLER_SOURCES)
	CGO_ENABLED=1 $(GO_BUILD) -race -ldflags "-X main.version=$(VERSION)-race" -o $@ ./cmd/vault-intermediate-issuer

# The same controller with fault injection points compiled in, for the fault
# drills only (never shipped).
$(BIN)/vault-intermediate-issuer-faultinjection: $(CONTROLLER_SOURCES)
	$(GO_BUILD) -tags faultinjection -ldflags "-s -w -X main.version=$(VERSION)-faultinjection" -o $@ ./cmd/vault-intermediate-issuer

.PHONY: tools
tools: $(TOOLS) ## Build the test servers and code generators into bin/ (cached).

$(BIN)/controller-gen:
	GOBIN=$(BIN) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)

# golangci-lint, from its own go.mod at the pinned version (go install
# pkg@version resolves exactly the versions that go.mod lists and checks them
# against the checksum database). The version is in the file name, so a new
# pin builds a new binary instead of reusing the old one.
GOLANGCI_LINT := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
$(GOLANGCI_LINT):
	tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
		GOBIN=$$tmp $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) && \
		mv $$tmp/golangci-lint $@

$(BIN)/etcd: $(wildcard e2e/tools/etcd/*.go) e2e/tools/etcd/go.mod e2e/tools/etcd/go.sum
	cd e2e/tools/etcd && $(GO_BUILD) -ldflags "-s -w" -o $@ .

KUBE_GIT_COMMIT := 24e2b02af5543d7910c2bb074c7264df5a8f0467
KUBE_BUILD_DATE := 2026-06-11T18:09:07Z
# The same variables upstream's hack/lib/version.sh sets, in both packages
# that report a version; commit and date are the v1.36.2 tag's, so the build
# is reproducible.
KUBE_LDFLAGS := -s -w $(foreach pkg,k8s.io/component-base/version k8s.io/client-go/pkg/version, \
	-X $(pkg).gitVersion=$(KUBE_VERSION) -X $(pkg).gitMajor=1 -X $(pkg).gitMinor=36 \
	-X $(pkg).gitCommit=$(KUBE_GIT_COMMIT) -X $(pkg).gitTreeState=clean -X $(pkg).buildDate=$(KUBE_BUILD_DATE))

$(BIN)/kube-apiserver: $(wildcard e2e/tools/kube-apiserver/*.go) e2e/tools/kube-apiserver/go.mod e2e/tools/kube-apiserver/go.sum
	cd e2e/tools/kube-apiserver && $(GO_BUILD) -ldflags "$(KUBE_LDFLAGS)" -o $@ .

$(BIN)/openbao: $(wildcard e2e/tools/openbao/*.go) e2e/tools/openbao/go.mod e2e/tools/openbao/go.sum
	cd e2e/tools/openbao && $(GO_BUILD) -ldflags "-s -w -X github.com/openbao/openbao/version.fullVersion=$(OPENBAO_VERSION)" -o $@ .

# HashiCorp Vault 1.13.0, run as Vault's own single-core test cluster (HTTPS
# with a CA of its own); bin/hashicorp-vault, not bin/vault, so that it is
# never taken for the vault CLI.
$(BIN)/hashicorp-vault: $(wildcard e2e/tools/vault/*.go) e2e/tools/vault/go.mod e2e/tools/vault/go.sum
	cd e2e/tools/vault && $(GO_BUILD) -ldflags "-s -w" -o $@ .

$(BIN)/cert-manager-controller: $(wildcard e2e/tools/cert-manager/*.go) e2e/tools/cert-manager/go.mod e2e/tools/cert-manager/go.sum
	cd e2e/tools/cert-manager && $(GO_BUILD) -ldflags "-s -w" -o $@ .

# cert-manager's admission webhook (identity, approval and validation
# plugins) from the same module version as the controllers; the wrapper's
# module path lies under cert-manager's so that it may import
# internal/webhook (see the package comment).
$(BIN)/cert-manager-webhook: $(wildcard e2e/tools/cert-manager-webhook/*.go) e2e/tools/cert-manager-webhook/go.mod e2e/tools/cert-manager-webhook/go.sum
	cd e2e/tools/cert-manager-webhook && $(GO_BUILD) -ldflags "-s -w" -o $@ .

# The real cmctl CLI, from the tool directive of its own module, with the
# version variables cmctl's own release build sets.
$(BIN)/cmctl: e2e/tools/cmctl/go.mod e2e/tools/cmctl/go.sum
	cd e2e/tools/cmctl && GONOSUMDB=github.com/cert-manager/cmctl $(GO_BUILD) -ldflags "-s -w \
		-X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$(CMCTL_VERSION) \
		-X github.com/cert-manager/cert-manager/pkg/util.AppGitCommit=$(CMCTL_GIT_COMMIT)" -o $@ github.com/cert-manager/cmctl/v2

# Istio's plugged-in CA code (security/pkg/pki/ca and pki/util) behind a CLI
# the e2e tests hand the issued cacerts to; its own module, so that Istio's
# dependency graph never meets the e2e module's.
$(BIN)/istio-ca: $(wildcard e2e/tools/istio-ca/*.go) e2e/tools/istio-ca/go.mod e2e/tools/istio-ca/go.sum
	cd e2e/tools/istio-ca && $(GO_BUILD) -ldflags "-s -w" -o $@ .

# SPIRE's cert-manager UpstreamAuthority plugin, driven by SPIRE's own CA
# rotation code (credential builder, upstream client, X.509 CA validator).
$(BIN)/spire-upstream: $(wildcard e2e/tools/spire-upstream/*.go) e2e/tools/spire-upstream/go.mod e2e/tools/spire-upstream/go.sum
	cd e2e/tools/spire-upstream && $(GO_BUILD) -ldflags "-s -w" -o $@ .

# The real helm CLI, from the tool directive of its own module. The version
# variables are the ones helm's own release build sets; 1.34 is the
# Kubernetes version of the client-go helm v3.19.0 is built with, which
# `helm template` reports as .Capabilities.KubeVersion.
HELM_LDFLAGS := -s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	-X helm.sh/helm/v3/internal/version.gitTreeState=clean \
	$(foreach pkg,helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules,-X $(pkg).k8sVersionMajor=1 -X $(pkg).k8sVersionMinor=34)

$(BIN)/helm: e2e/tools/helm/go.mod e2e/tools/helm/go.sum
	cd e2e/tools/helm && $(GO_BUILD) -ldflags "$(HELM_LDFLAGS)" -o $@ helm.sh/helm/v3/cmd/helm

# cert-manager's CRDs come from its module, the same version the controllers
# are built from.
$(BIN)/crds/cert-manager/.stamp: e2e/tools/cert-manager/go.mod
	rm -rf $(BIN)/crds/cert-manager && mkdir -p $(BIN)/crds/cert-manager
	dir=$$(cd e2e/tools/cert-manager && $(GO) list -mod=readonly -m -f '{{.Dir}}' github.com/cert-manager/cert-manager) && \
		cp $$dir/deploy/crds/cert-manager.io_*.yaml $(BIN)/crds/cert-manager/ && chmod u+w $(BIN)/crds/cert-manager/*.yaml
	touch $@

# cert-manager's own Helm chart, from the same module: the tests render it
# for the controller's and the webhook's RBAC and the webhook
# configurations. Chart.yaml is made from the template as cert-manager's
# release tooling makes it.
$(BIN)/charts/cert-manager/.stamp: e2e/tools/cert-manager/go.mod
	rm -rf $(BIN)/charts/cert-manager && mkdir -p $(BIN)/charts
	dir=$$(cd e2e/tools/cert-manager && $(GO) list -mod=readonly -m -f '{{.Dir}}' github.com/cert-manager/cert-manager) && \
		cp -r $$dir/deploy/charts/cert-manager $(BIN)/charts/cert-manager && chmod -R u+w $(BIN)/charts/cert-manager
	sed -e 's/{{IS_PRERELEASE}}/false/' -e 's/^version: v0.0.0$$/version: $(CERT_MANAGER_VERSION)/' \
		-e 's/^appVersion: v0.0.0$$/appVersion: $(CERT_MANAGER_VERSION)/' \
		$(BIN)/charts/cert-manager/Chart.template.yaml > $(BIN)/charts/cert-manager/Chart.yaml
	rm $(BIN)/charts/cert-manager/Chart.template.yaml $(BIN)/charts/cert-manager/README.template.md
	touch $@

##@ Code generation

.PHONY: generate
generate: $(BIN)/controller-gen $(BIN)/helm ## Regenerate deepcopy code, CRDs (and the chart's copy) and deploy/manifests.
	$(BIN)/controller-gen object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(BIN)/controller-gen crd:crdVersions=v1 paths=./api/... output:crd:artifacts:config=deploy/crds
	rm -f $(CHART)/crds/*.yaml && cp deploy/crds/*.yaml $(CHART)/crds/
	$(MAKE) --no-print-directory manifests

.PHONY: manifests
manifests: $(BIN)/helm ## Render the chart with its default values into deploy/manifests/.
	mkdir -p $(dir $(MANIFESTS))
	hack/render-manifests.sh $(BIN)/helm $(CHART) $(MANIFESTS_NAMESPACE) > $(MANIFESTS)

.PHONY: verify
verify: $(BIN)/controller-gen $(BIN)/helm $(GOLANGCI_LINT) ## Fail if generated files, the chart's CRDs or deploy/manifests are stale, lint or go vet complains, or git tracks a built file.
	hack/check-tracked-files.sh
	tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
		cp -r api $$tmp/api && \
		$(BIN)/controller-gen object:headerFile=hack/boilerplate.go.txt paths=./api/... output:object:dir=$$tmp/api/v1alpha1 && \
		$(BIN)/controller-gen crd:crdVersions=v1 paths=./api/... output:crd:artifacts:config=$$tmp/crds && \
		diff -u api/v1alpha1/zz_generated.deepcopy.go $$tmp/api/v1alpha1/zz_generated.deepcopy.go && \
		diff -ru deploy/crds $$tmp/crds || { echo "generated files are stale: run make generate"; exit 1; }
	diff -ru deploy/crds $(CHART)/crds || { echo "the chart's CRDs differ from deploy/crds: run make generate"; exit 1; }
	$(BIN)/helm lint --strict $(CHART)
	tmp=$$(mktemp) && trap 'rm -f $$tmp' EXIT && \
		hack/render-manifests.sh $(BIN)/helm $(CHART) $(MANIFESTS_NAMESPACE) > $$tmp && \
		diff -u $(MANIFESTS) $$tmp || { echo "$(MANIFESTS) is stale: run make manifests"; exit 1; }
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd e2e && $(GO) vet ./...
	$(MAKE) --no-print-directory lint
	for m in e2e/tools/*/; do (cd $$m && $(GO) mod verify >/dev/null); done

# The tool modules under e2e/tools are a few lines each over very large
# dependency trees (etcd, Kubernetes, OpenBao, Vault, cert-manager): linting
# them would type-check all of those on a cold run, so they get the
# formatters (gofmt, goimports) only, which need no type information.
.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (.golangci.yml) over the main and e2e modules; check the tool modules' formatting.
	$(GOLANGCI_LINT) run ./...
	cd e2e && $(GOLANGCI_LINT) run ./...
	for m in e2e/tools/*/; do (cd $$m && $(GOLANGCI_LINT) fmt --diff ./...); done

##@ Test

.PHONY: test
test: verify test-unit image-check test-e2e ## Run every test: generated-file checks, unit and fuzz seeds, the image's binary, end to end.

# The tests of the code that talks to Vault (signer, signer/vault) run the
# real OpenBao, bin/openbao, which internal/openbaotest finds in bin/ of the
# repository root (or at $$VAULT_INTERMEDIATE_ISSUER_OPENBAO).
.PHONY: test-unit
test-unit: $(BIN)/openbao ## Unit, table and fuzz-seed tests, with the race detector; those of the Vault client and the signer against the real OpenBao (bin/openbao).
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

.PHONY: image-check
image-check: ## Build the binary exactly as the Dockerfile does (its go build line) and check it.
	VERSION=$(VERSION) hack/image-check.sh

# The suites run one after another (-p 1): each starts a stack of its own,
# and two on two cores would measure the machine, not the code. The
# istio-ca tool's own tests (Istio's reload rules) run first, with the build
# flags of its binary so that they reuse its compiled packages. The main
# suite runs bin/vault-intermediate-issuer-race and fails if its log holds a
# race report; the others run the binary that ships.
.PHONY: test-e2e
test-e2e: tools build $(BIN)/vault-intermediate-issuer-faultinjection ## End-to-end tests, the Helm chart's and the fault drills, on the real stack (etcd, kube-apiserver, OpenBao, cert-manager).
	cd e2e/tools/istio-ca && $(GO) test -trimpath -mod=readonly -count=1 ./...
	cd e2e && $(GO) test -count=1 -p 1 -timeout 40m -v ./...

.PHONY: test-soak
test-soak: tools $(BIN)/vault-intermediate-issuer $(BIN)/vault-intermediate-issuer-faultinjection ## The fault drills scaled up (more requests, longer runs).
	cd e2e && FAULTS_SOAK=1 $(GO) test -count=1 -timeout 90m -v ./faults/

# Sizes of the stack benchmark (requests created at once), runs per issuer and
# size, and CertificateRequests of a foreign issuer for the memory check.
BENCH_N ?= 50,200,1000
BENCH_REPS ?= 2
BENCH_FOREIGN ?= 5000

.PHONY: bench
bench: tools $(BIN)/vault-intermediate-issuer ## Go benchmarks, then ours vs cert-manager's in-tree Vault issuer on the real stack (BENCH_N=50,200,1000); writes bench/.
	mkdir -p bench
	$(GO) test -run '^$$' -bench . -benchmem ./signer/policy/ | tee bench/go-bench.txt
	cd e2e && $(GO) run ./cmd/bench -n $(BENCH_N) -reps $(BENCH_REPS) -foreign $(BENCH_FOREIGN) \
		-go-bench ../bench/go-bench.txt -out ../bench

##@ Demo

.PHONY: demo
demo: tools $(BIN)/vault-intermediate-issuer ## Issue the Istio cacerts end to end on a local stack and print it (DEMO_KEEP=1 keeps it running).
	cd e2e && $(GO) run ./cmd/demo

.PHONY: clean
clean: ## Remove bin/ and test artifacts.
	rm -rf $(BIN) e2e/_artifacts
