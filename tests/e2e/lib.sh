# shellcheck shell=bash
# Shared helpers for vigil's end-to-end tests (and scripts/demo.sh).
#
# Every test script runs in its own private mount namespace (and pid
# namespace, so nothing it started can outlive it). Inside it, test users,
# PAM files and sudoers are bind-mounted over the real ones; the host's files
# are never written.
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_enter_ns "$@"          # re-execs the script inside the namespace
#   tap_plan 3
#   e2e_setup_system           # temp dir, users, keys, bind mounts
#   write_config "$T/vigil.toml" <<'EOF' ... rules ... EOF
#   agent_start "$T/vigil.toml"
#   sshd_start
#   tap_case "alice may log in" case_alice
#
# Environment: VIGILD, VIGILCTL, PAM_VIGIL, PAM_HARNESS (built binaries),
# SRCDIR, BUILD_DIR (defaults derive the rest from them);
# VIGIL_E2E_KEEP=1 keeps the temp dir and its logs. Against an ASan build
# (pam_vigil.so linked with libasan) every script gains a last case that
# fails on any sanitizer report.
#
# Failure output: each "not ok" is followed by "# " lines saying what was
# expected, what the command printed, and the tails of vigild's and sshd's
# logs. A set-up failure reports every remaining case "not ok".

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=${SRCDIR:-$(cd "$E2E_LIB_DIR/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRCDIR/build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd || echo "$PWD/$BUILD_DIR") ;; esac
VIGILD=${VIGILD:-$BUILD_DIR/agent/vigild}
VIGILCTL=${VIGILCTL:-$BUILD_DIR/agent/ctl/vigilctl}
PAM_VIGIL=${PAM_VIGIL:-$BUILD_DIR/pam_module/pam_vigil.so}
PAM_HARNESS=${PAM_HARNESS:-$BUILD_DIR/tests/tools/pam_harness}
NSS_VIGIL=${NSS_VIGIL:-$BUILD_DIR/nss/libnss_vigil.so.2}
export SRCDIR BUILD_DIR VIGILD VIGILCTL PAM_VIGIL PAM_HARNESS NSS_VIGIL

# Test users: alice and mallory are in vgl-ops, bob is in no ops group.
E2E_USERS="vgl-alice:20001 vgl-mallory:20002 vgl-bob:20003"
E2E_OPS_GROUP=vgl-ops
E2E_OPS_GID=20100

# ---------------------------------------------------------------- TAP ----

# tap_plan, tap_case, fail, note, note_text, tap_skip: tests/lib/tap.sh.
# shellcheck source=../lib/tap.sh
. "$SRCDIR/tests/lib/tap.sh"
TAP_ABORTED=
# A sanitized build adds one last case: no sanitizer reports.
if [ -n "${E2E_SANITIZED:-}" ]; then TAP_EXTRA=1; fi

# Setup failed: every case not run yet is reported "not ok", then exit.
e2e_abort() {
    local why=$*
    TAP_ABORTED=$why
    if [ -n "${E2E_NO_TAP:-}" ]; then
        echo "setup failed: $why" >&2
        [ -s "$DIAG" ] && cat "$DIAG" >&2
        exit 1
    fi
    echo "# setup failed: $why"
    # A failed case has printed its diagnostics already.
    [ "${DIAG:-}" = "$T/diag.setup" ] && [ -s "$DIAG" ] && tap_diag <"$DIAG"
    exit 1
}

_tap_finish() {
    [ -n "${E2E_NO_TAP:-}" ] && return
    if [ "$TAP_PLAN" -eq 0 ] && [ -n "$TAP_ABORTED" ]; then
        echo "1..1"
        echo "not ok 1 - setup # ${TAP_ABORTED}"
        return
    fi
    tap_unrun "${TAP_ABORTED:-script ended early}"
}

# -------------------------------------------------------- namespaces ----

# Re-executes the calling script in a private mount + pid namespace, once.
# Refuses to go on without root or without the binaries under test.
e2e_enter_ns() {
    local script
    script=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)/$(basename "${BASH_SOURCE[1]}")
    if [ -n "${VIGIL_E2E_HOST_MNTNS:-}" ] &&
        [ "$(readlink /proc/self/ns/mnt)" != "$VIGIL_E2E_HOST_MNTNS" ]; then
        _e2e_in_ns_init
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        if [ -n "${E2E_NO_TAP:-}" ]; then
            echo "this needs root: it starts sshd and sudo in a private mount namespace" >&2
            exit 1
        fi
        # meson's TAP reader wants exit status 0 with a skip plan.
        echo "1..0 # SKIP the end-to-end tests need root (they start sshd and sudo)"
        exit 0
    fi
    local missing="" b
    for b in "$VIGILD" "$VIGILCTL" "$PAM_VIGIL"; do
        [ -e "$b" ] || missing="$missing $b"
    done
    for b in /usr/sbin/sshd ssh ssh-keygen sudo su unshare setpriv socat python3; do
        [ -e "$b" ] || command -v "$b" >/dev/null 2>&1 || missing="$missing $b"
    done
    if [ -n "$missing" ]; then
        if [ -n "${E2E_NO_TAP:-}" ]; then
            echo "missing:$missing (run 'make' and 'scripts/deps.sh test')" >&2
        else
            echo "Bail out! missing:$missing (run 'make' and 'scripts/deps.sh test')"
        fi
        exit 1
    fi
    # An ASan+UBSan build: vigild, vigilctl and pam_harness run sanitized.
    # sshd gets the sanitizer runtimes preloaded, so the module is fully
    # checked there. setuid sudo ignores LD_PRELOAD, so it loads the module
    # with verify_asan_link_order=0: UBSan and ASan's stack and global checks
    # work, heap checks do not. Reports fail one extra case at the end.
    if ldd "$PAM_VIGIL" 2>/dev/null | grep -q 'libasan'; then
        E2E_SANITIZED=1
        export E2E_SANITIZED
    fi
    VIGIL_E2E_HOST_MNTNS=$(readlink /proc/self/ns/mnt)
    export VIGIL_E2E_HOST_MNTNS
    # --kill-child: if unshare is killed (meson's timeout), the script gets
    # SIGTERM and cleans up; once it (the namespace's init) exits, the
    # kernel kills every process left in the namespace.
    exec unshare --mount --propagation private --pid --fork --kill-child=SIGTERM --mount-proc \
        bash "$script" "$@"
}

_e2e_assert_private_ns() {
    if [ -z "${VIGIL_E2E_HOST_MNTNS:-}" ] ||
        [ "$(readlink /proc/self/ns/mnt)" = "$VIGIL_E2E_HOST_MNTNS" ]; then
        echo "Bail out! refusing to bind-mount over /etc outside a private mount namespace"
        exit 1
    fi
}

E2E_PIDS=""

_e2e_cleanup() {
    local rc=$? pid m
    trap - EXIT INT TERM
    [ -z "${E2E_NO_TAP:-}" ] && tap_interrupted
    # A systemd --user manager (systemd_user.sh) goes first: its cgroups
    # live outside the mount namespace and must not be left behind.
    if declare -F sdu_stop >/dev/null; then sdu_stop >/dev/null 2>&1; fi
    for pid in $E2E_PIDS; do kill -TERM "$pid" 2>/dev/null; done
    for pid in $E2E_PIDS; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    if [ -n "${E2E_SANITIZED:-}" ] && [ "$TAP_N" -lt "$TAP_PLAN" ]; then
        tap_case "no AddressSanitizer/UBSan reports from vigild, vigilctl, sshd or sudo" \
            _e2e_no_sanitizer_reports
    fi
    _tap_finish
    # e2e_overlay_dir's mounts (and their tmpfs below $T) go before $T does.
    for m in $E2E_OVERLAYS; do umount -l "$m" 2>/dev/null; done
    if [ -n "${T:-}" ] && [ -d "$T" ]; then
        if [ -n "${VIGIL_E2E_KEEP:-}" ]; then
            echo "# kept $T"
        else
            rm -rf "$T"
        fi
    fi
    [ "$TAP_FAILED" -gt 0 ] && [ "$rc" -eq 0 ] && rc=1
    exit "$rc"
}

_e2e_no_sanitizer_reports() {
    local f found=1
    for f in "$T"/sanitizer/*; do
        [ -e "$f" ] || continue
        found=0
        note "sanitizer report" "$f" 40
    done
    [ "$found" -eq 1 ] || fail "sanitizer reports were written (above)"
}

# Sanitizer settings for a sanitized build (see e2e_enter_ns). Reports go to
# files, checked by the last case; sshd and sudo get their own options.
HOST_ASAN_OPTIONS=""
SSHD_PRELOAD=""
_e2e_sanitizer_env() {
    [ -n "${E2E_SANITIZED:-}" ] || return 0
    mkdir -p "$T/sanitizer"
    chmod 1777 "$T/sanitizer"
    ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:log_path=$T/sanitizer/asan"
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$T/sanitizer/ubsan"
    HOST_ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0:halt_on_error=1:log_path=$T/sanitizer/host-asan"
    export ASAN_OPTIONS UBSAN_OPTIONS
    # sshd overwrites its environment block for its process titles, and the
    # sanitizer runtimes read /proc/self/environ when they start: started at
    # dlopen() inside sshd they would see no options. Preloaded, they start
    # before sshd's main(), options and all.
    SSHD_PRELOAD=$(ldd "$PAM_VIGIL" | awk '/lib(asan|ubsan)\.so/ { printf "%s%s", sep, $3; sep = " " }')
}

_e2e_in_ns_init() {
    cd / || exit 1
    T=$(mktemp -d /tmp/vigil-e2e.XXXXXX)
    chmod 755 "$T"
    # Test users run vigilctl (grant requests). A clone in root's home
    # (/root, mode 0700, where an admin following the README puts it) is
    # out of their reach: they get a copy here, as a package puts it in
    # /usr/bin.
    mkdir -p "$T/bin" && install -m 0755 "$VIGILCTL" "$T/bin/vigilctl" && VIGILCTL=$T/bin/vigilctl
    _e2e_sanitizer_env
    TAP_DIAG_DIR=$T
    DIAG=$T/diag.setup
    : >"$DIAG"
    trap _e2e_cleanup EXIT
    trap 'exit 130' INT TERM
    export T
}

# Remembers a pid to kill at exit.
e2e_track() { E2E_PIDS="$E2E_PIDS $1"; }

e2e_untrack() {
    local p out=""
    for p in $E2E_PIDS; do [ "$p" = "$1" ] || out="$out $p"; done
    E2E_PIDS=$out
}

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for SECONDS command...: polls until the command succeeds.
wait_for() {
    local deadline=$(($(now_ms) + $1 * 1000))
    shift
    while ! "$@"; do
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.05
    done
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ------------------------------------------------------ system set-up ----

# Creates the temp tree, the test users and keys, and bind-mounts the
# namespace's /etc/passwd, group, shadow, sudoers, pam.d/sshd and pam.d/sudo.
e2e_setup_system() {
    _e2e_assert_private_ns
    mkdir -p "$T/etc/pam.d" "$T/run" "$T/state" "$T/log" "$T/home" "$T/keys" "$T/ssh" "$T/sshd"
    chmod 755 "$T/etc" "$T/run" "$T/home" "$T/keys"
    chmod 700 "$T/state" "$T/log" "$T/ssh" "$T/sshd"
    cp /etc/passwd /etc/group /etc/shadow "$T/etc/" || e2e_abort "cannot copy /etc files"
    local u name uid
    for u in $E2E_USERS; do
        name=${u%%:*} uid=${u##*:}
        echo "$name:x:$uid:$uid:vigil e2e:$T/home/$name:/bin/sh" >>"$T/etc/passwd"
        echo "$name:x:$uid:" >>"$T/etc/group"
        echo "$name:*:19000:0:99999:7:::" >>"$T/etc/shadow"
        mkdir -p "$T/home/$name"
        chown "$uid:$uid" "$T/home/$name"
    done
    echo "$E2E_OPS_GROUP:x:$E2E_OPS_GID:vgl-alice,vgl-mallory" >>"$T/etc/group"
    chmod 644 "$T/etc/passwd" "$T/etc/group"
    chmod 640 "$T/etc/shadow"

    # sudo: everyone NOPASSWD, so only vigil can say no.
    cat >"$T/etc/sudoers" <<EOF
Defaults !lecture
Defaults !syslog
Defaults env_reset
root ALL=(ALL:ALL) ALL
vgl-alice ALL=(ALL:ALL) NOPASSWD: ALL
vgl-mallory ALL=(ALL:ALL) NOPASSWD: ALL
vgl-bob ALL=(ALL:ALL) NOPASSWD: ALL
EOF
    chown root:root "$T/etc/sudoers"
    chmod 440 "$T/etc/sudoers"
    printf 'auth required pam_deny.so\naccount required pam_deny.so\nsession required pam_deny.so\n' \
        | tee "$T/etc/pam.d/sshd" >"$T/etc/pam.d/sudo"

    local f
    for f in passwd group shadow sudoers pam.d/sshd pam.d/sudo; do
        mount --bind "$T/etc/$f" "/etc/$f" || e2e_abort "cannot bind-mount $T/etc/$f over /etc/$f"
    done
    getent passwd vgl-alice >/dev/null || e2e_abort "test user vgl-alice not visible through NSS"
    id -nG vgl-alice | grep -qw "$E2E_OPS_GROUP" || e2e_abort "vgl-alice is not in $E2E_OPS_GROUP"

    # One client key, authorized for every test user.
    ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/id" || e2e_abort "ssh-keygen failed"
    for u in $E2E_USERS; do cp "$T/ssh/id.pub" "$T/keys/${u%%:*}"; done
    chmod 644 "$T"/keys/*

    PAM_SOCK=$T/run/pam.sock
    ADMIN_SOCK=$T/run/admin.sock
    AUDIT_LOG=$T/log/audit.jsonl
    export PAM_SOCK ADMIN_SOCK AUDIT_LOG
}

# write_pam SERVICE < lines: rewrites the namespace's /etc/pam.d/SERVICE in
# place (same inode, so the bind mount sees it; sshd and sudo read it per
# request).
write_pam() {
    cat >"$T/etc/pam.d/$1"
}

# vigil_pam PHASE [extra args]: the pam_vigil line for this test's agent.
vigil_pam() {
    local phase=$1
    shift
    echo "$phase required $PAM_VIGIL socket=$PAM_SOCK $*"
}

# The PAM stacks the tests use. $1 = extra module args (timeout=, failmode=).
pam_sshd_vigil() {
    write_pam sshd <<EOF
auth required pam_permit.so
$(vigil_pam account "$@")
$(vigil_pam session "$@")
EOF
}

pam_sudo_vigil() {
    write_pam sudo <<EOF
auth required pam_permit.so
$(vigil_pam account "$@")
session required pam_permit.so
EOF
}

# pam_sudo_vigil_sessions ARGS: sudo's stack as the shipped one has it,
# pam_vigil in the session phase too (each sudo's session is registered
# under its decision, and refused without one in plugin mode).
pam_sudo_vigil_sessions() {
    write_pam sudo <<EOF
auth required pam_permit.so
$(vigil_pam account "$@")
session required pam_permit.so
$(vigil_pam session "$@")
EOF
}

# sudoers_asking USER...: password-style sudo for root and USER... (sudo's
# auth phase runs, where pam_vigil asks for a step-up), with no timestamp
# carried from one sudo to the next.
sudoers_asking() {
    {
        printf 'Defaults !lecture\nDefaults !syslog\nDefaults env_reset\nDefaults timestamp_timeout=0\n'
        printf 'Defaults passwd_tries=1\nroot ALL=(ALL:ALL) ALL\n'
        local u
        for u in "$@"; do printf '%s ALL=(ALL:ALL) ALL\n' "$u"; done
    } >"$T/etc/sudoers"
}

# pam_step_up SERVICE: pam_vigil in the auth phase (where it prompts for a
# step-up) and the account phase; pam_permit for the rest.
pam_step_up() {
    write_pam "$1" <<EOF
auth [success=done ignore=ignore default=die] $PAM_VIGIL socket=$PAM_SOCK timeout=5000
auth required pam_permit.so
$(vigil_pam account timeout=5000)
session required pam_permit.so
EOF
}

# last_redecision USER: the newest re-decision record of USER in the trail,
# written to $T/last-record.json for json_expect; fails when there is none.
last_redecision() {
    python3 - "$AUDIT_LOG" "$1" "$T/last-record.json" <<'PYEOF'
import json, sys
last = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("phase") == "reevaluate" and r.get("user") == sys.argv[2]:
        last = line
if last is None:
    sys.exit(1)
open(sys.argv[3], "w").write(last)
PYEOF
}

# write_config FILE < rules: the [agent] section points at this test's temp
# dir, every socket named (vigild would put the admin and grant sockets
# beside `socket` anyway; naming them keeps the tests' paths in one place);
# the rules (TOML) come from stdin.
write_config() {
    local file=$1
    {
        cat <<EOF
[agent]
socket = "$PAM_SOCK"
admin_socket = "$ADMIN_SOCK"
grant_socket = "$T/run/grant.sock"
audit_log = "$AUDIT_LOG"
state_dir = "$T/state"

[pdp]
protocol = "local"

EOF
        cat
    } >"$file"
    chown root:root "$file"
    chmod 600 "$file"
}

# The policy most tests use.
standard_rules() {
    cat <<'EOF'
[[rule]]
name = "ops may ssh"
services = ["sshd"]
groups = ["vgl-ops"]
from = ["127.0.0.0/8"]
decision = "allow"
session_max = "8h"

[[rule]]
name = "ops may sudo"
services = ["sudo"]
groups = ["vgl-ops"]
decision = "allow"

[[rule]]
name = "mallory is suspended"
services = ["sshd", "sudo"]
users = ["vgl-mallory"]
decision = "deny"
reason = "account suspended pending review (ticket SEC-42)"
EOF
}

# ------------------------------------------------------------- agent ----

AGENT_PID=""
AGENT_LOG=""

# Ready = alive, and answering on the admin socket (created after the PAM
# socket listens). A stale socket left by a killed agent does not count.
_agent_ready() {
    kill -0 "$AGENT_PID" 2>/dev/null || return 2
    [ -S "$PAM_SOCK" ] && [ -S "$ADMIN_SOCK" ] &&
        "$VIGILCTL" --socket "$ADMIN_SOCK" ping >/dev/null 2>&1
}

# agent_start CONFIG [LOGNAME]: starts vigild, waits until it answers.
# Sockets left behind by a killed agent are left for vigild to clear.
agent_start() {
    local config=$1 name=${2:-vigild}
    AGENT_LOG=$T/$name.log
    "$VIGILD" --config "$config" 2>>"$AGENT_LOG" >&2 &
    AGENT_PID=$!
    e2e_track "$AGENT_PID"
    local rc=0
    wait_for 10 _agent_ready || rc=$?
    if ! _agent_ready; then
        note "vigild log" "$AGENT_LOG" 30
        if kill -0 "$AGENT_PID" 2>/dev/null; then
            fail "vigild (pid $AGENT_PID) did not answer 'vigilctl ping' on $ADMIN_SOCK within 10 s"
        else
            fail "vigild exited during start-up"
        fi
        return 1
    fi
    return "$rc"
}

# agent_stop: SIGTERM, wait for exit (at most 5 s).
agent_stop() {
    [ -n "$AGENT_PID" ] || return 0
    kill -TERM "$AGENT_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$AGENT_PID" 2>/dev/null; then
        kill -KILL "$AGENT_PID"
        wait "$AGENT_PID" 2>/dev/null
        e2e_untrack "$AGENT_PID"
        AGENT_PID=""
        fail "vigild did not exit within 5 s of SIGTERM"
        return 1
    fi
    wait "$AGENT_PID" 2>/dev/null
    e2e_untrack "$AGENT_PID"
    AGENT_PID=""
}

# -------------------------------------------------------------- sshd ----

SSHD_PID=""
SSHD_PORT=""
SSHD_LOG=""

_sshd_ready() {
    kill -0 "$SSHD_PID" 2>/dev/null || return 2
    grep -q "Server listening on 127.0.0.1 port $SSHD_PORT" "$SSHD_LOG" 2>/dev/null
}

# sshd_start: real OpenSSH on 127.0.0.1, a free port, our PAM file.
# SSHD_KBDINT=yes turns on keyboard-interactive; SSHD_EXTRA_CONFIG lines
# are appended (sshd keeps a keyword's first value, so they cannot override).
sshd_start() {
    mkdir -p /run/sshd
    chmod 755 /run/sshd
    [ -f "$T/sshd/host_ed25519" ] ||
        ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/host_ed25519" || return 1
    local attempt
    for attempt in 1 2 3; do
        SSHD_PORT=$(free_port)
        SSHD_LOG=$T/sshd/sshd.$attempt.log
        cat >"$T/sshd/sshd_config" <<EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $T/sshd/host_ed25519
UsePAM yes
PidFile $T/sshd/sshd.pid
StrictModes no
AuthorizedKeysFile $T/keys/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication ${SSHD_KBDINT:-no}
ExposeAuthInfo yes
PermitRootLogin no
UseDNS no
PrintMotd no
LogLevel VERBOSE
${SSHD_EXTRA_CONFIG:-}
EOF
        ASAN_OPTIONS=$HOST_ASAN_OPTIONS LD_PRELOAD=$SSHD_PRELOAD \
            /usr/sbin/sshd -D -f "$T/sshd/sshd_config" -E "$SSHD_LOG" &
        SSHD_PID=$!
        e2e_track "$SSHD_PID"
        wait_for 10 _sshd_ready && return 0
        if grep -q "Address already in use" "$SSHD_LOG" 2>/dev/null; then
            kill "$SSHD_PID" 2>/dev/null
            continue
        fi
        break
    done
    note "sshd log" "$SSHD_LOG" 30
    fail "sshd did not start listening on 127.0.0.1:$SSHD_PORT"
    return 1
}

# ssh_login USER [command]: logs in with the test key; sets SSH_RC, SSH_OUT.
# shellcheck disable=SC2034  # SSH_RC and SSH_OUT are for the caller
ssh_login() {
    local user=$1
    shift
    SSH_OUT=$(timeout 30 ssh -F /dev/null -i "$T/ssh/id" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 \
        -o LogLevel=INFO -p "$SSHD_PORT" "$user@127.0.0.1" "${@:-true}" 2>&1 </dev/null)
    SSH_RC=$?
}

# sudo_as USER [command]: USER runs `sudo -n command`; sets SUDO_RC, SUDO_OUT.
# shellcheck disable=SC2034  # SUDO_RC and SUDO_OUT are for the caller
sudo_as() {
    local user=$1
    shift
    SUDO_OUT=$(cd / && ASAN_OPTIONS=$HOST_ASAN_OPTIONS timeout 30 su "$user" -s /bin/sh \
        -c "sudo -n ${*:-true}" 2>&1 </dev/null)
    SUDO_RC=$?
}

# ssh_bg USER NAME: a session running sleep 600 on a pty, in the background;
# its output goes to $T/NAME.out, its pid to $T/NAME.pid.
ssh_bg() {
    timeout 120 ssh -tt -F /dev/null -i "$T/ssh/id" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
        -p "$SSHD_PORT" "$1@127.0.0.1" sleep 600 >"$T/$2.out" 2>&1 </dev/null &
    echo $! >"$T/$2.pid"
}
gone() { ! kill -0 "$(cat "$T/$1.pid")" 2>/dev/null; } # NAME: ssh_bg's session NAME has ended

# tty_says NAME TEXT: what vigild wrote on the terminal of ssh_bg's session
# NAME is the one line "vigil: TEXT", nothing stray around it.
tty_says() {
    local got
    got=$(tr -d '\r' <"$T/$1.out" | grep '^vigil: ')
    [ "$got" = "vigil: $2" ] && return 0
    fail "the session's terminal shows '$got', expected the one line 'vigil: $2'"
    note "the session's terminal" "$T/$1.out"
    return 1
}

# The live sessions vigild lists, and how many USER has.
sessions_json() { "$VIGILCTL" --socket "$ADMIN_SOCK" sessions --json 2>/dev/null; }
session_count() { # USER
    sessions_json | python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["sessions"] if s["user"] == sys.argv[1]))' "$1" 2>/dev/null || echo 0
}
count_is() { [ "$(session_count "$1")" -eq "$2" ]; } # USER N

# Assertion helpers: each records why it failed and returns 1.
expect_rc() { # expect_rc WHAT EXPECTED ACTUAL OUTPUT
    [ "$3" -eq "$2" ] && return 0
    fail "$1: exit code $3, expected $2"
    note_text "output" "$4"
    return 1
}
expect_nonzero() { # WHAT ACTUAL OUTPUT
    [ "$2" -ne 0 ] && return 0
    fail "$1: exit code 0, expected a failure"
    note_text "output" "$3"
    return 1
}
expect_contains() { # WHAT TEXT NEEDLE
    case $2 in *"$3"*) return 0 ;; esac
    fail "$1: output does not contain '$3'"
    note_text "output" "$2"
    return 1
}
expect_not_contains() { # WHAT TEXT NEEDLE
    case $2 in *"$3"*) fail "$1: output contains '$3'"; note_text "output" "$2"; return 1 ;; esac
    return 0
}

expect_match() { # WHAT TEXT ERE
    printf '%s\n' "$2" | grep -Eq -- "$3" && return 0
    fail "$1: output does not match /$3/"
    note_text "output" "$2"
    return 1
}

# no_line LINE TEXT WHY: fails when TEXT has a line equal to LINE.
no_line() {
    printf '%s\n' "$2" | grep -qxF -- "$1" || return 0
    fail "$3"
    note_text "output" "$2"
    return 1
}

# Attach the agent's and sshd's logs to a failing case.
note_logs() {
    [ -n "$AGENT_LOG" ] && note "vigild log" "$AGENT_LOG" 20
    [ -n "$SSHD_LOG" ] && note "sshd log" "$SSHD_LOG" 20
    return 1
}

# ------------------------------------------- more users, PDP configs ----

# e2e_add_user NAME UID: one more test user after e2e_setup_system (own
# group, the test key authorized, NOPASSWD sudo like the others). The
# namespace's files are appended to in place, so the bind mounts see it.
e2e_add_user() {
    local name=$1 uid=$2
    echo "$name:x:$uid:$uid:vigil e2e:$T/home/$name:/bin/sh" >>"$T/etc/passwd"
    echo "$name:x:$uid:" >>"$T/etc/group"
    echo "$name:*:19000:0:99999:7:::" >>"$T/etc/shadow"
    echo "$name ALL=(ALL:ALL) NOPASSWD: ALL" >>"$T/etc/sudoers"
    mkdir -p "$T/home/$name"
    chown "$uid:$uid" "$T/home/$name"
    cp "$T/ssh/id.pub" "$T/keys/$name"
    chmod 644 "$T/keys/$name"
    getent passwd "$name" >/dev/null || { fail "test user $name not visible through NSS"; return 1; }
}

# e2e_add_group NAME GID MEMBER,...: one more group in the namespace.
e2e_add_group() {
    echo "$1:x:$2:$3" >>"$T/etc/group"
    getent group "$1" >/dev/null || { fail "test group $1 not visible through NSS"; return 1; }
}

# e2e_overlay_dir DIR NAME: DIR becomes DIR plus a private, writable tmpfs
# layer (under $T/overlay/NAME), in this namespace only; undone at exit.
E2E_OVERLAYS=""
e2e_overlay_dir() {
    local dir=$1 top=$T/overlay/$2
    mkdir -p "$top" || return 1
    mount -t tmpfs -o mode=0755 tmpfs "$top" || { fail "cannot mount a tmpfs on $top"; return 1; }
    E2E_OVERLAYS="$top $E2E_OVERLAYS"
    mkdir "$top/upper" "$top/work"
    chmod --reference="$dir" "$top/upper" && chown --reference="$dir" "$top/upper"
    mount -t overlay overlay -o "lowerdir=$dir,upperdir=$top/upper,workdir=$top/work" "$dir" ||
        { fail "cannot mount an overlay on $dir"; return 1; }
    E2E_OVERLAYS="$dir $E2E_OVERLAYS"
}

# The directory libc.so.6 is loaded from: where glibc looks for NSS modules.
e2e_system_libdir() {
    dirname "$(readlink -f "$(ldd /bin/sh | awk '$1 == "libc.so.6" { print $3 }')")"
}

# e2e_nss_vigil: libnss_vigil.so.2 ($NSS_VIGIL) serves this namespace's
# users and groups after files. glibc dlopen()s it by name from the system
# library directory, and setuid sudo ignores LD_LIBRARY_PATH, so the module
# goes where an installed one would be, and its table is the compiled-in
# /var/lib/vigil/grants: both directories become overlays (e2e_overlay_dir),
# so the host's are never written. nsswitch.conf: the machine's, with
# "files vigil" for passwd and group.
e2e_nss_vigil() {
    [ -f "$NSS_VIGIL" ] || { fail "the module is not built: $NSS_VIGIL"; return 1; }
    local libdir
    libdir=$(e2e_system_libdir)
    [ -d "$libdir" ] || { fail "cannot find the system library directory (got '$libdir')"; return 1; }
    e2e_overlay_dir "$libdir" lib || return 1
    install -m 0644 "$NSS_VIGIL" "$libdir/libnss_vigil.so.2" || { fail "cannot copy the module into $libdir"; return 1; }
    e2e_overlay_dir /var/lib varlib || return 1
    install -d -m 0711 /var/lib/vigil # as the package and vigild.service make it
    sed -E -e 's/^(passwd|group):.*/\1: files vigil/' -e '/^initgroups:/d' /etc/nsswitch.conf >"$T/etc/nsswitch.conf"
    grep -q '^group: files vigil$' "$T/etc/nsswitch.conf" || echo "group: files vigil" >>"$T/etc/nsswitch.conf"
    grep -q '^passwd: files vigil$' "$T/etc/nsswitch.conf" || echo "passwd: files vigil" >>"$T/etc/nsswitch.conf"
    mount --bind "$T/etc/nsswitch.conf" /etc/nsswitch.conf || { fail "cannot bind-mount nsswitch.conf"; return 1; }
    # A running nscd would answer from the host's view, without the module.
    if [ -S /run/nscd/socket ]; then mount -t tmpfs tmpfs /run/nscd || return 1; fi
}

# totp_enroll USER CONFIG: vigilctl totp enroll; sets TOTP_SECRET from the
# otpauth:// URI it prints, and TOTP_URI to that URI.
# shellcheck disable=SC2034  # TOTP_URI is for the caller
totp_enroll() {
    local out
    out=$("$VIGILCTL" totp enroll "$1" --config "$2" 2>&1) || { fail "vigilctl totp enroll $1: $out"; return 1; }
    TOTP_URI=$(printf '%s\n' "$out" | grep -m1 -o 'otpauth://[^ ]*')
    TOTP_SECRET=$(printf '%s\n' "$out" | grep -o 'secret=[A-Z2-7]*' | head -1 | cut -d= -f2)
    [ -n "$TOTP_SECRET" ] || { fail "no secret in: $out"; return 1; }
}

# totp_code SECRET [PERIOD [STEP_OFFSET]]: the current RFC 6238 code (SHA-1,
# six digits; PERIOD seconds a step, default 30), or one STEP_OFFSET steps
# away. Python's hmac, independent of the liboath vigild uses.
totp_code() {
    python3 - "$1" "${2:-30}" "${3:-0}" <<'PYEOF'
import base64, hashlib, hmac, struct, sys, time
secret, period, offset = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
step = int(time.time()) // period + offset
h = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
PYEOF
}

# write_agent_config FILE < rest: like write_config, but only the [agent]
# section is written here; stdin brings [pdp], [host] and the rules.
write_agent_config() {
    local file=$1
    {
        printf '[agent]\nsocket = "%s"\nadmin_socket = "%s"\ngrant_socket = "%s"\naudit_log = "%s"\nstate_dir = "%s"\n\n' \
            "$PAM_SOCK" "$ADMIN_SOCK" "$T/run/grant.sock" "$AUDIT_LOG" "$T/state"
        cat
    } >"$file"
    chown root:root "$file"
    chmod 600 "$file"
}

# audit_mark: later audit_expect calls look only at records written after.
AUDIT_MARK=0
audit_mark() {
    AUDIT_MARK=0
    if [ -f "$AUDIT_LOG" ]; then AUDIT_MARK=$(wc -l <"$AUDIT_LOG"); fi
}

# json_expect WHAT FILE CHECK...: checks fields of the JSON object in FILE.
# A KEY is dotted, list items by index (pdp.failed.0.url). Each CHECK is
#   KEY=VALUE   the field equals VALUE (strings as is, others as JSON text)
#   KEY~TEXT    the field's text (JSON text for non-strings) contains TEXT
#   KEY^TEXT    the field is a string that starts with TEXT
#   !KEY        the field is absent        ?KEY   the field is present
json_expect() {
    local what=$1 file=$2 out
    shift 2
    out=$(python3 - "$file" "$@" 2>&1 <<'PYEOF'
import json, re, sys
doc = json.load(open(sys.argv[1]))
def get(obj, key):
    for part in key.split("."):
        if isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        elif isinstance(obj, dict) and part in obj:
            obj = obj[part]
        else:
            raise KeyError(key)
    return obj
def text(v):
    return v if isinstance(v, str) else json.dumps(v)
bad = []
for check in sys.argv[2:]:
    m = re.match(r"^([!?])(.+)$", check)
    if m:
        op, key, want = m.group(1), m.group(2), None
    else:
        m = re.match(r"^([^=~^]+)([=~^])(.*)$", check, re.S)
        if not m:
            sys.exit("bad check %r" % check)
        key, op, want = m.group(1), m.group(2), m.group(3)
    try:
        v = get(doc, key)
        present = True
    except KeyError:
        present = False
    if op == "!":
        if present:
            bad.append("%s is present (%s), expected absent" % (key, text(v)[:300]))
    elif op == "?":
        if not present:
            bad.append("%s is absent, expected present" % key)
    elif not present:
        bad.append("%s is absent" % key)
    elif op == "=" and text(v) != want:
        bad.append("%s is %r, expected %r" % (key, text(v)[:300], want))
    elif op == "~" and want not in text(v):
        bad.append("%s (%r) does not contain %r" % (key, text(v)[:300], want))
    elif op == "^" and not (isinstance(v, str) and v.startswith(want)):
        bad.append("%s (%r) does not start with %r" % (key, text(v)[:300], want))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
    ) && return 0
    fail "$what: $out"
    note "$what" "$file" 1
    return 1
}

# last_command_record USER: the last record of a command decision (sudo's
# approval plugin) for USER since the mark, in $T/last-record.json; fails if there is none.
last_command_record() {
    python3 - "$AUDIT_LOG" "$AUDIT_MARK" "$1" "$T/last-record.json" <<'PYEOF'
import json, sys
log, mark, user, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
last = None
for i, line in enumerate(open(log)):
    if i < mark:
        continue
    r = json.loads(line)
    if r.get("phase") == "command" and r.get("user") == user:
        last = line
if last is None:
    sys.exit("no command record for " + user)
open(out, "w").write(last)
PYEOF
}

command_expect() { # USER CHECK...
    local user=$1
    shift
    last_command_record "$user" || { fail "no command record for $user"; note "audit log" "$AUDIT_LOG" 4; return 1; }
    json_expect "command record for $user" "$T/last-record.json" "$@"
}

# last_account_record USER SERVICE: the newest account-phase record for USER
# and SERVICE, written to $T/last-record.json for json_expect.
last_account_record() {
    python3 - "$AUDIT_LOG" "$1" "$2" >"$T/last-record.json" <<'EOF'
import json, sys
path, user, service = sys.argv[1:4]
last = None
for line in open(path):
    r = json.loads(line)
    if r.get("phase") == "account" and r.get("user") == user and r.get("service") == service:
        last = r
print(json.dumps(last))
EOF
}

# audit_expect USER SERVICE CHECK...: exactly one account-phase decision
# for USER and SERVICE was audited since audit_mark, and it passes the
# json_expect checks. The record is left in $T/last-record.json.
audit_expect() {
    local user=$1 service=$2 n
    shift 2
    n=$(tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" 2>/dev/null | python3 -c '
import json, sys
user, service, out = sys.argv[1:4]
found = []
for line in sys.stdin:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if (r.get("event"), r.get("phase"), r.get("user"), r.get("service")) == ("decision", "account", user, service):
        found.append(line)
open(out, "w").write(found[-1] if found else "{}")
print(len(found))' "$user" "$service" "$T/last-record.json")
    if [ "$n" -ne 1 ]; then
        fail "expected 1 audited account decision for $user/$service since the mark, found $n"
        note "audit log" "$AUDIT_LOG" 6
        return 1
    fi
    json_expect "audit record for $user/$service" "$T/last-record.json" "$@"
}
