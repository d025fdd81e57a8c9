#!/bin/bash
# TAP self-test of tests/e2e/systemd_user.sh: a real `systemd --user`
# manager with its session bus comes up in a private mount (and pid)
# namespace, a stand-in EDR sensor unit starts, stops and crashes and its
# ActiveState follows, and everything is gone again afterwards.
# Needs root, systemd and dbus-user-session; does not need vigil's binaries.
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
# shellcheck source=tests/e2e/systemd_user.sh
. "$(dirname "$SELF")/systemd_user.sh"

PLAN=13

# ---------------------------------------------------------------- enter --
if [ -z "${VIGIL_E2E_HOST_MNTNS:-}" ] ||
    [ "$(readlink /proc/self/ns/mnt)" = "$VIGIL_E2E_HOST_MNTNS" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "1..0 # SKIP needs root (mounts over /run/systemd in a private mount namespace)"
        exit 0
    fi
    missing=""
    for b in systemd systemctl busctl dbus-daemon unshare systemd-notify; do
        command -v "$b" >/dev/null 2>&1 || missing="$missing $b"
    done
    [ -f /usr/lib/systemd/user/dbus.socket ] || missing="$missing dbus-user-session"
    if [ -n "$missing" ]; then
        echo "Bail out! missing:$missing (Debian packages: systemd dbus-user-session util-linux)"
        exit 1
    fi
    # The host's view, to check later that it was not touched.
    VIGIL_SDU_HOST_BOOTED=no
    [ -d /run/systemd/system ] && VIGIL_SDU_HOST_BOOTED=yes
    VIGIL_E2E_HOST_MNTNS=$(readlink /proc/self/ns/mnt)
    export VIGIL_E2E_HOST_MNTNS VIGIL_SDU_HOST_BOOTED
    exec unshare --mount --propagation private --pid --fork --kill-child=SIGTERM --mount-proc \
        bash "$SELF" "$@"
fi

# ------------------------------------------------------------------ TAP --
START=$SECONDS
T=$(mktemp -d /tmp/vigil-sdu.XXXXXX) || { echo "Bail out! mktemp"; exit 1; }
# shellcheck source=../lib/tap.sh
. "$(dirname "$SELF")/../lib/tap.sh"
TAP_DIAG_DIR=$T
# What the sdu_* helpers say on stderr explains a failing case.
TAP_STDERR_TO_DIAG=1

# wait_comm PID NAME: the unit's sh execs sleep; wait for that.
wait_comm() {
    for _ in $(seq 40); do
        [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# expect_eq WHAT WANT GOT
expect_eq() {
    [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    sdu_stop 2>/dev/null
    tap_unrun "${ABORTED:-script ended early}"
    echo "# took $((SECONDS - START))s"
    if [ -n "${VIGIL_E2E_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
    [ "$TAP_FAILED" -gt 0 ] && rc=1
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

abort() {
    ABORTED=$*
    echo "# setup failed: $*"
    exit 1
}

tap_plan "$PLAN"

# ---------------------------------------------------------------- cases --
EDR=fake-edr.service

CONSOLE_BEFORE=$(findmnt -n -o SOURCE /dev/console)
case_start() {
    local rc=0
    sdu_start "$T/sdu" || return 1
    [ -S "$XDG_RUNTIME_DIR/bus" ] || fail "no bus socket at $XDG_RUNTIME_DIR/bus" || rc=1
    [ -S "$XDG_RUNTIME_DIR/systemd/private" ] || fail "no private socket" || rc=1
    expect_eq DBUS_SESSION_BUS_ADDRESS "unix:path=$T/sdu/runtime/bus" "$DBUS_SESSION_BUS_ADDRESS" || rc=1
    grep -q '/vigil-sdu\.[^/]*/init\.scope$' "/proc/$SDU_PID/cgroup" ||
        fail "the manager is not in a vigil-sdu cgroup: $(cat "/proc/$SDU_PID/cgroup")" || rc=1
    return "$rc"
}
tap_case "sdu_start: systemd --user with its bus and private socket, in a cgroup of its own" case_start ||
    abort "the manager did not start"

case_booted() {
    local rc=0
    # systemd-notify --booted is sd_booted(): yes in here.
    systemd-notify --booted || fail "sd_booted() says no inside the namespace" || rc=1
    [ ! -S /run/dbus/system_bus_socket ] ||
        fail "a system bus socket exists; the test assumes none" || rc=1
    findmnt -n -o FSTYPE /run/systemd | grep -qx tmpfs || fail "/run/systemd is not our tmpfs" || rc=1
    return "$rc"
}
tap_case "sd_booted() is true in the namespace, with no system bus" case_booted

case_bus() {
    local st
    st=$(sdu_system_state) || return 1
    expect_eq "SystemState over the session bus" running "$st" || return 1
    busctl --user --timeout=5 call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
        org.freedesktop.systemd1.Manager GetUnit s dbus.service >/dev/null ||
        fail "GetUnit(dbus.service) over the bus failed"
}
tap_case "org.freedesktop.systemd1 answers on \$DBUS_SESSION_BUS_ADDRESS (SystemState running)" case_bus

case_unit() {
    sdu_unit "$EDR" 'ExecStart=/bin/sh -c "echo sensor-ready; exec sleep infinity"' || return 1
    [ -f "$T/sdu/units/$EDR" ] || fail "no unit file written"
    expect_eq "LoadState" loaded "$(sdu_systemctl show -p LoadState --value "$EDR")" || return 1
    expect_eq "ActiveState before start" inactive "$(sdu_active_state "$EDR")"
}
tap_case "sdu_unit writes $EDR and the manager loads it (inactive)" case_unit

MAIN_PID=
case_start_unit() {
    sdu_start_unit "$EDR" || return 1
    expect_eq "ActiveState after start" active "$(sdu_active_state "$EDR")" || return 1
    MAIN_PID=$(sdu_systemctl show -p MainPID --value "$EDR")
    [ "${MAIN_PID:-0}" -gt 0 ] || fail "no MainPID" || return 1
    wait_comm "$MAIN_PID" sleep || return 1
    expect_eq "MainPID's program" sleep "$(cat "/proc/$MAIN_PID/comm" 2>/dev/null)" || return 1
    grep -q "/vigil-sdu\.[^/]*/app\.slice/$EDR\$" "/proc/$MAIN_PID/cgroup" ||
        fail "the unit is not in the manager's cgroup: $(cat "/proc/$MAIN_PID/cgroup")"
}
tap_case "sdu_start_unit: $EDR becomes active, its sleep runs in the manager's cgroup" case_start_unit

case_stop_unit() {
    sdu_stop_unit "$EDR" || return 1
    expect_eq "ActiveState after stop" inactive "$(sdu_active_state "$EDR")" || return 1
    if [ -n "$MAIN_PID" ] && kill -0 "$MAIN_PID" 2>/dev/null; then
        fail "the unit's process $MAIN_PID still runs"
    fi
    return 0
}
tap_case "sdu_stop_unit: $EDR becomes inactive and its process is gone" case_stop_unit

case_crash() {
    sdu_start_unit "$EDR" && sdu_wait_state "$EDR" active 5 || return 1
    sdu_kill_unit "$EDR" KILL || return 1
    sdu_wait_state "$EDR" failed 5 || return 1
    expect_eq "SystemState with a failed unit" degraded "$(sdu_system_state)" || return 1
    sdu_systemctl reset-failed "$EDR" || return 1
    expect_eq "ActiveState after reset-failed" inactive "$(sdu_active_state "$EDR")" || return 1
    expect_eq "SystemState after reset-failed" running "$(sdu_system_state)"
}
tap_case "a crashed sensor (SIGKILL) is failed and the manager degraded; reset-failed clears it" case_crash

case_mismatch() {
    # The helpers must be able to say no: a wrong expectation fails, in time.
    local t0=$SECONDS
    if sdu_wait_state "$EDR" active 1 2>/dev/null; then
        fail "sdu_wait_state accepted 'active' for a stopped unit"
        return 1
    fi
    [ $((SECONDS - t0)) -le 3 ] || fail "sdu_wait_state took $((SECONDS - t0))s for a 1s limit"
    if sdu_start_unit no-such-unit.service 2>/dev/null; then
        fail "starting a unit that does not exist succeeded"
        return 1
    fi
    return 0
}
tap_case "sdu_wait_state and sdu_start_unit report failure (wrong state, no such unit)" case_mismatch

case_second_start() {
    if sdu_start "$T/sdu2" 2>/dev/null; then
        fail "a second sdu_start while one runs succeeded"
        return 1
    fi
    return 0
}
tap_case "sdu_start refuses to start a second manager while one runs" case_second_start

CGS=
case_stop() {
    local pid=$SDU_PID
    CGS=$SDU_CGROUPS
    sdu_start_unit "$EDR" || return 1
    MAIN_PID=$(sdu_systemctl show -p MainPID --value "$EDR")
    local rc=0
    sdu_stop || rc=1
    ! kill -0 "$pid" 2>/dev/null || fail "systemd --user ($pid) still runs" || rc=1
    ! kill -0 "$MAIN_PID" 2>/dev/null || fail "the unit's process $MAIN_PID still runs" || rc=1
    ! pgrep -x dbus-daemon >/dev/null || fail "a dbus-daemon still runs in the namespace" || rc=1
    ! pgrep -x socat >/dev/null || fail "the log's socat still runs" || rc=1
    [ -z "$SDU_PID" ] || fail "SDU_PID still set" || rc=1
    return "$rc"
}
tap_case "sdu_stop: the manager, the unit, the bus and the log's socat are gone" case_stop

case_log() {
    local log=$T/sdu/manager.log
    grep -q 'Startup finished' "$log" || fail "no 'Startup finished' in the manager's log" || return 1
    grep -q 'sensor-ready' "$log" || fail "the unit's output is not in the manager's log" || return 1
    grep -q "$EDR: Main process exited, code=killed, status=9/KILL" "$log" ||
        fail "the crash is not in the manager's log"
}
tap_case "the manager's log (and the unit's output) is in DIR/manager.log" case_log

case_undone() {
    local cg rc=0 host_booted=no
    [ -n "$CGS" ] || fail "no cgroups were recorded" || rc=1
    for cg in $CGS; do
        [ ! -d "$cg" ] || fail "cgroup $cg still exists" || rc=1
    done
    ! findmnt -n /run/systemd >/dev/null || fail "/run/systemd is still mounted" || rc=1
    expect_eq "what is mounted on /dev/console" "$CONSOLE_BEFORE" \
        "$(findmnt -n -o SOURCE /dev/console)" || rc=1
    [ -d /run/systemd/system ] && host_booted=yes
    expect_eq "/run/systemd/system as the host has it" "${VIGIL_SDU_HOST_BOOTED:-?}" "$host_booted" || rc=1
    return "$rc"
}
tap_case "sdu_stop removed its cgroups and mounts; the host's /run/systemd shows again" case_undone

case_restart() {
    local t0=$SECONDS
    sdu_start "$T/sdu" || return 1
    sdu_unit "$EDR" 'ExecStart=/bin/sleep infinity' && sdu_start_unit "$EDR" || return 1
    expect_eq "ActiveState on the second manager" active "$(sdu_active_state "$EDR")" || return 1
    sdu_stop || return 1
    [ $((SECONDS - t0)) -le 10 ] || fail "start+stop took $((SECONDS - t0))s"
}
tap_case "a second manager starts and stops cleanly in the same namespace" case_restart
