#!/usr/bin/env bash
# supervisor.sh name command…: runs one of `make run`'s processes and restarts
# it whenever it exits, saying so on stderr. Its output is appended to
# $RUN_LOG_DIR/<name>.log. A TERM stops the process and the supervisor; a
# process that exits while $RUN_STOP_FLAG exists (the whole run is stopping:
# Ctrl-C reaches every process at once) is not restarted. Started by
# supervise.sh's supervise; the loop is top-level code, not a function, so a
# trap's exit leaves bash no function context to unwind.
set -uo pipefail
name=$1
shift
log="$RUN_LOG_DIR/$name.log"
child=""
delay=1

# Ctrl-C is the main script's to handle: it stops everything in order.
trap '' INT
trap 'if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi; exit 0' TERM

while :; do
  printf '=== %s: starting %s\n' "$(date '+%F %T')" "$name" >>"$log"
  started=$SECONDS
  "$@" >>"$log" 2>&1 &
  child=$!
  code=0
  # (stderr: bash's own "Killed" job notice; the line below says it better.)
  wait "$child" 2>/dev/null || code=$?
  child=""
  # Restart after a pause that grows while the process keeps dying young. The
  # pause also lets a stop (Ctrl-C reaches every process at once) mark itself
  # before this supervisor decides.
  if ((SECONDS - started >= 10)); then delay=1; fi
  sleep "$delay" &
  wait $! || true
  if [[ -e $RUN_STOP_FLAG ]]; then exit 0; fi
  echo "$(date '+%T') $name exited (status $code); restarting it (log: $log)" >&2
  if ((delay < 16)); then delay=$((delay * 2)); fi
done
