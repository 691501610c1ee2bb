#!/usr/bin/env bash
# `make demo` body: runs jpki-sign against the (already started) simulated card.
# Run it through scripts/with-sim.sh, or after `make sim-up`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SIGN=target/debug/jpki-sign
if [[ ! -x $SIGN ]]; then
    echo "demo: $SIGN not found — build first: cargo build --workspace (or: make build)" >&2
    exit 1
fi

n=0
step() {
    local title=$1
    shift
    n=$((n + 1))
    printf '\n=== Step %d: %s\n=== $ %s\n' "$n" "$title" "$*"
    "$@"
}

step "Which card is in the reader?" "$SIGN" card
step "How many PIN tries are left? (asking spends none)" "$SIGN" pin status
PKI=${JPKI_SIM_DIR:-$ROOT/target/sim}/pki
step "Read the authentication certificate from the card" "$SIGN" cert auth -o "$PKI/../demo-auth.pem" --force
step "Check it against the simulator's test CA with openssl" openssl verify -CAfile "$PKI/auth-ca.pem" "$PKI/../demo-auth.pem"

printf '\n=== Demo finished.\n'
