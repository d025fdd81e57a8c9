#!/bin/bash
# Grant requests are metered and checked before anything is decided
# (docs/SECURITY.md, issue 12 finding 4). The grant socket is open to every
# local user; on it vigild checks who asks (SO_PEERCRED), that user's rate
# ([grants] requests_burst / requests_every, here at their defaults: 5 at
# once, then one each 15 s), the request's shape, that the group or account
# is one [grants] lists, and the reason (the [step_up.purpose] check). Only
# then do the rules decide, and that decision is the request's one record in
# the trail; earlier refusals are counted and summed up in
# grant_requests_refused records, at most one a minute.
#
# The cases: a decided grant's record names the group and the lengths asked
# and granted; a group or account [grants] does not list is refused without
# a decision; reasons with a terminal escape, a newline, 300 bytes or too
# few words are refused without a decision, and `vigilctl grant list` shows
# nothing raw; an ordinary user (vgl-eve) loops 10,000 requests straight on
# the socket (tests/e2e/grant_client.py) while real sshd and sudo logins go
# through pam_vigil.so: the trail grows by a bounded amount, sshd and sudo
# answer throughout, the refusals are counted in the trail and the journal,
# and other users' requests are still decided.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 6

GRANT_SOCK=$T/run/grant.sock
GROUP=vigil-sudo
FLOOD=10000
EVE_UID=20004
CAROL_UID=20005

setup() {
    e2e_setup_system
    e2e_add_user vgl-eve "$EVE_UID" || return 1
    e2e_add_user vgl-carol "$CAROL_UID" || return 1
    pam_sudo_vigil timeout=3000
    pam_sshd_vigil timeout=3000
    # [grants] rate settings left at their defaults: what an admin gets.
    {
        cat <<EOF
[grants]
table = "$T/state/grants"
max = "1h"

[[grants.group]]
name = "$GROUP"
gid = 64201

[[rule]]
name = "ops may elevate"
services = ["elevate"]
groups = ["vgl-ops"]
decision = "allow"
session_max = "30m"

[[rule]]
name = "carol may elevate"
services = ["elevate"]
users = ["vgl-carol"]
decision = "allow"

EOF
        standard_rules
    } | write_config "$T/vigil.toml"
    install -m 0644 "$E2E_LIB_DIR/grant_client.py" "$T/grant_client.py"
    agent_start "$T/vigil.toml" && sshd_start || return 1
    [ -S "$GRANT_SOCK" ] || { fail "no grant socket at $GRANT_SOCK"; return 1; }
}
tap_case "setup: vigild with [grants] (rate at its defaults), sshd and sudo through pam_vigil.so" setup ||
    e2e_abort "vigild or sshd did not start"

# ask USER JSON: USER sends one grant request on the socket; the answer's
# JSON goes to $T/answer.json and ANSWER.
ask() {
    ANSWER=$(setpriv --reuid="$1" --regid="$1" --clear-groups /usr/bin/python3 "$T/grant_client.py" \
        "$GRANT_SOCK" "$2" 2>&1)
    printf '%s\n' "$ANSWER" >"$T/answer.json"
}

# trail_count EVENT USER: records of EVENT for USER since audit_mark.
trail_count() {
    tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | python3 -c '
import json, sys
event, user = sys.argv[1:3]
print(sum(1 for line in sys.stdin
          if (lambda r: r.get("event") == event and r.get("user") == user)(json.loads(line))))' "$1" "$2"
}

# The newest grant_request record for USER goes to $T/last-record.json.
last_grant_record() {
    python3 - "$AUDIT_LOG" "$1" >"$T/last-record.json" <<'EOF'
import json, sys
last = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event") == "grant_request" and r.get("user") == sys.argv[2]:
        last = r
print(json.dumps(last))
EOF
}

REASON="INC-1 fix the disk"
granted_record() {
    audit_mark
    ask 20001 "{\"group\": \"$GROUP\", \"seconds\": 7200, \"reason\": \"$REASON\"}"
    json_expect "vgl-alice's answer" "$T/answer.json" granted=true group="$GROUP" || return 1
    [ "$(trail_count grant_request vgl-alice)" -eq 1 ] ||
        { fail "expected 1 grant_request record for vgl-alice"; note "audit log" "$AUDIT_LOG" 3; return 1; }
    last_grant_record vgl-alice
    # Asked 2h; [grants] max is 1h and the rule's session_max 30m: 1800 s.
    json_expect "vgl-alice's grant_request record" "$T/last-record.json" outcome=allow grant.group="$GROUP" \
        grant.asked_seconds=7200 grant.granted_seconds=1800 purpose="$REASON"
}
tap_case "a decided grant's record names the group, the length asked (7200 s) and granted (1800 s), and the reason" \
    granted_record

