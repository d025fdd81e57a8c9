#!/bin/bash
# The decision trail: a known sequence of real sshd and sudo requests leaves
# exactly one well-formed, hash-chained record per decision;
# `vigilctl audit verify` accepts the file and rejects it once a record is
# changed or removed. When the trail's filesystem is full, an allow that
# cannot be recorded is a deny, and vigild recovers when space returns; with
# audit_failure = "continue" the allow stands and the trail later counts the
# records it lost in an "audit_gap" record.
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

# The sequence, in order: service user expected-outcome expected-rule.
SEQUENCE="sshd vgl-alice allow ops_may_ssh
sshd vgl-bob deny -
sshd vgl-mallory deny mallory_is_suspended
sudo vgl-alice allow ops_may_sudo
sudo vgl-mallory deny mallory_is_suspended
sudo vgl-bob deny -"
N_DECISIONS=6

run_sequence() {
    local service user outcome _rule rc out ok=0
    while read -r service user outcome _rule; do
        if [ "$service" = sshd ]; then
            ssh_login "$user" true
            rc=$SSH_RC out=$SSH_OUT
        else
            sudo_as "$user" true
            rc=$SUDO_RC out=$SUDO_OUT
        fi
        if [ "$outcome" = allow ]; then
            expect_rc "$service $user" 0 "$rc" "$out" || ok=1
        else
            expect_nonzero "$service $user" "$rc" "$out" || ok=1
        fi
    done <<<"$SEQUENCE"
    # Everything is written; stop the agent so the file no longer moves.
    agent_stop || ok=1
    [ "$ok" -eq 0 ] || note_logs
    return "$ok"
}
tap_case "$N_DECISIONS real requests (3 ssh, 3 sudo) get the expected outcomes" run_sequence

# py_check NAME: runs one named check over the audit file (see below).
py_check() {
    local out rc
    out=$(python3 - "$1" "$AUDIT_LOG" "$N_DECISIONS" "$SEQUENCE" <<'EOF' 2>&1
import hashlib, json, sys
check, path, n_expected, sequence = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
raw = open(path, "rb").read()
if not raw.endswith(b"\n"):
    sys.exit("the file does not end with a newline")
lines = raw.decode("utf-8").split("\n")[:-1]
records = []
for i, line in enumerate(lines, 1):
    try:
        rec = json.loads(line)
    except ValueError as e:
        sys.exit("line %d is not JSON: %s: %r" % (i, e, line[:200]))
    if not isinstance(rec, dict):
        sys.exit("line %d is not a JSON object" % i)
    records.append(rec)
decisions = [r for r in records if r.get("event") == "decision"]
if check == "count":
    literal = sum('"event":"decision"' in l.replace(" ", "") for l in lines)
    if len(decisions) != n_expected or literal != n_expected:
        sys.exit("%d decision records (%d by text), expected %d; events: %s" % (
            len(decisions), literal, n_expected, [r.get("event") for r in records]))
    print("%d lines, %d decisions" % (len(lines), len(decisions)))
elif check == "fields":
    want = [l.split() for l in sequence.splitlines()]
    keys = ("event", "service", "user", "outcome", "rule", "reason_user", "policy_version", "prev")
    for i, (rec, (service, user, outcome, rule)) in enumerate(zip(decisions, want), 1):
        missing = [k for k in keys if k not in rec]
        if missing:
            sys.exit("decision %d lacks %s: %s" % (i, missing, rec))
        got = (rec["service"], rec["user"], rec["outcome"])
        if got != (service, user, outcome):
            sys.exit("decision %d is %s, expected %s" % (i, got, (service, user, outcome)))
        if rule != "-" and rec["rule"] != rule.replace("_", " "):
            sys.exit("decision %d names rule %r, expected %r" % (i, rec["rule"], rule.replace("_", " ")))
        if rule == "mallory_is_suspended" and "account suspended pending review" not in str(rec["reason_user"]):
            sys.exit("decision %d reason_user is %r" % (i, rec["reason_user"]))
    versions = {json.dumps(r["policy_version"]) for r in decisions}
    if len(versions) != 1 or versions == {'""'} or versions == {"null"}:
        sys.exit("policy_version should be one non-empty value for one policy, got %s" % versions)
    print("policy_version %s" % versions.pop())
elif check == "chain":
    expected = "0" * 64
    for i, (line, rec) in enumerate(zip(lines, records), 1):
        if rec.get("prev") != expected:
            sys.exit("line %d: prev %r, expected %r" % (i, rec.get("prev"), expected))
        expected = hashlib.sha256(line.encode("utf-8")).hexdigest()
    print("%d records chained from 64 zeros" % len(lines))
elif check == "sessions":
    opens = [r for r in records if r.get("event") == "session_open"]
    if not any(r.get("user") == "vgl-alice" and r.get("service") == "sshd" for r in opens):
        sys.exit("no session_open record for vgl-alice/sshd; events: %s" % [
            (r.get("event"), r.get("service"), r.get("user")) for r in records])
    denied = {r.get("user") for r in opens} & {"vgl-bob", "vgl-mallory"}
    if denied:
        sys.exit("session_open recorded for denied users %s" % denied)
    print("%d session_open records" % len(opens))
EOF
    )
    rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "$out"
        note "audit log" "$AUDIT_LOG" 12
        return 1
    fi
    echo "# $out"
}
tap_case "the trail holds exactly $N_DECISIONS decision records, every line valid JSON" py_check count
tap_case "each decision record names service, user, outcome, rule, reason and policy version" py_check fields
tap_case "every record's prev is the SHA-256 of the line before (64 zeros first)" py_check chain
tap_case "the allowed ssh login registered a session; denied ones did not" py_check sessions

