#!/usr/bin/env bash
# Start the simulated My Number card behind real pcscd (idempotent).
#
#   * pcscd: started (setsid pcscd --foreground) only if no pcscd is running; then its PID goes to
#     target/sim/pcscd.pid so that sim-down stops it again. A pcscd someone else started is used
#     and never stopped.
#   * Nothing listens beyond loopback: vpcd listens on TCP 35963/35964 on every interface of its
#     network namespace, so a pcscd that sim-up starts gets a namespace of its own (unshare --net)
#     holding only a loopback interface, and reads a private reader.conf
#     (target/sim/reader.conf.d, pcscd --config), never /etc/reader.conf.d. Programs reach it
#     through its Unix socket as usual; the simulator runs in its namespace (nsenter), and
#     target/sim/vpcd-netns names that namespace for tests that start a second card. Nobody
#     outside — another host, another local user — can reach vpcd's ports.
#     A pcscd someone else started is used as it is, with a warning: its vpcd (if any) listens
#     wherever the machine's reader.conf says (Debian's default: every interface).
#   * target/debug/jpki-card-sim connects to vpcd (reader "Virtual PCD 00 00") with its state,
#     stats and test PKI under target/sim/ (PID in target/sim/sim.pid, log in sim.log).
#   * Waits (polling, no fixed sleeps) until pcscd shows the card and target/sim/pki/auth.pem exists.
#
# Environment:
#   JPKI_SIM_DIR          directory instead of <repo>/target/sim
#   JPKI_SIM_ARGS         extra simulator options, e.g. "--auth-tries 1" or "--vpcd 127.0.0.1:35964"
#                         (an option given here replaces sim-up's default for it)
#   JPKI_SIM_KEEP_STATE=1 keep state.json/stats.json (default: a fresh card every sim-up)
#   JPKI_SIM_TIMEOUT      seconds to wait for the card (default 20)
#   JPKI_SIM_READER       reader to wait for (default: derived from the vpcd port)
set -euo pipefail

# shellcheck source=scripts/sim-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/sim-lib.sh"

mkdir -p "$SIM_DIR"
SIM_PIDFILE=$SIM_DIR/sim.pid
PCSCD_PIDFILE=$SIM_DIR/pcscd.pid

if pid=$(pidfile_alive "$SIM_PIDFILE" jpki-card-sim); then
    echo "sim-up: already up (jpki-card-sim pid $pid, state in $SIM_DIR); nothing to do"
    exit 0
fi
rm -f "$SIM_PIDFILE"

if [[ ! -x $SIM_BIN ]]; then
    echo "sim-up: $SIM_BIN not found — build it first: cargo build --workspace (or: make build)" >&2
    exit 1
fi
for tool in pcscd opensc-tool setsid timeout; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "sim-up: '$tool' not found — install the dependencies first: scripts/deps.sh (or: make deps)" >&2
        exit 1
    fi
done

