#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh Debian 12 machine: installs missing
# Debian packages (as root), then formatting, clippy (warnings are errors) and all tests.
# Tests start their own PostgreSQL cluster (or use MONO_TEST_PG_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

# rustfmt and clippy are toolchain components; add them if this toolchain lacks them.
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$component" >/dev/null 2>&1 || true
    fi
done
if cargo fmt --version >/dev/null 2>&1; then
    cargo fmt --all -- --check
else
    echo "WARNING: rustfmt is not available for this toolchain; formatting NOT checked" >&2
fi
if cargo clippy --version >/dev/null 2>&1; then
    cargo clippy --locked --workspace --all-targets -- -D warnings
else
    echo "WARNING: clippy is not available for this toolchain; lints NOT checked" >&2
fi
cargo test --locked --workspace
