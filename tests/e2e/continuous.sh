#!/bin/bash
# Continuous verification that holds (issue 18), through real sshd and sudo:
# a collector whose ages tick on every second re-decides nothing and keeps
# step-up proofs; a requirement that flips ends the session it no longer
# allows; a reload that changes the policy re-decides every live session,
# one that changes nothing does not; a re-decision reads the login's SSH
# certificate again; a new policy version in a real Cerbos' answers
# re-decides live sessions.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 7

E2E_USERS="$E2E_USERS vgl-dave:20005"
ANSWER=$SRCDIR/tests/e2e/step_up_answers.exp
PERIOD=5 # seconds per TOTP code
CERBOS_STARTED=
_continuous_rc=0
trap '_continuous_rc=$?; [ -n "$CERBOS_STARTED" ] && "$SRCDIR/tests/pdp/cerbos.sh" stop "$T/cerbos" >/dev/null 2>&1; (exit $_continuous_rc); _e2e_cleanup' EXIT

# The Wazuh agent's state file, written as wazuh-agentd would: status as
# given, and a keepalive of a fixed time, so wazuh.keepalive_age grows by
# one at every look.
write_wazuh_state() {
    printf "# State file for wazuh-agentd\nstatus='%s'\nlast_keepalive='%s'\nmsg_count='12'\n" \
        "$1" "$KEEPALIVE" >"$WAZUH_STATE"
}

# $1: extra TOML at the end (a rule, a comment).
write_continuous_config() {
    write_config "$T/vigil.toml" <<EOF
[sessions]
deny_grace = "1s"
revoke_grace = "1s"

[posture]
max_age = "30s"

[posture.wazuh]
state_file = "$WAZUH_STATE"
interval = "1s"
max_age = "20s"

[step_up]
remember = "1m"

[step_up.totp]
store_dir = "$T/totp"
issuer = "vigil-e2e"
period = "${PERIOD}s"
skew_steps = 1

[ssh]
trusted_user_ca_keys = "$T/ssh/admin_ca.pub"

[[rule]]
name = "bob and dave log in while Wazuh is connected"
services = ["sshd"]
users = ["vgl-bob", "vgl-dave"]
decision = "allow"
require = ["wazuh.status == connected", "wazuh.keepalive_age < 3600"]

[[rule]]
name = "mallory's sudo needs a code, and Wazuh connected"
services = ["sudo"]
users = ["vgl-mallory"]
decision = "step_up"
step_up = "totp"
require = ["wazuh.status == connected"]
${1:-}
EOF
}

setup() {
    e2e_setup_system
    sudoers_asking vgl-mallory
    pam_step_up sudo
    pam_sshd_vigil timeout=5000
    ssh-keygen -q -t ed25519 -N '' -C "the fleet's user CA" -f "$T/ssh/admin_ca" || return 1
    WAZUH_STATE=$T/wazuh/var/run/wazuh-agentd.state
    mkdir -p "$T/wazuh/var/run"
    KEEPALIVE=$(date -d '-10 seconds' '+%Y-%m-%d %H:%M:%S')
    write_wazuh_state connected
    write_continuous_config
    totp_enroll vgl-mallory "$T/vigil.toml" && MALLORY=$TOTP_SECRET || return 1
    agent_start "$T/vigil.toml" || return 1
    SSHD_EXTRA_CONFIG="TrustedUserCAKeys $T/ssh/admin_ca.pub" sshd_start
}
tap_case "setup: vigild reading a Wazuh state file every second, sshd, sudo with TOTP" setup ||
    e2e_abort "vigild or sshd did not start"

measured() { echo "# measured: $*"; }
reevaluations() { # USER: re-decision records of USER since the mark
    tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | grep '"phase":"reevaluate"' | grep -c "\"user\":\"$1\""
}
redecided() { [ "$(reevaluations "$1")" -ge 1 ]; } # USER
keepalive_age() {
    "$VIGILCTL" --socket "$ADMIN_SOCK" posture 2>/dev/null | awk '$1 == "wazuh.keepalive_age" { print $2 }'
}
reload_agent() {
    local n
    n=$(grep -c "reloaded" "$AGENT_LOG")
    kill -HUP "$AGENT_PID"
    wait_for 5 sh -c "[ \$(grep -c reloaded '$AGENT_LOG') -gt $n ]" || { fail "vigild did not reload"; note_logs; return 1; }
}

