#!/usr/bin/env bash
# Called by the sync bench as `mark.sh <phase> <pid>` (SYNC_BENCH_MARK): dumps the callgrind
# counters of the node under valgrind, so each dump holds what ran since the previous one.
set -euo pipefail
callgrind_control --dump="phase-$1" "$2" >/dev/null
