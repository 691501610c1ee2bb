# shellcheck shell=bash disable=SC2034 # variables here are used by the scripts sourcing this
# Shared helpers of sim-up.sh and sim-down.sh (sourced, not run).
#
# Everything works from /proc so that a fresh Debian (no procps) needs nothing extra.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIM_DIR=${JPKI_SIM_DIR:-$ROOT/target/sim}
SIM_BIN=$ROOT/target/debug/jpki-card-sim

# proc_alive PID [COMM]: PID exists, is not a zombie and (if given) its command name is COMM.
proc_alive() {
    local pid=$1 comm=${2:-} stat
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]] || return 1
    if [[ -n $comm ]]; then
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || return 1
    fi
}

# pidfile_alive FILE COMM: prints the PID recorded in FILE if that process is alive and is COMM.
pidfile_alive() {
    local file=$1 comm=$2 pid
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    proc_alive "$pid" "$comm" || return 1
    echo "$pid"
}

# find_pcscd: prints the PID of a running pcscd (anyone's).
find_pcscd() {
    local d
    for d in /proc/[0-9]*; do
        if proc_alive "${d#/proc/}" pcscd; then
            echo "${d#/proc/}"
            return 0
        fi
    done
    return 1
}

# now_ms: monotonic-enough wall clock in milliseconds.
now_ms() {
    local us=${EPOCHREALTIME//[!0-9]/}
    echo $((us / 1000))
}

# reader_state READER: sets READER_STATE to "card" (card present), "empty" (reader listed, no
# card) or "absent" (pcscd unreachable or reader not listed), and READERS to the raw listing.
READER_STATE=
READERS=
reader_state() {
    local reader=$1 line nr card
    READERS=$(timeout 5 opensc-tool --list-readers 2>&1) || true
    READER_STATE=absent
    while IFS= read -r line; do
        if [[ $line == *" $reader" ]]; then
            read -r nr card _ <<<"$line"
            if [[ $nr =~ ^[0-9]+$ ]]; then
                if [[ $card == Yes ]]; then READER_STATE=card; else READER_STATE=empty; fi
                return 0
            fi
        fi
    done <<<"$READERS"
}

# find_other_sim VPCD [OWN_PID]: prints the PID of a jpki-card-sim (other than OWN_PID) that
# connects to vpcd address VPCD.
find_other_sim() {
    local want=$1 own=${2:-} d pid i vpcd args
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        if [[ $pid == "$own" ]] || ! proc_alive "$pid" jpki-card-sim; then
            continue
        fi
        mapfile -d '' -t args <"$d/cmdline" 2>/dev/null || continue
        vpcd=127.0.0.1:35963
        for ((i = 0; i < ${#args[@]}; i++)); do
            case ${args[i]} in
            --vpcd) vpcd=${args[i + 1]:-} ;;
            --vpcd=*) vpcd=${args[i]#*=} ;;
            --pki-only) continue 2 ;;
            esac
        done
        if [[ $vpcd == "$want" ]]; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

# signal_and_wait SIG PID COMM: sends SIG, then polls up to 5 s; succeeds once the process is gone.
signal_and_wait() {
    local sig=$1 pid=$2 comm=$3 deadline
    kill "-$sig" "$pid" 2>/dev/null || true
    deadline=$(($(now_ms) + 5000))
    while proc_alive "$pid" "$comm" && (($(now_ms) < deadline)); do
        sleep 0.1
    done
    ! proc_alive "$pid" "$comm"
}

# stop_pidfile FILE COMM NAME: stops the process recorded in FILE (TERM, then KILL after 5 s)
# and removes FILE. Does nothing if FILE is missing.
stop_pidfile() {
    local file=$1 comm=$2 name=$3 pid
    if [[ ! -f $file ]]; then
        echo "sim-down: $name: not started by sim-up, nothing to stop"
        return 0
    fi
    if ! pid=$(pidfile_alive "$file" "$comm"); then
        echo "sim-down: $name: not running (removing stale $(basename "$file"))"
        rm -f "$file"
        return 0
    fi
    if ! signal_and_wait TERM "$pid" "$comm"; then
        echo "sim-down: $name (pid $pid) ignored SIGTERM for 5 s, sending SIGKILL"
        if ! signal_and_wait KILL "$pid" "$comm"; then
            echo "sim-down: $name (pid $pid) still alive after SIGKILL" >&2
            return 1
        fi
    fi
    rm -f "$file"
    echo "sim-down: stopped $name (pid $pid)"
}
