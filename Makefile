# orderflow — two commands on a fresh clone: `make run` and `make test`.
# Every tool is built into ./bin from a pinned version; nothing is installed by hand.

TEMPORAL_CLI_VERSION  := v1.5.1
WORKFLOWCHECK_VERSION := v0.6.0
HELM_VERSION          := v4.3.2
BIN                   := $(CURDIR)/bin
GO_TEST_FLAGS         ?= -race -count=1
# BUILD_ID is the worker's Worker Deployment version (docs/deploys.md): the
# source revision, linked into the binaries; worker.build_id overrides it.
BUILD_ID              ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS               := -X main.buildID=$(BUILD_ID)

.PHONY: test unit-test integration-test lint helm-check run rto push recovery build clean
.PHONY: bench chaos chaos-long fuzz provenance deploy-status deploy-current deploy-ramp deploy-rollback

## test: lint, the Helm chart's check, unit tests, integration tests on a real Temporal dev server and FerretDB, then the short chaos run
test: lint helm-check unit-test integration-test chaos

unit-test:
	go test $(GO_TEST_FLAGS) ./...

integration-test: $(BIN)/temporal $(BIN)/helm
	go test $(GO_TEST_FLAGS) -tags integration -timeout 45m ./tests/...

lint: $(BIN)/workflowcheck provenance
	@test -z "$$(gofmt -l .)" || (echo "gofmt would change:"; gofmt -l .; exit 1)
	go vet ./...
	go vet -tags integration ./tests/...
	$(BIN)/workflowcheck ./workflows/...
	go vet -tags chaos ./dev/chaos/...

## helm-check: lint the Helm chart, render it with each values set (defaults, deploy/helm/orderflow/ci/*)
## and validate every object offline against the Kubernetes and prometheus-operator types
## (deploy/helm/validate, its own Go module so these dependencies stay out of orderflow's)
helm-check: $(BIN)/helm
	cd deploy/helm/validate && HELM=$(BIN)/helm go test -count=1 ./...

## provenance: fail when code, docs or config cite a requirement document by its number
## instead of naming the rule and where it comes from ("the in-house cron's only-once guard").
PROVENANCE_RE := seeds? [0-9]{3}|issues? [0-9]+
provenance:
	@grep -rnIiE --include='*.go' --include='*.md' --include='*.yaml' --include='*.yml' --include='*.sh' --include=Makefile --exclude-dir=bin --exclude-dir=data --exclude-dir=.git \
		'$(PROVENANCE_RE)' . ; status=$$?; \
	if [ $$status -eq 0 ]; then echo "provenance: say what the rule is and where it comes from, not its document number"; exit 1; fi; \
	test $$status -eq 1

## run: dev server + UI, embedded Mongo, sandbox CRM, worker and starter, with demo data
run: $(BIN)/temporal build
	./dev/scripts/run.sh

## rto ORDER=<id>: move a demo order to rto through the status-update path (while `make run` runs)
rto: build
	ORDERFLOW_CONFIG=$${ORDERFLOW_CONFIG:-config/dev.yaml} $(BIN)/demo rto $(ORDER)

## push: the sandbox Clickpost, fulfilment, Shiprocket and Delhivery senders push the demo orders' events (while `make run` runs)
push: build
	ORDERFLOW_CONFIG=$${ORDERFLOW_CONFIG:-config/dev.yaml} $(BIN)/demo push

## recovery: the sandbox billing platforms report failed invoice payments (while `make run` runs)
recovery: build
	ORDERFLOW_CONFIG=$${ORDERFLOW_CONFIG:-config/dev.yaml} $(BIN)/demo recovery

build:
	go build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/... ./dev/cmd/...

## deploy-status / deploy-current BUILD=<id> / deploy-ramp BUILD=<id> PERCENT=<n> / deploy-rollback BUILD=<id>:
## the workers' deployment versions (worker.versioning on; docs/deploys.md)
deploy-status: build
	$(BIN)/starter deploy status
deploy-current: build
	$(BIN)/starter deploy current $(BUILD)
deploy-ramp: build
	$(BIN)/starter deploy ramp $(BUILD) $(PERCENT)
deploy-rollback: build
	$(BIN)/starter deploy rollback $(BUILD)

$(BIN)/temporal:
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

$(BIN)/workflowcheck:
	GOBIN=$(BIN) go install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

$(BIN)/helm:
	GOBIN=$(BIN) go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

## bench: measure orderflow (PostgreSQL + FerretDB + dev server, installed/started as needed); BENCH_FLAGS= for the full run
BENCH_FLAGS ?= -short
bench: $(BIN)/temporal
	go run ./dev/cmd/bench $(BENCH_FLAGS)

## chaos: the short fault-injection run (part of `make test`); chaos-long: 1,000 RTO orders, 1,000 invoices; CHAOS_SEED=n replays a run
CHAOS_SEED ?= 1
chaos: $(BIN)/temporal
	go test -tags chaos -count=1 -timeout 25m -v -run TestChaos ./dev/chaos/ -args -chaos.seed=$(CHAOS_SEED)

chaos-long: $(BIN)/temporal
	go test -tags chaos -count=1 -timeout 60m -v -run TestChaos ./dev/chaos/ -args -chaos.long -chaos.seed=$(CHAOS_SEED)

## fuzz: each fuzz target for FUZZTIME (their seed corpora also run in every `go test`)
FUZZTIME ?= 10s
fuzz:
	go test -run '^$$' -fuzz '^FuzzMappingBuild$$' -fuzztime $(FUZZTIME) ./webhook/
	go test -run '^$$' -fuzz '^FuzzConditionMatch$$' -fuzztime $(FUZZTIME) ./webhook/
	go test -run '^$$' -fuzz '^FuzzConfigAPIDecoding$$' -fuzztime $(FUZZTIME) ./ingress/
	go test -run '^$$' -fuzz '^FuzzPushWebhooks$$' -fuzztime $(FUZZTIME) ./ingress/
	go test -run '^$$' -fuzz '^FuzzRecoveryWebhook$$' -fuzztime $(FUZZTIME) ./ingress/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./tracking/push/clickpost/
	go test -run '^$$' -fuzz '^FuzzWebhookKey$$' -fuzztime $(FUZZTIME) ./tracking/push/clickpost/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./tracking/push/fulfilment/
	go test -run '^$$' -fuzz '^FuzzSignature$$' -fuzztime $(FUZZTIME) ./tracking/push/fulfilment/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./tracking/push/shiprocket/
	go test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./tracking/push/shiprocket/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./tracking/push/delhivery/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./tracking/couriers/delhivery/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./tracking/couriers/delhiveryb2b/
	go test -run '^$$' -fuzz '^FuzzJWTExpiry$$' -fuzztime $(FUZZTIME) ./tracking/couriers/delhiveryb2b/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./tracking/couriers/shiprocket/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./recovery/
	go test -run '^$$' -fuzz '^FuzzComplete$$' -fuzztime $(FUZZTIME) ./recovery/
	go test -run '^$$' -fuzz '^FuzzSignatures$$' -fuzztime $(FUZZTIME) ./recovery/

clean:
	rm -rf $(BIN) data
