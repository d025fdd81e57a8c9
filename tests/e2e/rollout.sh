#!/bin/bash
# Rolling vigil out without locking anyone out (issue 14), with real sshd
# and sudo. Report mode ([rollout]) decides every request as enforce mode
# would, records "would_deny" with the full reason, and lets the rest of the
# PAM stack decide; the user sees nothing. A SIGHUP with the service set to
# enforce denies the next request; a config that fails to load at reload
# leaves the running policy serving. Break-glass (breakglass= on the PAM
# line) lets its group in with vigild stopped, never when vigild answers
# deny, never someone outside the group; the module spools each use and
# vigild takes it into its trail when it runs again. `vigilctl report`
# counts what the trail holds.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 12

BG_GROUP=vigil-breakglass # the name the shipped examples use
SPOOL=$T/state/breakglass

# Report mode everywhere, then the rest of the stack decides (pam_permit
# stands for pam_unix and friends): vigil's pass must not be an allow of
# its own, nor a deny.
write_rollout_config() { # MODE [SERVICES-TABLE]
    {
        standard_rules
        printf '\n[rollout]\nmode = "%s"\n' "$1"
        [ -n "${2:-}" ] && printf 'services = %s\n' "$2"
    } | write_config "$T/vigil.toml"
}

pam_stacks() {
    write_pam sshd <<EOF
auth required pam_permit.so
$(vigil_pam account timeout=3000 failmode=secure)
account required pam_permit.so
$(vigil_pam session timeout=3000 failmode=secure)
session required pam_permit.so
EOF
    write_pam sudo <<EOF
auth required pam_permit.so
$(vigil_pam account timeout=3000 failmode=secure)
account required pam_permit.so
session required pam_permit.so
EOF
}

setup() {
    e2e_setup_system
    echo "$BG_GROUP:x:20200:vgl-bob" >>"$T/etc/group"
    write_rollout_config report
    pam_stacks
    agent_start "$T/vigil.toml" && sshd_start
}
tap_case "setup: vigild in report mode, sshd, sudo" setup || e2e_abort "vigild or sshd did not start"

report_lets_in() {
    audit_mark
    ssh_login vgl-mallory id -un
    expect_rc "ssh vgl-mallory (a deny rule names her) in report mode" 0 "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    expect_not_contains "what vgl-mallory saw" "$SSH_OUT" "suspended"
    audit_expect vgl-mallory sshd outcome=would_deny mode=report "rule=mallory is suspended" \
        "reason_admin~mallory is suspended" "reason_user~SEC-42"
}
tap_case "report mode: a would-be-denied ssh login gets in, the trail says would_deny and why" report_lets_in

report_sudo() {
    audit_mark
    sudo_as vgl-bob id -u
    expect_rc "sudo vgl-bob (no rule allows him) in report mode" 0 "$SUDO_RC" "$SUDO_OUT" || return 1
    audit_expect vgl-bob sudo outcome=would_deny mode=report
    sudo_as vgl-alice id -u
    expect_rc "sudo vgl-alice (allowed) in report mode" 0 "$SUDO_RC" "$SUDO_OUT" || return 1
    audit_expect vgl-alice sudo outcome=allow mode=report
}
tap_case "report mode: sudo would-be-denied passes, an allow is recorded as allow" report_sudo

report_dry_run() {
    local out
    out=$("$VIGILCTL" --socket "$ADMIN_SOCK" decide --user vgl-mallory --service sshd --rhost 127.0.0.1 2>&1)
    expect_match "vigilctl decide" "$out" '^outcome: +would_deny$' &&
        expect_match "vigilctl decide" "$out" '^mode: +report'
    out=$("$VIGILCTL" --socket "$ADMIN_SOCK" status --json 2>&1)
    printf '%s' "$out" >"$T/status.json"
    json_expect "vigilctl status --json" "$T/status.json" rollout.mode=report rollout.would_deny_last_hour=2
}
tap_case "vigilctl decide and status say report mode" report_dry_run

