#!/bin/bash
# The admin's tools: `vigild --check` validates a config and points at the
# bad line; `vigilctl decide` explains an outcome (rule and reason), both
# through the running agent and offline from a config file.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 20

# vigilctl decide explains; its exit status says whether it could, not
# what the outcome was.
DENY_RC=0

setup() {
    e2e_setup_system
    standard_rules | write_config "$T/vigil.toml"
    agent_start "$T/vigil.toml"
}
tap_case "setup: vigild starts in a private mount namespace" setup ||
    e2e_abort "vigild did not start"

check_ok() { # check_ok FILE
    local out rc
    out=$("$VIGILD" --check --config "$1" 2>&1)
    rc=$?
    expect_rc "vigild --check --config $1" 0 "$rc" "$out"
}

# check_bad FILE LINE [TEXT]: rejected with "FILE:LINE:" (and TEXT).
check_bad() {
    local out rc
    out=$("$VIGILD" --check --config "$1" 2>&1)
    rc=$?
    expect_nonzero "vigild --check --config $1" "$rc" "$out" || return 1
    expect_contains "vigild --check output" "$out" "$1:$2:" || return 1
    [ -z "${3:-}" ] || expect_contains "vigild --check output" "$out" "$3"
}

example_conf() {
    local f=$SRCDIR/conf/vigil.toml copy=$T/example.toml
    # Checked as installed: root-owned, not group/world-writable.
    install -m 0644 -o root -g root "$f" "$copy"
    check_ok "$copy"
}
if [ -f "$SRCDIR/conf/vigil.toml" ]; then
    tap_case "vigild --check accepts the example conf/vigil.toml" example_conf
else
    tap_skip "vigild --check accepts the example conf/vigil.toml" "conf/vigil.toml not present"
fi

demo_conf() {
    install -m 0644 -o root -g root "$E2E_LIB_DIR/demo.toml" "$T/demo.toml"
    check_ok "$T/demo.toml"
}
tap_case "vigild --check accepts the demo policy (tests/e2e/demo.toml)" demo_conf

test_conf() { check_ok "$T/vigil.toml"; }
tap_case "vigild --check accepts this test's own config" test_conf

old_step_up_name() {
    local f=$T/old-name.toml out rc line
    { standard_rules; printf '\n[stepup]\nremember = "5m"\n'; } | write_config "$f"
    line=$(grep -n '^\[stepup\]' "$f" | cut -d: -f1)
    out=$("$VIGILD" --check --config "$f" 2>&1)
    rc=$?
    expect_rc "vigild --check --config $f" 0 "$rc" "$out" || return 1
    expect_contains "vigild --check output" "$out" "warning: $f:$line: [stepup] is the old name of [step_up]"
}
tap_case "vigild --check reads 0.1.0's [stepup] as [step_up] and warns with its file:line" old_step_up_name

bad_syntax() {
    local f=$T/bad-syntax.toml line
    standard_rules | write_config "$f"
    # An unterminated string on the first rule's services line.
    line=$(grep -n '^services = \["sshd"\]' "$f" | head -n1 | cut -d: -f1)
    sed -i "${line}s/.*/services = [\"sshd]/" "$f"
    check_bad "$f" "$line"
}
tap_case "vigild --check rejects a TOML syntax error with file:line:" bad_syntax

bad_decision() {
    local f=$T/bad-decision.toml line
    standard_rules | sed 's/decision = "allow"/decision = "maybe"/' | write_config "$f"
    line=$(grep -n 'decision = "maybe"' "$f" | head -n1 | cut -d: -f1)
    check_bad "$f" "$line" maybe
}
tap_case "vigild --check rejects decision = \"maybe\" naming its line" bad_decision

bad_cidr() {
    local f=$T/bad-cidr.toml line
    standard_rules | sed 's|"127.0.0.0/8"|"127.0.0.0/33"|' | write_config "$f"
    line=$(grep -n '127.0.0.0/33' "$f" | cut -d: -f1)
    check_bad "$f" "$line"
}
tap_case "vigild --check rejects a bad CIDR in from = [...] naming its line" bad_cidr

bad_mode() {
    local f=$T/writable.toml out rc
    standard_rules | write_config "$f"
    chmod 0664 "$f"
    out=$("$VIGILD" --check --config "$f" 2>&1)
    rc=$?
    expect_nonzero "vigild --check on a group-writable config" "$rc" "$out" || return 1
    expect_contains "vigild --check output" "$out" "$f"
}
tap_case "vigild --check rejects a group-writable config" bad_mode

# decide ARGS...: runs vigilctl decide; sets D_RC and D_OUT.
decide() {
    D_OUT=$("$VIGILCTL" "$@" 2>&1)
    D_RC=$?
}

