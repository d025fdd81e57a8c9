#!/bin/bash
# Step-up through the real programs: sshd with AuthenticationMethods
# publickey,keyboard-interactive and sudo ask for a TOTP code (or a reason)
# through pam_vigil.so's auth phase, driven by expect. Codes are computed
# here with Python's hmac (RFC 6238), independently of liboath. sshd runs
# the shipped conf/pam.d/sshd-stepup.example: a Match block that allows
# keyboard-interactive alone must not turn its pam_permit into a way in; a
# remembered proof belongs to the key that gave it; a certificate counts
# only from the CA in [ssh], not from one a user trusts in authorized_keys.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/systemd_user.sh"
e2e_enter_ns "$@"

tap_plan 15

CERBOS_STARTED=
_step_up_rc=0
trap '_step_up_rc=$?; [ -n "$CERBOS_STARTED" ] && "$SRCDIR/tests/pdp/cerbos.sh" stop "$T/cerbos" >/dev/null 2>&1; (exit $_step_up_rc); _e2e_cleanup' EXIT

# carol: ssh with a second factor and two keys; dave: ssh with certificates.
E2E_USERS="$E2E_USERS vgl-carol:20041 vgl-dave:20042"

ANSWER=$SRCDIR/tests/e2e/step_up_answers.exp
PERIOD=5 # seconds per code: short, so the test can wait for a fresh one

# totp SECRET [STEP_OFFSET]: the current code (or one STEP_OFFSET steps away).
totp() { totp_code "$1" "$PERIOD" "${2:-0}"; }

# Sleeps into the next TOTP step, with a second's margin after its start.
next_step() {
    python3 -c "import time; p=$PERIOD; t=time.time(); time.sleep(p - t % p + 1)"
}

write_step_up_config() {
    write_config "$T/vigil.toml" <<EOF
[step_up]
remember = "${1:-0}"

[step_up.totp]
store_dir = "$T/totp"
issuer = "vigil-e2e"
period = "${PERIOD}s"
skew_steps = 1
lockout_after = 7
lockout_for = "10m"

[step_up.purpose]
prompt = "Reason or ticket: "
pattern = "^[A-Z]+-[0-9]+ .{4,}$"
hint = "a ticket (ABC-123) and a few words"

[ssh]
trusted_user_ca_keys = "$T/ssh/admin_ca.pub"

[[rule]]
name = "ops ssh with a second factor"
services = ["sshd"]
users = ["vgl-alice", "vgl-carol"]
decision = "step_up"
step_up = "totp"

[[rule]]
name = "ssh without a second factor"
services = ["sshd"]
users = ["vgl-bob", "vgl-dave"]
decision = "allow"

[[rule]]
name = "ops sudo with a second factor"
services = ["sudo"]
users = ["vgl-mallory"]
decision = "step_up"
step_up = "totp"

[[rule]]
name = "bob sudo with a reason"
services = ["sudo"]
users = ["vgl-bob"]
decision = "allow"
purpose = true
EOF
}

# pam_from_example SERVICE FILE: the example's lines as shipped, pointed at
# this test's module and agent.
pam_from_example() {
    grep -v '^#' "$2" | sed -e "s#pam_vigil\.so#$PAM_VIGIL socket=$PAM_SOCK#" | write_pam "$1"
}

setup() {
    e2e_setup_system
    sudoers_asking vgl-alice vgl-mallory vgl-bob
    ssh-keygen -q -t ed25519 -N '' -C "the fleet's user CA" -f "$T/ssh/admin_ca" || return 1
    write_step_up_config 0
    pam_from_example sshd "$SRCDIR/conf/pam.d/sshd-stepup.example"
    pam_step_up sudo
    totp_enroll vgl-alice "$T/vigil.toml" && ALICE=$TOTP_SECRET || return 1
    totp_enroll vgl-mallory "$T/vigil.toml" && MALLORY=$TOTP_SECRET || return 1
    totp_enroll vgl-carol "$T/vigil.toml" && CAROL=$TOTP_SECRET || return 1
    agent_start "$T/vigil.toml" || return 1
    # The shipped sshd drop-in, plus the fleet's CA and one Match block
    # that lets bob in with keyboard-interactive alone.
    SSHD_KBDINT=yes SSHD_EXTRA_CONFIG="AuthenticationMethods publickey,keyboard-interactive
TrustedUserCAKeys $T/ssh/admin_ca.pub
Match User vgl-bob
    AuthenticationMethods keyboard-interactive" sshd_start
}
tap_case "setup: vigild, sshd (publickey + keyboard-interactive), TOTP enrolled" setup ||
    e2e_abort "vigild or sshd did not start"

