# Image URL to use all building/pushing image targets
IMG ?= okta-token-operator:latest
# VERSION is the project's version, kept in the VERSION file: the Helm
# chart's version and appVersion follow it (make manifests writes them).
VERSION := $(shell cat VERSION)
# CHART_DIR is the Helm chart; make manifests copies the generated CRDs and
# RBAC rules into it.
CHART_DIR ?= charts/okta-token-operator
# YEAR defines the year value used for substituting the YEAR placeholder in the boilerplate header.
YEAR ?= 2026

# CONTAINER_TOOL defines the container tool used to build images (docker or podman).
CONTAINER_TOOL ?= docker

# Setting SHELL to bash allows bash commands to be executed by recipes.
# Options are set to exit when a recipe line exits non-zero or a piped command fails.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Try it

DEMO_ARGS ?=
.PHONY: demo
demo: control-plane ## Run the whole flow locally: control plane, Okta dev server, operator, sample token (Ctrl-C stops).
	go run ./dev/demo $(DEMO_ARGS)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate ClusterRole, Role and CustomResourceDefinition objects.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd paths="./api/...;./controllers/..." output:crd:artifacts:config=config/crd/bases
	@# The chart reads copies of the generated CRDs and rules (charts/chart_test.go checks them).
	rm -f "$(CHART_DIR)"/files/crds/*.yaml
	mkdir -p "$(CHART_DIR)/files/crds" "$(CHART_DIR)/files/rbac"
	cp config/crd/bases/*.yaml "$(CHART_DIR)/files/crds/"
	cp config/rbac/role.yaml "$(CHART_DIR)/files/rbac/manager-role.yaml"
	sed -i -E -e 's/^version: .*/version: $(VERSION)/' -e 's/^appVersion: .*/appVersion: "$(VERSION)"/' "$(CHART_DIR)/Chart.yaml"

.PHONY: generate
generate: controller-gen ## Generate DeepCopy, DeepCopyInto and DeepCopyObject implementations.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt",year=$(YEAR) paths="./api/..."

# HELM_DOCS writes the chart's README.md from README.md.gotmpl and the
# comments in values.yaml; charts/values_doc_test.go runs the same command with
# --dry-run to check the README and that every value is documented.
HELM_DOCS ?= go run github.com/norwoodj/helm-docs/cmd/helm-docs@$(HELM_DOCS_VERSION)
HELM_DOCS_FLAGS = --sort-values-order file --log-level warning
.PHONY: helm-docs
helm-docs: ## Write the chart's README.md, values table included, from README.md.gotmpl and the comments in values.yaml (helm-docs).
	$(HELM_DOCS) --chart-search-root "$(CHART_DIR)" $(HELM_DOCS_FLAGS)

.PHONY: helm-lint
helm-lint: ## Lint the Helm chart (helm lint --strict through the Helm Go SDK), check its schema and README.
	go test -count=1 ./charts/...

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code.
	go vet ./...

# UNIT_PACKAGES are the packages whose tests need no control plane: all but
# test/ (integration and end-to-end tests); -short leaves out the CI runs of
# the benchmark in dev/bench, which start one.
UNIT_PACKAGES = $$(go list ./... | grep -v /test/)
.PHONY: unit
unit: ## Run every test that needs no control plane, for quick loops (under a minute when warm).
	go test -short -count=1 $(UNIT_PACKAGES)

TEST_FLAGS ?= -race -count=1
# TEST_PACKAGES are every package but the end-to-end tests, the longest-running
# first: go test runs two test binaries at a time, in this order, so the
# controller integration tests run beside all the others instead of after
# them.
SLOW_TEST_PACKAGES = ./test/integration/controller ./dev/bench ./test/install
TEST_PACKAGES = $(SLOW_TEST_PACKAGES) $$(go list ./... | grep -v -e /test/e2e -e '/test/integration/controller$$' -e '/dev/bench$$' -e '/test/install$$')
.PHONY: test
test: ## Run unit and integration tests against a real kube-apiserver and etcd built from source.
	@# The control plane builds while the generators and go vet run: both
	@# start with downloads, which then overlap. Both must succeed.
	cp=0; checks=0; \
	$(MAKE) --no-print-directory control-plane & pid=$$!; \
	$(MAKE) --no-print-directory manifests generate fmt vet || checks=$$?; \
	wait $$pid || cp=$$?; \
	[ $$checks -eq 0 ] && [ $$cp -eq 0 ]
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test $(TEST_FLAGS) $(TEST_PACKAGES)

.PHONY: test-e2e
test-e2e: control-plane chromium ## Run the end-to-end tests: kubectl and a real headless Chromium signing in.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test -count=1 -v ./test/e2e/...

BENCH_N ?= 1000
BENCH_UNRELATED ?= 10000
.PHONY: bench
bench: manifests control-plane ## Benchmark the operator: BENCH_N tokens (default 1000), BENCH_UNRELATED unrelated Secrets; prints one table (docs/performance.md).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go run ./dev/bench/cmd/bench -n $(BENCH_N) -unrelated $(BENCH_UNRELATED)

FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: ## Fuzz the sign-in callback handler for FUZZTIME (default 30s).
	go test -run '^$$' -fuzz '^FuzzCallback$$' -fuzztime $(FUZZTIME) ./internal/callback/

.PHONY: chromium
chromium: ## Install Debian's chromium for the end-to-end tests (needs root; skipped when present).
	hack/install-chromium.sh

.PHONY: lint
lint: golangci-lint ## Run golangci-lint linter.
	"$(GOLANGCI_LINT)" run

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint linter and perform fixes.
	"$(GOLANGCI_LINT)" run --fix

.PHONY: lint-config
lint-config: golangci-lint ## Verify golangci-lint linter configuration.
	"$(GOLANGCI_LINT)" config verify

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager and the dev server binaries.
	go build -o bin/manager ./cmd
	go build -o bin/okta-dev-server ./dev/oktadev/cmd/okta-dev-server

.PHONY: run
run: manifests generate fmt vet ## Run the manager from your host against the cluster in ~/.kube/config.
	go run ./cmd $(RUN_ARGS)

.PHONY: docker-build
docker-build: ## Build the manager image.
	$(CONTAINER_TOOL) build -t ${IMG} .

.PHONY: docker-push
docker-push: ## Push the manager image.
	$(CONTAINER_TOOL) push ${IMG}

.PHONY: build-installer
build-installer: manifests generate kustomize ## Generate a consolidated YAML with CRDs and deployment in dist/install.yaml.
	mkdir -p dist
	cd config/manager && "$(KUSTOMIZE)" edit set image controller=${IMG}
	"$(KUSTOMIZE)" build config/default > dist/install.yaml

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kustomize ## Install CRDs into the cluster in ~/.kube/config.
	"$(KUSTOMIZE)" build config/crd | "$(KUBECTL)" apply -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Uninstall CRDs. Call with ignore-not-found=true to ignore missing resources.
	"$(KUSTOMIZE)" build config/crd | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy the operator to the cluster in ~/.kube/config.
	cd config/manager && "$(KUSTOMIZE)" edit set image controller=${IMG}
	"$(KUSTOMIZE)" build config/default | "$(KUBECTL)" apply -f -

.PHONY: undeploy
undeploy: kustomize ## Undeploy the operator: delete every token first (its finalizer revokes the grant while the operator runs), then the operator and the CRDs. ignore-not-found=true ignores missing resources.
	-"$(KUBECTL)" delete clusteroktascopedtokens.oktatoken.dev --all --wait --timeout=2m
	-"$(KUBECTL)" delete oktascopedtokens.oktatoken.dev --all-namespaces --all --wait --timeout=2m
	"$(KUSTOMIZE)" build config/default | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) -f -

##@ Dependencies

## Location to install dependencies to
LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p "$(LOCALBIN)"

## Kubernetes release of the test control plane: the one matching client-go's minor.
KUBE_VERSION ?= v1.37.2
ETCD_VERSION ?= v3.6.16
ENVTEST_ASSETS ?= $(LOCALBIN)/k8s/$(patsubst v%,%,$(KUBE_VERSION))-$(shell go env GOOS)-$(shell go env GOARCH)

## Tool Binaries
KUBECTL ?= $(if $(wildcard $(ENVTEST_ASSETS)/kubectl),$(ENVTEST_ASSETS)/kubectl,kubectl)
KUSTOMIZE ?= $(LOCALBIN)/kustomize
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT = $(LOCALBIN)/golangci-lint

## Tool Versions
KUSTOMIZE_VERSION ?= v5.8.1
CONTROLLER_TOOLS_VERSION ?= v0.22.0
GOLANGCI_LINT_VERSION ?= v2.13.1
HELM_DOCS_VERSION ?= v1.14.2

.PHONY: control-plane
control-plane: ## Build kube-apiserver, etcd and kubectl from source into bin/k8s/ (cached; about 6 minutes the first time).
	KUBE_VERSION=$(KUBE_VERSION) ETCD_VERSION=$(ETCD_VERSION) hack/build-control-plane.sh "$(ENVTEST_ASSETS)" >/dev/null

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Download kustomize locally if necessary.
$(KUSTOMIZE): $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Download controller-gen locally if necessary.
$(CONTROLLER_GEN): $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Download golangci-lint locally if necessary.
$(GOLANGCI_LINT): $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

# go-install-tool will 'go install' any package with custom target and name of binary, if it doesn't exist
# $1 - target path with name of binary
# $2 - package url which can be installed
# $3 - specific version of package
define go-install-tool
@[ -f "$(1)-$(3)" ] && [ "$$(readlink -- "$(1)" 2>/dev/null)" = "$(1)-$(3)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Downloading $${package}" ;\
rm -f "$(1)" ;\
GOBIN="$(LOCALBIN)" go install $${package} ;\
mv "$(LOCALBIN)/$$(basename "$(1)")" "$(1)-$(3)" ;\
} ;\
ln -sf "$$(realpath "$(1)-$(3)")" "$(1)"
endef
