# shellcheck shell=bash
# Process supervision for `make run` (sourced by run.sh; dev/scripts/supervise_test.go
# drives it on its own). Each process runs under dev/scripts/supervisor.sh,
# which restarts it when it exits and says so; logs are appended to
# $RUN_LOG_DIR/<name>.log across restarts and runs. stop_supervised stops them
# all, last started first, with no restart and no false alarm, whether the
# stop came from Ctrl-C (which the terminal also sends to every process) or
# from a TERM.
#
# Needs: RUN_LOG_DIR (where the logs go) and RUN_STOP_FLAG (a file path that
# exists only while stopping), exported.

supervised=() # supervisor pids, in start order
supervisor="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/supervisor.sh"

# supervise name command…: runs the command under a supervisor in the background.
supervise() {
  "$supervisor" "$@" &
  supervised+=($!)
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