explain_allow() {
    decide --socket "$ADMIN_SOCK" decide --user vgl-alice --service sshd --rhost 127.0.0.1 --tty ssh
    expect_rc "vigilctl decide (vgl-alice, sshd)" 0 "$D_RC" "$D_OUT" || { note_logs; return 1; }
    expect_match "vigilctl decide" "$D_OUT" '^outcome: +allow$' || return 1
    expect_match "vigilctl decide" "$D_OUT" '^rule: +ops may ssh$'
}
tap_case "vigilctl decide via the agent: vgl-alice/sshd is allowed by 'ops may ssh'" explain_allow

explain_deny() {
    decide --socket "$ADMIN_SOCK" decide --user vgl-mallory --service sudo --tty /dev/pts/0
    expect_rc "vigilctl decide (vgl-mallory, sudo)" "$DENY_RC" "$D_RC" "$D_OUT" || { note_logs; return 1; }
    expect_match "vigilctl decide" "$D_OUT" '^outcome: +deny$' || return 1
    expect_match "vigilctl decide" "$D_OUT" '^rule: +mallory is suspended$' || return 1
    # The reason the user sees ("reason:" in the contract, "user sees:" in vigilctl).
    expect_match "vigilctl decide" "$D_OUT" \
        '^(reason|user sees): +account suspended pending review \(ticket SEC-42\)$'
}
tap_case "vigilctl decide via the agent: vgl-mallory/sudo is denied, with rule and reason" explain_deny

