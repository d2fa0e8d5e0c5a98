#!/usr/bin/env bash
# `make run`: the whole system on one machine, no Docker. State lives under
# data/ (git-ignored) so it survives restarts. A process that dies is
# restarted and the restart is announced here; logs are appended to
# data/logs/*.log across restarts and runs. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."

export ORDERFLOW_CONFIG=${ORDERFLOW_CONFIG:-config/dev.yaml}

mkdir -p data/temporal data/mongo data/logs
export RUN_LOG_DIR=data/logs RUN_STOP_FLAG=data/run.$$.stopping
# shellcheck source=dev/scripts/supervise.sh
source dev/scripts/supervise.sh

stop_all() {
  local code=${1:-0}
  trap - INT TERM EXIT
  echo
  echo "stopping…"
  stop_supervised
  echo "stopped."
  exit "$code"
}
trap 'stop_all 0' INT TERM
trap 'stop_all $?' EXIT

wait_port() { # name, host, port
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/$2/$3") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$1 did not come up on $2:$3; see data/logs/$1.log" >&2
  exit 1
}

# shellcheck disable=SC2046
supervise temporal bin/temporal server start-dev --ip 127.0.0.1 --port 7233 --ui-port 8233 \
  --ui-codec-endpoint http://127.0.0.1:8080/codec \
  --db-filename data/temporal/temporal.db --log-level warn $(bin/demo dev-server-flags)
supervise devstore bin/devstore -addr 127.0.0.1:27017 -dir data/mongo
supervise sandbox bin/sandbox -listen 127.0.0.1:8090 -recovery-listen 127.0.0.1:8092
wait_port temporal 127.0.0.1 7233
wait_port devstore 127.0.0.1 27017
wait_port sandbox 127.0.0.1 8090
wait_port sandbox 127.0.0.1 8092
wait_port sandbox 127.0.0.1 8091

supervise worker bin/worker
# The worker serves :9090 once its indexes exist: the starter then finds them
# (FerretDB v1 can crash on two processes creating the same indexes at once).
wait_port worker 127.0.0.1 9090
supervise starter bin/starter
wait_port starter 127.0.0.1 8080

bin/demo seed
# Push webhooks: the sandbox Clickpost and fulfilment senders push the demo
# orders' events (duplicates and out-of-order deliveries included).
bin/demo push || echo "demo push failed; see data/logs/starter.log and data/logs/worker.log" >&2
# Revenue recovery: the sandbox billing platforms report failed payments of the
# demo invoices; their short cascading schedule finishes within a minute.
bin/demo recovery || echo "demo recovery failed; see data/logs/starter.log" >&2
# The tracking sweep's Schedule, at a demo interval (production: sweep.every, 8m).
ORDERFLOW_SWEEP_EVERY=${ORDERFLOW_SWEEP_EVERY:-20s} bin/starter schedule apply

cat <<'INFO'

orderflow is running.
  Temporal Web UI     http://127.0.0.1:8233   (filter by OrderID, AWB, Courier, TrackingStatus, InvoiceID, RecoveryStatus)
  codec server        http://127.0.0.1:8080/codec   (payloads are encrypted with a development key; the UI decodes through it;
                      CLI: bin/temporal workflow show -w <id> --codec-endpoint http://127.0.0.1:8080/codec)
  API + OpenAPI       http://127.0.0.1:8080/openapi.yaml   (X-API-Key: dev-api-key-change-me)
  sandbox CRM         http://127.0.0.1:8090   (cancel-order calls it received)
  recovery sandbox    http://127.0.0.1:8092   (billing platform, payment processor, merchant webhooks verified)
  sandbox couriers    http://127.0.0.1:8091/couriers/stats   (calls per courier; the scenario moves each demo shipment a step once a sweep has seen it)
  tracking sweep      TrackingSweep every 20 s: bin/starter schedule describe|trigger|pause|unpause|backfill
  worker metrics      http://127.0.0.1:9090/metrics
  logs                data/logs/*.log   (appended; a process that dies is restarted and announced here)

Move a demo order to RTO (in another terminal):  make rto ORDER=64a000000000000000000001
Push the sandbox senders' events again:           make push   (recorded at /v1/push-events)
Fail the demo invoices again:                     make recovery
Ctrl-C stops everything.
INFO
# The supervisors run until Ctrl-C, whose trap stops them and exits.
wait || true
echo "the supervisors stopped unexpectedly; see data/logs/" >&2
exit 1
