#!/bin/bash
# Real sudo under sudoers `Defaults rootpw` and `targetpw` (openSUSE and SLES
# ship targetpw): sudo then sets PAM_USER to root or to the target account,
# not to the user who typed sudo. vigild names the subject by the real uid of
# the sudo process that asks (SO_PEERCRED pid -> /proc/<pid>/status),
# cross-checked with PAM_RUSER, and records the PAM_USER account as pam_user:
# a deny rule for the invoking user holds, the trail and a real Cerbos see
# the invoker, and a PAM_RUSER naming someone else is a deny.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 8

CERBOS_STARTED=
_invoker_rc=0
trap '_invoker_rc=$?; [ -n "$CERBOS_STARTED" ] && "$SRCDIR/tests/pdp/cerbos.sh" stop "$T/cerbos" >/dev/null 2>&1; (exit $_invoker_rc); _e2e_cleanup' EXIT

# Everyone may sudo but mallory. Nothing names root: under rootpw a
# decision about PAM_USER would be about root, whom the catch-all allows.
invoker_rules() {
    cat <<'EOF'
[[rule]]
name = "mallory is suspended"
services = ["sudo"]
users = ["vgl-mallory"]
decision = "deny"
reason = "account suspended pending review"

[[rule]]
name = "sudo for the rest"
services = ["sudo"]
decision = "allow"
EOF
}

# sudoers_with DEFAULT: the test's sudoers (everyone NOPASSWD) plus one
# Defaults line, rewritten in place so the bind mount sees it.
sudoers_with() {
    cat >"$T/etc/sudoers" <<EOF
Defaults !lecture
Defaults !syslog
Defaults env_reset
Defaults $1
root ALL=(ALL:ALL) ALL
vgl-alice ALL=(ALL:ALL) NOPASSWD: ALL
vgl-mallory ALL=(ALL:ALL) NOPASSWD: ALL
vgl-bob ALL=(ALL:ALL) NOPASSWD: ALL
EOF
}

setup() {
    e2e_setup_system
    invoker_rules | write_config "$T/vigil.toml"
    pam_sudo_vigil timeout=3000
    sudoers_with rootpw
    agent_start "$T/vigil.toml"
}
tap_case "setup: vigild, sudoers with Defaults rootpw" setup || e2e_abort "vigild did not start"

rootpw_mallory() {
    audit_mark
    sudo_as vgl-mallory id -u
    expect_nonzero "rootpw: vgl-mallory sudo -n id -u" "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    no_line 0 "$SUDO_OUT" "mallory's command ran as root" || return 1
    expect_contains "sudo output" "$SUDO_OUT" "vigil: account suspended pending review" || return 1
    audit_expect vgl-mallory sudo outcome=deny pam_user=root rule="mallory is suspended"
}
tap_case "rootpw (PAM_USER=root): the deny rule for the invoking user vgl-mallory holds" rootpw_mallory

rootpw_alice() {
    audit_mark
    sudo_as vgl-alice id -u
    expect_rc "rootpw: vgl-alice sudo -n id -u" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    audit_expect vgl-alice sudo outcome=allow pam_user=root uid=20001 'groups~vgl-ops' peer.uid=0
}
tap_case "rootpw: vgl-alice is allowed; the trail names her (uid, groups) and root as pam_user" rootpw_alice

targetpw() {
    sudoers_with targetpw
    audit_mark
    ASAN_OPTIONS=$HOST_ASAN_OPTIONS su vgl-mallory -s /bin/sh -c 'cd / && sudo -n -u vgl-bob id -un' >"$T/targetpw.out" 2>&1 &&
        { fail "targetpw: mallory ran a command as vgl-bob"; note "sudo" "$T/targetpw.out"; return 1; }
    expect_contains "sudo output" "$(cat "$T/targetpw.out")" "vigil: account suspended pending review" || return 1
    audit_expect vgl-mallory sudo outcome=deny pam_user=vgl-bob || return 1
    audit_mark
    local out
    out=$(ASAN_OPTIONS=$HOST_ASAN_OPTIONS su vgl-alice -s /bin/sh -c 'cd / && sudo -n -u vgl-bob id -un' 2>&1)
    expect_rc "targetpw: vgl-alice sudo -n -u vgl-bob id -un" 0 $? "$out" || { note_logs; return 1; }
    expect_contains "the command's output" "$out" "vgl-bob" || return 1
    audit_expect vgl-alice sudo outcome=allow pam_user=vgl-bob
}
tap_case "targetpw (PAM_USER=the target): mallory is refused, alice runs as vgl-bob; pam_user recorded" targetpw

