# shellcheck shell=bash
# Process supervision for `make run` (sourced by run.sh; dev/scripts/supervise_test.go
# drives it on its own). Each process runs under a supervisor that restarts it
# when it exits and says so; logs are appended to data/logs/<name>.log across
# restarts and runs. stop_supervised stops them all, last started first,
# without a restart or a false alarm, whether the stop came from Ctrl-C (which
# the terminal also sends to every process) or from a TERM.
#
# Needs: RUN_LOG_DIR (where the logs go) and RUN_STOP_FLAG (a file path that
# exists only while stopping).

supervised=() # supervisor pids, in start order

# supervise name command…: runs the command under a supervisor in the background.
supervise() {
  local name=$1
  shift
  _supervisor "$name" "$@" &
  supervised+=($!)
}

_supervisor() { # name, command…
  local name=$1
  shift
  local child="" code delay=1 started
  # Ctrl-C is the main script's to handle: it stops everything in order.
  trap '' INT
  trap '[[ -n $child ]] && kill -TERM "$child" 2>/dev/null; [[ -n $child ]] && wait "$child" 2>/dev/null; exit 0' TERM
  while :; do
    printf '=== %s: starting %s\n' "$(date '+%F %T')" "$name" >>"$RUN_LOG_DIR/$name.log"
    started=$SECONDS
    "$@" >>"$RUN_LOG_DIR/$name.log" 2>&1 &
    child=$!
    code=0
    wait "$child" || code=$?
    child=""
    # A process that died on its own is restarted after a pause that grows
    # while it keeps dying young. The pause also lets a stop (Ctrl-C reaches
    # every process at once) mark itself before this supervisor decides.
    if ((SECONDS - started >= 10)); then delay=1; fi
    sleep "$delay" &
    wait $! || true
    [[ -e $RUN_STOP_FLAG ]] && exit 0
    echo "$(date '+%T') $name exited (status $code); restarting it (log: $RUN_LOG_DIR/$name.log)" >&2
    ((delay < 16)) && delay=$((delay * 2))
  done
}

# stop_supervised stops every supervised process, last started first, and waits for each.
stop_supervised() {
  : >"$RUN_STOP_FLAG"
  local i
  for ((i = ${#supervised[@]} - 1; i >= 0; i--)); do
    kill -TERM "${supervised[i]}" 2>/dev/null || true
    wait "${supervised[i]}" 2>/dev/null || true
  done
  rm -f "$RUN_STOP_FLAG"
}
