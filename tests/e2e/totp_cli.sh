#!/bin/bash
# `vigilctl totp`: enrolment prints an otpauth:// URI and a QR code, the
# secret store on disk is root-only (0600 files in a 0700 directory), a
# second enrolment needs --force, status and remove work, and a loosened
# store directory or a path-like user name is refused.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 10

STORE=""

setup() {
    e2e_setup_system
    STORE=$T/totp
    write_config "$T/vigil.toml" <<EOF
[step_up.totp]
store_dir = "$STORE"
issuer = "vigil e2e"
digits = 6
period = "30s"
EOF
}
tap_case "setup: test users and a config with [step_up.totp] in the test's temp dir" setup ||
    e2e_abort "setup failed"

# totp ARGS...: runs vigilctl totp with this test's config; sets C_RC and C_OUT.
totp() {
    C_OUT=$("$VIGILCTL" totp "$@" --config "$T/vigil.toml" 2>&1)
    C_RC=$?
}

secret_of() { sed -n 's/^secret=//p' "$STORE/$1" 2>/dev/null; }

enroll_prints_uri_and_qr() {
    totp enroll vgl-alice
    expect_rc "vigilctl totp enroll vgl-alice" 0 "$C_RC" "$C_OUT" || return 1
    expect_match "enroll output" "$C_OUT" \
        '^otpauth://totp/vigil%20e2e:vgl-alice\?secret=[A-Z2-7]{32}&issuer=vigil%20e2e&digits=6&period=30&algorithm=SHA1$' ||
        return 1
    expect_match "enroll output" "$C_OUT" '^Scan this QR code' || return 1
    # The QR block: a light quiet-zone line of full blocks, then half-block rows.
    expect_match "enroll output" "$C_OUT" '^█{25,}$' || return 1
    expect_match "enroll output" "$C_OUT" '^██.*[▀▄].*██$' || return 1
    expect_not_contains "enroll output" "$C_OUT" $'\e' || return 1
    local uri_secret
    uri_secret=$(printf '%s\n' "$C_OUT" | sed -n 's/^otpauth:.*secret=\([A-Z2-7]*\)&.*/\1/p')
    [ "$uri_secret" = "$(secret_of vgl-alice)" ] ||
        { fail "the URI's secret is not the one stored in $STORE/vgl-alice"; return 1; }
}
tap_case "totp enroll prints an otpauth:// URI and a QR code of half blocks" enroll_prints_uri_and_qr

store_is_root_only() {
    local dir file
    dir=$(stat -c '%a %U %F' "$STORE")
    file=$(stat -c '%a %U %F' "$STORE/vgl-alice")
    [ "$dir" = "700 root directory" ] || { fail "store dir is '$dir', expected '700 root directory'"; return 1; }
    [ "$file" = "600 root regular file" ] || { fail "secret file is '$file', expected '600 root regular file'"; return 1; }
    # Nothing left behind by the atomic write.
    local extra
    extra=$(find "$STORE" -mindepth 1 ! -name vgl-alice)
    [ -z "$extra" ] || { fail "stray files in the store: $extra"; return 1; }
}
tap_case "the secret file is 0600 root in a 0700 root directory" store_is_root_only

second_enroll_needs_force() {
    local before
    before=$(secret_of vgl-alice)
    totp enroll vgl-alice
    expect_rc "a second vigilctl totp enroll vgl-alice" 1 "$C_RC" "$C_OUT" || return 1
    expect_contains "second enroll" "$C_OUT" "already enrolled" || return 1
    expect_contains "second enroll" "$C_OUT" "--force" || return 1
    expect_not_contains "second enroll" "$C_OUT" "otpauth://" || return 1
    [ "$(secret_of vgl-alice)" = "$before" ] || { fail "a refused enrol changed the secret"; return 1; }
    totp enroll vgl-alice --force
    expect_rc "vigilctl totp enroll vgl-alice --force" 0 "$C_RC" "$C_OUT" || return 1
    [ "$(secret_of vgl-alice)" != "$before" ] || { fail "--force kept the old secret"; return 1; }
}
tap_case "a second enroll is refused without --force and replaces the secret with it" second_enroll_needs_force

