#!/bin/bash
# vigil in under a minute: real OpenSSH and real sudo on this machine ask
# vigild for every login and every sudo, and the script narrates what
# happens: rules allowing and denying, the EDR sensor stopping (the next sudo
# denied, a live session ended), a TOTP step-up, a session limit running out
# after a warning, a just-in-time grant and its expiry, the agent gone, and
# the decision trail.
#
#   scripts/demo.sh [BUILD_DIR]        (what `make demo` runs; needs root)
#
# Everything happens inside a private mount namespace: the demo users, PAM
# files, sudoers, nsswitch.conf, libnss_vigil.so.2, its grant table and a
# systemd --user manager (running the unit that stands for the EDR sensor)
# exist there only and vanish when the demo ends. The host's /etc is never
# written. Exits 0 only if every step behaved as narrated.
set -u
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${VIGIL_E2E_HOST_MNTNS:-}" ]; then
    BUILD_DIR=${1:-${BUILD_DIR:-$SRCDIR/build}}
    case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
fi
export SRCDIR BUILD_DIR E2E_NO_TAP=1
. "$SRCDIR/tests/e2e/lib.sh"
. "$SRCDIR/tests/e2e/systemd_user.sh"
if [ -z "${VIGIL_E2E_HOST_MNTNS:-}" ]; then
    missing=""
    [ -e "$NSS_VIGIL" ] || missing="$missing $NSS_VIGIL"
    for b in expect systemd dbus-daemon; do command -v "$b" >/dev/null 2>&1 || missing="$missing $b"; done
    if [ -n "$missing" ]; then
        echo "missing:$missing (run 'make' and 'scripts/deps.sh test', or just 'make demo')" >&2
        exit 1
    fi
fi
e2e_enter_ns "$@"

if [ -t 1 ]; then
    B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'
else
    B="" G="" R="" D="" N=""
fi
STEP=0
STEPS_BAD=0 # steps with at least one unexpected outcome
STEP_BAD=0

say() { printf '%s\n' "$*"; }
# The command the user would type, then what they saw, indented.
shown() { printf '    %s$ %s%s\n' "$D" "$1" "$N"; }
saw() { [ -n "$1" ] && printf '%s\n' "$1" | tr -d '\r' | grep -v '^Warning: Permanently added' | grep -v '^$' | sed 's/^/      | /'; }
step() {
    STEP=$((STEP + 1)) STEP_BAD=0
    printf '\n%s%d. %s%s\n' "$B" "$STEP" "$*" "$N"
}
as_narrated() { printf '    %s[as narrated]%s %s\n' "$G" "$N" "$*"; }
unexpected() {
    printf '    %s[UNEXPECTED]%s %s\n' "$R" "$N" "$*"
    TAP_FAILED=$((TAP_FAILED + 1))
    [ "$STEP_BAD" -eq 0 ] && STEPS_BAD=$((STEPS_BAD + 1))
    STEP_BAD=1
    [ -s "$DIAG" ] && sed 's/^/      # /' "$DIAG"
    : >"$DIAG"
}
# why USER SERVICE [RHOST]: vigilctl's explanation of the decision.
why() {
    local args=(--socket "$ADMIN_SOCK" decide --user "$1" --service "$2")
    [ -n "${3:-}" ] && args+=(--rhost "$3")
    printf '    why? %s$ vigilctl decide --user %s --service %s%s%s\n' "$D" "$1" "$2" \
        "${3:+ --rhost $3}" "$N"
    "$VIGILCTL" "${args[@]}" 2>&1 | sed 's/^/      | /'
}
# decides USER SERVICE OUTCOME: vigild would decide so now (a dry run).
decides() {
    "$VIGILCTL" --socket "$ADMIN_SOCK" decide --user "$1" --service "$2" 2>/dev/null | grep -q "^outcome: *$3\$"
}
# run_as USER COMMAND: runs a shell command as USER (a fresh login's groups).
run_as() { (cd / && timeout 30 su "$1" -s /bin/sh -c "$2" 2>&1 </dev/null); }
# session_ended USER: the trail has a session_end record for USER.
session_ended() { grep '"event":"session_end"' "$AUDIT_LOG" | grep -q "\"user\":\"$1\""; }
# The newest trail record of EVENT for USER, one field of it.
last_record() { # EVENT USER FIELD
    python3 - "$AUDIT_LOG" "$@" <<'EOF'
import json, sys
path, event, user, field = sys.argv[1:5]
last = {}
for line in open(path):
    r = json.loads(line)
    if r.get("event") == event and r.get("user") == user:
        last = r
v = last
for part in field.split("."):
    v = v.get(part, "") if isinstance(v, dict) else ""
print(v)
EOF
}