# Every count vigilctl report gives, recomputed from the trail here.
report_matches_trail() {
    "$VIGILCTL" report --trail "$AUDIT_LOG" --since 1h --json >"$T/report.json" 2>&1 ||
        { fail "vigilctl report failed"; note "output" "$T/report.json"; return 1; }
    python3 - "$AUDIT_LOG" "$T/report.json" >"$T/report-check" 2>&1 <<'EOF'
import json, sys
trail = [json.loads(l) for l in open(sys.argv[1])]
rep = json.load(open(sys.argv[2]))
rm = [r for r in trail if r.get("mode") == "report"]
bad = []
def want(what, got, exp):
    if got != exp:
        bad.append("%s: report says %r, the trail %r" % (what, got, exp))
want("report-mode decisions", rep["report_mode_decisions"], len(rm))
for o in set(r["outcome"] for r in rm):
    want("outcome " + o, rep["outcomes"].get(o), sum(1 for r in rm if r["outcome"] == o))
refused = [r for r in rm if r["outcome"] != "allow"]
for u in set(r["user"] for r in refused):
    want("would be refused for " + u, rep["would_be_refused"]["by_user"].get(u), sum(1 for r in refused if r["user"] == u))
want("mallory's rule", rep["would_be_refused"]["by_rule"].get("mallory is suspended"),
     sum(1 for r in refused if r["rule"] == "mallory is suspended"))
if "vgl-mallory" not in rep["locked_out"] or "vgl-bob" not in rep["locked_out"]:
    bad.append("locked_out %r lacks vgl-mallory or vgl-bob" % rep["locked_out"])
if "vgl-alice" in rep["locked_out"]:
    bad.append("locked_out names vgl-alice, who was allowed")
if len(rm) < 4:
    bad.append("only %d report-mode records in the trail" % len(rm))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
    local rc=$?
    [ "$rc" -eq 0 ] || { fail "vigilctl report does not match the trail: $(cat "$T/report-check")"; return 1; }
    local text
    text=$("$VIGILCTL" report --trail "$AUDIT_LOG" --since 1h 2>&1)
    expect_contains "vigilctl report" "$text" "mallory is suspended"
}
tap_case "vigilctl report: counts by outcome, rule and user match the trail; who would be locked out" report_matches_trail

# sshd to enforce, sudo left in report mode: config change + SIGHUP.
to_enforce() {
    write_rollout_config report '{ sshd = "enforce" }'
    kill -HUP "$AGENT_PID"
    wait_for 5 grep -q "reloaded" "$AGENT_LOG" || { fail "vigild did not log a reload"; note_logs; return 1; }
    audit_mark
    ssh_login vgl-mallory id -un
    expect_nonzero "ssh vgl-mallory after sshd switched to enforce" "$SSH_RC" "$SSH_OUT" || return 1
    no_line vgl-mallory "$SSH_OUT" "the remote command ran" || return 1
    audit_expect vgl-mallory sshd outcome=deny '!mode'
    sudo_as vgl-bob id -u
    expect_rc "sudo vgl-bob (sudo still in report mode)" 0 "$SUDO_RC" "$SUDO_OUT"
}
tap_case "SIGHUP with sshd set to enforce: the next ssh login is denied; sudo still reports" to_enforce

bad_reload() {
    local before
    before=$(wc -l <"$AGENT_LOG")
    printf '[rollout]\nmode = "enforced"\n' | write_config "$T/vigil.toml"
    kill -HUP "$AGENT_PID"
    wait_for 5 sh -c "tail -n +$((before + 1)) '$AGENT_LOG' | grep -q 'reload refused'" ||
        { fail "vigild did not refuse the bad config"; note_logs; return 1; }
    expect_match "why" "$(tail -n +$((before + 1)) "$AGENT_LOG")" 'vigil\.toml:[0-9]+: rollout\.mode must be "enforce" or "report"'
    # The old policy serves: sshd enforced, sudo reported.
    ssh_login vgl-mallory id -un
    expect_nonzero "ssh vgl-mallory under the kept policy" "$SSH_RC" "$SSH_OUT"
    sudo_as vgl-bob id -u
    expect_rc "sudo vgl-bob under the kept policy" 0 "$SUDO_RC" "$SUDO_OUT"
    write_rollout_config enforce
    kill -HUP "$AGENT_PID"
}
tap_case "a config that fails at reload is refused with file:line; the running policy keeps serving" bad_reload

# Break-glass from here on, with the shipped conf/pam.d/*-breakglass.example
# lines (pointed at this test's agent and spool), every service enforced.
pam_from_example() { # SERVICE
    {
        echo "auth required pam_permit.so"
        grep -v '^#' "$SRCDIR/conf/pam.d/$1-breakglass.example" |
            sed -e "s#pam_vigil\.so\(.*\)\$#$PAM_VIGIL socket=$PAM_SOCK\1 breakglass_dir=$SPOOL#"
        echo "account required pam_permit.so"
        echo "session required pam_permit.so"
    } | write_pam "$1"
}