explain_cidr() {
    decide --socket "$ADMIN_SOCK" decide --user vgl-alice --service sshd --rhost 192.0.2.7 --json
    expect_rc "vigilctl decide --json (vgl-alice from 192.0.2.7)" "$DENY_RC" "$D_RC" "$D_OUT" || return 1
    local parsed
    parsed=$(printf '%s' "$D_OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["outcome"])' 2>&1) || { fail "--json output is not a JSON object with outcome: $parsed"; note_text output "$D_OUT"; return 1; }
    [ "$parsed" = deny ] || { fail "outcome $parsed, expected deny (192.0.2.7 is outside 127.0.0.0/8)"; return 1; }
}
tap_case "vigilctl decide --json: vgl-alice from outside 127.0.0.0/8 is denied (valid JSON)" explain_cidr

second_agent() {
    local out rc
    out=$(timeout 10 "$VIGILD" --config "$T/vigil.toml" 2>&1)
    rc=$?
    expect_nonzero "a second vigild on the same sockets" "$rc" "$out" || return 1
    [ "$rc" -ne 124 ] || { fail "the second vigild kept running (killed by timeout)"; return 1; }
    expect_contains "second vigild" "$out" "$PAM_SOCK" || return 1
    "$VIGILCTL" --socket "$ADMIN_SOCK" ping >"$T/status.out" 2>&1 ||
        { fail "the first vigild stopped answering"; note "status" "$T/status.out"; note_logs; return 1; }
}
tap_case "a second vigild refuses to take over a live agent's sockets" second_agent

policy_of() { "$VIGILCTL" --socket "$ADMIN_SOCK" status 2>/dev/null | sed -n 's/^policy: *//p'; }

# mallory's sudo as vigilctl explains it: "<outcome> <rule>".
mallory_sudo() {
    "$VIGILCTL" --socket "$ADMIN_SOCK" decide --user vgl-mallory --service sudo 2>/dev/null |
        sed -n -e 's/^outcome: *//p' -e 's/^rule: *//p' | paste -sd' '
}

# The standard rules without the one named $1.
rules_without() {
    standard_rules | awk -v drop="name = \"$1\"" '
        /^\[\[rule\]\]$/ { if (buf != "" && index(buf, drop) == 0) printf "%s", buf; buf = $0 "\n"; next }
        { if (buf == "") print; else buf = buf $0 "\n" }
        END { if (buf != "" && index(buf, drop) == 0) printf "%s", buf }'
}

mallory_is() { [ "$(mallory_sudo)" = "$1" ]; }

reload_ok() {
    local before after
    before=$(policy_of)
    mallory_is "deny mallory is suspended" || { fail "before reload: '$(mallory_sudo)'"; return 1; }
    # Lift the suspension: without the deny rule, "ops may sudo" applies.
    rules_without "mallory is suspended" | write_config "$T/vigil.toml"
    grep -q 'mallory is suspended' "$T/vigil.toml" && { fail "the test did not remove the rule"; return 1; }
    grep -q 'ops may sudo' "$T/vigil.toml" || { fail "the test removed too much"; return 1; }
    kill -HUP "$AGENT_PID"
    wait_for 5 mallory_is "allow ops may sudo" ||
        { fail "after SIGHUP: '$(mallory_sudo)', expected 'allow ops may sudo'"; note_logs; return 1; }
    after=$(policy_of)
    [ -n "$before" ] && [ "$before" != "$after" ] ||
        { fail "policy version did not change on reload ($before -> $after)"; return 1; }
    grep -q "reloaded" "$AGENT_LOG" || { fail "vigild did not log the reload"; note_logs; }
}
tap_case "SIGHUP reloads the policy: lifting a deny rule changes the decision and version" reload_ok

reload_bad() {
    local before
    before=$(policy_of)
    printf 'this is not toml [\n' >>"$T/vigil.toml"
    kill -HUP "$AGENT_PID"
    wait_for 5 grep -q "reload refused" "$AGENT_LOG" ||
        { fail "vigild did not log 'reload refused' for a broken config"; note_logs; return 1; }
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died on a bad reload"; note_logs; return 1; }
    [ "$(policy_of)" = "$before" ] || { fail "the policy changed although the new file is broken"; return 1; }
    [ "$(mallory_sudo)" = "allow ops may sudo" ] || { fail "decision changed: '$(mallory_sudo)'"; return 1; }
    standard_rules | write_config "$T/vigil.toml"
}
tap_case "SIGHUP with a broken config keeps the running policy and says why" reload_bad

# A fleet's drop-in: vigil.toml.d/*.toml beside the config, merged in order.
dropin() {
    local d=$T/vigil.toml.d before
    mkdir -p "$d" && chmod 755 "$d"
    printf '[[rule]]\nname = "bob may sudo (drop-in)"\nservices = ["sudo"]\nusers = ["vgl-bob"]\ndecision = "allow"\n' \
        >"$d/50-freeze.toml"
    chmod 600 "$d/50-freeze.toml"
    printf 'not toml [\n' >"$d/50-freeze.toml.dpkg-old" # ignored: not *.toml
    local out
    out=$("$VIGILD" --check --config "$T/vigil.toml" 2>&1) || { fail "vigild --check with a drop-in"; note_text "output" "$out"; return 1; }
    expect_contains "vigild --check lists the drop-in" "$out" "+ $d/50-freeze.toml" || return 1
    before=$(policy_of)
    [ "$(bob_sudo)" = "deny" ] || { fail "bob's sudo before the drop-in: '$(bob_sudo)', expected a deny"; return 1; }
    kill -HUP "$AGENT_PID"
    wait_for 5 bob_is "allow bob may sudo (drop-in)" ||
        { fail "after SIGHUP with the drop-in: '$(bob_sudo)'"; note_logs; return 1; }
    [ "$(policy_of)" != "$before" ] || { fail "the policy version did not change with the drop-in"; return 1; }
    # A drop-in others may write is refused like the main file; the running policy stays.
    chmod 0620 "$d/50-freeze.toml"
    local n
    n=$(grep -c "reload refused" "$AGENT_LOG")
    kill -HUP "$AGENT_PID"
    wait_for 5 _refusals_above "$n" || { fail "vigild did not refuse a group-writable drop-in"; note_logs; return 1; }
    grep "reload refused" "$AGENT_LOG" | tail -1 | grep -q "50-freeze.toml: writable by group" ||
        { fail "the refusal does not name the drop-in"; note_logs; return 1; }
    [ "$(bob_sudo)" = "allow bob may sudo (drop-in)" ] || { fail "decision changed: '$(bob_sudo)'"; return 1; }
    rm -rf "$d"
    kill -HUP "$AGENT_PID"
    wait_for 5 bob_is "deny" || { fail "the drop-in's rule outlived the drop-in: '$(bob_sudo)'"; return 1; }
}
bob_sudo() {
    "$VIGILCTL" --socket "$ADMIN_SOCK" decide --user vgl-bob --service sudo 2>/dev/null |
        sed -n -e 's/^outcome: *//p' -e 's/^rule: *//p' | grep -v '^(none matched)$' | paste -sd' '
}
bob_is() { [ "$(bob_sudo)" = "$1" ]; }
_refusals_above() { [ "$(grep -c "reload refused" "$AGENT_LOG")" -gt "$1" ]; }
tap_case "a drop-in in vigil.toml.d adds a rule on SIGHUP; a group-writable one is refused and the policy stays" dropin

# The fleet snippets in conf/ as an admin would install them.
conf_snippets() {
    local out d=$T/fleet
    out=$(visudo -c -f "$SRCDIR/conf/sudoers.d/vigil" 2>&1) || { fail "visudo -c conf/sudoers.d/vigil"; note_text "visudo" "$out"; return 1; }
    mkdir -p "$d/vigil.toml.d"
    install -m 0600 "$SRCDIR/conf/vigil.toml" "$d/vigil.toml"
    # The example names the fleet's CA; a throwaway one stands in.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=fleet-ca -days 1 \
        -keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 || { fail "openssl could not make a CA"; return 1; }
    sed "s|/etc/vigil/pdp-ca.pem|$d/ca.pem|" "$SRCDIR/conf/vigil.toml.d/10-fleet.toml.example" \
        >"$d/vigil.toml.d/10-fleet.toml"
    chmod 0600 "$d/vigil.toml.d/10-fleet.toml"
    out=$("$VIGILD" --check --config "$d/vigil.toml" 2>&1) ||
        { fail "vigild --check: conf/vigil.toml with the fleet drop-in example"; note_text "output" "$out"; return 1; }
    expect_contains "vigild --check" "$out" "+ $d/vigil.toml.d/10-fleet.toml"
}
tap_case "conf/sudoers.d/vigil passes visudo; conf/vigil.toml with the fleet drop-in example passes vigild --check" \
    conf_snippets

explain_offline() {
    agent_stop || return 1
    decide decide --config "$T/vigil.toml" --user vgl-bob --service sshd --rhost 127.0.0.1
    expect_rc "vigilctl decide --config (vgl-bob, sshd)" "$DENY_RC" "$D_RC" "$D_OUT" || return 1
    expect_match "vigilctl decide --config" "$D_OUT" '^outcome: +deny$' || return 1
    expect_match "vigilctl decide --config" "$D_OUT" '^rule: ' || return 1
    decide decide --config "$T/vigil.toml" --user vgl-alice --service sudo
    expect_rc "vigilctl decide --config (vgl-alice, sudo)" 0 "$D_RC" "$D_OUT" || return 1
    expect_match "vigilctl decide --config" "$D_OUT" '^outcome: +allow$' || return 1
    expect_match "vigilctl decide --config" "$D_OUT" '^rule: +ops may sudo$'
}
tap_case "vigilctl decide --config works offline: bob denied (no rule), alice's sudo allowed" explain_offline

# Socket activation as vigild.socket does it, through systemd's own
# systemd-socket-activate: the sockets exist before vigild, the first
# connection starts it, and vigild serves on the sockets it was passed.
activated_log() { grep -q "$2" "$1" 2>/dev/null; }
socket_activation() {
    command -v systemd-socket-activate >/dev/null || { fail "systemd-socket-activate is not installed"; return 1; }
    rm -f "$PAM_SOCK" "$ADMIN_SOCK" "$T/run/grant.sock"
    systemd-socket-activate -l "$PAM_SOCK" -l "$ADMIN_SOCK" -l "$T/run/grant.sock" \
        "$VIGILD" --config "$T/vigil.toml" >"$T/activated.log" 2>&1 &
    local pid=$!
    e2e_track "$pid"
    wait_for 5 test -S "$ADMIN_SOCK" || { fail "systemd-socket-activate did not listen"; note "log" "$T/activated.log"; return 1; }
    local out
    out=$(timeout 15 "$VIGILCTL" --socket "$ADMIN_SOCK" ping 2>&1) ||
        { fail "vigilctl ping through the activated socket"; note_text "ping" "$out"; note "log" "$T/activated.log"; return 1; }
    wait_for 5 activated_log "$T/activated.log" "3 passed by systemd" ||
        { fail "vigild did not say it took the 3 passed sockets"; note "log" "$T/activated.log"; return 1; }
    decide --socket "$ADMIN_SOCK" decide --user vgl-alice --service sudo
    expect_match "vigilctl decide through the activated vigild" "$D_OUT" '^outcome: +allow$' || return 1
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null
    # vigild leaves sockets it was passed alone: they are systemd's.
    [ -S "$PAM_SOCK" ] || fail "vigild removed a socket systemd owns"
}
tap_case "socket activation (systemd-socket-activate): the first connection starts vigild, which serves on the passed sockets" \
    socket_activation

socket_mismatch() {
    rm -f "$PAM_SOCK" "$ADMIN_SOCK" "$T/run/grant.sock"
    systemd-socket-activate -l "$T/run/elsewhere.sock" "$VIGILD" --config "$T/vigil.toml" >"$T/mismatch.log" 2>&1 &
    local pid=$!
    e2e_track "$pid"
    wait_for 5 test -S "$T/run/elsewhere.sock" || { fail "systemd-socket-activate did not listen"; return 1; }
    timeout 5 "$VIGILCTL" --socket "$T/run/elsewhere.sock" ping >/dev/null 2>&1
    wait_for 10 activated_log "$T/mismatch.log" "make vigild.socket's ListenStream= match vigil.toml" ||
        { fail "vigild did not refuse a socket bound elsewhere"; note "log" "$T/mismatch.log"; return 1; }
    wait_for 5 bash -c "! kill -0 $pid 2>/dev/null" || fail "vigild kept running with a socket it cannot place"
}
tap_case "a passed socket that vigil.toml does not name stops vigild at start, saying how to fix the unit" socket_mismatch