EDR=edr-sensor.service
ANSWER=$SRCDIR/tests/e2e/step_up_answers.exp
ONCALL=vgl-oncall
E2E_USERS="$E2E_USERS vgl-carol:20004"

# ------------------------------------------------------------ set-up ----
e2e_setup_system
# sudoers: alice and mallory without a password, carol with authentication
# (her second factor is the authentication), bob only through the on-call
# group a grant gives him.
cat >"$T/etc/sudoers" <<EOF
Defaults !lecture
Defaults !syslog
Defaults env_reset
root ALL=(ALL:ALL) ALL
vgl-alice ALL=(ALL:ALL) NOPASSWD: ALL
vgl-mallory ALL=(ALL:ALL) NOPASSWD: ALL
vgl-carol ALL=(ALL:ALL) ALL
%$ONCALL ALL=(ALL:ALL) NOPASSWD: ALL
EOF
e2e_nss_vigil || e2e_abort "libnss_vigil.so.2 could not be put in place"
if ! { sdu_start "$T/sdu" && sdu_unit "$EDR" "ExecStart=/bin/sleep infinity" && sdu_start_unit "$EDR"; }; then
    e2e_abort "systemd --user or the unit standing for the EDR sensor did not start"
fi
sed -e "s|^socket = .*|socket = \"$PAM_SOCK\"|" \
    -e "s|^admin_socket = .*|admin_socket = \"$ADMIN_SOCK\"|" \
    -e "s|^grant_socket = .*|grant_socket = \"$T/run/grant.sock\"|" \
    -e "s|^audit_log = .*|audit_log = \"$AUDIT_LOG\"|" \
    -e "s|^state_dir = .*|state_dir = \"$T/state\"|" \
    -e "s|^store_dir = .*|store_dir = \"$T/totp\"|" \
    "$SRCDIR/tests/e2e/demo.toml" >"$T/vigil.toml"
chmod 600 "$T/vigil.toml"
pam_sshd_vigil timeout=3000 failmode=secure
# sudo's auth phase asks for a second factor when the policy wants one (the
# factor alone: the demo users have no passwords); the account phase decides.
write_pam sudo <<EOF
auth [success=done ignore=ignore default=die] $PAM_VIGIL socket=$PAM_SOCK timeout=5000
auth required pam_permit.so
$(vigil_pam account timeout=3000 failmode=secure)
session required pam_permit.so
EOF
if ! "$VIGILD" --check --config "$T/vigil.toml" >"$T/check.out" 2>&1; then
    cat "$T/check.out" >&2
    e2e_abort "vigild --check rejects the demo policy"
fi
agent_start "$T/vigil.toml" || e2e_abort "vigild did not start"
sshd_start || e2e_abort "sshd did not start"
wait_for 10 decides vgl-alice sudo allow || e2e_abort "vigild never saw $EDR active"