breakglass_denied_when_answered() {
    pam_from_example sshd && pam_from_example sudo
    grep -q "breakglass=$BG_GROUP breakglass_dir=" "$T/etc/pam.d/sudo" ||
        { fail "the example's lines did not become the test's"; note "pam.d/sudo" "$T/etc/pam.d/sudo"; return 1; }
    audit_mark
    ssh_login vgl-bob id -un
    expect_nonzero "ssh vgl-bob (break-glass member) while vigild answers deny" "$SSH_RC" "$SSH_OUT" || return 1
    audit_expect vgl-bob sshd outcome=deny
    sudo_as vgl-bob id -u
    expect_nonzero "sudo vgl-bob while vigild answers deny" "$SUDO_RC" "$SUDO_OUT"
    [ -z "$(ls -A "$SPOOL" 2>/dev/null)" ] || fail "the spool holds something: $(ls "$SPOOL")"
}
tap_case "break-glass: a member is denied when vigild answers deny" breakglass_denied_when_answered

breakglass_down() {
    [ "$(stat -c '%u %a' "$SPOOL")" = "0 700" ] || fail "the spool is not root's 0700: $(stat -c '%u %a' "$SPOOL")"
    agent_stop || return 1
    ssh_login vgl-bob id -un
    expect_rc "ssh vgl-bob (break-glass member) with vigild stopped" 0 "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    sudo_as vgl-bob id -u
    expect_rc "sudo vgl-bob with vigild stopped" 0 "$SUDO_RC" "$SUDO_OUT" || return 1
    # One use per phase let through: account and open_session, for sshd and
    # for sudo (closing a session needs no decision).
    local n
    n=$(find "$SPOOL" -type f | wc -l)
    [ "$n" -eq 4 ] || fail "the spool holds $n file(s), expected 4 (account and session, sshd and sudo)"
}
tap_case "break-glass: with vigild stopped, a member gets in by ssh and sudo; each use is spooled" breakglass_down

breakglass_outsider() {
    ssh_login vgl-alice id -un
    expect_nonzero "ssh vgl-alice (not in $BG_GROUP) with vigild stopped" "$SSH_RC" "$SSH_OUT" || return 1
    sudo_as vgl-alice id -u
    expect_nonzero "sudo vgl-alice with vigild stopped" "$SUDO_RC" "$SUDO_OUT"
}
tap_case "break-glass: with vigild stopped, a user outside the group is denied" breakglass_outsider

breakglass_recorded() {
    local spooled
    spooled=$(find "$SPOOL" -type f | wc -l)
    audit_mark
    agent_start "$T/vigil.toml" || return 1
    wait_for 10 sh -c "[ -z \"\$(ls -A '$SPOOL')\" ]" || fail "vigild left the spool: $(ls "$SPOOL")"
    tail -n +$((AUDIT_MARK + 1)) "$AUDIT_LOG" | python3 -c '
import json, sys
want = int(sys.argv[1])
recs = [json.loads(l) for l in sys.stdin]
bg = [r for r in recs if r.get("event") == "break_glass"]
bad = []
if len(bg) != want: bad.append("%d break_glass records, expected %d" % (len(bg), want))
for r in bg:
    if r.get("user") != "vgl-bob" or r.get("group") != "vigil-breakglass" or r.get("recorded_by") != "pam_vigil":
        bad.append("record %r" % r)
    if "unreachable" not in r.get("why", ""): bad.append("why %r" % r.get("why"))
if {r.get("service") for r in bg} != {"sshd", "sudo"}: bad.append("services %r" % {r.get("service") for r in bg})
print("\n".join(bad)); sys.exit(1 if bad else 0)' "$spooled" >"$T/bg-check" 2>&1 ||
        { fail "trail: $(cat "$T/bg-check")"; return 1; }
    "$VIGILCTL" audit verify "$AUDIT_LOG" >/dev/null || fail "the trail's chain does not verify"
    "$VIGILCTL" --socket "$ADMIN_SOCK" status --json >"$T/status.json" 2>&1
    json_expect "vigilctl status --json" "$T/status.json" "break_glass.total=$spooled" break_glass.recent.0.user=vgl-bob
    expect_contains "vigild's log" "$(cat "$AGENT_LOG")" "break-glass: vgl-bob (group vigil-breakglass) was let through"
}
tap_case "break-glass: vigild back takes each spooled use into the trail, status shows them" breakglass_recorded

breakglass_report() {
    "$VIGILCTL" report --trail "$AUDIT_LOG" --since 1h --json >"$T/report.json" 2>&1
    local want
    want=$(grep -c '"event":"break_glass"' "$AUDIT_LOG")
    json_expect "vigilctl report" "$T/report.json" "break_glass=$want"
}
tap_case "vigilctl report counts the break-glass uses" breakglass_report
