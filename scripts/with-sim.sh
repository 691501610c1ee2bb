#!/usr/bin/env bash
# Run a command against a fresh simulated card: sim-down (if anything is left over), sim-up,
# COMMAND..., then sim-down — also when COMMAND fails or is interrupted. Exits with COMMAND's status.
#   usage: scripts/with-sim.sh COMMAND [ARGS...]
#
# The simulated card sits in a virtual reader, which jpki never chooses by itself: COMMAND runs
# with JPKI_READER="Virtual PCD 00 00" (unless already set), the explicit choice every front
# door honours, and JPKI_VIRTUAL_READER_NOTICE=off (unless set), which silences the one-line
# "using the virtual reader" notice so that tests can compare stderr exactly.
set -euo pipefail

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if (($# == 0)); then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

# One simulated card behind one pcscd per machine: concurrent runs (two checkouts, a developer's
# shell and CI) would fight over vpcd's port, so they take turns.
exec 9>"${JPKI_SIM_LOCK:-/tmp/jpki-sim.lock}"
if ! flock -n 9; then
    echo "with-sim: another simulator run holds ${JPKI_SIM_LOCK:-/tmp/jpki-sim.lock}; waiting for it" >&2
    flock 9
fi

"$SCRIPTS/sim-down.sh" 9>&- # a fresh card every run: stop whatever an earlier sim-up left running

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    local rc=$?
    trap - EXIT
    "$SCRIPTS/sim-down.sh" || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export JPKI_READER=${JPKI_READER:-Virtual PCD 00 00}
export JPKI_VIRTUAL_READER_NOTICE=${JPKI_VIRTUAL_READER_NOTICE:-off}

# 9>&-: pcscd and the simulator outlive this script's children; they must not inherit the lock.
"$SCRIPTS/sim-up.sh" 9>&-
"$@" 9>&-
