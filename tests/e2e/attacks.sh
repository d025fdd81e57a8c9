#!/bin/bash
# Local attackers (docs/SECURITY.md). An unprivileged user who can run sudo
# sets environment variables vigil reads from sshd's PAM environment
# (SSH_AUTH_INFO_0 claiming a certificate, XDG_SESSION_ID) hoping to change
# the decision: they never reach it. Whoever can plant a symbolic link where
# the trail or the state directory belongs gets vigild to refuse to start
# rather than write through it. Any local user may connect to the grant
# socket: flooding it with connections that never send a request does not
# take the workers sshd and sudo need. A session close forged for someone
# else's live session, by root or anyone, ends nothing: sessions are keyed
# by the pid the kernel names (SO_PEERCRED), not by what a frame says.
# (Other attacks have their own scripts: e2e-peercred, e2e-step_up,
# e2e-grants, e2e-nss.)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 6

setup() {
    e2e_setup_system
    pam_sudo_vigil timeout=3000
    pam_sshd_vigil timeout=3000
    standard_rules | write_config "$T/vigil.toml"
    agent_start "$T/vigil.toml" && sshd_start
}
tap_case "setup: vigild with the standard rules, sshd and sudo stacks" setup || e2e_abort "vigild or sshd did not start"

# What a user could put in its environment to look like an SSH login with
# a certificate, inside a logind session.
FORGED_ENV="SSH_AUTH_INFO_0='$(cat "$SRCDIR/tests/fuzz/ssh_auth_info/publickey_ed25519_cert")' XDG_SESSION_ID=1"

sudo_with_env() { # USER
    SUDO_OUT=$(cd / && ASAN_OPTIONS=$HOST_ASAN_OPTIONS timeout 30 su "$1" -s /bin/sh \
        -c "$FORGED_ENV sudo -n true" 2>&1 </dev/null)
    SUDO_RC=$?
}

env_ignored() {
    audit_mark
    sudo_with_env vgl-mallory
    expect_nonzero "vgl-mallory's sudo with a forged SSH_AUTH_INFO_0 and XDG_SESSION_ID" "$SUDO_RC" "$SUDO_OUT" || return 1
    audit_expect vgl-mallory sudo outcome=deny '!ssh_auth_info' '!xdg_session_id' '!ssh_certificate' \
        '!ssh_certificate_untrusted' || return 1
    audit_mark
    sudo_with_env vgl-alice
    expect_rc "vgl-alice's sudo with the same environment (allowed by rule anyway)" 0 "$SUDO_RC" "$SUDO_OUT" || return 1
    audit_expect vgl-alice sudo outcome=allow '!ssh_auth_info' '!xdg_session_id' '!ssh_certificate' \
        '!ssh_certificate_untrusted' || return 1
    # Control: set in the PAM environment, as sshd does, the same value is
    # read (its certificate, from a CA no [ssh] names, is recorded as
    # untrusted), so the checks above can fail.
    audit_mark
    "$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sudo --user vgl-alice --tty /dev/pts/0 --invoker vgl-alice \
        --env "SSH_AUTH_INFO_0=$(cat "$SRCDIR/tests/fuzz/ssh_auth_info/publickey_ed25519_cert")" --quiet >/dev/null 2>&1
    audit_expect vgl-alice sudo '?ssh_auth_info' '?ssh_certificate_untrusted'
}
tap_case "sudo: SSH_AUTH_INFO_0 and XDG_SESSION_ID set by the user never reach the decision or the trail" env_ignored

# refused_start CONFIG WHAT: vigild must exit at start, naming WHAT.
refused_start() {
    local config=$1 what=$2 log=$T/refused.log rc
    : >"$log"
    timeout 10 "$VIGILD" --config "$config" >"$log" 2>&1
    rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { fail "vigild did not refuse to start (exit $rc)"; note "vigild" "$log"; return 1; }
    grep -q -- "$what" "$log" || { fail "vigild's refusal does not name $what"; note "vigild" "$log"; return 1; }
    echo "# vigild: $(tail -n 1 "$log")"
}

