#!/usr/bin/env bash
# Brings the whole platform up locally on a fresh Debian 12 machine: installs missing Debian
# packages (as root), builds release binaries of everything `mono up` runs (the operator CLI
# `mono`, `tenant-node`, `gateway`, `devchain`; they are found next to `mono`) and runs
# `mono up`. Extra arguments go to `mono` (e.g. `--data-dir DIR`, `--json` is not one of them:
# use `target/release/mono up --json`). Stop everything with `target/release/mono down`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# tenant-node on its own: with its own dependency features its symbols are the ones its code
# layout (tenant-node/layout/symbol-order.txt) was recorded with, as in a standalone build.
cargo build --release --locked -p tenant-node --bin tenant-node
cargo build --release --locked -p control-plane -p gateway -p devchain \
    --bin mono --bin gateway --bin devchain
exec target/release/mono "$@" up
