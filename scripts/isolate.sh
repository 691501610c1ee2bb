#!/usr/bin/env bash
# Run COMMAND in a PC/SC world of its own: private network, PID and mount namespaces, with an
# empty /run/pcscd, so that its pcscd, vpcd ports (35963/35964) and simulator are seen by nobody
# else and it sees no other pcscd. Several checkouts (or a developer's shell and a test run) can
# then run `make test` at the same time without taking turns on the machine's one vpcd.
#
#   usage: scripts/isolate.sh COMMAND [ARGS...]      e.g. scripts/isolate.sh make test
#
# Needs root (or user namespaces) and unshare(1) from util-linux. Inside, the loopback interface
# is brought up and nothing else exists: the namespace has no route to any other host.
set -euo pipefail

if (($# == 0)); then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi
if [[ ${JPKI_ISOLATED:-} == 1 ]]; then
    exec "$@" # already inside
fi
for tool in unshare ip mount; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "isolate: '$tool' not found (util-linux, iproute2)" >&2
        exit 1
    fi
done

# The inner script: loopback up, a private /run/pcscd (pcscd's socket and pid file live there),
# a private lock for with-sim.sh, then the command.
inner='
set -euo pipefail
ip link set lo up
mkdir -p /run/pcscd
mount -t tmpfs -o mode=0755 jpki-isolated /run/pcscd
lockdir=$(mktemp -d /tmp/jpki-isolated.XXXXXX)
export JPKI_SIM_LOCK=$lockdir/sim.lock JPKI_ISOLATED=1
rc=0
"$@" || rc=$?
rm -rf "$lockdir"
exit "$rc"
'
exec unshare --mount --net --pid --fork --mount-proc --propagation private \
    bash -c "$inner" isolate "$@"
