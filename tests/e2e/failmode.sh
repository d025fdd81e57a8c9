#!/bin/bash
# What pam_vigil.so does when it cannot get an answer: the agent is stopped,
# hangs (accepts and never answers), or answers garbage. failmode=secure
# denies, failmode=safe falls through (PAM_IGNORE) to the rest of the stack,
# and the module never holds sshd or sudo past its deadline.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 14

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
