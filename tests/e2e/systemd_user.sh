# shellcheck shell=bash
# A real `systemd --user` manager with its own session bus, for the posture
# tests (DESIGN §4, §7). Source this file from a script that already runs in
# a private mount namespace (lib.sh's e2e_enter_ns, or
# `unshare --mount --propagation private [--pid --fork --mount-proc]`), as root.
#
#   . tests/e2e/systemd_user.sh
#   sdu_start "$T/sdu" || exit 1     # manager + bus; exports the bus variables
#   sdu_unit fake-edr.service 'ExecStart=/bin/sleep infinity'
#   sdu_start_unit fake-edr.service
#   sdu_active_state fake-edr.service        # -> active
#   sdu_stop_unit fake-edr.service           # -> inactive
#   sdu_kill_unit fake-edr.service KILL      # a crash -> failed
#   sdu_stop                                 # from the script's cleanup
#
# What sdu_start does, in the current mount namespace only:
#   - a tmpfs over /run/systemd holding an empty /run/systemd/system, so
#     sd_booted() says yes (the host's /run/systemd is untouched);
#   - DIR/runtime (0700) as XDG_RUNTIME_DIR: the bus is DIR/runtime/bus
#     (dbus.socket + dbus.service from dbus-user-session, socket-activated),
#     the manager's private socket DIR/runtime/systemd/private;
#   - a pty over /dev/console, copied by socat into DIR/manager.log: a user
#     manager logs only there (not to a redirected stderr);
#   - a cgroup of its own (vigil-sdu.* below the caller's cgroup in every
#     hierarchy systemd uses). Cgroups are not namespaced: a manager started
#     in the root cgroup moves every process it can see (without a pid
#     namespace: every process on the machine) into /init.scope, and two
#     managers at once would kill each other's units. sdu_stop removes it
#     again (and sdu_start removes empty ones over a minute old that a
#     killed test left);
#   - DIR/xdg/config/systemd/user.conf: log to the console, units' output
#     to the console too, start/stop timeouts of 10s/5s;
#   - unit search path DIR/units then /usr/lib/systemd/user only
#     (SYSTEMD_UNIT_PATH), so the host's /etc/systemd/user and ~/.config are
#     not read; XDG_CONFIG_HOME etc. of the manager point into DIR.
#   - waits until `systemctl --user is-system-running --wait` says running
#     and org.freedesktop.systemd1 answers on the bus.
#
# Exports: XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS (so sd_bus_open_user(),
# systemctl --user and busctl --user all reach this manager), SDU_BUS
# (the same address, for a config's bus = "unix:path=..."), SDU_DIR, SDU_PID.
# Needs: systemd, dbus-user-session (dbus-daemon), util-linux, coreutils;
# socat for the manager's log.
# No pid namespace is needed, but one makes sure nothing outlives the test.
#
# Every function returns non-zero on failure and prints a diagnostic on
# stderr, prefixed "sdu:". SDU_TIMEOUT (seconds, default 20) bounds waits.
# Works with and without `set -eu -o pipefail`.

SDU_DIR=${SDU_DIR:-}
SDU_PID=${SDU_PID:-}
SDU_CGROUPS=${SDU_CGROUPS:-}
SDU_MOUNTS=${SDU_MOUNTS:-}

_sdu_err() { printf 'sdu: %s\n' "$*" >&2; }

# The manager's log, without its CRs, on stderr.
sdu_log_tail() {
    local n=${1:-30}
    [ -n "$SDU_DIR" ] && [ -f "$SDU_DIR/manager.log" ] || return 0
    echo "--- systemd --user log ($SDU_DIR/manager.log, last $n lines):" >&2
    tr -d '\r' <"$SDU_DIR/manager.log" | tail -n "$n" >&2
    if [ -s "$SDU_DIR/manager.out" ]; then
        echo "--- systemd --user stdout/stderr:" >&2
        tail -n "$n" "$SDU_DIR/manager.out" >&2
    fi
}

