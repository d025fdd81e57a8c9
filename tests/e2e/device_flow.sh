#!/bin/bash
# Step-up by the OAuth device flow (RFC 8628) through real sudo, against a
# real OpenID provider on loopback (npm oidc-provider, tests/oidc): the
# terminal shows the verification URL and code, tests/oidc/approve.mjs plays
# the person approving on their phone through the provider's own pages, and
# vigild polls the token endpoint and verifies the ID token.
#
# The provider's accounts (tests/oidc/provider.mjs): "alice" has sub
# vgl-alice (the local user), "vgl-alice" has an opaque sub and
# preferred_username vgl-alice, "vgl-bob" is someone else. PAM waits 5 s
# (timeout=5000); the slow-provider cases set http_timeout to twice that.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 13

OIDC=$SRCDIR/tests/oidc
_df_rc=0
_oidc_stop_all() {
    local d
    for d in "$T"/oidc*/; do [ -f "$d/oidc.env" ] && "$OIDC/provider.sh" stop "$d" >/dev/null 2>&1; done
}
trap '_df_rc=$?; _oidc_stop_all; (exit $_df_rc); _e2e_cleanup' EXIT

# device_answers.exp APPROVER_ARGS... @cmd COMMAND...: when the verification URL
# shows, runs approve.mjs URL APPROVER_ARGS (none: nobody approves), then
# answers the "approved" prompt with Enter.
write_expect() {
    cat >"$T/device_answers.exp" <<'EOF'
#!/usr/bin/expect -f
set timeout 60
set approver {}
set cmd {}
set seen_sep 0
foreach a $argv {
    if {!$seen_sep && $a eq "@cmd"} { set seen_sep 1; continue }
    if {$seen_sep} { lappend cmd $a } else { lappend approver $a }
}
spawn -noecho {*}$cmd
while {1} {
    expect {
        -re {(https?://[^ \r\n]*/device\?user_code=[A-Za-z0-9-]+)} {
            set url $expect_out(1,string)
            if {[llength $approver] > 0} {
                catch {exec node $env(OIDC)/approve.mjs $url {*}$approver} out
                puts "\nAPPROVER: $out"
            }
        }
        -re {approved[^\r\n]*: ?$} { send -- "\r" }
        eof { break }
        timeout { puts "\nEXPECT: timed out"; exit 124 }
    }
}
lassign [wait] pid spawnid os_error value
exit $value
EOF
    chmod +x "$T/device_answers.exp"
}

setup() {
    e2e_setup_system
    sudoers_asking vgl-alice
    "$OIDC/provider.sh" start "$T/oidc" >"$T/oidc.out" 2>&1 || { note "provider.sh" "$T/oidc.out"; return 1; }
    # shellcheck disable=SC1091
    . "$T/oidc/oidc.env"
    export OIDC
    write_expect
    device_config "$OIDC_ISSUER" || return 1
    pam_step_up sudo
    agent_start "$T/vigil.toml"
}

# device_config ISSUER [LINE...]: vigild's config, asking vgl-alice's sudo
# for a device sign-in; each LINE is added to [step_up.device].
device_config() {
    local issuer=$1
    shift
    write_agent_config "$T/vigil.toml" <<EOF
[step_up]
remember = "0"

[step_up.device]
issuer = "$issuer"
client_id = "vigil-rs"
accept_amr = ["otp", "mfa"]
$(printf '%s\n' "$@")

[[rule]]
name = "alice sudo with a phone"
services = ["sudo"]
users = ["vgl-alice"]
decision = "step_up"
step_up = "device"
EOF
}
tap_case "setup: the test OpenID provider and vigild with [step_up.device]" setup || e2e_abort "setup failed"

# sudo_device APPROVER_ARGS...: vgl-alice runs sudo id -un; sets RC, OUT.
sudo_device() {
    OUT=$(cd / && ASAN_OPTIONS=$HOST_ASAN_OPTIONS timeout 90 "$T/device_answers.exp" "$@" @cmd su vgl-alice -s /bin/sh \
        --session-command "sudo id -un" 2>&1)
    RC=$?
    OUT=${OUT//$'\r'/} # the terminal's line ends, so that no_line sees "root" alone
}

approved() {
    sudo_device --as alice
    expect_rc "sudo approved on the phone with MFA" 0 "$RC" "$OUT" || { note_logs; return 1; }
    expect_contains "sudo ran id -un as root" "$OUT" "root" || return 1
    expect_contains "the terminal showed the code to enter" "$OUT" "and enter the code" || return 1
    last_account_record vgl-alice sudo
    json_expect "the trail names the sign-in" "$T/last-record.json" outcome=allow mfa.method=device \
        "mfa.amr~otp" mfa.subject=vgl-alice
}
tap_case "sudo: approved at the provider with MFA by the account whose sub is vgl-alice runs the command" approved

# The provider's vgl-alice account: sub 00u-alice-1001, preferred_username
# vgl-alice. A preferred_username is whatever the provider lets someone pick
# or inherit; by default only sub names the local user.
not_by_preferred_username() {
    sudo_device --as vgl-alice
    expect_nonzero "sudo approved by an account whose preferred_username is vgl-alice" "$RC" "$OUT" || return 1
    no_line "root" "$OUT" "the command ran on a preferred_username match" || return 1
    grep -qE 'sub \\?"00u-alice-1001\\?" \(user_claim\) is not the local user vgl-alice' "$AUDIT_LOG" ||
        { fail "the trail does not say which claim did not name vgl-alice"; note "audit" "$AUDIT_LOG" 3; return 1; }
}
tap_case "sudo: by default a token whose preferred_username (not sub) is vgl-alice is refused" \
    not_by_preferred_username

denied() {
    sudo_device --deny
    expect_nonzero "sudo denied on the phone" "$RC" "$OUT" || return 1
    no_line "^root" "$OUT" "the command ran although the person denied" || return 1
    expect_contains "the person is told" "$OUT" "declined"
}
tap_case "sudo: denied at the provider is refused" denied

wrong_user() {
    sudo_device --as vgl-bob
    expect_nonzero "sudo approved by bob for alice" "$RC" "$OUT" || return 1
    no_line "root" "$OUT" "the command ran on bob's approval" || return 1
    grep -qE 'sub \\?"00u-bob-1002\\?" \(user_claim\) is not the local user vgl-alice' "$AGENT_LOG" "$AUDIT_LOG" ||
        fail "neither the log nor the trail names the wrong user"
}
tap_case "sudo: approved by someone else (vgl-bob) is refused" wrong_user

no_mfa() {
    sudo_device --as alice --no-mfa
    expect_nonzero "sudo approved without MFA" "$RC" "$OUT" || return 1
    no_line "root" "$OUT" "the command ran without MFA"
}
tap_case "sudo: approved with a password only (amr [pwd]) is refused" no_mfa

_reloads_above() { [ "$(grep -c "reloaded" "$AGENT_LOG")" -gt "$1" ]; }

# reconfigure ISSUER [LINE...]: device_config, and vigild reloads it.
reconfigure() {
    device_config "$@" || return 1
    local n
    n=$(grep -c "reloaded" "$AGENT_LOG")
    kill -HUP "$AGENT_PID"
    wait_for 5 _reloads_above "$n" || { fail "vigild did not reload"; note_logs; return 1; }
}

# with_provider NAME ARGS... [-- LINE...]: a second provider (short-lived
# codes, a wrong JWKS, slow answers); vigild is pointed at it by a reload,
# with LINEs added to [step_up.device].
with_provider() {
    local name=$1 args=()
    shift
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    "$OIDC/provider.sh" start "$T/$name" "${args[@]}" >"$T/$name.out" 2>&1 ||
        { note "provider.sh" "$T/$name.out"; return 1; }
    local issuer
    issuer=$(. "$T/$name/oidc.env" && echo "$OIDC_ISSUER")
    reconfigure "$issuer" "$@"
}

# The admin who wants preferred_username says so, and --check warns that
# the claim is not stable.
explicit_preferred_username() {
    reconfigure "$OIDC_ISSUER" 'user_claim = "preferred_username"' || return 1
    local check
    check=$("$VIGILD" --check --config "$T/vigil.toml" 2>&1) || { fail "vigild --check refused"; note_text check "$check"; return 1; }
    expect_contains "vigild --check warns about the mutable claim" "$check" \
        'warning: [step_up.device] user_claim = "preferred_username": the provider does not promise' || return 1
    sudo_device --as vgl-alice
    expect_rc "sudo approved by preferred_username vgl-alice" 0 "$RC" "$OUT" || { note_logs; return 1; }
    expect_contains "sudo ran id -un as root" "$OUT" "root" || return 1
    last_account_record vgl-alice sudo
    json_expect "the trail names the sign-in" "$T/last-record.json" outcome=allow mfa.method=device \
        mfa.subject=00u-alice-1001
}
tap_case "sudo: with user_claim = \"preferred_username\" set, that claim names the user (and --check warns)" \
    explicit_preferred_username

expired() {
    with_provider oidc-short --device-code-ttl 2 || return 1
    sudo_device # nobody approves; Enter is pressed until the code expires
    expect_nonzero "sudo with an expired code" "$RC" "$OUT" || return 1
    no_line "^root" "$OUT" "the command ran with an expired code" || return 1
    expect_contains "the person is told" "$OUT" "expired"
}
tap_case "sudo: a code nobody approves expires and is refused" expired

bad_signature() {
    with_provider oidc-badkey --jwks wrong-key || return 1
    sudo_device --as alice
    expect_nonzero "sudo with a token signed by another key" "$RC" "$OUT" || return 1
    no_line "^root" "$OUT" "the command ran on a badly signed token" || return 1
    grep -q "signature" "$AGENT_LOG" "$AUDIT_LOG" || { fail "the log does not say the signature failed"; note_logs; }
}
tap_case "sudo: an ID token that does not verify against the provider's JWKS is refused" bad_signature

# vigild answered, not pam_vigil's timeout: the person is told why.
answered_by_vigild() {
    expect_nonzero "sudo with a slow provider" "$RC" "$OUT" || return 1
    no_line "root" "$OUT" "the command ran" || return 1
    expect_not_contains "pam_vigil did not give up waiting for vigild" "$OUT" "access check unavailable" || return 1
    expect_contains "vigild's deny reaches the person" "$OUT" "$1"
}

# A provider that accepts the connection and never answers discovery.
silent_discovery() {
    node -e '
        const s = require("net").createServer((c) => c.on("error", () => {}));
        s.listen(0, "127.0.0.1", () => console.log(s.address().port));' >"$T/silent.port" 2>"$T/silent.log" &
    local pid=$!
    e2e_track "$pid"
    wait_for 10 test -s "$T/silent.port" || { fail "the silent listener did not start"; note "log" "$T/silent.log"; return 1; }
    reconfigure "http://127.0.0.1:$(cat "$T/silent.port")" 'http_timeout = "10s"' || return 1
    sudo_device
    answered_by_vigild "access denied: the identity provider cannot be reached" || { note_logs; return 1; }
    if ! grep -q "openid-configuration: timeout.*the PAM module's deadline left" "$AUDIT_LOG"; then
        fail "the trail does not say discovery ran out of the module's time"
        note "audit" "$AUDIT_LOG" 2
        return 1
    fi
    kill "$pid" 2>/dev/null
}
tap_case "sudo: discovery that never answers ends in vigild's deny before pam_vigil's deadline" silent_discovery

slow_device_authorization() {
    with_provider oidc-slowauth --delay /device/auth=30000 -- 'http_timeout = "10s"' || return 1
    sudo_device
    answered_by_vigild "access denied: the identity provider cannot be reached" || { note_logs; return 1; }
    if ! grep -q "device authorization at .*: timeout.*the PAM module's deadline left" "$AUDIT_LOG"; then
        fail "the trail does not say the device authorization ran out of the module's time"
        note "audit" "$AUDIT_LOG" 2
        return 1
    fi
}
tap_case "sudo: a device authorization request slower than pam_vigil's deadline ends in vigild's deny" \
    slow_device_authorization

_jwks_asked() { grep -q "GET /jwks" "$T/oidc-slowkeys/provider.log"; }

# One person's sign-in waits for a JWKS that does not come (vigild fetches
# it while polling, after the approval); another person's sudo meanwhile
# must get its code, and its answer, within pam_vigil's deadline.
slow_jwks() {
    with_provider oidc-slowkeys --delay /jwks=30000 -- 'http_timeout = "10s"' || return 1
    (sudo_device --as alice; printf '%s\n' "$OUT" >"$T/first.out"; echo "$RC" >"$T/first.rc") &
    local first=$!
    wait_for 30 _jwks_asked || { fail "the first sign-in never asked for the JWKS"; wait "$first"; note "first" "$T/first.out"; return 1; }
    sudo_device --deny
    answered_by_vigild "access denied: the sign-in was declined" || { wait "$first"; note_logs; return 1; }
    expect_contains "the second person got a code" "$OUT" "and enter the code" || { wait "$first"; return 1; }
    wait "$first"
    OUT=$(cat "$T/first.out")
    no_line "root" "$OUT" "the command ran although the keys never came" || return 1
    expect_not_contains "the first sudo was not cut off by pam_vigil" "$OUT" "access check unavailable"
}
tap_case "sudo: a JWKS fetch that hangs for one sign-in does not hold up another past pam_vigil's deadline" slow_jwks

agent_alive() {
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died"; note_logs; return 1; }
    "$VIGILCTL" audit verify "$AUDIT_LOG" >/dev/null || fail "the trail does not verify"
}
tap_case "vigild stayed up and its trail verifies" agent_alive
