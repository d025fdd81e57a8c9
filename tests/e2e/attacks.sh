#!/bin/bash
# Local attackers (docs/SECURITY.md). An unprivileged user who can run sudo
# sets environment variables vigil reads from sshd's PAM environment
# (SSH_AUTH_INFO_0 claiming a certificate, XDG_SESSION_ID) hoping to change
# the decision: they never reach it. Whoever can plant a symbolic link where
# the trail or the state directory belongs gets vigild to refuse to start
# rather than write through it. (Other attacks have their own scripts:
# e2e-peercred, e2e-stepup, e2e-grants, e2e-nss.)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 4

setup() {
    e2e_setup_system
    pam_sudo_vigil timeout=3000
    standard_rules | write_config "$T/vigil.toml"
    agent_start "$T/vigil.toml"
}
tap_case "setup: vigild with the standard rules, a sudo stack" setup || e2e_abort "vigild did not start"

# What a user could put in its environment to look like an SSH login with
# a certificate, inside a logind session.
FORGED_ENV="SSH_AUTH_INFO_0='$(cat "$SRCDIR/tests/fuzz/ssh_auth_info/publickey_ed25519_cert")' XDG_SESSION_ID=1"

sudo_with_env() { # USER
    SUDO_OUT=$(cd / && ASAN_OPTIONS=$HOST_ASAN_OPTIONS timeout 30 su "$1" -s /bin/sh \
        -c "$FORGED_ENV sudo -n true" 2>&1 </dev/null)
    SUDO_RC=$?
}

env_ignored() {
    audit_mark
    sudo_with_env vgl-mallory
    expect_nonzero "vgl-mallory's sudo with a forged SSH_AUTH_INFO_0 and XDG_SESSION_ID" "$SUDO_RC" "$SUDO_OUT" || return 1
    audit_expect vgl-mallory sudo outcome=deny '!ssh_auth_info' '!xdg_session_id' '!ssh_certificate' || return 1
    audit_mark
    sudo_with_env vgl-alice
    expect_rc "vgl-alice's sudo with the same environment (allowed by rule anyway)" 0 "$SUDO_RC" "$SUDO_OUT" || return 1
    audit_expect vgl-alice sudo outcome=allow '!ssh_auth_info' '!xdg_session_id' '!ssh_certificate' || return 1
    # Control: set in the PAM environment, as sshd does, the same value is
    # read (and its certificate, long expired, decides), so the checks above
    # can fail.
    audit_mark
    "$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sudo --user vgl-alice --tty /dev/pts/0 --ruser root \
        --env "SSH_AUTH_INFO_0=$(cat "$SRCDIR/tests/fuzz/ssh_auth_info/publickey_ed25519_cert")" --quiet >/dev/null 2>&1
    audit_expect vgl-alice sudo '?ssh_auth_info' '?ssh_certificate'
}
tap_case "sudo: SSH_AUTH_INFO_0 and XDG_SESSION_ID set by the user never reach the decision or the trail" env_ignored

# refused_start CONFIG WHAT: vigild must exit at start, naming WHAT.
refused_start() {
    local config=$1 what=$2 log=$T/refused.log rc
    : >"$log"
    timeout 10 "$VIGILD" --config "$config" >"$log" 2>&1
    rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { fail "vigild did not refuse to start (exit $rc)"; note "vigild" "$log"; return 1; }
    grep -q -- "$what" "$log" || { fail "vigild's refusal does not name $what"; note "vigild" "$log"; return 1; }
    echo "# vigild: $(tail -n 1 "$log")"
}

audit_symlink() {
    agent_stop || return 1
    echo "precious" >"$T/target" && chmod 600 "$T/target"
    mkdir -p "$T/log2" && ln -s "$T/target" "$T/log2/audit.jsonl"
    sed "s|^audit_log = .*|audit_log = \"$T/log2/audit.jsonl\"|" "$T/vigil.toml" >"$T/vigil-link.toml"
    chmod 600 "$T/vigil-link.toml"
    refused_start "$T/vigil-link.toml" "$T/log2/audit.jsonl" || return 1
    [ "$(cat "$T/target")" = "precious" ] || { fail "the symlink's target was written"; return 1; }
}
tap_case "a symbolic link planted at the audit_log path: vigild refuses to start; its target is untouched" audit_symlink

state_symlink() {
    mkdir -p "$T/elsewhere" && ln -s "$T/elsewhere" "$T/state-link"
    sed "s|^state_dir = .*|state_dir = \"$T/state-link\"|" "$T/vigil.toml" >"$T/vigil-state.toml"
    chmod 600 "$T/vigil-state.toml"
    refused_start "$T/vigil-state.toml" "symbolic link" || return 1
    [ -z "$(ls -A "$T/elsewhere")" ] || { fail "vigild wrote into the link's target"; ls -la "$T/elsewhere" | tap_diag; return 1; }
}
tap_case "a symbolic link planted at state_dir: vigild refuses to start and writes nothing there" state_symlink