# True when this shell is not in the host's mount namespace: not the one
# VIGIL_E2E_HOST_MNTNS names (lib.sh sets it before unsharing), or else
# one that differs from an ancestor's (`unshare -m` without a pid namespace;
# PID 1's namespace may not be readable).
_sdu_private_ns() {
    local self pid ppid ns
    self=$(readlink /proc/self/ns/mnt) || return 1
    if [ -n "${VIGIL_E2E_HOST_MNTNS:-}" ]; then
        [ "$self" != "$VIGIL_E2E_HOST_MNTNS" ]
        return
    fi
    pid=$BASHPID
    while [ "$pid" -gt 1 ]; do
        ppid=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
        [ -n "$ppid" ] && [ "$ppid" -gt 0 ] || return 1
        ns=$(readlink "/proc/$ppid/ns/mnt" 2>/dev/null) || return 1
        [ "$ns" != "$self" ] && return 0
        pid=$ppid
    done
    return 1
}

# Prints "mountpoint path" for each cgroup hierarchy systemd uses: the
# name=systemd v1 one (legacy/hybrid) and the cgroup2 one.
_sdu_cgroup_hierarchies() {
    local mnt fstype opts path
    while read -r _ _ _ _ mnt _ rest; do
        fstype=${rest#*- }
        opts=${fstype#* * }
        fstype=${fstype%% *}
        case $fstype in
            cgroup2)
                path=$(sed -n 's/^0:://p' /proc/self/cgroup)
                echo "$mnt ${path:-/}" ;;
            cgroup)
                case ",$opts," in
                    *,name=systemd,*)
                        path=$(sed -n 's/^[0-9]*:name=systemd://p' /proc/self/cgroup)
                        echo "$mnt ${path:-/}" ;;
                esac ;;
        esac
    done </proc/self/mountinfo
}

# Removes a cgroup tree (its processes must be gone), deepest first.
_sdu_rm_cgroup() {
    local cg=$1 p
    [ -d "$cg" ] || return 0
    # Anything still in it (the manager was killed hard) goes now.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        # (0 would be a process outside this pid namespace: never "kill 0".)
        p=$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -x '[1-9][0-9]*') || true
        [ -z "$p" ] && break
        # shellcheck disable=SC2086
        kill -KILL $p 2>/dev/null || true
        sleep 0.1
    done
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [ ! -d "$cg" ] || { _sdu_err "could not remove cgroup $cg"; return 1; }
}

