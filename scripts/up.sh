#!/usr/bin/env bash
# Brings the whole platform up locally on a fresh Debian 12 machine: installs missing Debian
# packages (as root), builds the operator CLI and runs `mono up`. Extra arguments go to `mono`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release --locked -p control-plane --bin mono
exec target/release/mono "$@" up