verify_ok() {
    local out rc lines
    lines=$(wc -l <"$AUDIT_LOG")
    out=$("$VIGILCTL" audit verify "$AUDIT_LOG" 2>&1)
    rc=$?
    expect_rc "vigilctl audit verify" 0 "$rc" "$out" || return 1
    expect_contains "vigilctl audit verify" "$out" "ok: $lines records"
}
tap_case "vigilctl audit verify accepts the untouched trail" verify_ok

# The line number of the Nth decision record.
decision_line() {
    grep -n '"event" *: *"decision"' "$AUDIT_LOG" | sed -n "${1}p" | cut -d: -f1
}

verify_tampered() {
    local copy=$T/tampered.jsonl line out rc
    cp "$AUDIT_LOG" "$copy"
    # vgl-bob's denied ssh login becomes an allow.
    line=$(decision_line 2)
    [ -n "$line" ] || { fail "no second decision record"; return 1; }
    sed -i "${line}s/\"outcome\" *: *\"deny\"/\"outcome\":\"allow\"/" "$copy"
    if cmp -s "$AUDIT_LOG" "$copy"; then fail "the edit did not change the file"; return 1; fi
    out=$("$VIGILCTL" audit verify "$copy" 2>&1)
    rc=$?
    expect_nonzero "vigilctl audit verify on a changed record" "$rc" "$out" || return 1
    # The chain breaks at the changed line's successor (or the line itself).
    if ! printf '%s' "$out" | grep -Eq "(:|line )($line|$((line + 1)))(:|[^0-9]|$)"; then
        fail "the verdict does not name line $line or $((line + 1))"
        note_text "output" "$out"
        return 1
    fi
    expect_not_contains "verdict" "$out" "ok: "
}
tap_case "vigilctl audit verify fails, naming the line, after one outcome is edited" verify_tampered