status_shows_enrolled() {
    totp status vgl-alice
    expect_rc "vigilctl totp status vgl-alice" 0 "$C_RC" "$C_OUT" || return 1
    expect_match "status" "$C_OUT" '^enrolled: +yes$' || return 1
    expect_match "status" "$C_OUT" '^failures: +0 in a row$' || return 1
    expect_match "status" "$C_OUT" '^locked: +no$' || return 1
    totp status vgl-bob
    expect_rc "vigilctl totp status vgl-bob" 0 "$C_RC" "$C_OUT" || return 1
    expect_match "status of vgl-bob" "$C_OUT" '^enrolled: +no$'
}
tap_case "totp status shows who is enrolled, failures and lockout" status_shows_enrolled

remove_works() {
    totp remove vgl-alice
    expect_rc "vigilctl totp remove vgl-alice" 0 "$C_RC" "$C_OUT" || return 1
    [ ! -e "$STORE/vgl-alice" ] || { fail "$STORE/vgl-alice still exists"; return 1; }
    totp status vgl-alice
    expect_match "status after remove" "$C_OUT" '^enrolled: +no$' || return 1
    totp remove vgl-alice
    expect_rc "removing vgl-alice again" 1 "$C_RC" "$C_OUT" || return 1
    expect_contains "second remove" "$C_OUT" "not enrolled"
}
tap_case "totp remove deletes the secret; removing it twice is an error" remove_works

writable_store_refused() {
    chmod 0770 "$STORE"
    totp enroll vgl-bob
    chmod 0700 "$STORE"
    expect_rc "vigilctl totp enroll with a group-writable store" 1 "$C_RC" "$C_OUT" || return 1
    expect_contains "enroll output" "$C_OUT" "$STORE: mode 0770: must not be writable by group or others" || return 1
    expect_contains "enroll output" "$C_OUT" "run chmod 700 $STORE" || return 1
    [ ! -e "$STORE/vgl-bob" ] || { fail "a secret was written into the loose store"; return 1; }
}
tap_case "a group-writable store directory is refused with a message that says how to fix it" writable_store_refused

bad_name_refused() {
    local before
    before=$(sha256sum <"$T/etc/passwd")
    totp enroll ../etc/passwd --force
    expect_rc "vigilctl totp enroll ../etc/passwd" 1 "$C_RC" "$C_OUT" || return 1
    expect_contains "enroll output" "$C_OUT" "invalid user name" || return 1
    [ "$(sha256sum <"$T/etc/passwd")" = "$before" ] || { fail "$T/etc/passwd was changed"; return 1; }
    totp remove .hidden
    expect_rc "vigilctl totp remove .hidden" 1 "$C_RC" "$C_OUT" || return 1
    expect_contains "remove output" "$C_OUT" "invalid user name"
}
tap_case "a user name that is a path (../etc/passwd, .hidden) is refused" bad_name_refused

needs_root() {
    local out rc
    out=$(setpriv --reuid 20003 --regid 20003 --clear-groups \
        "$VIGILCTL" totp status vgl-bob --config "$T/vigil.toml" 2>&1)
    rc=$?
    expect_rc "vigilctl totp status as vgl-bob" 1 "$rc" "$out" || return 1
    expect_contains "non-root output" "$out" "must run as root"
}
tap_case "vigilctl totp refuses to run without root" needs_root

usage_errors() {
    totp enroll
    expect_rc "vigilctl totp enroll (no user)" 2 "$C_RC" "$C_OUT" || return 1
    totp rotate vgl-alice
    expect_rc "vigilctl totp rotate vgl-alice" 2 "$C_RC" "$C_OUT" || return 1
    expect_contains "unknown subcommand" "$C_OUT" "want enroll, remove or status"
}
tap_case "a missing user or an unknown subcommand is a usage error (exit 2)" usage_errors
