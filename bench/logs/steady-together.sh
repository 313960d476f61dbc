#!/bin/bash
# Steady-state rows side by side: every TREE:ROW runs in its own process at the same time (agents on cpu 1,
# writers on cpu 0), so that all of them share the same minutes of this noisy machine. Rows measured one after
# the other differ by ±30-40 % between identical runs here; rows measured together differ by what they are.
# TREE is a checkout (e.g. `git worktree add /tmp/before <rev>`, node_modules linked, this steady.ts copied in).
# A row may end in @NODE_OPTIONS: that row's process runs with them, e.g. `.:1000x10@--max-semi-space-size=4` (the
# V8 flags the chart starts the agent with, agent/v8-flags.ts).
# Usage: WARMUP=180 SECONDS_MEASURED=300 bench/logs/steady-together.sh OUT /tmp/before:1000x10 .:1000x10 ...
set -u
out=$1
shift
node="$(cd "$(dirname "$0")/../.." && pwd)/node_modules/.bin/node"
echo "== together, load $(cut -d' ' -f1 /proc/loadavg), warm-up ${WARMUP:-180} s, measured ${SECONDS_MEASURED:-300} s" >>"$out"
for spec in "$@"; do
  tree=${spec%%:*}
  row=${spec#*:}
  flags=""
  if [[ $row == *@* ]]; then
    flags=${row#*@}
    row=${row%%@*}
  fi
  (cd "$tree" && NODE_OPTIONS="$flags" VIGIL_BENCH_WRITER_CPU=0 taskset -c 1 "$node" bench/logs/steady.ts \
    --rows "$row" --warmup "${WARMUP:-180}" --seconds "${SECONDS_MEASURED:-300}" --no-save 2>&1 |
    grep '^| [0-9]' | sed "s|^|$tree${flags:+ [$flags]} |" >>"$out") &
done
wait
