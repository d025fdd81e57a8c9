#!/bin/bash
# What pam_vigil.so does when it cannot get an answer: the agent is stopped,
# hangs (accepts and never answers), or answers garbage. failmode=secure
# denies, failmode=safe falls through (PAM_IGNORE) to the rest of the stack,
# and the module never holds sshd or sudo past its deadline. vigild killed
# while it holds a request (waiting on a PDP that never answers): sudo gets
# the failmode at once, not at its deadline. A request vigil cannot decide
# (too large to send, refused by vigild, answered with garbage) is a deny
# in every failmode: failmode=safe is for an agent that does not answer.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 19

# Generous bound for a 500 ms module deadline: su + sudo + PAM + slack.
HANG_BOUND_MS=3000
# ssh adds a key exchange and authentication round trips.
SSH_HANG_BOUND_MS=4500

setup() {
    e2e_setup_system
    standard_rules | write_config "$T/vigil.toml"
    pam_sshd_vigil timeout=3000 failmode=secure
    pam_sudo_vigil timeout=3000 failmode=secure
    agent_start "$T/vigil.toml" && sshd_start
}
tap_case "setup: vigild and sshd start in a private mount namespace" setup ||
    e2e_abort "vigild or sshd did not start"

# "safe" stacks: pam_vigil may ignore, pam_permit then decides.
pam_sshd_safe() {
    write_pam sshd <<EOF
auth required pam_permit.so
$(vigil_pam account "$@" failmode=safe)
account required pam_permit.so
$(vigil_pam session "$@" failmode=safe)
session required pam_permit.so
EOF
}
pam_sudo_safe() {
    write_pam sudo <<EOF
auth required pam_permit.so
$(vigil_pam account "$@" failmode=safe)
account required pam_permit.so
session required pam_permit.so
EOF
}

control() {
    ssh_login vgl-alice id -un
    expect_rc "ssh vgl-alice" 0 "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    sudo_as vgl-alice id -u
    expect_rc "sudo vgl-alice" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
}
tap_case "control: with the agent up, vgl-alice may ssh and sudo" control

stop_agent_case() {
    agent_stop || return 1
    # Whatever the agent left behind, nobody may answer on it now.
    if python3 "$E2E_LIB_DIR/wire.py" "$PAM_SOCK" user=vgl-alice service=sshd --timeout 2 |
        grep -q '^reply'; then
        fail "something still answers on $PAM_SOCK after vigild stopped"
        return 1
    fi
}
tap_case "vigild stops on SIGTERM and no longer answers" stop_agent_case

secure_ssh_down() {
    ssh_login vgl-alice id -un
    expect_nonzero "ssh vgl-alice with the agent down (failmode=secure)" "$SSH_RC" "$SSH_OUT" ||
        { note_logs; return 1; }
    no_line vgl-alice "$SSH_OUT" "the remote command ran although the agent is down" || return 1
    wait_for 3 grep -q "Access denied for user vgl-alice by PAM account configuration" "$SSHD_LOG" ||
        { fail "sshd log shows no PAM account denial"; note_logs; }
}
tap_case "agent down, failmode=secure: sshd login is denied" secure_ssh_down

secure_sudo_down() {
    sudo_as vgl-alice id -u
    expect_nonzero "sudo vgl-alice with the agent down (failmode=secure)" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "the command ran as root although the agent is down" || return 1
    expect_contains "sudo output" "$SUDO_OUT" "vigil: "
}
tap_case "agent down, failmode=secure: sudo is denied with a vigil message" secure_sudo_down

safe_ssh_down() {
    pam_sshd_safe timeout=3000
    ssh_login vgl-alice id -un
    expect_rc "ssh vgl-alice with the agent down (failmode=safe)" 0 "$SSH_RC" "$SSH_OUT" ||
        { note_logs; return 1; }
    expect_contains "ssh output" "$SSH_OUT" vgl-alice
}
tap_case "agent down, failmode=safe: pam_vigil ignores, the next module lets ssh in" safe_ssh_down

safe_sudo_down() {
    pam_sudo_safe timeout=3000
    sudo_as vgl-alice id -u
    expect_rc "sudo vgl-alice with the agent down (failmode=safe)" 0 "$SUDO_RC" "$SUDO_OUT" || return 1
    [ "$SUDO_OUT" = 0 ] || fail "expected 0 from sudo id -u, got: $SUDO_OUT"
}
tap_case "agent down, failmode=safe: sudo falls through to pam_permit" safe_sudo_down