verify_removed() {
    local copy=$T/removed.jsonl line out rc
    line=$(decision_line 3)
    [ -n "$line" ] || { fail "no third decision record"; return 1; }
    sed "${line}d" "$AUDIT_LOG" >"$copy"
    out=$("$VIGILCTL" audit verify "$copy" 2>&1)
    rc=$?
    expect_nonzero "vigilctl audit verify with record $line removed" "$rc" "$out" || return 1
    expect_match "verdict" "$out" "(:|line )$line(:|[^0-9]|$)"
}
tap_case "vigilctl audit verify fails after a record is removed" verify_removed

restart_continues() {
    # A crash (SIGKILL leaves the sockets behind), a restart, one more
    # decision: the new record chains onto the last line of the old file.
    agent_start "$T/vigil.toml" vigild-2 || return 1
    kill -KILL "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null
    e2e_untrack "$AGENT_PID"
    agent_start "$T/vigil.toml" vigild-3 || return 1
    sudo_as vgl-alice true
    expect_rc "sudo vgl-alice after the restart" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    agent_stop || return 1
    N_DECISIONS=$((N_DECISIONS + 1))
    SEQUENCE="$SEQUENCE
sudo vgl-alice allow ops_may_sudo"
    py_check count || return 1
    py_check chain || return 1
    local out rc
    out=$("$VIGILCTL" audit verify "$AUDIT_LOG" 2>&1)
    rc=$?
    expect_rc "vigilctl audit verify after the restart" 0 "$rc" "$out"
}
tap_case "after vigild is killed and restarted, new records continue the chain" restart_continues

# The trail on a 256 KiB tmpfs that is then filled: no access goes
# unrecorded, so the allow becomes a deny; freeing space lets it through.
SMALL=""
full_trail() {
    SMALL=$T/small
    mkdir -p "$SMALL" && mount -t tmpfs -o size=256k,mode=0700 tmpfs "$SMALL" ||
        { fail "cannot mount a small tmpfs"; return 1; }
    local saved=$AUDIT_LOG
    AUDIT_LOG=$SMALL/audit.jsonl
    standard_rules | write_config "$T/vigil-full.toml"
    agent_start "$T/vigil-full.toml" vigild-full || { AUDIT_LOG=$saved; return 1; }
    sudo_as vgl-alice true
    expect_rc "sudo vgl-alice with room for the trail" 0 "$SUDO_RC" "$SUDO_OUT" || { AUDIT_LOG=$saved; note_logs; return 1; }
    dd if=/dev/zero of="$SMALL/filler" bs=4k >/dev/null 2>&1 # until ENOSPC
    # The trail's last page may still hold a record or two: sudo until the
    # append fails; every sudo that got through must be in the trail.
    local tries=0 allowed=0 before
    before=$(wc -l <"$AUDIT_LOG")
    while [ $tries -lt 40 ]; do
        tries=$((tries + 1))
        sudo_as vgl-alice true
        [ "$SUDO_RC" -ne 0 ] && break
        allowed=$((allowed + 1))
    done
    echo "# sudo allowed $allowed time(s) after the disk filled, then denied"
    expect_nonzero "sudo vgl-alice with the trail's filesystem full ($tries tries)" "$SUDO_RC" "$SUDO_OUT" || { AUDIT_LOG=$saved; note_logs; return 1; }
    local recorded=$(($(wc -l <"$AUDIT_LOG") - before))
    [ "$recorded" -ge "$allowed" ] || { AUDIT_LOG=$saved; fail "$allowed sudo(s) allowed but only $recorded record(s) written"; return 1; }
    expect_contains "what sudo shows" "$SUDO_OUT" "audit trail cannot be written" || { AUDIT_LOG=$saved; return 1; }
    kill -0 "$AGENT_PID" 2>/dev/null || { AUDIT_LOG=$saved; fail "vigild died on a full disk"; return 1; }
    rm -f "$SMALL/filler"
    sudo_as vgl-alice true
    expect_rc "sudo vgl-alice once space is back" 0 "$SUDO_RC" "$SUDO_OUT" || { AUDIT_LOG=$saved; note_logs; return 1; }
    agent_stop
    local out
    out=$("$VIGILCTL" audit verify "$AUDIT_LOG" 2>&1) || fail "the trail does not verify after the full disk: $out"
    AUDIT_LOG=$saved
    umount -l "$SMALL"
}
tap_case "trail's filesystem full: sudo is denied ('audit trail cannot be written'), then allowed once space is back" \
    full_trail

