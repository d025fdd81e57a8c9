#!/bin/bash
# vigil in two minutes: real OpenSSH and real sudo on this machine ask vigild
# for every login and every sudo, and the script narrates what happens.
#
#   scripts/demo.sh [BUILD_DIR]        (what `make demo` runs; needs root)
#
# Everything happens inside a private mount namespace: the demo users, PAM
# files and sudoers are bind-mounted there and vanish when the demo ends.
# The host's /etc is never written. Exits 0 only if every step behaved as
# narrated.
set -u
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${VIGIL_E2E_HOST_MNTNS:-}" ]; then
    BUILD_DIR=${1:-${BUILD_DIR:-$SRCDIR/build}}
    case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
fi
export SRCDIR BUILD_DIR E2E_NO_TAP=1
. "$SRCDIR/tests/e2e/lib.sh"
e2e_enter_ns "$@"

if [ -t 1 ]; then
    B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'
else
    B="" G="" R="" D="" N=""
fi
STEP=0

say() { printf '%s\n' "$*"; }
# The command the user would type, then what they saw, indented.
shown() { printf '    %s$ %s%s\n' "$D" "$1" "$N"; }
saw() { [ -n "$1" ] && printf '%s\n' "$1" | grep -v '^Warning: Permanently added' | sed 's/^/      | /'; }
step() {
    STEP=$((STEP + 1))
    printf '\n%s%d. %s%s\n' "$B" "$STEP" "$*" "$N"
}
as_narrated() { printf '    %s[as narrated]%s %s\n' "$G" "$N" "$*"; }
unexpected() {
    printf '    %s[UNEXPECTED]%s %s\n' "$R" "$N" "$*"
    TAP_FAILED=$((TAP_FAILED + 1))
    [ -s "$E2E_DIAG" ] && sed 's/^/      # /' "$E2E_DIAG"
    : >"$E2E_DIAG"
}
# why USER SERVICE [RHOST]: vigilctl's explanation of the decision.
why() {
    local args=(--socket "$ADMIN_SOCK" decide --user "$1" --service "$2")
    [ -n "${3:-}" ] && args+=(--rhost "$3")
    printf '    why? %s$ vigilctl decide --user %s --service %s%s%s\n' "$D" "$1" "$2" \
        "${3:+ --rhost $3}" "$N"
    "$VIGILCTL" "${args[@]}" 2>&1 | sed 's/^/      | /'
}

# ------------------------------------------------------------ set-up ----
e2e_setup_system
sed -e "s|^socket = .*|socket = \"$PAM_SOCK\"|" \
    -e "s|^admin_socket = .*|admin_socket = \"$ADMIN_SOCK\"|" \
    -e "s|^grant_socket = .*|grant_socket = \"$T/run/grant.sock\"|" \
    -e "s|^audit_log = .*|audit_log = \"$AUDIT_LOG\"|" \
    -e "s|^state_dir = .*|state_dir = \"$T/state\"|" \
    "$SRCDIR/tests/e2e/demo.toml" >"$T/vigil.toml"
chmod 600 "$T/vigil.toml"
pam_sshd_vigil timeout=3000 failmode=secure
pam_sudo_vigil timeout=3000 failmode=secure
if ! "$VIGILD" --check --config "$T/vigil.toml" >"$T/check.out" 2>&1; then
    cat "$T/check.out" >&2
    e2e_abort "vigild --check rejects the demo policy"
fi
agent_start "$T/vigil.toml" || e2e_abort "vigild did not start"
sshd_start || e2e_abort "sshd did not start"

say "${B}vigil demo${N}: every SSH login and every sudo on this host asks vigild first."
say ""
say "  Real OpenSSH listens on 127.0.0.1:$SSHD_PORT and real sudo is on the PATH; both"
say "  run pam_vigil.so in the PAM account phase, which asks vigild (pid $AGENT_PID)"
say "  over a root-only unix socket. In this private mount namespace:"
say "    vgl-alice    group vgl-ops"
say "    vgl-mallory  group vgl-ops, account suspended"
say "    vgl-bob      no ops group"
say "  The policy (tests/e2e/demo.toml):"
awk -F' = ' '
    function flush() { if (name != "") printf "    %-24s -> %s%s\n", name, dec, (why != "" ? "  (user sees: " why ")" : "") }
    /^\[\[rule\]\]/ { flush(); name = dec = why = "" }
    $1 == "name" { name = $2 } $1 == "decision" { dec = $2 } $1 == "reason" { why = $2 }
    END { flush() }' "$SRCDIR/tests/e2e/demo.toml" | tr -d '"'
say "    no rule matches -> deny        a deny rule beats any allow rule"

# ------------------------------------------------------------- steps ----
step "vgl-alice (vgl-ops) logs in over SSH with her key."
shown "ssh -p $SSHD_PORT vgl-alice@127.0.0.1 id -un"
ssh_login vgl-alice id -un
saw "$SSH_OUT"
if [ "$SSH_RC" -eq 0 ] && printf '%s\n' "$SSH_OUT" | grep -qx vgl-alice; then
    as_narrated "allowed: rule \"ops may ssh\" (group vgl-ops, from 127.0.0.0/8)."
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
print("      %-14s %-6s %-12s %-8s %-22s %s" % ("event", "svc", "user", "outcome", "rule", "prev"))
for line in lines[-8:]:
    try:
        r = json.loads(line)
    except ValueError:
        print("      (not JSON) " + line[:60])
        continue
    print("      %-14s %-6s %-12s %-8s %-22s %s..." % (
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
    say "${R}${B}$TAP_FAILED step(s) did not behave as narrated.${N} Logs: vigild $AGENT_LOG, sshd $SSHD_LOG"
    [ -n "${VIGIL_E2E_KEEP:-}" ] || say "(set VIGIL_E2E_KEEP=1 to keep them)"
fi
