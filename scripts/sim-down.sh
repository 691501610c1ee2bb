#!/usr/bin/env bash
# Stop exactly what sim-up.sh started (idempotent): the simulator, then pcscd if sim-up started it.
# A pcscd that sim-up found running is left alone. State, stats and PKI stay in target/sim/.
set -euo pipefail

# shellcheck source=scripts/sim-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/sim-lib.sh"

rc=0
stop_pidfile "$SIM_DIR/sim.pid" jpki-card-sim jpki-card-sim || rc=1
stop_pidfile "$SIM_DIR/pcscd.pid" pcscd pcscd || rc=1
exit "$rc"