# A process whose real uid is alice's asks with PAM_RUSER naming bob: the
# two disagree, so nobody can be named, and the request is denied.
ruser_mismatch() {
    audit_mark
    local out rc
    out=$("$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sudo --user root --tty /dev/pts/0 \
        --invoker vgl-alice --ruser vgl-bob 2>&1)
    rc=$?
    expect_rc "sudo account phase, real uid vgl-alice, PAM_RUSER vgl-bob" 16 "$rc" "$out" || { note_logs; return 1; }
    expect_contains "what the user is told" "$out" "vigil cannot tell who is asking" || return 1
    wait_for 3 grep -q 'PAM_RUSER \\"vgl-bob\\" is not the invoking user vgl-alice' "$AUDIT_LOG" ||
        { fail "the trail does not say why"; note "trail" "$AUDIT_LOG" 2; return 1; }
    # The control: the same process with a PAM_RUSER that agrees is decided.
    "$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sudo --user root --tty /dev/pts/0 --invoker vgl-alice \
        >"$T/harness.out" 2>&1 || { fail "real uid and PAM_RUSER both vgl-alice: not allowed"; note "harness" "$T/harness.out"; }
}
tap_case "a PAM_RUSER that is not the real uid's user is a deny, recorded" ruser_mismatch

# The same through a real Cerbos: it sees vgl-alice (role vgl-ops) and her
# pam_user, and its own deny rule for vgl-mallory matches.
cerbos_setup() {
    mkdir -p "$T/policies"
    cat >"$T/policies/host.yaml" <<'EOF'
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: "default"
  resource: "host"
  rules:
    - name: ops-sudo
      actions: ["sudo"]
      effect: EFFECT_ALLOW
      roles: ["vgl-ops"]
      output:
        when:
          ruleActivated: |-
            {"reason_admin": "cerbos saw " + P.id + " run as " + P.attr.context.pam_user}
    - name: mallory-never-sudo
      actions: ["sudo"]
      effect: EFFECT_DENY
      roles: ["*"]
      condition:
        match:
          expr: P.id == "vgl-mallory"
      output:
        when:
          ruleActivated: |-
            {"reason_user": "contractors cannot use sudo on this host"}
EOF
    "$SRCDIR/tests/pdp/cerbos.sh" start "$T/cerbos" --policies "$T/policies" >"$T/cerbos.out" 2>&1 ||
        { fail "Cerbos did not start"; note "cerbos" "$T/cerbos.out"; return 1; }
    CERBOS_STARTED=1
    # shellcheck disable=SC1091
    . "$T/cerbos/cerbos.env"
    agent_stop
    write_agent_config "$T/vigil-cerbos.toml" <<EOF
[pdp]
protocol = "cerbos"
urls = ["$CERBOS_URL"]
timeout = "5s"
fallback = "deny"

[[rule]]
name = "sudo: Cerbos decides"
services = ["sudo"]
decision = "allow"
EOF
    agent_start "$T/vigil-cerbos.toml" vigild-cerbos
}
tap_case "Cerbos on loopback, vigild asking it about sudo" cerbos_setup

cerbos_sees_invoker() {
    sudoers_with rootpw
    audit_mark
    sudo_as vgl-alice id -u
    expect_rc "rootpw + Cerbos: vgl-alice sudo -n id -u" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    audit_expect vgl-alice sudo outcome=allow path=pdp "reason_admin~cerbos saw vgl-alice run as root" || return 1
    audit_mark
    sudo_as vgl-mallory id -u
    expect_nonzero "rootpw + Cerbos: vgl-mallory sudo -n id -u" "$SUDO_RC" "$SUDO_OUT" || return 1
    expect_contains "sudo output" "$SUDO_OUT" "vigil: contractors cannot use sudo on this host" || return 1
    audit_expect vgl-mallory sudo outcome=deny path=pdp pam_user=root
}
tap_case "rootpw + Cerbos: the PDP decides about the invoker (alice allowed, mallory denied by its rule)" \
    cerbos_sees_invoker

trail_verifies() {
    "$VIGILCTL" audit verify "$AUDIT_LOG" >"$T/verify.out" 2>&1 || { fail "the trail does not verify"; note "verify" "$T/verify.out"; }
}
tap_case "the trail verifies" trail_verifies