audit_symlink() {
    agent_stop || return 1
    echo "precious" >"$T/target" && chmod 600 "$T/target"
    mkdir -p "$T/log2" && ln -s "$T/target" "$T/log2/audit.jsonl"
    sed "s|^audit_log = .*|audit_log = \"$T/log2/audit.jsonl\"|" "$T/vigil.toml" >"$T/vigil-link.toml"
    chmod 600 "$T/vigil-link.toml"
    refused_start "$T/vigil-link.toml" "$T/log2/audit.jsonl" || return 1
    [ "$(cat "$T/target")" = "precious" ] || { fail "the symlink's target was written"; return 1; }
}
tap_case "a symbolic link planted at the audit_log path: vigild refuses to start; its target is untouched" audit_symlink

state_symlink() {
    mkdir -p "$T/elsewhere" && ln -s "$T/elsewhere" "$T/state-link"
    sed "s|^state_dir = .*|state_dir = \"$T/state-link\"|" "$T/vigil.toml" >"$T/vigil-state.toml"
    chmod 600 "$T/vigil-state.toml"
    refused_start "$T/vigil-state.toml" "symbolic link" || return 1
    [ -z "$(ls -A "$T/elsewhere")" ] || { fail "vigild wrote into the link's target"; ls -la "$T/elsewhere" | tap_diag; return 1; }
}
tap_case "a symbolic link planted at state_dir: vigild refuses to start and writes nothing there" state_symlink

# uid 65534 opens 60 connections to the grant socket (mode 0666) and sends
# nothing, holding each until vigild gives up on it (and opening it again);
# meanwhile root's sudo
# requests go through pam_vigil.so. With max_concurrent = 4, a grant socket
# that could take every worker would turn them into "busy" denials.
grant_flood() {
    sed -i 's|^state_dir = .*|&\nmax_concurrent = 4|' "$T/vigil.toml"
    agent_start "$T/vigil.toml" vigild-flood || return 1
    local grant_sock
    grant_sock=$(sed -n 's/^grant_socket = "\(.*\)"/\1/p' "$T/vigil.toml")
    [ -S "$grant_sock" ] || { fail "no grant socket at $grant_sock"; return 1; }
    chmod 755 "$T" "$(dirname "$grant_sock")"
    # Each connection vigild closes (or refuses) is opened again at once.
    setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c 'import socket, sys, time
def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.setblocking(False)
    return s
held = [connect() for _ in range(60)]
print("holding %d" % len(held), flush=True)
reopened, end = 0, time.time() + 8
while time.time() < end:
    for i, s in enumerate(held):
        try:
            if s.recv(1) == b"":
                s.close(); held[i] = connect(); reopened += 1
        except BlockingIOError:
            pass
    time.sleep(0.01)
print("reopened %d" % reopened, flush=True)' "$grant_sock" >"$T/flood.ready" 2>"$T/flood.err" &
    local flood=$!
    e2e_track "$flood"
    wait_for 5 test -s "$T/flood.ready" || { fail "the flood did not connect"; note "flood" "$T/flood.err"; return 1; }
    local denied=0 out
    for _ in $(seq 20); do
        out=$("$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sudo --user vgl-alice --tty /dev/pts/0 --invoker vgl-alice 2>&1) ||
            { denied=$((denied + 1)); echo "$out" >>"$T/flood.denied"; }
    done
    echo "# $(head -n 1 "$T/flood.ready"), each reopened when closed: 20 sudo requests meanwhile, $denied denied"
    kill "$flood" 2>/dev/null
    [ "$denied" -eq 0 ] || { fail "$denied of 20 sudo requests were denied during the flood"; note "what they saw" "$T/flood.denied" 6; note_logs; return 1; }
    grep -q "grant socket: refused peer pid .* uid 65534" "$AGENT_LOG" ||
        { fail "vigild did not log refusing the flood"; note_logs; return 1; }
}
tap_case "60 idle connections to the grant socket from uid 65534: sudo requests still answered (max_concurrent 4); the refusal is logged" \
    grant_flood

sessions_json() { "$VIGILCTL" --socket "$ADMIN_SOCK" sessions --json 2>/dev/null; }
alice_sessions() {
    sessions_json | python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["sessions"] if s["user"] == "vgl-alice"))' 2>/dev/null || echo 0
}
alice_has() { [ "$(alice_sessions)" -eq "$1" ]; }
# closes_recorded N: the trail holds N session_close records since audit_mark.
closes_recorded() {
    [ "$(tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | grep -c '"event":"session_close"')" -eq "$1" ]
}