# audit_failure = "continue" (auditd's disk_full_action = ignore, but not
# silent): the decisions stand while the trail cannot be written, and once
# it can, an "audit_gap" record counts exactly the records it missed.
continue_trail() {
    local small=$T/small2
    mkdir -p "$small" && mount -t tmpfs -o size=256k,mode=0700 tmpfs "$small" ||
        { fail "cannot mount a small tmpfs"; return 1; }
    local saved=$AUDIT_LOG
    AUDIT_LOG=$small/audit.jsonl
    standard_rules | write_config "$T/vigil-continue.toml"
    sed -i 's|^audit_log = .*|&\naudit_failure = "continue"|' "$T/vigil-continue.toml"
    agent_start "$T/vigil-continue.toml" vigild-continue || { AUDIT_LOG=$saved; return 1; }
    sudo_as vgl-alice true
    expect_rc "sudo vgl-alice with room for the trail" 0 "$SUDO_RC" "$SUDO_OUT" || { AUDIT_LOG=$saved; note_logs; return 1; }
    dd if=/dev/zero of="$small/filler" bs=4k >/dev/null 2>&1 # until ENOSPC
    local before i
    before=$(wc -l <"$AUDIT_LOG")
    for i in $(seq 12); do
        sudo_as vgl-alice true
        expect_rc "sudo $i of 12 with the trail's filesystem full (audit_failure = continue)" 0 "$SUDO_RC" "$SUDO_OUT" ||
            { AUDIT_LOG=$saved; note_logs; return 1; }
    done
    grep -q "audit.jsonl: audit write failed" "$AGENT_LOG" ||
        { AUDIT_LOG=$saved; fail "vigild did not log the failed writes"; note_logs; return 1; }
    rm -f "$small/filler"
    sudo_as vgl-alice true
    expect_rc "sudo vgl-alice once space is back" 0 "$SUDO_RC" "$SUDO_OUT" || { AUDIT_LOG=$saved; note_logs; return 1; }
    agent_stop
    # The 13 decisions since the fill: each is either in the trail or counted
    # as lost by the gap record, which must be there.
    local tally
    tally=$(tail -n +"$((before + 1))" "$AUDIT_LOG" | python3 -c 'import json, sys
written = lost = gaps = 0
for line in sys.stdin:
    r = json.loads(line)
    if r.get("event") == "audit_gap":
        gaps += 1; lost += r["lost"]
    elif r.get("service") == "sudo":
        written += 1
print(written, lost, gaps)')
    local written lost gaps
    read -r written lost gaps <<<"$tally"
    echo "# after the fill: $written records written, $lost counted lost in $gaps audit_gap record(s)"
    [ "$gaps" -ge 1 ] && [ "$lost" -ge 1 ] || { AUDIT_LOG=$saved; fail "no audit_gap record counts the lost records"; note "trail" "$AUDIT_LOG" 5; return 1; }
    [ $((written + lost)) -eq 13 ] || { AUDIT_LOG=$saved; fail "13 decisions, but $written written + $lost lost"; note "trail" "$AUDIT_LOG" 8; return 1; }
    local out
    out=$("$VIGILCTL" audit verify "$AUDIT_LOG" 2>&1) || fail "the trail does not verify after the gap: $out"
    AUDIT_LOG=$saved
    umount -l "$small"
}
tap_case "audit_failure = continue: sudo still allowed on a full trail; afterwards an audit_gap record counts every lost record" \
    continue_trail