safe_still_decides() {
    agent_start "$T/vigil.toml" vigild-restarted || return 1
    ssh_login vgl-bob id -un
    expect_nonzero "ssh vgl-bob (failmode=safe, agent up)" "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    sudo_as vgl-mallory id -u
    expect_nonzero "sudo vgl-mallory (failmode=safe, agent up)" "$SUDO_RC" "$SUDO_OUT" || return 1
    expect_contains "sudo output" "$SUDO_OUT" "vigil: account suspended pending review" || return 1
    sudo_as vgl-alice id -u
    expect_rc "sudo vgl-alice (failmode=safe, agent up)" 0 "$SUDO_RC" "$SUDO_OUT" || return 1
    agent_stop
}
tap_case "failmode=safe with the agent up still enforces its denies" safe_still_decides

killed_agent() {
    agent_start "$T/vigil.toml" vigild-killed || return 1
    kill -KILL "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null
    e2e_untrack "$AGENT_PID"
    AGENT_PID=""
    [ -S "$PAM_SOCK" ] || { fail "expected a stale $PAM_SOCK after SIGKILL"; return 1; }
    pam_sudo_vigil timeout=3000 failmode=secure
    sudo_as vgl-alice id -u
    expect_nonzero "sudo vgl-alice, agent killed (stale socket)" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "the command ran as root although the agent is dead" || return 1
    expect_contains "sudo output" "$SUDO_OUT" "vigil: "
}
tap_case "agent killed (SIGKILL, stale socket), failmode=secure: sudo is denied" killed_agent

# An "agent" that accepts connections and never says a word.
HANG_PID=""
start_hung_agent() {
    rm -f "$PAM_SOCK"
    socat UNIX-LISTEN:"$PAM_SOCK",fork,mode=600 SYSTEM:'sleep 60' 2>>"$T/socat.log" &
    HANG_PID=$!
    e2e_track "$HANG_PID"
    wait_for 5 test -S "$PAM_SOCK" || { fail "socat did not create $PAM_SOCK"; note "socat" "$T/socat.log"; return 1; }
}

# timed VAR command...: runs it, stores the elapsed milliseconds in VAR.
timed() {
    local var=$1 t0
    shift
    t0=$(now_ms)
    "$@"
    printf -v "$var" '%s' $(($(now_ms) - t0))
}

hung_sudo() {
    local ms
    start_hung_agent || return 1
    pam_sudo_vigil timeout=500 failmode=secure
    timed ms sudo_as vgl-alice id -u
    expect_nonzero "sudo vgl-alice against a hung agent" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "the command ran as root although the agent never answered" || return 1
    [ "$ms" -lt "$HANG_BOUND_MS" ] ||
        { fail "sudo took $ms ms with timeout=500 (bound $HANG_BOUND_MS ms)"; return 1; }
    echo "# sudo denied after $ms ms (module timeout=500)"
}
tap_case "hung agent, timeout=500: sudo is denied within ${HANG_BOUND_MS} ms" hung_sudo

hung_ssh() {
    local ms
    pam_sshd_vigil timeout=500 failmode=secure
    timed ms ssh_login vgl-alice id -un
    expect_nonzero "ssh vgl-alice against a hung agent" "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    no_line vgl-alice "$SSH_OUT" "the remote command ran although the agent never answered" || return 1
    [ "$ms" -lt "$SSH_HANG_BOUND_MS" ] ||
        { fail "ssh took $ms ms with timeout=500 (bound $SSH_HANG_BOUND_MS ms)"; return 1; }
    echo "# ssh denied after $ms ms (module timeout=500)"
}
tap_case "hung agent, timeout=500: sshd login is denied within ${SSH_HANG_BOUND_MS} ms" hung_ssh

hung_safe() {
    local ms
    pam_sudo_safe timeout=500
    timed ms sudo_as vgl-alice id -u
    expect_rc "sudo vgl-alice, hung agent, failmode=safe" 0 "$SUDO_RC" "$SUDO_OUT" || return 1
    [ "$ms" -lt "$HANG_BOUND_MS" ] ||
        { fail "sudo took $ms ms with timeout=500 (bound $HANG_BOUND_MS ms)"; return 1; }
    echo "# sudo fell through after $ms ms (module timeout=500)"
}
tap_case "hung agent, timeout=500, failmode=safe: sudo falls through within ${HANG_BOUND_MS} ms" hung_safe

hung_longer_timeout() {
    local ms
    # The deadline is the PAM line's, not a constant: 1500 ms must take longer
    # than 500 ms did, and still end.
    pam_sudo_vigil timeout=1500 failmode=secure
    timed ms sudo_as vgl-alice id -u
    expect_nonzero "sudo vgl-alice against a hung agent, timeout=1500" "$SUDO_RC" "$SUDO_OUT" || return 1
    [ "$ms" -ge 1400 ] && [ "$ms" -lt $((HANG_BOUND_MS + 1000)) ] ||
        { fail "sudo took $ms ms with timeout=1500 (want 1400..$((HANG_BOUND_MS + 1000)))"; return 1; }
    echo "# sudo denied after $ms ms (module timeout=1500)"
    kill "$HANG_PID" 2>/dev/null
    wait "$HANG_PID" 2>/dev/null
    e2e_untrack "$HANG_PID"
}
tap_case "hung agent, timeout=1500: the module waits for its own deadline, then denies" hung_longer_timeout

