#!/bin/bash
# Real OpenSSH (public-key login) and real sudo, each asking vigild through
# pam_vigil.so in the account phase: rules allow some users, deny others,
# a deny rule beats an allow rule, and the deny reason reaches the user.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 12

setup() {
    e2e_setup_system
    standard_rules | write_config "$T/vigil.toml"
    pam_sshd_vigil timeout=3000
    pam_sudo_vigil timeout=3000
    agent_start "$T/vigil.toml" && sshd_start
}
tap_case "setup: vigild and sshd start in a private mount namespace" setup ||
    e2e_abort "vigild or sshd did not start"

ssh_allowed() {
    ssh_login vgl-alice id -un
    expect_rc "ssh vgl-alice" 0 "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    expect_contains "ssh vgl-alice runs id -un" "$SSH_OUT" "vgl-alice" || return 1
    grep -q "Accepted publickey for vgl-alice" "$SSHD_LOG" ||
        { fail "sshd log has no 'Accepted publickey for vgl-alice'"; note_logs; }
}
tap_case "sshd: vgl-alice (group vgl-ops, from 127.0.0.1) logs in with her key" ssh_allowed

ssh_denied_unmatched() {
    ssh_login vgl-bob id -un
    expect_nonzero "ssh vgl-bob" "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    no_line "vgl-bob" "$SSH_OUT" "the remote command ran although the login was denied" || return 1
    # The key was fine; the account phase (vigil) said no.
    wait_for 3 grep -q "Access denied for user vgl-bob by PAM account configuration" "$SSHD_LOG" ||
        { fail "sshd log does not show a PAM account denial for vgl-bob"; note_logs; }
}
tap_case "sshd: vgl-bob (no rule matches) is denied in the account phase" ssh_denied_unmatched

ssh_denied_rule() {
    ssh_login vgl-mallory id -un
    expect_nonzero "ssh vgl-mallory" "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    no_line "vgl-mallory" "$SSH_OUT" "the remote command ran although the login was denied" || return 1
    wait_for 3 grep -q "Access denied for user vgl-mallory by PAM account configuration" "$SSHD_LOG" ||
        { fail "sshd log does not show a PAM account denial for vgl-mallory"; note_logs; return 1; }
}
tap_case "sshd: vgl-mallory is denied although vgl-ops may ssh (deny rule wins)" ssh_denied_rule

ssh_reason() {
    ssh_login vgl-mallory true
    expect_nonzero "ssh vgl-mallory" "$SSH_RC" "$SSH_OUT" || return 1
    expect_contains "ssh client output" "$SSH_OUT" \
        "vigil: account suspended pending review (ticket SEC-42)" || note_logs
}
tap_case "sshd: the deny reason reaches the ssh client as 'vigil: ...'" ssh_reason

sudo_allowed() {
    sudo_as vgl-alice id -u
    expect_rc "vgl-alice: sudo -n id -u" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    [ "$SUDO_OUT" = 0 ] || { fail "expected sudo's command to print 0 (root), got: $SUDO_OUT"; return 1; }
}
tap_case "sudo: vgl-alice (group vgl-ops) runs a command as root" sudo_allowed

sudo_denied_reason() {
    sudo_as vgl-mallory id -u
    expect_nonzero "vgl-mallory: sudo -n id -u" "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    expect_contains "sudo output" "$SUDO_OUT" \
        "vigil: account suspended pending review (ticket SEC-42)" || return 1
    no_line 0 "$SUDO_OUT" "the command ran as root although sudo was denied"
}
tap_case "sudo: vgl-mallory is denied and sees the rule's reason" sudo_denied_reason

sudo_denied_unmatched() {
    sudo_as vgl-bob id -u
    expect_nonzero "vgl-bob: sudo -n id -u" "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    expect_contains "sudo output" "$SUDO_OUT" "vigil: " || return 1
    no_line 0 "$SUDO_OUT" "the command ran as root although sudo was denied"
}
tap_case "sudo: vgl-bob (no rule matches) is denied with a vigil message" sudo_denied_unmatched

