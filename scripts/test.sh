#!/usr/bin/env bash
# `make test` after deps and build: fmt/clippy/dependency-graph/cargo-deny checks
# (scripts/supply-chain.sh), unit tests (no services), then the end-to-end tests
# (crate jpki-tests) against the simulated card behind real pcscd. The simulator is stopped again
# whatever the outcome; the exit status is the tests'.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if ! command -v cargo >/dev/null 2>&1 && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
    PATH=${HOME:-/root}/.cargo/bin:$PATH
fi
export JPKI_SIM_DIR=${JPKI_SIM_DIR:-$ROOT/target/sim}

echo "==> supply chain and hygiene: scripts/supply-chain.sh (fmt, clippy, dependency graph, cargo deny)"
scripts/supply-chain.sh

echo "==> unit tests: cargo test --workspace --exclude jpki-tests"
cargo test --workspace --exclude jpki-tests

echo "==> end-to-end tests (simulated card via pcscd + vpcd): cargo test -p jpki-tests -- --test-threads=1"
scripts/with-sim.sh cargo test -p jpki-tests -- --test-threads=1
