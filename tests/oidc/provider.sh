#!/bin/bash
# Starts and stops the test OpenID provider (provider.mjs) on loopback.
#
#   tests/oidc/provider.sh start DIR [--device-code-ttl S] [--interval S] [--jwks wrong-key]
#   tests/oidc/provider.sh stop DIR
#
# start: installs the pinned oidc-provider if needed (install.sh), starts
#   provider.mjs in the background on 127.0.0.1:<free port>, waits until its
#   discovery document answers and prints, one per line (also saved in
#   DIR/oidc.env for `source`):
#     OIDC_ISSUER=http://127.0.0.1:PORT
#     OIDC_PID=PID
#   The options go to provider.mjs (see its header: accounts, clients, modes).
#   Log: DIR/provider.log.
# stop: ends the provider started in DIR (SIGTERM, then SIGKILL after 5 s);
#   only the pid recorded in DIR, and only if its command line names DIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

die() { echo "oidc/provider: $*" >&2; exit 1; }

usage() {
    sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
    exit 2
}

# Is PID the provider.mjs that provider.sh started for DIR?
is_ours() {
    local pid=$1 dir=$2 cmd
    [ -r "/proc/$pid/cmdline" ] || return 1
    # The process may be reaped between the test and the read (ESRCH).
    cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
    case "$cmd" in
        *"provider.mjs"*"--dir $dir "*|*"provider.mjs"*"--dir $dir") return 0 ;;
    esac
    return 1
}

start() {
    local dir=$1; shift
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    "$here/install.sh" >/dev/null
    # Twice in CI (of hundreds of starts) node printed its runtime warning
    # and then neither listened nor died for 15 s and 90 s: a start that
    # hangs is diagnosed, ended and tried again, three times at most.
    local attempt
    for attempt in 1 2 3; do
        try_start "$dir" "$@" && return 0
        echo "oidc/provider: attempt $attempt: $WHY" >&2
        diagnose "$dir" >&2
        sed 's/^/oidc\/provider: log: /' "$dir/provider.log" >&2 || true
        stop "$dir"
    done
    die "the provider did not come up in 3 attempts (log: $dir/provider.log)"
}

# try_start DIR ARGS...: one start, given 30 s; WHY says what went wrong.
try_start() {
    local dir=$1; shift
    rm -f "$dir/provider.out" "$dir/oidc.env"
    # setsid: the provider outlives this script and ignores the caller's ^C.
    setsid node "$here/provider.mjs" "$@" --dir "$dir" >"$dir/provider.out" 2>"$dir/provider.log" </dev/null &
    local pid=$! issuer=""
    echo "$pid" > "$dir/provider.pid"
    # A deadline, not a count of tries: on a loaded 2-core CI machine node's
    # start (module load, fresh RSA keys) takes seconds.
    local deadline=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$deadline" ]; do
        issuer=$(sed -n 's/^OIDC_ISSUER=//p' "$dir/provider.out")
        if [ -n "$issuer" ] && curl -fsS --max-time 2 "$issuer/.well-known/openid-configuration" >/dev/null 2>&1; then
            printf 'OIDC_ISSUER=%s\nOIDC_PID=%s\n' "$issuer" "$pid" | tee "$dir/oidc.env"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null
            WHY="node exited (status $?) before it answered"
            return 1
        fi
        sleep 0.1
    done
    WHY="no answer within 30 s (issuer printed: ${issuer:-no})"
    return 1
}

# What a hung node is doing, for the next person who reads the log.
diagnose() {
    local dir=$1 pid
    pid=$(cat "$dir/provider.pid" 2>/dev/null) || return 0
    [ -r "/proc/$pid/status" ] || return 0
    echo "oidc/provider: pid $pid state: $(awk '/^State:/ {print $2, $3}' "/proc/$pid/status" 2>/dev/null)," \
        "wchan: $(cat "/proc/$pid/wchan" 2>/dev/null), threads: $(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null)," \
        "cpu ticks: $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null)"
    echo "oidc/provider: listening sockets of pid $pid: $(ss -ltnpH 2>/dev/null | grep -c "pid=$pid,")"
}

stop() {
    local dir=$1 pid _
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd -P)
    [ -f "$dir/provider.pid" ] || return 0
    pid=$(cat "$dir/provider.pid")
    if is_ours "$pid" "$dir"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            is_ours "$pid" "$dir" || break
            sleep 0.1
        done
        is_ours "$pid" "$dir" && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$dir/provider.pid"
}

[ $# -ge 2 ] || usage
case "$1" in
    start) shift; start "$@" ;;
    stop) stop "$2" ;;
    *) usage ;;
esac