sudo_long_command() {
    # sudo's argv goes into the request whole up to 16 KiB: such a command
    # is decided by the rules like any other.
    local arg
    arg=$(head -c 12000 /dev/zero | tr '\0' x)
    audit_mark
    sudo_as vgl-alice true "$arg"
    expect_rc "vgl-alice: sudo -n true <12 KB argument>" 0 "$SUDO_RC" "$(printf '%s' "$SUDO_OUT" | head -c 2000)" ||
        { note_logs; return 1; }
    audit_expect vgl-alice sudo outcome=allow '!argv_truncated' "command.3=$arg" || return 1
    sudo_as vgl-mallory true "$arg"
    expect_nonzero "vgl-mallory: sudo -n true <12 KB argument>" "$SUDO_RC" "$SUDO_OUT" || return 1
    expect_contains "sudo output" "$SUDO_OUT" "vigil: account suspended pending review"
}
tap_case "sudo: a 12 KB command line is decided by the rules (allow and deny)" sudo_long_command

sudo_truncated_command() {
    # One larger than the module reads (70 KB) reaches vigil only in part:
    # what vigil has not seen whole it does not allow, and says why.
    local arg
    arg=$(head -c 70000 /dev/zero | tr '\0' x)
    audit_mark
    sudo_as vgl-alice true "$arg"
    expect_nonzero "vgl-alice: sudo -n true <70 KB argument>" "$SUDO_RC" "$(printf '%s' "$SUDO_OUT" | head -c 2000)" ||
        { note_logs; return 1; }
    expect_contains "sudo output" "$SUDO_OUT" "vigil: access denied: the command line is too long for vigil to check" ||
        return 1
    audit_expect vgl-alice sudo outcome=deny argv_truncated=true "reason_admin~argv_truncated"
}
tap_case "sudo: a 70 KB command line, cut short, is denied; the trail flags argv_truncated" sudo_truncated_command

# identity_age_of USER: identity_age_ms of USER's latest sshd account decision.
identity_age_of() {
    python3 - "$AUDIT_LOG" "$1" <<'PY'
import json, sys
age = ""
for line in open(sys.argv[1]):
    r = json.loads(line)
    if (r.get("event"), r.get("phase"), r.get("user"), r.get("service")) == ("decision", "account", sys.argv[2], "sshd"):
        age = r.get("identity_age_ms", "")
print(age)
PY
}
# The group file is older than the second in which vigild would not trust
# its stat (identity_cache.h).
group_file_settled() { [ $(($(date +%s) - $(stat -c %Y "$T/etc/group"))) -ge 2 ]; }
alice_in_ops() { getent group "$E2E_OPS_GROUP" | grep -q "vgl-alice"; }

group_change_seen() {
    wait_for 5 group_file_settled || { fail "the group file was not left alone for 2 s"; return 1; }
    local i
    for i in 1 2; do
        ssh_login vgl-alice true
        expect_rc "ssh vgl-alice ($i)" 0 "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    done
    local age
    age=$(identity_age_of vgl-alice)
    [ "${age:-0}" -gt 0 ] || { fail "the second login asked NSS again (identity_age_ms '$age'): nothing was cached"; return 1; }
    # Written in place: the bind mount over /etc/group holds this inode.
    local before
    before=$(cat "$T/etc/group")
    sed "s/^\($E2E_OPS_GROUP:x:$E2E_OPS_GID:\)vgl-alice,/\1/" <<<"$before" >"$T/etc/group"
    ! alice_in_ops || { fail "alice is still in $E2E_OPS_GROUP after the edit"; return 1; }
    ssh_login vgl-alice true
    printf '%s\n' "$before" >"$T/etc/group"
    expect_nonzero "ssh vgl-alice right after leaving $E2E_OPS_GROUP" "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    age=$(identity_age_of vgl-alice)
    [ "$age" = 0 ] || fail "the denied login used a remembered identity (identity_age_ms '$age')"
    alice_in_ops || { fail "alice is not back in $E2E_OPS_GROUP"; return 1; }
    ssh_login vgl-alice true
    expect_rc "ssh vgl-alice back in $E2E_OPS_GROUP" 0 "$SSH_RC" "$SSH_OUT" || note_logs
}
tap_case "identity cache: alice's groups are remembered, and her next login after leaving vgl-ops is denied" \
    group_change_seen

agent_alive() {
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died during the test"; note_logs; return 1; }
    agent_stop || return 1
    if grep -Eiq 'sanitizer|runtime error|segmentation|abort' "$AGENT_LOG"; then
        fail "vigild's log reports a crash or sanitizer error"
        note "vigild log" "$AGENT_LOG" 30
        return 1
    fi
}
tap_case "vigild served every request and stops cleanly on SIGTERM" agent_alive