# Item 1: wazuh.keepalive_age changes at every look (1 s); bob's session is
# not re-decided for it, and mallory's TOTP proof survives it.
ticking_ages() {
    audit_mark
    ssh_bg vgl-bob bob
    wait_for 5 count_is vgl-bob 1 || { fail "bob's session was not registered"; note_logs; return 1; }
    local age0 age1 lines0
    lines0=$(grep -c "re-deciding" "$AGENT_LOG")
    age0=$(keepalive_age)
    # Two sudos on one terminal, 6 s (six looks at the state file) apart,
    # one code: a second prompt would end the run with 101.
    python3 -c "import time; p=$PERIOD; t=time.time(); time.sleep(p - t % p + 1)"
    OUT=$(cd / && ASAN_OPTIONS=$HOST_ASAN_OPTIONS timeout 60 "$ANSWER" "$(totp_code "$MALLORY" "$PERIOD")" @cmd \
        su vgl-mallory -s /bin/sh --session-command "sudo id -un && sleep 6 && sudo id -un" 2>&1)
    local rc=$?
    age1=$(keepalive_age)
    measured "wazuh.keepalive_age went from $age0 to $age1 during the case"
    if [ -z "$age0" ] || [ -z "$age1" ] || [ "$age1" -lt $((age0 + 5)) ]; then
        fail "wazuh.keepalive_age did not tick on ($age0 -> $age1)"
        return 1
    fi
    expect_rc "two sudos 6 s apart, one code" 0 "$rc" "$OUT" || { note_logs; return 1; }
    [ "$(printf '%s\n' "$OUT" | grep -c '^root')" -eq 2 ] || { fail "expected two commands run as root: $OUT"; return 1; }
    [ "$(reevaluations vgl-bob)" -eq 0 ] || { fail "bob's session was re-decided $(reevaluations vgl-bob) times"; return 1; }
    [ "$(grep -c "re-deciding" "$AGENT_LOG")" -eq "$lines0" ] ||
        { fail "vigild re-decided sessions with only ages ticking"; note_logs; return 1; }
    gone bob && { fail "bob's session ended"; return 1; }
    return 0
}
tap_case "a volatile collector (wazuh.keepalive_age ticking every second): no re-decision, the step-up proof kept" \
    ticking_ages

# The same collector's status flipping is a change that matters: bob's
# session is re-decided and ends; the log names the requirement.
status_flips() {
    audit_mark
    local t0
    t0=$(now_ms)
    write_wazuh_state disconnected
    wait_for 10 gone bob || { fail "bob's session survived Wazuh disconnecting"; note_logs; return 1; }
    measured "state file says disconnected -> session gone (ms; interval 1 s, deny_grace 1 s): $(($(now_ms) - t0))"
    last_redecision vgl-bob || { fail "no re-decision of bob in the trail"; return 1; }
    json_expect "bob's re-decision" "$T/last-record.json" outcome=deny "reason_admin~wazuh.status" || return 1
    expect_contains "vigild's log" "$(cat "$AGENT_LOG")" \
        'posture: requirement "wazuh.status == connected" now fails; re-deciding live sessions' || return 1
    write_wazuh_state connected
}
tap_case "the same collector's status turning to disconnected: bob's session re-decided and ended, the log says why" \
    status_flips

bob_may_login() { ssh_login vgl-bob true && [ "$SSH_RC" -eq 0 ]; }

# Item 2: a reload that changes nothing re-decides nothing; one that
# changes the policy re-decides every live session at once.
reload_redecides() {
    wait_for 10 bob_may_login || { fail "bob cannot log in again"; note_logs; return 1; }
    audit_mark
    ssh_bg vgl-bob bob2
    wait_for 5 count_is vgl-bob 1 || { fail "bob's session was not registered"; note_logs; return 1; }
    reload_agent || return 1
    sleep 2 # a re-decision would have happened within the watch's next tick
    [ "$(reevaluations vgl-bob)" -eq 0 ] || { fail "a reload of the same policy re-decided bob's session"; return 1; }
    write_continuous_config '
[[rule]]
name = "bob is suspended"
services = ["sshd"]
users = ["vgl-bob"]
decision = "deny"
reason = "suspended (SEC-7)"'
    local t0
    t0=$(now_ms)
    reload_agent || return 1
    wait_for 10 gone bob2 || { fail "bob's session survived a policy that denies him"; note_logs; return 1; }
    measured "SIGHUP with a denying policy -> session gone (ms; deny_grace 1 s): $(($(now_ms) - t0))"
    last_redecision vgl-bob || { fail "no re-decision of bob in the trail"; return 1; }
    json_expect "bob's re-decision" "$T/last-record.json" outcome=deny "reason_user~SEC-7" || return 1
    expect_contains "vigild's log" "$(cat "$AGENT_LOG")" "re-deciding live sessions" || return 1
    write_continuous_config
    reload_agent
}
tap_case "SIGHUP: the same policy re-decides nothing; a policy that denies bob ends his live session" reload_redecides

