# defi-sync: every target installs what it needs first (npm ci when package-lock.json changed).
VERSION := $(shell node -p 'require("./package.json").version')
REGISTRY ?=
IMAGE ?= $(if $(REGISTRY),$(REGISTRY)/)defi-sync:$(VERSION)
SHELL := /bin/bash
.DEFAULT_GOAL := help
JOB ?= sync-pools
PORT ?= 8787

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: help install build lint test mutate test-tools e2e e2e-tools demo bench replica run scheduler rules docs schema helm-lint helm-template k8s chart-check image push helm-install helm-test

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

install: node_modules/.installed ## Install dependencies (npm ci)

build: install ## Compile TypeScript into dist/
	npm run -s build

lint: install ## Type-check; check that database/schema.sql and the generated docs tables are current
	npm run -s lint

test: install test-tools ## Run the test suite (embedded PostgreSQL unless TEST_DATABASE_URL is set)
	npm test

mutate: install test-tools ## Mutation testing (StrykerJS) of the modules that carry the promises, group by group (GROUPS="runs redact" for some); slow, not in CI
	npx tsx scripts/mutate.ts $(GROUPS)

test-tools: ## Install the programs the tests run (Prometheus, Pushgateway, systemd-analyze, psql, helm, kubeconform), once
	scripts/test-tools.sh

e2e: install test-tools e2e-tools image ## End-to-end tests: the image in a container engine, the chart and the CLI on Kubernetes
	npm run -s build
	npx tsx scripts/run-tests.ts --e2e

e2e-tools: ## Build what the end-to-end tests run (Kubernetes components: 20-30 min once, then cached)
	scripts/kube-testenv.sh build

demo: build ## Run the daily pipeline against the offline replica on the embedded database, then status
	npm run -s demo

bench: install ## Benchmark the sync jobs on 50,000 pools (prints figures, writes bench/results/)
	npm run -s bench

replica: install ## Serve the offline DeFiLlama replica on PORT (default 8787)
	npm run -s replica -- --port $(PORT)

scheduler: build ## Run the local scheduler (all enabled jobs on their schedules)
	node dist/src/bin.js scheduler

rules: install ## Write the chart's alert rules as a plain Prometheus rules file (checked by promtool)
	scripts/promtool-check.sh --out defi-sync-rules.yml

run: build ## Run one job: make run JOB=sync-pools
	node dist/src/bin.js $(JOB)

schema: install ## Regenerate database/schema.sql from the migrations
	npm run -s schema

docs: install ## Regenerate the generated docs tables (README jobs, docs/configuration.md settings) from the code
	npm run -s docs

helm-lint: install ## helm lint for the oldest and newest supported Kubernetes
	scripts/chart-check.sh lint

helm-template: install ## Render the chart and validate every object offline (kubeconform)
	scripts/chart-check.sh template

k8s: install ## Regenerate the kustomize base in k8s/ from the chart
	node --import tsx k8s/render.ts

chart-check: install ## Everything CI checks on the chart: lint, template + kubeconform, k8s/ staleness
	scripts/chart-check.sh

image: ## Build the container image defi-sync:<version> (and IMAGE if set) with docker or podman
	scripts/image.sh $(sort $(IMAGE) defi-sync:$(VERSION))

push: ## Push IMAGE to its registry: make push REGISTRY=registry.example.com (after make image)
	@[[ "$(IMAGE)" == */* ]] || { echo "make push: IMAGE=$(IMAGE) names no registry; set REGISTRY=registry.example.com or IMAGE"; exit 2; }
	if docker info >/dev/null 2>&1; then engine=(docker); else engine=(env CONTAINERS_CONF=$(CURDIR)/scripts/podman/containers.conf podman); fi; \
	"$${engine[@]}" image inspect $(IMAGE) >/dev/null 2>&1 || "$${engine[@]}" tag defi-sync:$(VERSION) $(IMAGE); \
	"$${engine[@]}" push $(IMAGE)

RELEASE ?= defi-sync
NAMESPACE ?= defi
HELM_ARGS ?=

helm-install: install ## Install or upgrade the chart with IMAGE: make helm-install REGISTRY=... [NAMESPACE= RELEASE= HELM_ARGS='-f my-values.yaml']
	image='$(IMAGE)'; \
	"$$(scripts/tools.sh helm | tail -n1)/helm" upgrade --install $(RELEASE) helm/defi-sync \
	  --namespace $(NAMESPACE) --create-namespace --wait \
	  --set image.repository="$${image%:*}" --set image.tag="$${image##*:}" $(HELM_ARGS)

helm-test: install ## Run the release's helm test (status --check) and print its logs
	"$$(scripts/tools.sh helm | tail -n1)/helm" test $(RELEASE) --namespace $(NAMESPACE) --logs