forged_close() {
    timeout 60 ssh -tt -F /dev/null -i "$T/ssh/id" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
        -p "$SSHD_PORT" vgl-alice@127.0.0.1 sleep 600 >"$T/forged.out" 2>&1 </dev/null &
    local ssh_pid=$!
    e2e_track "$ssh_pid"
    wait_for 5 alice_has 1 || { fail "alice's session was not registered"; note_logs; return 1; }
    # What a forger would copy: the session's pid and the decision it opened under.
    local facts pid decision
    facts=$(sessions_json | python3 -c 'import json,sys
s = [s for s in json.load(sys.stdin)["sessions"] if s["user"] == "vgl-alice"][0]
print(s["pid"], s.get("decision_id", s.get("request_id", "")))')
    read -r pid decision <<<"$facts"
    local wire=$T/wire.py out
    install -m 0755 "$E2E_LIB_DIR/wire.py" "$wire"
    audit_mark
    # Root, from another process: the frame names alice's pid and decision.
    out=$(python3 "$wire" "$PAM_SOCK" --kind close_session phase=close_session user=vgl-alice service=sshd \
        "pid=$pid" "request_id=$decision" 2>&1)
    echo "# root's forged close (pid=$pid request_id=$decision): $out"
    # Answered means decided: the close is in the trail, and whatever it did
    # to the sessions it has done.
    case $out in reply*) ;; *) fail "root's forged close was not answered: $out"; return 1 ;; esac
    wait_for 5 closes_recorded 1 || { fail "the forged close is not in the trail"; note "audit log" "$AUDIT_LOG" 4; return 1; }
    alice_has 1 || { fail "a close forged by another process ended alice's session"; note_logs; return 1; }
    # Anyone else cannot even be heard (the socket loosened on purpose).
    chmod 755 "$T" "$(dirname "$PAM_SOCK")" && chmod 666 "$PAM_SOCK"
    out=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$wire" "$PAM_SOCK" --kind close_session \
        phase=close_session user=vgl-alice service=sshd "pid=$pid" "request_id=$decision" 2>&1)
    chmod 600 "$PAM_SOCK"
    echo "# uid 65534's forged close: $out"
    case $out in reply*) fail "uid 65534's close was answered: $out"; return 1 ;; esac
    wait_for 5 grep -q "pam socket: refused peer pid [0-9]* uid 65534" "$AGENT_LOG" ||
        { fail "vigild did not log refusing uid 65534"; note_logs; return 1; }
    closes_recorded 1 || { fail "uid 65534's close reached the trail"; note "audit log" "$AUDIT_LOG" 4; return 1; }
    alice_has 1 || { fail "uid 65534's forged close ended alice's session"; note_logs; return 1; }
    # The real end still counts.
    kill "$ssh_pid"
    wait_for 10 alice_has 0 || { fail "alice's session was not closed when she left"; note_logs; return 1; }
}
tap_case "a session close forged for alice's live session (by root from another process, by uid 65534) ends nothing" forged_close
