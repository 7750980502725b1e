#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh Debian 12 machine: installs missing
# Debian packages (as root), then formatting, clippy (warnings are errors) and all tests.
# Tests start their own PostgreSQL cluster (or use MONO_TEST_PG_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo test --locked --workspace
