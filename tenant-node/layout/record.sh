#!/usr/bin/env bash
# Records which functions of the release `tenant-node` run while it starts, catches up, follows
# a chain at 2 blocks/s and answers GraphQL (the sync bench's idle phase, under callgrind), and
# writes them, grouped by phase, to symbol-order.txt: the link order of the release executable
# (see build.rs). Needs valgrind. Takes about ten minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The executable shipped is `cargo build --release`'s; `cargo bench` builds its own with other
# dependency features, whose symbol names differ. Record a copy of the shipped one.
TENANT_NODE_CODE_LAYOUT=off cargo build --release -p tenant-node
cp target/release/tenant-node "$out/tenant-node"
SYNC_BENCH_EXE="$out/tenant-node" \
SYNC_BENCH_BLOCKS=${SYNC_BENCH_BLOCKS:-3000} \
SYNC_BENCH_HOLD=${SYNC_BENCH_HOLD:-30} \
SYNC_BENCH_WRAP="valgrind --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file=$out/cg.%p" \
SYNC_BENCH_MARK="$root/tenant-node/layout/mark.sh" \
    cargo bench -p tenant-node --bench sync
awk -v exe="$out/tenant-node" -f tenant-node/layout/order.awk "$out"/cg.*.* \
    >"$out/order.txt"
test -s "$out/order.txt" || { echo "no functions recorded" >&2; exit 1; }
mv "$out/order.txt" tenant-node/layout/symbol-order.txt
echo "tenant-node/layout/symbol-order.txt: $(wc -l <tenant-node/layout/symbol-order.txt) symbols"