# Item 3: dave logs in with the fleet CA's certificate; his session's
# re-decision (a reload that changes the policy) reads it again.
certificate_kept() {
    ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/dave" || return 1
    ssh-keygen -q -s "$T/ssh/admin_ca" -I deploy-dave -n vgl-dave -V -5m:+1h "$T/ssh/dave.pub" ||
        { fail "ssh-keygen could not sign"; return 1; }
    audit_mark
    timeout 120 ssh -tt -F /dev/null -i "$T/ssh/dave" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
        -p "$SSHD_PORT" vgl-dave@127.0.0.1 sleep 600 >"$T/dave.out" 2>&1 </dev/null &
    echo $! >"$T/dave.pid"
    wait_for 10 count_is vgl-dave 1 || { fail "dave's session was not registered"; note "ssh" "$T/dave.out"; note_logs; return 1; }
    audit_expect vgl-dave sshd outcome=allow || return 1
    write_continuous_config '# a comment: a new policy version, the same rules'
    reload_agent || return 1
    wait_for 10 redecided vgl-dave || { fail "dave's session was not re-decided after the reload"; note_logs; return 1; }
    last_redecision vgl-dave || return 1
    json_expect "dave's re-decision" "$T/last-record.json" outcome=allow ssh_certificate.key_id=deploy-dave \
        ssh_certificate.principals.0=vgl-dave || return 1
    gone dave && { fail "dave's session ended"; return 1; }
    "$VIGILCTL" --socket "$ADMIN_SOCK" revoke --user vgl-dave >/dev/null
    wait_for 10 gone dave || fail "dave's session did not end on revoke"
}
tap_case "a re-decision of a certificate login reads the certificate again (key id, principals in the record)" \
    certificate_kept

# A real Cerbos (AuthZEN) decides; its policy names a version. When an
# answer names a new one, live sessions are re-decided.
cerbos_policy() {
    cat >"$T/policies/host.yaml" <<EOF
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: "default"
  resource: "host"
  rules:
    - name: ops-ssh
      actions: ["ssh"]
      effect: EFFECT_ALLOW
      roles: ["ops"]
      output:
        when:
          ruleActivated: |-
            {"policy_version": "$1"}
EOF
}
alice_sees_new_version() { ssh_login vgl-alice true && grep -q '"policy_version":"2026.12.2"' "$AUDIT_LOG"; }
pdp_version_changes() {
    e2e_add_group ops 20101 vgl-alice,vgl-bob || return 1
    mkdir -p "$T/policies" && cerbos_policy 2026.12.1
    "$SRCDIR/tests/pdp/install.sh" >/dev/null 2>"$T/install.err" ||
        { note "tests/pdp/install.sh" "$T/install.err"; fail "cannot install Cerbos"; return 1; }
    "$SRCDIR/tests/pdp/cerbos.sh" start "$T/cerbos" --policies "$T/policies" --watch >"$T/cerbos.out" 2>&1 ||
        { note "cerbos.sh start" "$T/cerbos.out" 30; fail "Cerbos did not start"; return 1; }
    CERBOS_STARTED=1
    . "$T/cerbos/cerbos.env"
    write_continuous_config
    sed -i "s|^protocol = \"local\"|protocol = \"authzen\"\nauthzen_profile = \"cerbos\"\nurls = [\"$CERBOS_URL\"]\ntimeout = \"2s\"|" \
        "$T/vigil.toml"
    reload_agent || return 1
    wait_for 10 bob_may_login || { fail "Cerbos does not let bob in"; note_logs; return 1; }
    audit_mark
    ssh_bg vgl-bob bob3
    wait_for 5 count_is vgl-bob 1 || { fail "bob's session was not registered"; note_logs; return 1; }
    audit_expect vgl-bob sshd outcome=allow pdp.policy_version=2026.12.1 || return 1
    audit_mark
    cerbos_policy 2026.12.2
    # Cerbos reloads the file; the next login's answer names the new version.
    local t0
    t0=$(now_ms)
    wait_for 20 alice_sees_new_version ||
        { fail "no answer named the new version"; note_logs; return 1; }
    wait_for 10 redecided vgl-bob || { fail "bob's live session was not re-decided under the new version"; note_logs; return 1; }
    measured "policy file changed -> live session re-decided (ms; includes Cerbos' reload): $(($(now_ms) - t0))"
    last_redecision vgl-bob || return 1
    json_expect "bob's re-decision" "$T/last-record.json" outcome=allow pdp.policy_version=2026.12.2 || return 1
    expect_contains "vigild's log" "$(cat "$AGENT_LOG")" "pdp: policy version 2026.12.2 is new; re-deciding live sessions"
}
tap_case "Cerbos' policy names a new version: the next answer re-decides live sessions under it" pdp_version_changes

agent_alive() {
    "$VIGILCTL" audit verify "$AUDIT_LOG" >"$T/verify.out" 2>&1 ||
        { note "vigilctl audit verify" "$T/verify.out"; fail "the trail does not verify"; return 1; }
    "$VIGILCTL" --socket "$ADMIN_SOCK" ping >/dev/null 2>&1 || { fail "vigild does not answer"; note_logs; return 1; }
}
tap_case "vigild stayed up and its trail verifies" agent_alive
