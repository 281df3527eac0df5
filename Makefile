# gitops-e2e — the two commands a newcomer needs are `make demo` and `make test`.
# Every target installs what it needs (Debian packages, the Rust build) first.

SHELL := /bin/bash
CARGO ?= cargo
BIN := $(or $(CARGO_TARGET_DIR),target)/release/gitops-e2e
LESSON := scenarios/lesson

.PHONY: all build demo test fmt schema toolchain toolchain-smoke toolchain-release-test bench deps clean fuzz

all: build

## deps: Debian packages the tests and the kwok provider use (git, redis-server).
deps:
	@./.ci/install-deps

build:
	$(CARGO) build --release --locked

## demo: the lesson, as a newcomer meets it: the first AI draft and its
## mistakes found offline, then the Part-3 ApplicationSet run live with real
## Argo CD (the toolchain is built first if missing). The provider is chosen
## here and said: kind (clusters of containers, Argo CD as pods) where Docker
## answers and the kind images are built (`make kind-images`), else kwok
## (simulated nodes, Argo CD as local processes).
KIND_NODE_IMAGE := gitops-e2e.local/kind-node:v1.36.3
demo: build deps toolchain
	@echo "== gitops-e2e plan $(LESSON)/01-first-draft.yaml (expected to FAIL: the lesson's mistakes)"
	@$(BIN) plan $(LESSON)/01-first-draft.yaml; test $$? -eq 1
	@echo
	@if why=$$(tests/kind/status.sh) && \
	  { tests/kind/docker-env.sh || { why="the Docker engine did not start (make docker-env)"; false; }; }; then \
	  echo "== gitops-e2e run $(LESSON)/03-constraints.yaml --provider kind"; \
	  echo "   (kind: Docker answers and the kind images are built here; 3 kind clusters, Argo CD as pods, the five steps)"; \
	  GITOPS_E2E_KIND_NODE_IMAGE=$(KIND_NODE_IMAGE) GITOPS_E2E_KIND_PATCHES=tests/kind/host-patches.yaml \
	    $(BIN) run $(LESSON)/03-constraints.yaml --provider kind; \
	else \
	  echo "== gitops-e2e run $(LESSON)/03-constraints.yaml --provider kwok"; \
	  echo "   (kwok, not kind: $$why; 3 kwok clusters, Argo CD as local processes, the five steps)"; \
	  $(BIN) run $(LESSON)/03-constraints.yaml --provider kwok; \
	fi

## test: every tier; the live tier (end-to-end on kwok, fidelity against
## Argo CD) runs when `gitops-e2e doctor` says the toolchain is ready and is
## listed as ignored, with the reason, when it is not.
test: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	tests/run-tiers.sh
	tests/toolchain/test-release.sh

fmt:
	$(CARGO) fmt

schema:
	$(CARGO) run --quiet -- schema > scenarios/scenario.schema.json

## toolchain: the pinned upstream binaries (Kubernetes, etcd, KWOK, Argo CD,
## Helm, kustomize) built from Go modules into ~/.cache/gitops-e2e.
toolchain:
	tests/toolchain/build.sh

toolchain-smoke: deps toolchain
	tests/toolchain/smoke.sh

## toolchain-release-test: build.sh's release mode against a local fake mirror (seconds).
toolchain-release-test:
	tests/toolchain/test-release.sh

## fuzz: every fuzz target in fuzz/ (the YAML reader, expansion and lint, both
## template engines, the scenario loader) for FUZZ_SECONDS each, on nightly
## Rust with cargo-fuzz (both installed when missing). A crash leaves its
## input in fuzz/artifacts/; it becomes a case in tests/hostile.rs. Leak
## detection is off: the Go template engine's parse threads register
## thread-local destructors that LeakSanitizer reports as leaks.
FUZZ_SECONDS ?= 60
fuzz:
	@rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@for t in yaml appset template scenario; do \
	  echo "== fuzz $$t for $(FUZZ_SECONDS)s"; \
	  $(CARGO) +nightly fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -detect_leaks=0 || exit 1; \
	done

## bench: every figure the project publishes, each as median and spread of
## several runs: plan speed, the plan against Argo CD's own generation, the
## lesson's time to verdict (kwok; kind when ready), 3 vs 10 clusters with
## the harness's peak memory, five scenarios one by one vs --jobs 2.
bench: build
	bench/plan.sh
	bench/plan-vs-argocd.sh
	bench/run-lesson.sh
	REUSE=1 bench/run-lesson.sh
	bench/scale.py
	bench/suite.sh
	@if tests/kind/status.sh >/dev/null && tests/kind/docker-env.sh; then PROVIDER=kind RUNS=1 bench/run-lesson.sh; \
	else echo "lesson on kind: not measured ($$(tests/kind/status.sh))"; fi

clean:
	$(CARGO) clean

# --- kind: a real kind cluster with Argo CD as pods (tests/kind/README.md) ---
.PHONY: docker-env docker-env-stop

## docker-env: a Docker engine that runs kind's privileged nodes here
## (Debian's docker.io and a runc wrapper without CAP_SYS_RESOURCE).
docker-env:
	tests/kind/docker-env.sh

docker-env-stop:
	tests/kind/docker-env.sh stop

.PHONY: kind-images kind-status kind-verify

## kind-images: everything a real kind cluster with Argo CD as pods needs,
## built here (kind, the node image gitops-e2e.local/kind-node:<k8s version>
## with the control plane, kindnetd, Argo CD, redis, busybox and the lesson's
## agent preloaded); skips what is current; prints the cold build time.
kind-images: toolchain docker-env
	@./.ci/install-deps kind
	tests/kind/build-images.sh

## kind-verify: the hand check as a script (tests/kind/verify.sh): a 3-node
## cluster, cross-node pods, Argo CD as pods, an Application; deleted after.
kind-verify: kind-images
	tests/kind/verify.sh

## kind-status: `ready`, or the one reason the kind environment is not.
kind-status:
	@tests/kind/status.sh