garbage_agent() {
    rm -f "$PAM_SOCK"
    # Answers every request with bytes that are not a vigil frame.
    socat UNIX-LISTEN:"$PAM_SOCK",fork,mode=600 SYSTEM:'echo allow allow allow; sleep 5' 2>>"$T/socat.log" &
    local pid=$!
    e2e_track "$pid"
    wait_for 5 test -S "$PAM_SOCK" || { fail "socat did not create $PAM_SOCK"; return 1; }
    pam_sudo_vigil timeout=2000 failmode=secure
    sudo_as vgl-alice id -u
    kill "$pid" 2>/dev/null
    expect_nonzero "sudo vgl-alice against a garbage-speaking agent" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "the command ran as root on a garbage answer"
}
tap_case "agent answers garbage, failmode=secure: sudo is denied" garbage_agent

# A PDP that accepts connections and never answers: vigild holds every
# request that reaches it until [pdp] timeout.
start_silent_pdp() {
    python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    c, _ = s.accept(); held.append(c)
    with open(sys.argv[2], "a") as f: f.write("accepted\n")' "$T/silent.port" "$T/silent.accepts" 2>>"$T/silent.err" &
    SILENT_PID=$!
    e2e_track "$SILENT_PID"
    wait_for 5 test -s "$T/silent.port" || { fail "the silent PDP did not start"; note "silent" "$T/silent.err"; return 1; }
}

# silent_accepted N: the silent PDP has accepted more than N connections.
silent_accepted() { [ "$(cat "$T/silent.accepts" 2>/dev/null | wc -l)" -gt "$1" ]; }

# kill_mid_request FAILMODE: sudo reaches vigild, which waits on the silent
# PDP; vigild is SIGKILLed once the PDP has its question. Sets SUDO_RC,
# SUDO_OUT and MS (the time from the kill to sudo's end).
kill_mid_request() {
    write_agent_config "$T/vigil-silent.toml" <<EOF
[pdp]
protocol = "cerbos"
urls = ["http://127.0.0.1:$(cat "$T/silent.port")"]
timeout = "20s"
fallback = "deny"

$(standard_rules)
EOF
    agent_start "$T/vigil-silent.toml" vigild-silent || return 1
    if [ "$1" = safe ]; then pam_sudo_safe timeout=8000; else pam_sudo_vigil timeout=8000 failmode=secure; fi
    local out=$T/mid.$1 t_kill asked
    asked=$(cat "$T/silent.accepts" 2>/dev/null | wc -l)
    (sudo_as vgl-alice id -u; printf '%s\n' "$SUDO_RC" >"$out.rc"; printf '%s\n' "$SUDO_OUT" >"$out.out"; now_ms >"$out.end") &
    local bg=$!
    wait_for 5 silent_accepted "$asked" || { fail "vigild never asked the silent PDP"; note_logs; return 1; }
    [ ! -e "$out.end" ] || { fail "sudo ended before vigild was killed: the PDP answered?"; cat "$out.out" | tap_diag; return 1; }
    t_kill=$(now_ms)
    kill -KILL "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null
    e2e_untrack "$AGENT_PID"
    AGENT_PID=""
    wait "$bg"
    SUDO_RC=$(cat "$out.rc") SUDO_OUT=$(cat "$out.out") MS=$(($(cat "$out.end") - t_kill))
    echo "# sudo ended $MS ms after vigild's SIGKILL (module timeout=8000, failmode=$1)"
    [ "$MS" -lt 3000 ] || { fail "sudo waited $MS ms after vigild died: the module should notice the closed socket"; return 1; }
}

killed_mid_request_secure() {
    start_silent_pdp || return 1
    kill_mid_request secure || return 1
    expect_nonzero "sudo vgl-alice, vigild killed mid-request, failmode=secure" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "the command ran as root although vigild died mid-request" || return 1
    expect_contains "sudo output" "$SUDO_OUT" "access check unavailable"
}
tap_case "vigild SIGKILLed while it holds sudo's request (PDP silent), failmode=secure: denied at once, not at the deadline" \
    killed_mid_request_secure