say "${B}vigil demo${N}: every SSH login and every sudo on this host asks vigild first."
say ""
say "  Real OpenSSH listens on 127.0.0.1:$SSHD_PORT and real sudo is on the PATH; both"
say "  run pam_vigil.so, which asks vigild (pid $AGENT_PID) over a root-only unix socket."
say "  A systemd --user manager runs $EDR, standing for the EDR sensor;"
say "  libnss_vigil.so.2 serves the groups vigild grants. In this private mount namespace:"
say "    vgl-alice    group vgl-ops                 sudoers: NOPASSWD"
say "    vgl-mallory  group vgl-ops, suspended      sudoers: NOPASSWD"
say "    vgl-bob      no ops group                  sudoers: only through %$ONCALL"
say "    vgl-carol    a contractor                  sudoers: with authentication"
say "  The policy (tests/e2e/demo.toml):"
awk -F' = ' '
    function flush() {
        if (!inrule || name == "") return
        line = dec (step != "" ? " (" step ")" : "") (max != "" ? ", for up to " max : "")
        if (req != "") line = line ", while " req
        if (why != "") line = line "  (user sees: " why ")"
        printf "    %-28s -> %s\n", name, line
    }
    /^\[/ { flush(); name = dec = why = max = req = step = ""; inrule = /^\[\[rule\]\]/; next }
    $1 == "name" { name = $2 } $1 == "decision" { dec = $2 } $1 == "reason" { why = $2 }
    $1 == "session_max" { max = $2 } $1 == "step_up" { step = $2 }
    $1 == "require" { req = $2; gsub(/[][]/, "", req) }
    END { flush() }' "$SRCDIR/tests/e2e/demo.toml" | tr -d '"'
say "    no rule matches -> deny        a deny rule beats any allow rule"

# ------------------------------------------------------------- steps ----
step "vgl-alice (vgl-ops) logs in over SSH with her key."
shown "ssh -p $SSHD_PORT vgl-alice@127.0.0.1 id -un"
ssh_login vgl-alice id -un
saw "$SSH_OUT"
if [ "$SSH_RC" -eq 0 ] && printf '%s\n' "$SSH_OUT" | grep -qx vgl-alice; then
    as_narrated "allowed: rule \"ops may ssh\" (group vgl-ops, from 127.0.0.0/8, the EDR sensor running)."
else
    unexpected "alice's login failed (ssh exit $SSH_RC)"
fi

step "vgl-bob (no ops group) tries the same."
shown "ssh -p $SSHD_PORT vgl-bob@127.0.0.1 id -un"
ssh_login vgl-bob id -un
saw "$SSH_OUT"
if [ "$SSH_RC" -ne 0 ] && ! printf '%s\n' "$SSH_OUT" | grep -qx vgl-bob; then
    as_narrated "denied: his key was good, but no rule lets him in, so vigil says no."
    wait_for 3 grep -q "Access denied for user vgl-bob by PAM account configuration" "$SSHD_LOG" &&
        say "    sshd's log: $(grep -m1 -o 'Access denied for user vgl-bob by PAM account configuration' "$SSHD_LOG")"
    why vgl-bob sshd 127.0.0.1
else
    unexpected "bob got in (ssh exit $SSH_RC)"
fi

step "vgl-mallory is in vgl-ops too, but her account is suspended."
shown "ssh -p $SSHD_PORT vgl-mallory@127.0.0.1 id -un"
ssh_login vgl-mallory id -un
saw "$SSH_OUT"
if [ "$SSH_RC" -ne 0 ] && ! printf '%s\n' "$SSH_OUT" | grep -qx vgl-mallory; then
    as_narrated "denied: the deny rule beats \"ops may ssh\"."
else
    unexpected "mallory got in (ssh exit $SSH_RC)"
fi

step "vgl-alice runs a command with sudo."
shown "sudo -n id -u        (as vgl-alice)"
sudo_as vgl-alice id -u
saw "$SUDO_OUT"
if [ "$SUDO_RC" -eq 0 ] && [ "$SUDO_OUT" = 0 ]; then
    as_narrated "allowed: rule \"ops may sudo\"; the command ran as uid 0."
else
    unexpected "alice's sudo failed (exit $SUDO_RC)"
fi

step "vgl-mallory tries sudo. sudoers would let her (NOPASSWD); vigil does not."
shown "sudo -n id -u        (as vgl-mallory)"
sudo_as vgl-mallory id -u
saw "$SUDO_OUT"
if [ "$SUDO_RC" -ne 0 ] &&
    printf '%s' "$SUDO_OUT" | grep -q "vigil: account suspended pending review (ticket SEC-42)" &&
    ! printf '%s\n' "$SUDO_OUT" | grep -qx 0; then
    as_narrated "denied, and sudo showed her the rule's reason."
    why vgl-mallory sudo
else
    unexpected "mallory's sudo was not denied with the reason (exit $SUDO_RC)"
fi

step "The EDR sensor stops while vgl-alice is logged in. The ops rules require it to run."
shown "ssh -tt -p $SSHD_PORT vgl-alice@127.0.0.1 sleep 600 &"
ssh_bg vgl-alice alice-live
if wait_for 10 count_is vgl-alice 1; then
    shown "vigilctl sessions"
    saw "$("$VIGILCTL" --socket "$ADMIN_SOCK" sessions 2>&1)"
else
    fail "her session was not registered"
    unexpected "vigild lists no live session of vgl-alice"
fi
shown "systemctl --user stop $EDR"
t0=$(now_ms)
sdu_stop_unit "$EDR" >/dev/null
if wait_for 10 gone alice-live; then
    ms=$(($(now_ms) - t0))
    saw "$(cat "$T/alice-live.out")"
    if wait_for 5 session_ended vgl-alice; then
        as_narrated "vigild re-decided her session when the unit stopped, and ended it ($ms ms after the stop)."
        say "    the trail: session_end, $(last_record session_end vgl-alice reason_admin)"
    else
        unexpected "her session ended, but the trail has no session_end record for it"
    fi
else
    unexpected "her session is still running 10 s after the sensor stopped"
fi
shown "sudo -n id -u        (as vgl-alice)"
sudo_as vgl-alice id -u
saw "$SUDO_OUT"
if [ "$SUDO_RC" -ne 0 ] && ! printf '%s\n' "$SUDO_OUT" | grep -qx 0 &&
    printf '%s' "$SUDO_OUT" | grep -q "posture signal systemd.unit.$EDR is inactive"; then
    as_narrated "her next sudo is denied, and the message names the signal."
else
    unexpected "alice's sudo with the sensor stopped: exit $SUDO_RC"
fi
shown "systemctl --user start $EDR"
t0=$(now_ms)
sdu_start_unit "$EDR" >/dev/null
wait_for 10 decides vgl-alice sudo allow
ms=$(($(now_ms) - t0))
shown "sudo -n id -u        (as vgl-alice)"
sudo_as vgl-alice id -u
saw "$SUDO_OUT"
if [ "$SUDO_RC" -eq 0 ] && [ "$SUDO_OUT" = 0 ]; then
    as_narrated "the sensor is back: vigild allowed again $ms ms after the start."
else
    unexpected "alice's sudo after the sensor came back: exit $SUDO_RC"
fi

step "vgl-carol, a contractor, runs sudo. The policy wants a second factor: a TOTP code."
shown "vigilctl totp enroll vgl-carol        (root, once; she scans the QR code it prints)"
if totp_enroll vgl-carol "$T/vigil.toml"; then
    saw "$TOTP_URI"
    code=$(totp_code "$TOTP_SECRET")
    wrong=$(printf '%06d' $(((10#$code + 1) % 1000000)))
    say "    Her authenticator app is played by the demo: RFC 6238 over that secret, in Python."
    shown "sudo id -un        (as vgl-carol, on a terminal; she types $wrong, then $code)"
    out=$(cd / && timeout 60 "$ANSWER" "$wrong" "$code" @cmd su vgl-carol -s /bin/sh \
        --session-command "sudo id -un" 2>&1)
    rc=$?
    saw "$out"
    last_account_record vgl-carol sudo
    if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | tr -d '\r' | grep -qx root &&
        printf '%s' "$out" | grep -q "Wrong code" &&
        json_expect "carol's sudo decision" "$T/last-record.json" outcome=allow mfa.method=totp; then
        as_narrated "the wrong code was refused, the right one let the command run as root;"
        say "                   the trail records the allow with mfa.method totp."
    else
        unexpected "carol's sudo with a TOTP code (exit $rc)"
    fi
else
    unexpected "vigilctl totp enroll vgl-carol failed"
fi

step "vgl-carol logs in over SSH. Her sessions last 8 s (on a real host: a working day)."
shown "ssh -tt -p $SSHD_PORT vgl-carol@127.0.0.1 sleep 600"
ssh_bg vgl-carol carol-live
t0=$(now_ms)
if wait_for 10 count_is vgl-carol 1 && wait_for 20 gone carol-live; then
    ms=$(($(now_ms) - t0))
    saw "$(cat "$T/carol-live.out")"
    if tty_says carol-live "this session ends in a minute (session limit)." &&
        wait_for 5 session_ended vgl-carol; then
        as_narrated "warned on her terminal, then ended at its limit ($ms ms after vigild registered it)."
        say "    the trail: session_end, $(last_record session_end vgl-carol reason_admin)"
    else
        unexpected "her session ended without the warning on its terminal, or without a session_end record"
    fi
else
    unexpected "her session was not registered, or outlived its 8 s"
fi

step "vgl-bob (no ops group) is on call tonight: he asks for the group $ONCALL for 6 s."
shown "vigilctl grant request --group $ONCALL --for 6s --reason 'INC-7 disk full on db-01'   (as vgl-bob)"
out=$(run_as vgl-bob "'$VIGILCTL' --grant-socket '$T/run/grant.sock' grant request --group $ONCALL --for 6s --reason 'INC-7 disk full on db-01'")
rc=$?
saw "$out"
shown "id -nG; sudo -n id -u        (as vgl-bob)"
during=$(run_as vgl-bob "id -nG; sudo -n id -u")
saw "$during"
if [ "$rc" -eq 0 ] && printf '%s' "$out" | grep -q "^granted $ONCALL to vgl-bob until" &&
    printf '%s\n' "$during" | head -1 | tr ' ' '\n' | grep -qx "$ONCALL" &&
    [ "$(printf '%s\n' "$during" | tail -1)" = 0 ]; then
    as_narrated "granted (rule \"bob may go on call\"): his groups include $ONCALL, and sudo ran as uid 0."
else
    unexpected "bob's grant (exit $rc), or his groups and sudo during it"
fi

step "Six seconds later the grant has expired. Nobody had to revoke it."
not_on_call() { ! id -nG vgl-bob | tr ' ' '\n' | grep -qx "$ONCALL"; }
wait_for 15 not_on_call
shown "id -nG; sudo -n id -u        (as vgl-bob)"
after=$(run_as vgl-bob "id -nG; sudo -n id -u")
saw "$after"
groups_after=$(printf '%s\n' "$after" | head -1 | tr ' ' '\n')
if printf '%s\n' "$groups_after" | grep -qx vgl-bob && ! printf '%s\n' "$groups_after" | grep -qx "$ONCALL" &&
    ! printf '%s\n' "$after" | grep -qx 0 && printf '%s\n' "$after" | tail -1 | grep -q '^sudo: '; then
    as_narrated "the group is gone from his groups, and sudo refuses him again."
else
    unexpected "bob still holds $ONCALL, or sudo still lets him in"
fi

step "The agent goes away (SIGTERM). pam_vigil runs with failmode=secure: fail closed."
if agent_stop; then
    say "    vigild stopped."
else
    unexpected "vigild did not stop"
fi
shown "ssh -p $SSHD_PORT vgl-alice@127.0.0.1 id -un"
ssh_login vgl-alice id -un
saw "$SSH_OUT"
shown "sudo -n id -u        (as vgl-alice)"
t0=$(now_ms)
sudo_as vgl-alice id -u
ms=$(($(now_ms) - t0))
saw "$SUDO_OUT"
if [ "$SSH_RC" -ne 0 ] && ! printf '%s\n' "$SSH_OUT" | grep -qx vgl-alice &&
    [ "$SUDO_RC" -ne 0 ] && ! printf '%s\n' "$SUDO_OUT" | grep -qx 0; then
    as_narrated "even alice is denied while nobody can decide (sudo answered in $ms ms)."
else
    unexpected "with the agent down: ssh exit $SSH_RC, sudo exit $SUDO_RC"
fi

step "The decision trail: one hash-chained JSON line per decision."
if [ -s "$AUDIT_LOG" ]; then
    python3 - "$AUDIT_LOG" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
print("    %d records in %s; the last ones:" % (len(lines), sys.argv[1]))
print("      %-14s %-8s %-12s %-8s %-22s %s" % ("event", "svc", "user", "outcome", "rule", "prev"))
for line in lines[-8:]:
    try:
        r = json.loads(line)
    except ValueError:
        print("      (not JSON) " + line[:60])
        continue
    print("      %-14s %-8s %-12s %-8s %-22s %s..." % (
        r.get("event", "?"), r.get("service", "?"), r.get("user", "?"), r.get("outcome", ""),
        str(r.get("rule", ""))[:22], str(r.get("prev", ""))[:12]))
EOF
else
    unexpected "the audit log $AUDIT_LOG is empty or missing"
fi
shown "vigilctl audit verify $AUDIT_LOG"
verify_out=$("$VIGILCTL" audit verify "$AUDIT_LOG" 2>&1)
verify_rc=$?
saw "$verify_out"
if [ "$verify_rc" -eq 0 ] && printf '%s' "$verify_out" | grep -q '^ok: '; then
    as_narrated "the chain is intact."
else
    unexpected "audit verify failed (exit $verify_rc)"
fi
cp "$AUDIT_LOG" "$T/tampered.jsonl"
deny_line=$(grep -n '"outcome":"deny"' "$AUDIT_LOG" | head -n1 | cut -d: -f1)
[ -n "$deny_line" ] && sed -i "${deny_line}s/\"outcome\":\"deny\"/\"outcome\":\"allow\"/" "$T/tampered.jsonl"
shown "(turn the deny on line ${deny_line:-?} into an allow, in a copy) vigilctl audit verify tampered.jsonl"
verify_out=$("$VIGILCTL" audit verify "$T/tampered.jsonl" 2>&1)
verify_rc=$?
saw "$verify_out"
if [ "$verify_rc" -ne 0 ] && ! cmp -s "$AUDIT_LOG" "$T/tampered.jsonl"; then
    as_narrated "the edit is caught."
else
    unexpected "tampering was not detected (exit $verify_rc)"
fi

say ""
if [ "$TAP_FAILED" -eq 0 ]; then
    say "${G}${B}All $STEP steps behaved as narrated.${N}"
else
    say "${R}${B}$((STEP - STEPS_BAD)) of $STEP steps behaved as narrated; $STEPS_BAD did not.${N}"
    say "Logs: vigild $AGENT_LOG, sshd $SSHD_LOG, systemd --user $T/sdu/manager.log"
    [ -n "${VIGIL_E2E_KEEP:-}" ] || say "(set VIGIL_E2E_KEEP=1 to keep them)"
fi