# ssh_answers ANSWER...: logs in as vgl-alice, answering prompts; sets RC, OUT.
ssh_answers() {
    OUT=$(timeout 60 "$ANSWER" "$@" @cmd ssh -F /dev/null -i "$T/ssh/id" -o IdentitiesOnly=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 \
        -o PreferredAuthentications=publickey,keyboard-interactive -o NumberOfPasswordPrompts=1 \
        -p "$SSHD_PORT" vgl-alice@127.0.0.1 id -un 2>&1)
    RC=$?
}

# sudo_answers USER ANSWER...: USER runs sudo id -un, answering prompts.
sudo_answers() {
    local user=$1
    shift
    # --session-command: su -c would start a new session without the
    # terminal, and sudo reads its prompts from the terminal.
    OUT=$(cd / && ASAN_OPTIONS=$HOST_ASAN_OPTIONS timeout 60 "$ANSWER" "$@" @cmd su "$user" -s /bin/sh --session-command "sudo id -un" 2>&1)
    RC=$?
}

ssh_right_code() {
    CODE=$(totp "$ALICE")
    ssh_answers "$CODE"
    expect_rc "ssh with the right code" 0 "$RC" "$OUT" || { note_logs; return 1; }
    expect_contains "ssh runs id -un" "$OUT" "vgl-alice" || return 1
    last_account_record vgl-alice sshd
    json_expect "account decision after the step-up" "$T/last-record.json" outcome=allow mfa.method=totp
}
tap_case "sshd: the right TOTP code lets vgl-alice in; the trail shows mfa.method totp" ssh_right_code

ssh_replay() {
    ssh_answers "$CODE" "$CODE" "$CODE"
    expect_nonzero "ssh replaying a used code" "$RC" "$OUT" || return 1
    no_line "vgl-alice" "$OUT" "the command ran with a replayed code" || return 1
    expect_contains "the person is told" "$OUT" "used already"
}
tap_case "sshd: the same code used again is refused (no replay inside its window)" ssh_replay

ssh_wrong_code() {
    next_step
    ssh_answers 000000 000001 000002
    expect_nonzero "ssh with wrong codes" "$RC" "$OUT" || return 1
    expect_contains "the person is told" "$OUT" "Wrong code" || return 1
    no_line "vgl-alice" "$OUT" "the command ran with wrong codes"
}
tap_case "sshd: wrong codes keep vgl-alice out (three tries, then denied)" ssh_wrong_code

ssh_lockout() {
    # Six failures so far (three replays, three wrong codes); one more wrong
    # code reaches lockout_after = 7, and then even the right code is refused.
    ssh_answers 999999 "$(totp "$ALICE")"
    expect_nonzero "ssh while locked out" "$RC" "$OUT" || return 1
    expect_contains "the person is told" "$OUT" "too many wrong codes" || return 1
    no_line "vgl-alice" "$OUT" "the command ran while locked out" || return 1
    grep -q "locked out of TOTP" "$AGENT_LOG" || { fail "vigild did not log the lockout"; note_logs; return 1; }
    "$VIGILCTL" totp status vgl-alice --config "$T/vigil.toml" | grep -qi "locked" ||
        fail "vigilctl totp status does not show the lockout"
}
tap_case "sshd: after repeated failures vgl-alice is locked out, right code or not" ssh_lockout

sudo_right_code() {
    sudo_answers vgl-mallory "$(totp "$MALLORY")"
    expect_rc "sudo with the right code" 0 "$RC" "$OUT" || { note_logs; return 1; }
    expect_contains "sudo ran id -un as root" "$OUT" "root" || return 1
    last_account_record vgl-mallory sudo
    json_expect "sudo account decision" "$T/last-record.json" outcome=allow mfa.method=totp
}
tap_case "sudo: a TOTP step-up in the auth phase, then the account phase allows" sudo_right_code

sudo_wrong_code() {
    sudo_answers vgl-mallory 123456 234567 345678
    expect_nonzero "sudo with wrong codes" "$RC" "$OUT" || return 1
    no_line "^root" "$OUT" "sudo ran with wrong codes"
}
tap_case "sudo: wrong codes are refused" sudo_wrong_code

sudo_purpose() {
    audit_mark
    sudo_answers vgl-bob "because" "CHG-1234 restart nginx after deploy"
    expect_rc "sudo with a reason" 0 "$RC" "$OUT" || { note_logs; return 1; }
    expect_contains "the first reason was refused with the hint" "$OUT" "a ticket (ABC-123)" || return 1
    last_account_record vgl-bob sudo
    json_expect "the reason is in the trail" "$T/last-record.json" outcome=allow \
        "purpose=CHG-1234 restart nginx after deploy"
}
tap_case "sudo: a purpose prompt; a bad reason is refused, a good one reaches the decision and the trail" sudo_purpose

