# shellcheck shell=bash
# Shared by the booted-host suites (tests/host/*.sh): TAP output, what must
# exist before a machine boots (vigil's packages from `make deb`, those of
# an earlier version, a cached Debian 12 root), and what an admin does on a
# fresh machine (users, keys, sudoers, ssh logins).
#
#   . "$(dirname "$0")/lib.sh"
#   host_plan 12
#   host_prepare new prev      # outside: builds and caches; re-execs the
#                              # script in a private mount + pid namespace
#   machine_copy "$HOST_BASE" "$RUN/root" && machine_boot "$RUN/root" "$RUN/console.log"
#   case_ "alice may log in" alice_logs_in
#
# Environment: SRCDIR (source tree), DEB_DIR (make deb's output, default
# $SRCDIR/build-deb), HOST_CACHE (roots and earlier packages, default
# $SRCDIR/build/tests/host/cache; meson points it into the build tree),
# VIGIL_PREV_REF (the earlier version: a tag or commit; see prev_debs.sh),
# VIGIL_HOST_KEEP=1 keeps the machine's directory and prints every case's
# diagnostics.

HOST_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=${SRCDIR:-$(cd "$HOST_LIB_DIR/../.." && pwd)}
DEB_DIR=${DEB_DIR:-$SRCDIR/build-deb}
case $DEB_DIR in /*) ;; *) DEB_DIR=$SRCDIR/$DEB_DIR ;; esac
HOST_CACHE=${HOST_CACHE:-$SRCDIR/build/tests/host/cache}

# shellcheck source=tests/deb/packages.sh
. "$SRCDIR/tests/deb/packages.sh"
# shellcheck source=tests/host/base_root.sh
. "$HOST_LIB_DIR/base_root.sh"
# shellcheck source=tests/host/prev_debs.sh
. "$HOST_LIB_DIR/prev_debs.sh"
# shellcheck source=tests/host/machine.sh
. "$HOST_LIB_DIR/machine.sh"

# What the machine has besides Debian's minbase: systemd as init with dbus
# and logind (pam_systemd), sshd and its client, sudo, and Debian's
# node_exporter, which reads the textfile directory vigild writes metrics to.
# vigil's own dependencies are added from the .debs (deb_depends).
HOST_BASE_PACKAGES="systemd systemd-sysv dbus libpam-systemd openssh-server openssh-client sudo procps
  prometheus-node-exporter curl"

# A bare Debian 12 server: minbase with what boots it (systemd as init,
# dbus), as a cloud image or a minimal install has; no make, no git.
HOST_BARE_PACKAGES="systemd systemd-sysv dbus"

# ---------------------------------------------------------------- TAP ----

# shellcheck source=tests/lib/tap.sh
. "$SRCDIR/tests/lib/tap.sh"
TAP_KEEP=${VIGIL_HOST_KEEP:-}

host_plan() { TAP_PLAN=$1; }


# host_abort "why": every case not run yet is "not ok", then exit 1. A step
# that cannot run here fails the suite; it never skips.
host_abort() {
    echo "# cannot go on: $*"
    tap_unrun "$*"
    exit 1
}

# ----------------------------------------------------------- outside ----

# host_prepare new|prev|bare...: run first, outside any namespace. Builds
# today's packages (make deb; a no-op when up to date) and, with "prev", the
# earlier version's (cached by commit), then the cached root holding
# everything they depend on; then re-runs the script in a private mount and
# pid namespace, so that every mount and the machine die with it (meson's
# timeout too). Inside, HOST_BASE is the root and HOST_NEW / HOST_PREV the
# directories with the .debs. "bare" alone builds no packages: the root is
# a bare Debian 12 that can boot (HOST_BARE_PACKAGES), nothing more.
host_prepare() {
    if [ -n "${VIGIL_HOST_IN_NS:-}" ]; then
        echo "1..$TAP_PLAN"
        return 0
    fi
    local want_prev="" want_bare="" arg diag
    for arg in "$@"; do
        [ "$arg" = prev ] && want_prev=1
        [ "$arg" = bare ] && want_bare=1
    done
    _prepare_fail() {
        echo "1..$TAP_PLAN"
        printf '%s\n' "$2"
        host_abort "$1"
    }
    [ "$(id -u)" -eq 0 ] || _prepare_fail "a booted machine needs root" ""
    local tool missing=""
    for tool in debootstrap systemd-nspawn nsenter unshare flock dpkg-buildpackage; do
        command -v "$tool" >/dev/null || missing="$missing $tool"
    done
    [ -z "$missing" ] || _prepare_fail "missing:$missing (scripts/deps.sh test installs them)" ""
    if [ -n "$want_bare" ]; then
        # shellcheck disable=SC2086 # a word list
        HOST_BASE=$(base_root "$HOST_CACHE" $HOST_BARE_PACKAGES) || _prepare_fail "no Debian root to boot" "$HOST_BASE"
        _host_reexec
    fi
    diag=$(debs_build "$SRCDIR" "$DEB_DIR") || _prepare_fail "make deb failed" "$diag"
    HOST_NEW=$DEB_DIR
    local debs=() p
    for p in $VIGIL_PACKAGES; do
        debs+=("$(debs_newest "$DEB_DIR" "$p")")
    done
    if [ -n "$want_prev" ]; then
        HOST_PREV=$(prev_debs "$SRCDIR" "$HOST_CACHE" "${VIGIL_PREV_REF:-}") ||
            _prepare_fail "the earlier version's packages could not be built" "$HOST_PREV"
        for p in $VIGIL_PACKAGES; do
            debs+=("$(debs_newest "$HOST_PREV" "$p")")
        done
    fi
    local deps
    deps=$(deb_depends "${debs[@]}") || _prepare_fail "cannot read the packages' dependencies" ""
    # shellcheck disable=SC2086 # word lists
    HOST_BASE=$(base_root "$HOST_CACHE" $HOST_BASE_PACKAGES $deps) ||
        _prepare_fail "no Debian root to boot" "$HOST_BASE"
    _host_reexec
}

_host_reexec() {
    export VIGIL_HOST_IN_NS=1 SRCDIR DEB_DIR HOST_CACHE HOST_BASE HOST_NEW HOST_PREV
    exec unshare --mount --propagation private --pid --fork --kill-child=SIGTERM --mount-proc \
        bash "$0"
}

# ------------------------------------------------------------ inside ----

# host_run_dir: a fresh directory for this run's machine, next to the cache
# (same filesystem as the root, so the copy may share blocks); removed at
# exit unless VIGIL_HOST_KEEP is set.
host_run_dir() {
    RUN=$(mktemp -d "$HOST_CACHE/run.XXXXXX")
    TAP_DIAG_DIR=$RUN
    DIAG=$RUN/diag
    : >"$DIAG"
    trap host_cleanup EXIT
}

host_cleanup() {
    machine_stop
    if [ -n "${VIGIL_HOST_KEEP:-}" ]; then
        echo "# kept: $RUN"
    else
        rm -rf "$RUN"
    fi
    tap_unrun "the script ended early"
}

# run CMD...: m, with the command and its output (tail) in the diagnostics;
# the output is also in $OUT.
OUT=""
run() {
    local rc=0
    m "$@" >"$RUN/out" 2>&1 || rc=$?
    # shellcheck disable=SC2034 # the cases read it
    OUT=$(cat "$RUN/out")
    { echo "\$ $*  (exit $rc)"; tail -n 30 "$RUN/out"; } >>"$DIAG"
    return "$rc"
}

# apt_install_debs NAME [APT-ARGS...]: the three packages put as NAME
# (host_put_debs), installed with apt.
apt_install_debs() {
    local name=$1
    shift
    # shellcheck disable=SC2016 # expanded inside the machine
    run sh -c 'exec apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=120 "$@" /root/debs/'"$name"'/*.deb' \
        apt-get "$@"
}

# host_put_debs DIR NAME: the packages of DIR, where the machine can reach
# them: /root/debs/NAME.
host_put_debs() {
    local from=$1 name=$2 p
    [ -n "$M_ROOT" ] || return 1
    mkdir -p "$M_ROOT/root/debs/$name"
    for p in $VIGIL_PACKAGES; do
        cp "$(debs_newest "$from" "$p")" "$M_ROOT/root/debs/$name/" || return 1
    done
}

# ------------------------------------------------------------- admin ----

# Users: alice is in ops (the shipped rules let ops use sshd and sudo),
# mallory too (the shipped rules deny her sudo), bob in no group the rules
# name. Each logs in with root's key; ops may sudo without a password.
HOST_USERS="alice bob mallory"
admin_users() {
    local u users="$HOST_USERS $*"
    m sh -ec "
        getent group ops >/dev/null || groupadd ops
        [ -f /root/.ssh/id_ed25519 ] || { mkdir -p -m 0700 /root/.ssh; ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519; }
        echo '%ops ALL=(ALL:ALL) NOPASSWD: ALL' >/etc/sudoers.d/ops
        chmod 0440 /etc/sudoers.d/ops
    " || return 1
    for u in $users; do
        m sh -ec "
            getent passwd $u >/dev/null || useradd -m -s /bin/bash $u
            install -d -m 0700 -o $u -g $u /home/$u/.ssh
            install -m 0600 -o $u -g $u /root/.ssh/id_ed25519.pub /home/$u/.ssh/authorized_keys
        " || return 1
    done
    m usermod -aG ops alice && m usermod -aG ops mallory
}

SSH_OPTS="-i /root/.ssh/id_ed25519 -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o LogLevel=ERROR -o ConnectTimeout=20"

# ssh_as USER CMD: an ssh login of USER into the machine's own sshd (from
# inside it), running CMD; output in $OUT, command and output in the
# diagnostics.
ssh_as() {
    local user=$1
    shift
    # shellcheck disable=SC2086
    run timeout 60 ssh $SSH_OPTS "$user@127.0.0.1" "$@"
}

# ssh_session NAME USER CMD: a login with a terminal (ssh -tt) left running
# in the background; what reaches its terminal goes to /root/NAME.out, the
# ssh client's pid (inside the machine) to /root/NAME.pid.
ssh_session() {
    local name=$1 user=$2
    shift 2
    # shellcheck disable=SC2016 # expanded inside the machine
    m sh -c 'echo $$ >/root/'"$name"'.pid; exec ssh -tt '"${SSH_OPTS//$'\n'/ }"' "$0@127.0.0.1" "$@" >/root/'"$name"'.out 2>&1 </dev/null' \
        "$user" "$@" &
}

# ssh_alive NAME: the background login NAME still runs.
ssh_alive() {
    local pid
    pid=$(cat "$M_ROOT/root/$1.pid" 2>/dev/null) || return 1
    m kill -0 "$pid" 2>/dev/null
}

# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds.
wait_for() {
    local secs=$1 i
    shift
    for i in $(seq $((secs * 5))); do
        "$@" && return 0
        sleep 0.2
    done
    "$@"
}

# ssh_gone NAME: the background login NAME has ended.
ssh_gone() { ! ssh_alive "$1"; }

# ------------------------------------------------------------- vigild ----

main_pid() { m systemctl show -P MainPID vigild.service; }

# The users of the sessions vigild watches, one a line.
session_users() {
    m vigilctl sessions --json 2>/dev/null |
        python3 -c 'import json,sys; [print(s["user"]) for s in json.load(sys.stdin)["sessions"]]' 2>/dev/null
}
has_session() { session_users | grep -qx "$1"; }

# The tail of vigild's journal, into the diagnostics.
vigild_log() { note_text "journalctl -u vigild" "$(m journalctl -u vigild --no-pager -n 25 2>&1)"; }