killed_mid_request_safe() {
    rm -f "$PAM_SOCK" "$ADMIN_SOCK"
    kill_mid_request safe || return 1
    expect_rc "sudo vgl-alice, vigild killed mid-request, failmode=safe (pam_permit decides)" 0 "$SUDO_RC" "$SUDO_OUT"
}
tap_case "the same with failmode=safe: the rest of the stack decides at once" killed_mid_request_safe

# The rest run with the agent up and failmode=safe: a request that cannot be
# decided must be denied, never left to the rest of the stack.
refusals_setup() {
    agent_start "$T/vigil.toml" vigild-refusals || return 1
    pam_sshd_safe timeout=3000
    pam_sudo_safe timeout=3000
    ssh_login vgl-alice id -un
    expect_rc "ssh vgl-alice (failmode=safe, agent up)" 0 "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
}

# A certificate alice signs herself (her own CA in her authorized_keys) with
# a 36 KiB extension: SSH_AUTH_INFO_0 no longer fits in one request frame.
big_certificate_safe() {
    refusals_setup || return 1
    ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/alice-ca" && ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/big" ||
        { fail "ssh-keygen failed"; return 1; }
    echo "cert-authority $(cat "$T/ssh/alice-ca.pub")" >>"$T/keys/vgl-alice"
    ssh-keygen -q -s "$T/ssh/alice-ca" -I alice-big -n vgl-alice \
        -O "extension:padding@vigil.test=$(head -c 36864 /dev/zero | tr '\0' x)" "$T/ssh/big.pub" ||
        { fail "ssh-keygen could not sign the big certificate"; return 1; }
    local out rc
    out=$(timeout 30 ssh -F /dev/null -i "$T/ssh/big" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=INFO \
        -p "$SSHD_PORT" vgl-alice@127.0.0.1 id -un 2>&1 </dev/null)
    rc=$?
    expect_nonzero "ssh vgl-alice with a 36 KiB certificate (failmode=safe)" "$rc" "$out" || { note_logs; return 1; }
    no_line vgl-alice "$out" "the remote command ran: an undecidable request was left to pam_permit" || return 1
    wait_for 3 grep -q "Accepted publickey for vgl-alice .*CERT" "$SSHD_LOG" ||
        { fail "sshd never accepted the certificate: the case did not test the request size"; note_logs; return 1; }
    # sshd exposes SSH_AUTH_INFO_0 to the session phase of a one-method login
    # (README, SSH certificates): that is where the request cannot be built.
    wait_for 3 grep -q "PAM: pam_open_session(): Permission denied" "$SSHD_LOG" ||
        { fail "the session phase did not refuse"; note_logs; }
}
tap_case "failmode=safe: a request too large to send (a 36 KiB user-made certificate) is denied" big_certificate_safe

# A field vigild refuses (PAM_RHOST over NI_MAXHOST): vigild answers with a
# deny instead of closing the connection, and records it.
refused_field_safe() {
    local long out rc
    long=$(head -c 2000 /dev/zero | tr '\0' h)
    out=$(python3 "$E2E_LIB_DIR/wire.py" "$PAM_SOCK" user=vgl-alice service=sshd "rhost=$long" --timeout 3)
    expect_contains "vigild's answer to an overlong rhost" "$out" "outcome=deny" || { note_logs; return 1; }
    out=$("$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sshd --user vgl-alice --rhost "$long" --phase account 2>&1)
    rc=$?
    expect_rc "pam_harness, sshd account phase, 2000-byte rhost (failmode=safe)" 16 "$rc" "$out" || { note_logs; return 1; }
    expect_contains "what the user is told" "$out" "vigil could not read this request" || return 1
    wait_for 3 grep -q '"path":"refused".*rhost longer than 1025 bytes' "$AUDIT_LOG" ||
        { fail "the refusal is not in the trail"; note "trail" "$AUDIT_LOG" 3; }
}
tap_case "failmode=safe: a request vigild refuses (an overlong field) is answered with a deny and recorded" \
    refused_field_safe

garbage_safe() {
    agent_stop
    rm -f "$PAM_SOCK"
    socat UNIX-LISTEN:"$PAM_SOCK",fork,mode=600 SYSTEM:'echo allow allow allow; sleep 5' 2>>"$T/socat.log" &
    local pid=$!
    e2e_track "$pid"
    wait_for 5 test -S "$PAM_SOCK" || { fail "socat did not create $PAM_SOCK"; return 1; }
    sudo_as vgl-alice id -u
    kill "$pid" 2>/dev/null
    expect_nonzero "sudo vgl-alice against a garbage-speaking agent (failmode=safe)" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "the command ran as root on a garbage answer" || return 1
    expect_contains "sudo output" "$SUDO_OUT" "vigil cannot check this request"
}
tap_case "failmode=safe: an answer that is not a vigil frame is a deny, not silence" garbage_safe