account_only() {
    local out
    out=$("$VIGILCTL" --socket "$ADMIN_SOCK" decide --user vgl-alice --service sshd --rhost 127.0.0.1 2>&1)
    expect_contains "vigilctl decide" "$out" "step_up"
}
tap_case "vigilctl decide shows the step-up a rule asks for" account_only

remember_window() {
    write_step_up_config 1m
    kill -HUP "$AGENT_PID"
    wait_for 5 grep -q "reloaded" "$AGENT_LOG" || { fail "no reload"; note_logs; return 1; }
    next_step
    # Both on one terminal (the window is per user, service, tty and rhost);
    # one answer only: a second prompt would end the run with 101.
    OUT=$(cd / && ASAN_OPTIONS=$HOST_ASAN_OPTIONS timeout 60 "$ANSWER" "$(totp "$MALLORY")" @cmd su vgl-mallory -s /bin/sh \
        --session-command "sudo id -un && sudo id -un" 2>&1)
    RC=$?
    expect_rc "two sudos, one code" 0 "$RC" "$OUT" || { note_logs; return 1; }
    [ "$(printf '%s\n' "$OUT" | grep -c '^root')" -eq 2 ] || fail "expected two commands run as root: $OUT"
}
tap_case "[step_up] remember: a second sudo within the window is not asked again" remember_window

# ssh_key_answers USER KEY ANSWER...: logs in as USER with KEY (and its
# certificate, if KEY-cert.pub exists), answering prompts; sets RC, OUT.
ssh_key_answers() {
    local user=$1 key=$2
    shift 2
    OUT=$(timeout 60 "$ANSWER" "$@" @cmd ssh -F /dev/null -i "$key" -o IdentitiesOnly=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 \
        -o PreferredAuthentications=publickey,keyboard-interactive -o NumberOfPasswordPrompts=1 \
        -p "$SSHD_PORT" "$user@127.0.0.1" id -un 2>&1)
    RC=$?
}

# Within [step_up] remember (1m, from the case before), carol logs in with
# her key and a code; the same key again is not asked; a second key of hers
# from the same address (a jump host's, say) is.
remember_by_key() {
    ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/carol2" || return 1
    cat "$T/ssh/carol2.pub" >>"$T/keys/vgl-carol"
    next_step
    ssh_key_answers vgl-carol "$T/ssh/id" "$(totp "$CAROL")"
    expect_rc "carol, first key, with a code" 0 "$RC" "$OUT" || { note_logs; return 1; }
    ssh_key_answers vgl-carol "$T/ssh/id"
    expect_rc "carol, the same key again, within the window, no code" 0 "$RC" "$OUT" || { note_logs; return 1; }
    ssh_key_answers vgl-carol "$T/ssh/carol2"
    [ "$RC" -eq 101 ] || { fail "carol's second key from the same address was not asked for a code (exit $RC)"; note_text "ssh" "$OUT"; note_logs; return 1; }
    no_line vgl-carol "$(printf '%s\n' "$OUT" | tr -d '\r')" "the second key logged in on the first key's proof"
}
tap_case "[step_up] remember (sshd): the same key is not asked again; another key from the same address is" \
    remember_by_key

# sshd's Match block lets bob log in with keyboard-interactive alone, and
# the rules allow bob without a second factor: pam_vigil must not answer
# "nothing to add" and leave the login to the example's pam_permit.
match_block_kbdint() {
    audit_mark
    local out rc
    out=$(timeout 60 "$ANSWER" @cmd ssh -F /dev/null -o PubkeyAuthentication=no \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 \
        -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 \
        -p "$SSHD_PORT" vgl-bob@127.0.0.1 id -un 2>&1)
    rc=$?
    expect_nonzero "bob, keyboard-interactive alone, no key, no answer" "$rc" "$out" || { note_logs; return 1; }
    no_line vgl-bob "$(printf '%s\n' "$out" | tr -d '\r')" "bob got a shell without any credential" || return 1
    tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | grep '"phase":"auth"' | grep '"user":"vgl-bob"' |
        grep -q 'only asked for after a public key' ||
        { fail "no auth-phase deny for bob in the trail"; note "trail" "$AUDIT_LOG" 3; }
}
tap_case "sshd-stepup.example: a Match block allowing keyboard-interactive alone lets nobody in without a key" \
    match_block_kbdint