not_offered() {
    audit_mark
    local q
    for q in "{\"group\": \"vgl-ops\", \"seconds\": 600, \"reason\": \"INC-2 a group not offered\"}" \
        "{\"account\": \"root\", \"seconds\": 600, \"reason\": \"INC-2 an account not offered\"}"; do
        ask 20002 "$q"
        json_expect "vgl-mallory asking $q" "$T/answer.json" granted=false '!request_id' \
            'reason~not one this host grants' || return 1
    done
    local n
    n=$(trail_count grant_request vgl-mallory)
    [ "$n" -eq 0 ] || { fail "$n decision records for requests [grants] does not offer"; note "audit log" "$AUDIT_LOG" 3; return 1; }
}
tap_case "a group or account [grants] does not list is refused before any decision: no grant_request record" \
    not_offered

# Reasons a requester might type to reach the admin's terminal or forge a
# line of the trail's readers, each with the words of its refusal.
hostile_reasons() {
    audit_mark
    python3 - >"$T/hostile.tsv" <<'EOF'
import json
group = "vigil-sudo"
# A later grant of the group to the same user replaces the earlier row, so
# the escape comes last: were it granted, `grant list` would show it.
cases = [
    ("INC-3 " + "x" * 300, "too long"),
    ("short", "at least 8 characters"),
    ("INC-3 \u202etxt.exe", "control character"),
    ("INC-3 ok\nvigil-sudo  vgl-alice  (forged row)", "control character"),
    ("INC-3 \x1b]0;owned\x07\x1b[2J\x1b[Hall clear\nvgl-alice  vigil-sudo  (forged row)", "control character"),
]
for reason, want in cases:
    print(json.dumps({"group": group, "seconds": 600, "reason": reason}) + "\t" + want)
EOF
    local q want bad=0
    while IFS=$'\t' read -r q want; do
        ask "$CAROL_UID" "$q"
        json_expect "vgl-carol's request $(printf '%q' "${q:0:60}")" "$T/answer.json" granted=false '!request_id' \
            "reason~$want" || bad=1
    done <"$T/hostile.tsv"
    local n
    n=$(trail_count grant_request vgl-carol)
    [ "$n" -eq 0 ] || { fail "$n decision records for refused reasons"; note "audit log" "$AUDIT_LOG" 3; bad=1; }
    # What the admin's terminal would get: no escape, no carriage return,
    # one line per live grant under the header.
    local out live lines
    out=$("$VIGILCTL" --socket "$ADMIN_SOCK" grant list 2>&1) || { fail "vigilctl grant list failed"; note_text "output" "$out"; return 1; }
    live=$("$VIGILCTL" --socket "$ADMIN_SOCK" grant list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["grants"]))')
    lines=$(printf '%s\n' "$out" | wc -l)
    if printf '%s' "$out" | grep -q $'[\x1b\r\x07]'; then
        fail "vigilctl grant list printed a raw control character"
        note_text "output (cat -v)" "$(printf '%s\n' "$out" | cat -v)"
        return 1
    fi
    [ "$lines" -eq $((live + 1)) ] ||
        { fail "vigilctl grant list printed $lines lines for $live grants"; note_text "output (cat -v)" "$(printf '%s\n' "$out" | cat -v)"; return 1; }
    echo "# vigilctl grant list: $live live grant(s), no raw control character"
    return "$bad"
}
tap_case "reasons with a terminal escape, a newline, a bidi override, 300 bytes or under 8 characters: refused undecided; grant list shows nothing raw" \
    hostile_reasons

# Logins during the flood: alice over ssh and through sudo, both allowed by
# the rules, round after round while the flood runs (a round that began
# during it says so), and once more after. Each check appends "ok" or what
# failed.
checks_while() { # PID
    local n=0 during
    while kill -0 "$1" 2>/dev/null || [ "$n" -lt 1 ]; do
        n=$((n + 1))
        during=""
        kill -0 "$1" 2>/dev/null && during=" during"
        ssh_login vgl-alice true
        [ "$SSH_RC" -eq 0 ] && echo "ssh ok$during" || echo "ssh FAILED rc $SSH_RC: $SSH_OUT"
        sudo_as vgl-alice id -u
        [ "$SUDO_RC" -eq 0 ] && [ "$SUDO_OUT" = 0 ] && echo "sudo ok$during" || echo "sudo FAILED rc $SUDO_RC: $SUDO_OUT"
    done
}

