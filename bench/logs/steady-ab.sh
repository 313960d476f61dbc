#!/bin/bash
# Before/after rounds of steady.ts: each row in its own process, the two trees alternating, so that both see
# the same minutes of a noisy machine. BEFORE and AFTER are checkouts (e.g. `git worktree add /tmp/before
# <rev>` with node_modules linked); the result lines go to OUT, and each tree's results JSON is left as it was.
# Usage: BEFORE=/tmp/before AFTER=. bench/logs/steady-ab.sh OUT 1000x10 100x100 1000x10 100x100 ...
set -u
out=$1
shift
node="$(cd "$(dirname "$0")/../.." && pwd)/node_modules/.bin/node"
for row in "$@"; do
  for tree in "$BEFORE" "$AFTER"; do
    echo "== $tree $row load $(cut -d' ' -f1 /proc/loadavg)" >>"$out"
    (cd "$tree" && VIGIL_BENCH_WRITER_CPU=0 taskset -c 1 "$node" bench/logs/steady.ts --rows "$row" 2>&1 |
      grep '^| [0-9]' >>"$out"; git checkout -q bench/results/logs.json)
  done
done