# dave's own CA (cert-authority in his authorized_keys) can make any
# certificate sshd accepts; only the fleet's CA ([ssh]) is believed.
certificates() {
    ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/dave_fleet" && ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/dave_own" &&
        ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/dave_ca" || return 1
    ssh-keygen -q -s "$T/ssh/admin_ca" -I deploy-dave -n vgl-dave -V -5m:+1h "$T/ssh/dave_fleet.pub" &&
        ssh-keygen -q -s "$T/ssh/dave_ca" -I deploy-dave-own -n vgl-dave -V -5m:+1h "$T/ssh/dave_own.pub" ||
        { fail "ssh-keygen could not sign"; return 1; }
    echo "cert-authority $(cat "$T/ssh/dave_ca.pub")" >>"$T/keys/vgl-dave"
    audit_mark
    ssh_key_answers vgl-dave "$T/ssh/dave_fleet"
    expect_rc "dave with the fleet CA's certificate" 0 "$RC" "$OUT" || { note_logs; return 1; }
    audit_expect vgl-dave sshd outcome=allow ssh_certificate.key_id=deploy-dave '!ssh_certificate_untrusted' \
        '?session_max_seconds' || return 1
    local max
    max=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["session_max_seconds"])' "$T/last-record.json")
    [ "$max" -le 3600 ] || { fail "the session is not capped by the certificate's hour: $max s"; return 1; }
    audit_mark
    ssh_key_answers vgl-dave "$T/ssh/dave_own"
    expect_rc "dave with a certificate from his own CA (sshd accepts it)" 0 "$RC" "$OUT" || { note_logs; return 1; }
    audit_expect vgl-dave sshd outcome=allow '!ssh_certificate' '!session_max_seconds' \
        ssh_certificate_untrusted.certificates.0.key_id=deploy-dave-own
}
tap_case "certificates: the fleet CA's is believed (trail, session capped); one from dave's own CA only recorded" \
    certificates

cerbos_purpose() {
    # Cerbos' roles are the user's groups and the policies want "ops".
    e2e_add_group ops 20101 vgl-alice,vgl-mallory || return 1
    "$SRCDIR/tests/pdp/install.sh" >/dev/null 2>"$T/install.err" ||
        { note "tests/pdp/install.sh" "$T/install.err"; fail "cannot install Cerbos"; return 1; }
    "$SRCDIR/tests/pdp/cerbos.sh" start "$T/cerbos" >"$T/cerbos.out" 2>&1 ||
        { note "cerbos.sh start" "$T/cerbos.out" 30; fail "Cerbos did not start"; return 1; }
    CERBOS_STARTED=1
    . "$T/cerbos/cerbos.env"
    # The policy (conf/cerbos/host.yaml) denies unless the EDR sensor's unit
    # is known to run: a real systemd --user runs a unit of that name.
    sdu_start "$T/sdu" && sdu_unit falcon-sensor.service "ExecStart=/bin/sleep infinity" &&
        sdu_start_unit falcon-sensor.service || { fail "systemd --user or the EDR unit did not start"; return 1; }
    cat >"$T/vigil.toml" <<EOF
[agent]
socket = "$PAM_SOCK"
admin_socket = "$ADMIN_SOCK"
grant_socket = "$T/run/grant.sock"
audit_log = "$AUDIT_LOG"
state_dir = "$T/state"

[pdp]
protocol = "cerbos"
urls = ["$CERBOS_URL"]
timeout = "2s"
fallback = "deny"

[host]
id = "db-01"
labels = { sensitivity = "low", purpose_required = "yes" }

[posture.systemd]
bus = "$SDU_BUS"
units = ["falcon-sensor.service"]

[step_up]
remember = "0"

[step_up.purpose]
pattern = "^[A-Z]+-[0-9]+ .{4,}$"
EOF
    chmod 600 "$T/vigil.toml"
    # A collector starts with vigild, not on a reload.
    agent_stop && agent_start "$T/vigil.toml" vigild-cerbos || return 1
    wait_for 5 sh -c '"$1" --socket "$2" posture | grep -q "systemd.unit.falcon-sensor.service  *active"' _ \
        "$VIGILCTL" "$ADMIN_SOCK" || { fail "vigild never saw the EDR unit active"; note_logs; return 1; }
    sudo_answers vgl-alice "INC-9 rotate the TLS keys"
    expect_rc "sudo with a reason, Cerbos deciding" 0 "$RC" "$OUT" || { note_logs; return 1; }
    last_account_record vgl-alice sudo
    json_expect "the reason reached Cerbos" "$T/last-record.json" outcome=allow path=pdp \
        "purpose=INC-9 rotate the TLS keys" "reason_admin=cerbos saw purpose: INC-9 rotate the TLS keys"
}
tap_case "cerbos: the PDP's purpose obligation prompts; Cerbos sees context.purpose and names it in the trail" \
    cerbos_purpose

agent_alive() {
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died"; note_logs; return 1; }
    "$VIGILCTL" audit verify "$AUDIT_LOG" >/dev/null || fail "the trail does not verify"
}
tap_case "vigild stayed up and its trail verifies" agent_alive