# Denser: sudo's account phase through pam_vigil.so (the PAM harness, as
# sudo would load it), back to back while the flood runs.
harness_while() { # PID
    local out
    while kill -0 "$1" 2>/dev/null; do
        if out=$("$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sudo --user vgl-alice --tty /dev/pts/0 \
            --invoker vgl-alice 2>&1); then
            echo "pam ok"
        else
            echo "pam FAILED: $out"
        fi
    done
}

# Counts and sizes of what the trail gained since audit_mark, as JSON.
trail_growth() {
    tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | python3 -c '
import json, sys
eve_uid = int(sys.argv[1])
out = {"records": 0, "bytes": 0, "eve_decided": 0, "eve_bytes": 0, "summaries": 0,
       "summary_bytes": 0, "eve_summarised": 0, "largest": 0, "other": {}}
for line in sys.stdin:
    r = json.loads(line)
    size = len(line.encode())
    out["records"] += 1
    out["bytes"] += size
    out["largest"] = max(out["largest"], size)
    if r.get("event") == "grant_request" and r.get("user") == "vgl-eve":
        out["eve_decided"] += 1
        out["eve_bytes"] += size
    elif r.get("event") == "grant_requests_refused":
        out["summaries"] += 1
        out["summary_bytes"] += size
        out["eve_summarised"] += sum(u["count"] for u in r.get("uids", []) if u.get("uid") == eve_uid)
    else:
        key = "%s/%s" % (r.get("event"), r.get("user"))
        out["other"][key] = out["other"].get(key, 0) + 1
print(json.dumps(out))' "$EVE_UID"
}
eve_summarised_yet() {
    tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | grep '"event":"grant_requests_refused"' | grep -q "\"uid\":$EVE_UID,"
}
field_of() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

flood() {
    audit_mark
    local bytes_before t0 t1
    bytes_before=$(stat -c %s "$AUDIT_LOG")
    t0=$(now_ms)
    # Every request well formed, for the offered group, with a good reason:
    # each would be decided (vgl-eve is in no rule: a deny) were it not for
    # the rate limit.
    setpriv --reuid="$EVE_UID" --regid="$EVE_UID" --clear-groups /usr/bin/python3 "$T/grant_client.py" \
        "$GRANT_SOCK" "{\"group\": \"$GROUP\", \"seconds\": 600, \"reason\": \"INC-9 request %d\"}" \
        --count "$FLOOD" >"$T/flood.json" 2>"$T/flood.err" &
    local flood_pid=$!
    e2e_track "$flood_pid"
    checks_while "$flood_pid" >"$T/checks.txt" &
    local checks_pid=$!
    e2e_track "$checks_pid"
    harness_while "$flood_pid" >"$T/harness.txt"
    wait "$flood_pid" || { fail "the flood client failed"; note "flood" "$T/flood.err"; return 1; }
    t1=$(now_ms)
    wait "$checks_pid"
    local tally elapsed_s
    tally=$(cat "$T/flood.json")
    elapsed_s=$(((t1 - t0 + 999) / 1000))
    echo "# vgl-eve's $FLOOD requests in ${elapsed_s} s: $tally"
    echo "# the trail grew by $(($(stat -c %s "$AUDIT_LOG") - bytes_before)) bytes during the flood: $(trail_growth)"
    echo "# during the flood: $(grep -c 'ssh ok during' "$T/checks.txt") ssh logins and" \
        "$(grep -c 'sudo ok during' "$T/checks.txt") sudo runs allowed (real sshd, sudo)," \
        "$(grep -c 'pam ok' "$T/harness.txt") sudo account decisions through pam_vigil.so allowed"
    if grep -q FAILED "$T/checks.txt" "$T/harness.txt"; then
        fail "sshd or sudo did not answer as the rules say during the flood"
        note "checks" "$T/checks.txt" 10
        note "pam harness" "$T/harness.txt" 5
        note_logs
        return 1
    fi
    [ "$(grep -c 'pam ok' "$T/harness.txt")" -ge 1 ] || { fail "no PAM request ran during the flood"; return 1; }
    # Others are still decided while vgl-eve is held back.
    ask 20001 "{\"group\": \"$GROUP\", \"seconds\": 600, \"reason\": \"INC-10 after the flood\"}"
    json_expect "vgl-alice's request after the flood" "$T/answer.json" granted=true || return 1
    ssh_login vgl-alice true
    expect_rc "ssh vgl-alice after the flood" 0 "$SSH_RC" "$SSH_OUT" || return 1
    sudo_as vgl-alice id -u
    expect_rc "sudo vgl-alice after the flood" 0 "$SUDO_RC" "$SUDO_OUT" || return 1

    local sent decided undecided
    sent=$(field_of "$tally" sent) decided=$(field_of "$tally" decided) undecided=$(field_of "$tally" undecided)
    [ "$sent" -eq "$FLOOD" ] || { fail "the client sent $sent requests, not $FLOOD"; return 1; }
    # The bound on decisions: the burst (5), plus one each 15 s of the flood,
    # plus one for the interval the flood started in.
    local bound=$((5 + elapsed_s / 15 + 1))
    [ "$decided" -le "$bound" ] ||
        { fail "$decided of vgl-eve's requests were decided in $elapsed_s s; at most $bound may be (5 at once, then one each 15 s)"; return 1; }
    # The journal: a warning at the 1st, 2nd, 4th... refusal, so about
    # log2(refusals) lines, the last naming 8192 for some 10,000 refusals.
    local logged top
    logged=$(grep -c "grant requests of uid $EVE_UID (vgl-eve): [0-9]* refused since" "$AGENT_LOG")
    top=$(grep -o "grant requests of uid $EVE_UID (vgl-eve): [0-9]* refused" "$AGENT_LOG" | grep -o '[0-9]* refused' | sort -n | tail -1)
    echo "# vigild's log: $logged warnings for vgl-eve, the last: $top"
    { [ "$logged" -ge 1 ] && [ "$logged" -le 20 ]; } ||
        { fail "expected 1 to 20 warnings about vgl-eve's refusals, found $logged"; note_logs; return 1; }
    [ "${top% refused}" -gt $((undecided / 2)) ] ||
        { fail "the last warning ($top) does not show the flood's size ($undecided refused)"; note_logs; return 1; }
    # The trail, while vigild runs: refusals are summed up at most once a
    # minute (the earlier cases' refusals took this minute's first record),
    # so vgl-eve's appear within about a minute, written by vigild's own
    # thread.
    local waited=0
    until eve_summarised_yet; do
        [ "$waited" -lt 90 ] ||
            { fail "no grant_requests_refused record for vgl-eve 90 s after the flood"; note "audit log" "$AUDIT_LOG" 3; note_logs; return 1; }
        sleep 1
        waited=$((waited + 1))
    done
    echo "# the trail summed up vgl-eve's refusals while vigild ran, ${waited} s after the flood"
    "$VIGILCTL" --socket "$ADMIN_SOCK" ping >/dev/null || { fail "vigild does not answer"; note_logs; return 1; }
    # vigild stops: it writes what it still counts.
    agent_stop || return 1
    elapsed_s=$((($(now_ms) - t0 + 999) / 1000))
    local g
    g=$(trail_growth)
    echo "# the trail grew by $(($(stat -c %s "$AUDIT_LOG") - bytes_before)) bytes: $g"
    [ "$(field_of "$g" eve_decided)" -eq "$decided" ] ||
        { fail "the trail holds $(field_of "$g" eve_decided) decisions for vgl-eve; the client saw $decided"; return 1; }
    [ "$(field_of "$g" eve_summarised)" -eq "$undecided" ] ||
        { fail "the summaries count $(field_of "$g" eve_summarised) refusals of vgl-eve; the client saw $undecided"; note "audit log" "$AUDIT_LOG" 3; return 1; }
    # At most one summary a minute, the first at once, one more at the stop.
    local summaries_bound=$((elapsed_s / 60 + 2))
    [ "$(field_of "$g" summaries)" -le "$summaries_bound" ] ||
        { fail "$(field_of "$g" summaries) summary records in ${elapsed_s} s; at most $summaries_bound"; return 1; }
    # Bytes: every record is under 4 KiB, so vgl-eve's share of the trail is
    # at most (decisions bound + summaries bound) * 4 KiB, whatever the
    # number of requests (10,000 decisions would be some 10 MB).
    local eve_bytes=$(($(field_of "$g" eve_bytes) + $(field_of "$g" summary_bytes)))
    local byte_bound=$(((bound + summaries_bound) * 4096))
    [ "$(field_of "$g" largest)" -lt 4096 ] || { fail "a record of $(field_of "$g" largest) bytes"; return 1; }
    [ "$eve_bytes" -le "$byte_bound" ] ||
        { fail "vgl-eve's requests cost the trail $eve_bytes bytes; the bound is $byte_bound"; return 1; }
    echo "# vgl-eve's share of the trail: $eve_bytes bytes (bound $byte_bound)"
    local out
    out=$("$VIGILCTL" audit verify "$AUDIT_LOG" 2>&1) || { fail "the trail does not verify"; note_text "audit verify" "$out"; return 1; }
}
tap_case "vgl-eve loops $FLOOD grant requests: sshd and sudo answer throughout, at most 5+t/15 s+1 are decided, the rest counted in the trail and the log" \
    flood

agent_alive_after() {
    agent_stop || return 1  # when the case above ended early
    agent_start "$T/vigil.toml" vigild-again || return 1
    ask "$EVE_UID" "{\"group\": \"$GROUP\", \"seconds\": 600, \"reason\": \"INC-11 after a restart\"}"
    echo "# vgl-eve after vigild restarted: $(cat "$T/answer.json")"
    local out
    out=$("$VIGILCTL" audit verify "$AUDIT_LOG" 2>&1) || { fail "the trail does not verify"; note_text "audit verify" "$out"; }
}
tap_case "vigild starts again on the same trail, which verifies" agent_alive_after
