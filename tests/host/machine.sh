# shellcheck shell=bash
# One booted Debian machine: a copy of a root (base_root.sh) booted with
# systemd-nspawn, so that systemd is PID 1 with journald, dbus and logind,
# and commands run inside it through nsenter, as root, as an admin's would.
#
#   . tests/host/machine.sh
#   machine_copy "$BASE" "$DIR" || exit 1     # a fresh copy of the root
#   machine_boot "$DIR" "$LOG" || exit 1      # until systemd says running
#   m systemctl is-active vigild              # a command inside
#   machine_stop                              # a clean poweroff, then kill
#
# The machine has its own network namespace with only a loopback: its sshd
# on port 22 and its exporters reach nothing of the host's and nobody
# outside reaches them, and runs in parallel cannot collide. So nothing
# inside fetches from a mirror: base_root.sh puts every package in the root.
# The booted machine mounts a tmpfs on /tmp: files for it go to /root.
#
# M_NETWORK=host (set before machine_boot) shares the host's network
# instead, for a machine that must reach a mirror itself (fresh_demo.sh);
# M_NSPAWN_ARGS adds systemd-nspawn options (say, a --bind).

M_NETWORK=${M_NETWORK:-private}
M_NSPAWN_ARGS=()
M_NSPAWN=""  # the systemd-nspawn process
M_PID1=""    # the machine's systemd, as the host sees it
M_ROOT=""

# machine_copy BASE DIR: DIR becomes a copy of BASE (hard links are kept,
# and so are modes, owners and extended attributes), named as Debian's
# installer names a machine: debootstrap copies the host's /etc/hostname and
# writes no /etc/hosts, and sudo then warns that it cannot resolve the name.
M_HOSTNAME=vigil-host
machine_copy() {
    rm -rf "$2" && cp -a --reflink=auto "$1" "$2" || return 1
    echo "$M_HOSTNAME" >"$2/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$M_HOSTNAME" >"$2/etc/hosts"
}

# machine_pid1: the nspawn process's child that is PID 1 in its own pid
# namespace (its NSpid line ends in 1).
machine_pid1() {
    local p
    for p in $(pgrep -P "$M_NSPAWN"); do
        if grep -qE '^NSpid:.*\s1$' "/proc/$p/status" 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# machine_boot DIR LOG: boots DIR and waits (at most 120 s) until its
# systemd says "running" or "degraded". The console goes to LOG.
machine_boot() {
    M_ROOT=$1
    local log=$2 i state="" net=(--private-network --resolv-conf=off)
    [ "$M_NETWORK" = host ] && net=(--resolv-conf=copy-host)
    systemd-nspawn --quiet --directory="$M_ROOT" --hostname="$M_HOSTNAME" --boot --register=no --keep-unit --console=pipe \
        "${net[@]}" "${M_NSPAWN_ARGS[@]}" --link-journal=no --timezone=off </dev/null >"$log" 2>&1 &
    M_NSPAWN=$!
    for i in $(seq 1200); do
        kill -0 "$M_NSPAWN" 2>/dev/null || { echo "# systemd-nspawn exited"; return 1; }
        if [ -z "$M_PID1" ]; then
            M_PID1=$(machine_pid1) || M_PID1=""
        fi
        if [ -n "$M_PID1" ] && [ "$(cat "/proc/$M_PID1/comm" 2>/dev/null)" = systemd ]; then
            state=$(m systemctl is-system-running 2>/dev/null) || true
            case $state in running | degraded) return 0 ;; esac
        fi
        sleep 0.1
    done
    echo "# the machine did not come up within 120 s (state: ${state:-unknown}, after $i tries)"
    return 1
}

# m CMD...: runs CMD inside the machine as root, in every namespace of its
# PID 1, with a clean environment; stdin, stdout and stderr are the caller's.
m() {
    nsenter --target "$M_PID1" --all /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# machine_stop: poweroff (nspawn turns SIGTERM into one), SIGKILL after 30 s.
machine_stop() {
    [ -n "$M_NSPAWN" ] || return 0
    kill -TERM "$M_NSPAWN" 2>/dev/null || true
    local i
    for i in $(seq 300); do
        kill -0 "$M_NSPAWN" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$M_NSPAWN" 2>/dev/null || true
    wait "$M_NSPAWN" 2>/dev/null || true
    M_NSPAWN=""
    M_PID1=""
}