# Removes vigil-sdu.* cgroups below PARENT that a test killed before its
# sdu_stop left behind: older than a minute and without a single process
# anywhere in them (a live manager always sits in its init.scope).
_sdu_sweep_stale() {
    local parent=$1 cg
    while read -r cg; do
        [ -n "$cg" ] || continue
        [ -z "$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] || continue
        find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done < <(find "$parent" -mindepth 1 -maxdepth 1 -type d -name 'vigil-sdu.*' -mmin +1 2>/dev/null)
}

# A user manager logs only to /dev/console, which it reopens for every
# message and which must be a terminal: a pty whose other side socat copies
# into DIR/manager.log goes over /dev/console (units whose output finds no
# journal land there too). Without socat there is no manager log.
SDU_SOCAT_PID=${SDU_SOCAT_PID:-}
_sdu_console() {
    local dir=$1 pty
    if ! command -v socat >/dev/null 2>&1; then
        _sdu_err "warning: no socat, so no manager log"
        return 0
    fi
    socat -u PTY,link="$dir/console.pty",rawer OPEN:"$dir/manager.log",creat,append \
        </dev/null >/dev/null 2>"$dir/socat.err" &
    SDU_SOCAT_PID=$!
    for _ in $(seq 40); do
        [ -L "$dir/console.pty" ] && break
        sleep 0.05
    done
    pty=$(readlink -f "$dir/console.pty" 2>/dev/null) || true
    if [ -z "$pty" ] || [ ! -c "$pty" ] || ! mount --bind "$pty" /dev/console; then
        _sdu_err "warning: could not put a pty over /dev/console; no manager log"
        return 0
    fi
    SDU_MOUNTS="/dev/console $SDU_MOUNTS"
}

# sdu_start DIR: starts the manager and its bus; see above.
sdu_start() {
    local dir=${1:?usage: sdu_start DIR} b missing="" timeout=${SDU_TIMEOUT:-20}
    if [ -n "$SDU_PID" ] && kill -0 "$SDU_PID" 2>/dev/null; then
        _sdu_err "a manager is already running (pid $SDU_PID); sdu_stop it first"
        return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        _sdu_err "needs root (it mounts over /run/systemd and /dev/console)"
        return 1
    fi
    if ! _sdu_private_ns; then
        _sdu_err "refusing to mount over /run/systemd in the host's mount namespace" \
            "(run in 'unshare --mount --propagation private'; with a pid namespace, export" \
            "VIGIL_E2E_HOST_MNTNS=\$(readlink /proc/self/ns/mnt) before unsharing)"
        return 1
    fi
    for b in systemd systemctl busctl dbus-daemon mount umount timeout find; do
        command -v "$b" >/dev/null 2>&1 || missing="$missing $b"
    done
    [ -f /usr/lib/systemd/user/dbus.socket ] || missing="$missing /usr/lib/systemd/user/dbus.socket"
    if [ -n "$missing" ]; then
        _sdu_err "missing:$missing (Debian packages: systemd dbus-user-session)"
        return 1
    fi

    mkdir -p "$dir" || return 1
    dir=$(cd "$dir" && pwd) || return 1
    # A unix socket path holds at most 107 bytes.
    if [ ${#dir} -gt 70 ]; then
        _sdu_err "DIR $dir is too long for the sockets below it (at most 70 characters)"
        return 1
    fi
    SDU_DIR=$dir
    SDU_CGROUPS=""
    SDU_MOUNTS=""
    rm -rf "$dir/runtime" "$dir/units" "$dir/xdg"
    mkdir -p "$dir/runtime" "$dir/units" "$dir/xdg/config" "$dir/xdg/data" \
        "$dir/xdg/state" "$dir/xdg/cache" || return 1
    chmod 0700 "$dir/runtime"
    : >"$dir/manager.log"
    : >"$dir/manager.out"
    # Read from $XDG_CONFIG_HOME on start and on every daemon-reload (command
    # line options are not). Output of units goes to the console (the log);
    # short timeouts keep a unit that ignores SIGTERM from stalling a test.
    mkdir -p "$dir/xdg/config/systemd"
    cat >"$dir/xdg/config/systemd/user.conf" <<EOF
[Manager]
LogTarget=console
LogLevel=${SDU_LOG_LEVEL:-info}
DefaultStandardOutput=tty
DefaultStandardError=tty
DefaultTimeoutStartSec=10s
DefaultTimeoutStopSec=5s
EOF

    # sd_booted() checks for /run/systemd/system; a tmpfs keeps the host's
    # /run/systemd out of sight and untouched.
    if ! mount -t tmpfs -o mode=0755,size=16m vigil-sdu /run/systemd; then
        _sdu_err "mount tmpfs on /run/systemd failed"
        return 1
    fi
    SDU_MOUNTS="/run/systemd"
    mkdir -p /run/systemd/system
    _sdu_console "$dir"

    # A cgroup of its own in each hierarchy.
    local name mnt path cg
    name=vigil-sdu.$(basename "$dir" | tr -c 'A-Za-z0-9_.\n-' _).$RANDOM$RANDOM
    while read -r mnt path; do
        _sdu_sweep_stale "${mnt%/}${path%/}"
        cg=${mnt%/}${path%/}/$name
        if ! mkdir "$cg"; then
            _sdu_err "cannot create cgroup $cg"
            sdu_stop
            return 1
        fi
        SDU_CGROUPS="$SDU_CGROUPS $cg"
    done < <(_sdu_cgroup_hierarchies)
    if [ -z "$SDU_CGROUPS" ]; then
        _sdu_err "no cgroup hierarchy for systemd found in /proc/self/mountinfo"
        sdu_stop
        return 1
    fi

    export XDG_RUNTIME_DIR=$dir/runtime
    export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus
    export SDU_BUS=$DBUS_SESSION_BUS_ADDRESS SDU_DIR
    # The subshell moves itself into the cgroups, then becomes the manager.
    (
        for cg in $SDU_CGROUPS; do
            echo "$BASHPID" >"$cg/cgroup.procs" || { echo "cannot join cgroup $cg" >&2; exit 90; }
        done
        cd / || exit 91
        export SYSTEMD_UNIT_PATH="$dir/units:/usr/lib/systemd/user"
        export XDG_CONFIG_HOME=$dir/xdg/config XDG_DATA_HOME=$dir/xdg/data \
            XDG_STATE_HOME=$dir/xdg/state XDG_CACHE_HOME=$dir/xdg/cache
        exec systemd --user
    ) </dev/null >"$dir/manager.out" 2>&1 &
    SDU_PID=$!
    export SDU_PID
    echo "$SDU_PID" >"$dir/manager.pid"

    # 1. The manager's private socket (what systemctl --user talks to).
    local deadline=$((SECONDS + timeout)) state rc
    until [ -S "$XDG_RUNTIME_DIR/systemd/private" ]; do
        if ! kill -0 "$SDU_PID" 2>/dev/null; then
            rc=0
            wait "$SDU_PID" || rc=$?
            _sdu_err "systemd --user exited (status $rc) before it was ready"
            sdu_log_tail 30
            sdu_stop
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            _sdu_err "no $XDG_RUNTIME_DIR/systemd/private after ${timeout}s"
            sdu_log_tail 30
            sdu_stop
            return 1
        fi
        sleep 0.05
    done
    # 2. Start-up finished (default.target reached, no job queued).
    state=$(timeout "$timeout" systemctl --user is-system-running --wait 2>&1) || true
    if [ "$state" != running ]; then
        _sdu_err "systemctl --user is-system-running --wait said '$state', not 'running'"
        kill -0 "$SDU_PID" 2>/dev/null || _sdu_err "systemd --user has exited"
        timeout 5 systemctl --user --no-pager --failed >&2 2>&1 || true
        sdu_log_tail 30
        sdu_stop
        return 1
    fi
    # 3. The manager is on the session bus (dbus.socket activates the bus
    #    on first use; the manager then connects to it and takes its name).
    until busctl --user --timeout=2 get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
        org.freedesktop.systemd1.Manager Version >/dev/null 2>"$dir/busctl.err"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            _sdu_err "org.freedesktop.systemd1 not on the bus $DBUS_SESSION_BUS_ADDRESS after ${timeout}s:" \
                "$(cat "$dir/busctl.err")"
            timeout 5 systemctl --user --no-pager status dbus.socket dbus.service >&2 2>&1 || true
            sdu_log_tail 30
            sdu_stop
            return 1
        fi
        sleep 0.05
    done
    return 0
}

# sdu_unit NAME [LINE...]: writes DIR/units/NAME and reloads the manager.
# Each LINE is one line of the unit; lines before any "[Section]" go under
# [Service] (or the section the unit type implies). Without LINEs the unit
# file is read from stdin. Example:
#   sdu_unit fake-edr.service 'ExecStart=/bin/sleep infinity'
sdu_unit() {
    local name=${1:?usage: sdu_unit NAME [LINE...]} f section
    shift
    [ -n "$SDU_DIR" ] || { _sdu_err "sdu_unit: no manager (sdu_start first)"; return 1; }
    case $name in
        */*|"") _sdu_err "sdu_unit: bad unit name '$name'"; return 1 ;;
        *.service) section=Service ;;
        *.socket) section=Socket ;;
        *.timer) section=Timer ;;
        *.path) section=Path ;;
        *.target) section=Unit ;;
        *) _sdu_err "sdu_unit: unsupported unit type '$name'"; return 1 ;;
    esac
    f=$SDU_DIR/units/$name
    if [ $# -eq 0 ]; then
        cat >"$f" || return 1
    else
        {
            printf '[Unit]\nDescription=vigil test unit %s\n\n' "$name"
            case $1 in
                \[*) ;;
                *) printf '[%s]\n' "$section" ;;
            esac
            printf '%s\n' "$@"
        } >"$f" || return 1
    fi
    sdu_systemctl daemon-reload
}

# sdu_systemctl ARGS...: systemctl --user, bounded by SDU_TIMEOUT; on
# failure its output goes to stderr.
sdu_systemctl() {
    local out rc=0
    out=$(timeout "${SDU_TIMEOUT:-20}" systemctl --user --no-pager "$@" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ]; then
        _sdu_err "systemctl --user $* failed (status $rc): $out"
        return "$rc"
    fi
    [ -n "$out" ] && printf '%s\n' "$out"
    return 0
}

sdu_start_unit() { sdu_systemctl start "${1:?usage: sdu_start_unit NAME}"; }
sdu_stop_unit() { sdu_systemctl stop "${1:?usage: sdu_stop_unit NAME}"; }

# sdu_kill_unit NAME [SIGNAL]: signals the unit's processes (default KILL),
# as when the sensor crashes; the manager sees the death itself.
sdu_kill_unit() { sdu_systemctl kill --signal="${2:-KILL}" "${1:?usage: sdu_kill_unit NAME [SIGNAL]}"; }

# sdu_active_state NAME: prints ActiveState (active, inactive, failed, ...).
sdu_active_state() {
    sdu_systemctl show -p ActiveState --value "${1:?usage: sdu_active_state NAME}"
}

# sdu_system_state: the manager's SystemState (running, degraded, ...),
# as read over the session bus, the way vigild reads it.
sdu_system_state() {
    local out
    out=$(busctl --user --timeout=5 get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
        org.freedesktop.systemd1.Manager SystemState 2>&1) || { _sdu_err "SystemState: $out"; return 1; }
    out=${out#s \"}
    printf '%s\n' "${out%\"}"
}

# sdu_wait_state NAME STATE [SECONDS]: waits until ActiveState is STATE.
sdu_wait_state() {
    local name=${1:?usage: sdu_wait_state NAME STATE [SECONDS]} want=${2:?} secs=${3:-10} got
    local deadline=$((SECONDS + secs))
    while :; do
        got=$(sdu_active_state "$name") || return 1
        [ "$got" = "$want" ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            _sdu_err "$name: ActiveState is '$got', not '$want', after ${secs}s"
            return 1
        fi
        sleep 0.05
    done
}

# sdu_stop: stops the manager (and with it every unit and the bus), then
# undoes the mounts and removes its cgroups. Safe to call twice, and when
# sdu_start failed half-way.
sdu_stop() {
    local rc=0 m cg
    if [ -n "$SDU_PID" ]; then
        if kill -0 "$SDU_PID" 2>/dev/null; then
            # exit.target stops every unit, then the manager exits.
            timeout 10 systemctl --user exit >/dev/null 2>&1 || kill -TERM "$SDU_PID" 2>/dev/null || true
            for _ in $(seq 100); do
                kill -0 "$SDU_PID" 2>/dev/null || break
                sleep 0.05
            done
            if kill -0 "$SDU_PID" 2>/dev/null; then
                _sdu_err "systemd --user (pid $SDU_PID) did not exit; killing it"
                kill -KILL "$SDU_PID" 2>/dev/null || true
                rc=1
            fi
        fi
        wait "$SDU_PID" 2>/dev/null || true
        SDU_PID=""
    fi
    for cg in $SDU_CGROUPS; do
        _sdu_rm_cgroup "$cg" || rc=1
    done
    SDU_CGROUPS=""
    for m in $SDU_MOUNTS; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || { _sdu_err "umount $m failed"; rc=1; }
    done
    SDU_MOUNTS=""
    if [ -n "$SDU_SOCAT_PID" ]; then
        sleep 0.05 # let socat copy the manager's last lines
        kill -TERM "$SDU_SOCAT_PID" 2>/dev/null || true
        wait "$SDU_SOCAT_PID" 2>/dev/null || true
        SDU_SOCAT_PID=""
    fi
    return "$rc"
}