# --- simulator arguments: defaults unless JPKI_SIM_ARGS gives the option itself ---------------
read -r -a extra <<<"${JPKI_SIM_ARGS:-}"
declare -A defaults=(
    [--vpcd]=127.0.0.1:35963
    [--state]=$SIM_DIR/state.json
    [--stats]=$SIM_DIR/stats.json
    [--pki-dir]=$SIM_DIR/pki
)
declare -A given=()
for ((i = 0; i < ${#extra[@]}; i++)); do
    a=${extra[i]}
    for opt in "${!defaults[@]}"; do
        if [[ $a == "$opt" ]]; then
            given[$opt]=${extra[i + 1]:-}
        elif [[ $a == "$opt="* ]]; then
            given[$opt]=${a#*=}
        fi
    done
done
args=()
for opt in --vpcd --state --stats --pki-dir; do
    if [[ -z ${given[$opt]+set} ]]; then
        args+=("$opt" "${defaults[$opt]}")
    fi
done
args+=("${extra[@]}")
vpcd=${given[--vpcd]:-${defaults[--vpcd]}}
pki_dir=${given[--pki-dir]:-${defaults[--pki-dir]}}
port=${vpcd##*:}
if [[ -n ${JPKI_SIM_READER:-} ]]; then
    reader=$JPKI_SIM_READER
elif [[ $port =~ ^[0-9]+$ ]] && ((port >= 35963 && port <= 35972)); then
    reader="Virtual PCD 00 0$((port - 35963))"
else
    reader="Virtual PCD 00 00"
fi
timeout_s=${JPKI_SIM_TIMEOUT:-20}

# --- from here on, a failure stops whatever sim-up started ------------------------------------
started_pcscd=
ok=
on_exit() {
    local rc=$?
    if [[ -z $ok ]]; then
        echo "sim-up: FAILED — stopping anything it started" >&2
        "$ROOT/scripts/sim-down.sh" >&2 || true
    fi
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_logs() {
    local f
    for f in "$SIM_DIR/sim.log" ${started_pcscd:+"$SIM_DIR/pcscd.log"}; do
        if [[ -f $f ]]; then
            echo "----- last lines of $f -----"
            # pcscd logs an error for every reader poll of an empty reader: leave those out
            grep -v 'Card not transacted' "$f" | tail -n 25
        fi
    done
    echo "----- opensc-tool --list-readers -----"
    echo "$READERS"
}

if pid=$(find_other_sim "$vpcd"); then
    echo "sim-up: another jpki-card-sim (pid $pid, not started by sim-up) already uses vpcd $vpcd;" \
        "stop it first" >&2
    exit 1
fi

# --- pcscd ------------------------------------------------------------------------------------
# With systemd, pcscd is socket-activated and may be idle-exited: wake it rather than starting a
# second one next to systemd's socket.
if ! find_pcscd >/dev/null && [[ -d /run/systemd/system && -S /run/pcscd/pcscd.comm ]]; then
    timeout 5 opensc-tool --list-readers >/dev/null 2>&1 || true
fi
if pid=$(pidfile_alive "$PCSCD_PIDFILE" pcscd); then
    echo "sim-up: using pcscd pid $pid (started by an earlier sim-up)"
    started_pcscd=earlier
else
    rm -f "$PCSCD_PIDFILE"
    if pid=$(find_pcscd); then
        echo "sim-up: using the running pcscd (pid $pid, not started by sim-up; sim-down leaves it running)"
    else
        if ! unshare --net true 2>/dev/null; then
            echo "sim-up: cannot create a network namespace (unshare --net) for pcscd, so vpcd would" \
                "listen on every interface; run as root (or through scripts/isolate.sh)" >&2
            exit 1
        fi
        # vpcd's driver as the package installed it (deps.sh may have moved its reader.conf away).
        libpath=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
        for conf in /etc/reader.conf.d/vpcd /etc/vpcd.reader.conf.jpki-disabled; do
            if [[ -f $conf ]]; then
                libpath=$(sed -n 's/^LIBPATH[[:space:]]*//p' "$conf" | head -n 1)
                break
            fi
        done
        mkdir -p "$SIM_DIR/reader.conf.d"
        printf '%s\n' 'FRIENDLYNAME "Virtual PCD"' 'DEVICENAME   /dev/null:0x8C7B' \
            "LIBPATH      $libpath" 'CHANNELID    0x8C7B' >"$SIM_DIR/reader.conf.d/vpcd"
        # shellcheck disable=SC2016 # $1 is expanded by the inner shell
        setsid unshare --net sh -c 'ip link set lo up && exec pcscd --foreground --info --config "$1"' \
            sh "$SIM_DIR/reader.conf.d" >"$SIM_DIR/pcscd.log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$PCSCD_PIDFILE"
        started_pcscd=now
        echo "sim-up: started pcscd (pid $pid, log $SIM_DIR/pcscd.log) in a network namespace" \
            "of its own (vpcd reachable from nowhere else)"
    fi
fi
pcscd_pid=$pid
netns=()
if [[ -n $started_pcscd ]]; then
    echo "/proc/$pcscd_pid/ns/net" >"$SIM_DIR/vpcd-netns"
    netns=(nsenter "--net=/proc/$pcscd_pid/ns/net")
else
    rm -f "$SIM_DIR/vpcd-netns"
    echo "sim-up: WARNING: using a pcscd sim-up did not start: its vpcd listens where the machine's" \
        "reader.conf says (Debian's default: TCP 35963/35964 on every interface; see README, Security)" >&2
fi

# A card already in our reader belongs to a simulator sim-up did not start (or one that was just
# stopped and that pcscd has not noticed yet: it polls vpcd about every 0.4 s).
if [[ $started_pcscd != now ]]; then
    deadline=$(($(now_ms) + 3000))
    while reader_state "$reader" && [[ $READER_STATE == card ]]; do
        if (($(now_ms) >= deadline)); then
            echo "sim-up: reader '$reader' already has a card, but sim-up did not start it —" \
                "another card simulator is connected to vpcd ($vpcd); stop it first" >&2
            exit 1
        fi
        sleep 0.1
    done
fi

# --- simulator --------------------------------------------------------------------------------
if [[ ${JPKI_SIM_KEEP_STATE:-0} != 1 ]]; then
    rm -f "${given[--state]:-${defaults[--state]}}" "${given[--stats]:-${defaults[--stats]}}"
fi
if [[ -z ${given[--pki-dir]+set} ]]; then
    rm -rf "$pki_dir" # so that auth.pem below is this simulator's
fi
start_ms=$(now_ms)
setsid "${netns[@]}" "$SIM_BIN" "${args[@]}" >"$SIM_DIR/sim.log" 2>&1 </dev/null &
sim_pid=$!
echo "$sim_pid" >"$SIM_PIDFILE"
echo "sim-up: started jpki-card-sim (pid $sim_pid, log $SIM_DIR/sim.log): ${args[*]}"

# --- wait until pcscd shows the card --------------------------------------------------------
deadline=$((start_ms + timeout_s * 1000))
while :; do
    reader_state "$reader"
    state=$READER_STATE
    if [[ $state == card && -f $pki_dir/auth.pem ]]; then
        break
    fi
    # proc_alive without a name: right after the fork the command name is still bash/setsid.
    if ! proc_alive "$sim_pid"; then
        echo "sim-up: jpki-card-sim exited before the card showed up" >&2
        show_logs >&2
        exit 1
    fi
    if ! proc_alive "$pcscd_pid"; then
        echo "sim-up: pcscd (pid $pcscd_pid) exited" >&2
        show_logs >&2
        exit 1
    fi
    if (($(now_ms) >= deadline)); then
        echo "sim-up: timed out after ${timeout_s} s waiting for a card in '$reader'" \
            "(reader: $state, $pki_dir/auth.pem: $([[ -f $pki_dir/auth.pem ]] && echo present || echo missing))" >&2
        if [[ $state == absent ]]; then
            echo "sim-up: pcscd lists no reader '$reader' — is vsmartcard-vpcd installed" \
                "(/etc/reader.conf.d/vpcd) and was pcscd started after it?" >&2
        fi
        show_logs >&2
        exit 1
    fi
    sleep 0.1
done

ok=1
elapsed=$(($(now_ms) - start_ms))
printf 'sim-up: card ready in "%s" after %d.%01d s (state and PKI in %s)\n' \
    "$reader" $((elapsed / 1000)) $((elapsed % 1000 / 100)) "$SIM_DIR"
