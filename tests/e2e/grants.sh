#!/bin/bash
# Just-in-time group grants end to end: a user asks vigild for membership of
# %vigil-sudo with `vigilctl grant request` on the grant socket; vigild
# decides it as service "elevate" for the requester (named by SO_PEERCRED),
# writes the grant table, and libnss_vigil.so.2 makes the membership real to
# getent, id and sudo. The row ends at its expiry by itself (shown with
# vigild stopped), and a running vigild ends the sudo sessions opened under
# a grant when the grant lapses. A grant asked for with --bind from an ssh
# session ends when that session does, with the sudo sessions opened under it.
# An ephemeral account ([[grants.account]]) exists only while granted, and
# its ssh session ends when the grant does.
#
# The module and the table are put in place as in nss.sh: inside this
# script's private mount namespace the system library directory and /var/lib
# become overlays over a tmpfs, so glibc (and setuid sudo) load the built
# module from where an installed one would be, and vigild writes the table
# at the module's compiled-in /var/lib/vigil/grants. The host is never
# written.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 15

GRANTS=/var/lib/vigil/grants
GROUP=vigil-sudo
GROUP_GID=64201
GRANT_SOCK=$T/run/grant.sock
ACCOUNT=vgl-breakglass
ACCOUNT_UID=64301

# In an ASan build the module carries the sanitizer runtime into every host
# program that resolves a name through it (getent, id, su, sudo): they get
# the same options as sudo in lib.sh. vigild keeps its own.
host() { ASAN_OPTIONS=$HOST_ASAN_OPTIONS "$@"; }

write_grants_config() { # [SESSION_MAX of the elevate rule]
    # write_agent_config puts the grant socket at $GRANT_SOCK.
    write_agent_config "$T/vigil.toml" <<EOF
[pdp]
protocol = "local"

[sessions]
revoke_grace = "1s"

[grants]
table = "$GRANTS"
max = "1h"
# The cases below ask some 25 times per user within minutes (the table
# race alone 15 times in a row): above the default rate (5, then one each
# 15 s), which e2e-grant-requests tests.
requests_burst = 100

[[grants.group]]
name = "$GROUP"
gid = $GROUP_GID

[[grants.account]]
name = "$ACCOUNT"
uid = $ACCOUNT_UID
gid = $E2E_OPS_GID
home = "$T/home-$ACCOUNT"
shell = "/bin/sh"

[[rule]]
name = "ops may elevate"
services = ["elevate"]
groups = ["vgl-ops"]
decision = "allow"
session_max = "${1:-30m}"

[[rule]]
name = "ops may sudo"
services = ["sudo"]
groups = ["vgl-ops"]
decision = "allow"

[[rule]]
name = "ops may ssh"
services = ["sshd"]
groups = ["vgl-ops"]
decision = "allow"
EOF
}

# The sudo stack: vigil's account decision (ops may sudo, so only sudoers
# decides who runs what) and vigil's session registration.
pam_sudo_grants() {
    write_pam sudo <<EOF
auth required pam_permit.so
$(vigil_pam account timeout=3000)
$(vigil_pam session timeout=3000)
EOF
}

setup() {
    e2e_setup_system
    e2e_nss_vigil || return 1
    rm -f "$GRANTS"
    # Only a grant of %vigil-sudo lets anyone sudo.
    cat >"$T/etc/sudoers" <<EOF
Defaults !lecture
Defaults !syslog
Defaults env_reset
root ALL=(ALL:ALL) ALL
%$GROUP ALL=(ALL:ALL) NOPASSWD: ALL
EOF
    # A shell that logged in before a grant does not carry the group: sudo
    # must ask NSS for the user's groups, as the README and libnss_vigil(8) say.
    echo "Set group_source dynamic" >"$T/etc/sudo.conf"
    mount --bind "$T/etc/sudo.conf" /etc/sudo.conf || { fail "cannot bind-mount sudo.conf"; return 1; }
    pam_sudo_grants
    pam_sshd_vigil timeout=3000
    write_grants_config
    agent_start "$T/vigil.toml" || return 1
    sshd_start || return 1
    [ -S "$GRANT_SOCK" ] || { fail "vigild does not listen on the grant socket $GRANT_SOCK"; note_logs; return 1; }
    # No grant yet: the group is declared with no members, or (no table
    # written yet) not found at all. Either way nobody holds it.
    local out rc
    out=$(host getent group "$GROUP" 2>&1)
    rc=$?
    case $rc in
        0) [ "$out" = "$GROUP:*:$GROUP_GID:" ] ||
            { fail "getent group $GROUP: expected the declared group with no members"; note_text "getent" "$out"; return 1; }
           echo "# before any request: getent group $GROUP -> $out" ;;
        2) echo "# before any request: getent group $GROUP -> not found (no table yet)" ;;
        *) fail "getent group $GROUP exited $rc"; note_text "getent" "$out"; return 1 ;;
    esac
    out=$(host id vgl-alice 2>&1)
    expect_not_contains "id vgl-alice before any grant" "$out" "$GROUP"
}
tap_case "setup: the module in the namespace's overlays, vigild with [grants]; nobody holds $GROUP" setup ||
    e2e_abort "setup failed"

# request USER FOR REASON [extra args]: USER runs vigilctl grant request; sets
# REQ_RC and REQ_OUT.
request() {
    local user=$1 for=$2 reason=$3
    shift 3
    REQ_OUT=$(cd / && host timeout 30 su "$user" -s /bin/sh -c \
        "\"$VIGILCTL\" --grant-socket \"$GRANT_SOCK\" grant request --group $GROUP --for $for --reason '$reason' $*" \
        2>&1 </dev/null)
    REQ_RC=$?
}

# Reads "granted G to U until T (grant ID)": sets UNTIL (epoch seconds,
# fractional) and GRANT_ID.
parse_granted() { # USER
    local re="^granted $GROUP to $1 until ([^ ]+) \\(grant ([^ ()]+)\\)\$" line
    line=$(printf '%s\n' "$REQ_OUT" | grep -E "$re" | head -1)
    [ -n "$line" ] || { fail "vigilctl did not print 'granted $GROUP to $1 until <RFC3339> (grant <id>)'"; note_text "output" "$REQ_OUT"; return 1; }
    UNTIL_TEXT=$(printf '%s\n' "$line" | sed -E "s/$re/\\1/")
    GRANT_ID=$(printf '%s\n' "$line" | sed -E "s/$re/\\2/")
    UNTIL=$(date -d "$UNTIL_TEXT" +%s.%N 2>/dev/null) || { fail "'$UNTIL_TEXT' is not an RFC 3339 time"; return 1; }
}

# Seconds (fractional) from now to UNTIL.
secs_left() { python3 -c "import sys,time; print('%.1f' % (float(sys.argv[1]) - time.time()))" "$UNTIL"; }
within() { # VALUE LO HI
    python3 -c "import sys; v,lo,hi=map(float,sys.argv[1:]); sys.exit(0 if lo <= v <= hi else 1)" "$@"
}
near() { # VALUE CENTER TOLERANCE
    python3 -c "import sys; v,c,t=map(float,sys.argv[1:]); sys.exit(0 if abs(v - c) <= t else 1)" "$@"
}

# The expiry (epoch seconds) of USER's member row in the table, or nothing.
member_expiry() {
    awk -F'\t' -v g="$GROUP" -v u="$1" '$1 == "member" && $2 == g && $3 == u { print $4 }' "$GRANTS" 2>/dev/null | sort -n | tail -1
}
member_ids() {
    awk -F'\t' -v g="$GROUP" -v u="$1" '$1 == "member" && $2 == g && $3 == u { print $5 }' "$GRANTS" 2>/dev/null
}
table_sum() { if [ -e "$GRANTS" ]; then cksum <"$GRANTS"; else echo absent; fi; }

# audit_pick EVENT USER SERVICE: how many records of EVENT for USER and
# SERVICE since audit_mark; the last one goes to $T/last-record.json. EVENT
# "*" is any event but a session's (open, close, end).
audit_pick() {
    tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" 2>/dev/null | python3 -c '
import json, sys
event, user, service, out = sys.argv[1:5]
found = []
for line in sys.stdin:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    ev = r.get("event", "")
    if event == "*" and ev.startswith("session_"):
        continue
    if (event in ("*", ev)) and (r.get("user"), r.get("service")) == (user, service):
        found.append(line)
open(out, "w").write(found[-1] if found else "{}")
print(len(found))' "$1" "$2" "$3" "$T/last-record.json"
}
record_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$T/last-record.json" "$1"; }

bob_denied() {
    local before
    before=$(table_sum)
    audit_mark
    request vgl-bob 5s "INC-1 fix the disk"
    expect_rc "vgl-bob: vigilctl grant request" 1 "$REQ_RC" "$REQ_OUT" || { note_logs; return 1; }
    expect_match "vgl-bob: vigilctl grant request" "$REQ_OUT" "^vigilctl: denied: " || return 1
    [ "$(table_sum)" = "$before" ] || { fail "the grant table changed after a refused request"; note "table" "$GRANTS"; return 1; }
    local out
    out=$(host id -nG vgl-bob 2>&1)
    expect_not_contains "id -nG vgl-bob" "$out" "$GROUP" || return 1
    local n
    n=$(audit_pick '*' vgl-bob elevate)
    [ "$n" -ge 1 ] || { fail "no audited decision for vgl-bob/elevate"; note "audit log" "$AUDIT_LOG" 4; return 1; }
    echo "# vgl-bob's elevate record: event $(record_field event), phase $(record_field phase)"
    json_expect "vgl-bob's elevate decision" "$T/last-record.json" outcome=deny
}
tap_case "vgl-bob (not in vgl-ops) is refused: exit 1, 'denied', the table unchanged, a deny in the trail" bob_denied

REASON="INC-1 fix the disk"
alice_granted() {
    audit_mark
    request vgl-alice 5s "$REASON"
    expect_rc "vgl-alice: vigilctl grant request --for 5s" 0 "$REQ_RC" "$REQ_OUT" || { note_logs; return 1; }
    parse_granted vgl-alice || return 1
    local left
    left=$(secs_left)
    echo "# granted until $UNTIL_TEXT (grant $GRANT_ID), $left s left"
    within "$left" 3 6 || { fail "the grant ends in $left s, expected about 5"; return 1; }
    local exp
    exp=$(member_expiry vgl-alice)
    [ -n "$exp" ] || { fail "no member row for vgl-alice in $GRANTS"; note "table" "$GRANTS" 10; return 1; }
    echo "# the table's member row expires at $exp (epoch s); the grant until $UNTIL"
    near "$exp" "$UNTIL" 1 ||
        { fail "the table's expiry $exp is not within 1 s of $UNTIL_TEXT"; note "table" "$GRANTS" 10; return 1; }
    member_ids vgl-alice | grep -qxF "$GRANT_ID" ||
        echo "# note: the table's grant_id ($(member_ids vgl-alice | tr '\n' ' ')) is not the CLI's grant id $GRANT_ID"
    local out
    out=$(host getent group "$GROUP" 2>&1)
    [ "$out" = "$GROUP:*:$GROUP_GID:vgl-alice" ] ||
        { fail "getent group $GROUP should list vgl-alice"; note_text "getent" "$out"; note "table" "$GRANTS" 10; return 1; }
    out=$(host id -nG vgl-alice 2>&1)
    printf '%s\n' "$out" | tr ' ' '\n' | grep -qxF "$GROUP" ||
        { fail "id -nG vgl-alice does not include $GROUP"; note_text "id -nG" "$out"; return 1; }
}
tap_case "vgl-alice is granted $GROUP for 5 s: the row is in the table; getent group and id -nG show her" alice_granted

sudo_during_grant() {
    sudo_as vgl-alice id -u
    expect_rc "vgl-alice: sudo -n id -u during the grant" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    [ "$SUDO_OUT" = 0 ] || { fail "expected sudo's command to print 0, got: $SUDO_OUT"; return 1; }
    # vgl-mallory is in vgl-ops too (vigil's account phase allows her) but
    # holds no grant: sudoers refuses her.
    sudo_as vgl-mallory id -u
    expect_nonzero "vgl-mallory (no grant): sudo -n id -u" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "vgl-mallory ran a command as root without a grant"
}
tap_case "during the grant vgl-alice's sudo -n id -u prints 0; vgl-mallory (ops, no grant) is refused" sudo_during_grant

listed_and_audited() {
    local json
    json=$("$VIGILCTL" --socket "$ADMIN_SOCK" grant list --json 2>&1) ||
        { fail "vigilctl grant list --json failed"; note_text "output" "$json"; return 1; }
    printf '%s\n' "$json" >"$T/grants.json"
    python3 - "$T/grants.json" "$GRANT_ID" "$GROUP" "$REASON" >"$T/grant.json" 2>"$T/grant.err" <<'EOF' ||
import json, sys
doc = json.load(open(sys.argv[1]))
mine = [g for g in doc["grants"] if g.get("id") == sys.argv[2]]
if len(mine) != 1:
    sys.exit("grant %s is listed %d times" % (sys.argv[2], len(mine)))
print(json.dumps(mine[0]))
EOF
        { fail "vigilctl grant list --json: $(cat "$T/grant.err")"; note_text "output" "$json"; return 1; }
    json_expect "the listed grant" "$T/grant.json" group="$GROUP" user=vgl-alice reason="$REASON" '?expires_at' ||
        return 1
    local n
    n=$(audit_pick '*' vgl-alice elevate)
    [ "$n" -eq 1 ] || { fail "expected 1 audited decision for vgl-alice/elevate, found $n"; note "audit log" "$AUDIT_LOG" 4; return 1; }
    echo "# vgl-alice's elevate record: event $(record_field event), phase $(record_field phase)"
    json_expect "vgl-alice's elevate decision" "$T/last-record.json" outcome=allow purpose="$REASON"
}
tap_case "vigilctl grant list --json shows the grant; the trail has an elevate allow with the reason as purpose" \
    listed_and_audited

past() { python3 -c "import sys,time; sys.exit(0 if time.time() >= float(sys.argv[1]) else 1)" "$1"; }

expires_without_vigild() {
    local exp
    # A grant of its own: the one from the cases above may be over already
    # on a loaded machine.
    request vgl-alice 6s "outlive vigild"
    [ "$REQ_RC" -eq 0 ] || { fail "vigilctl grant request --for 6s exited $REQ_RC"; note_text "output" "$REQ_OUT"; return 1; }
    exp=$(member_expiry vgl-alice)
    [ -n "$exp" ] || { fail "vgl-alice's row left the table before her grant expired"; note "table" "$GRANTS" 10; return 1; }
    agent_stop || return 1
    # While time is left, the row is still served with vigild gone.
    if ! past "$((exp - 1))"; then
        host id -nG vgl-alice | tr ' ' '\n' | grep -qxF "$GROUP" ||
            { fail "the grant vanished when vigild stopped, before its expiry"; note "table" "$GRANTS" 10; return 1; }
    else
        echo "# note: too little of the grant was left to check it outlives vigild"
    fi
    # Only sudoers and the module decide now: vigild is down, so vigil's
    # PAM lines would refuse anyway.
    printf 'auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_permit.so\n' |
        write_pam sudo
    wait_for 15 past "$exp" || { fail "the clock did not reach $exp"; return 1; }
    [ "$(member_expiry vgl-alice)" = "$exp" ] || echo "# note: the row changed with vigild stopped"
    local out
    out=$(host id -nG vgl-alice 2>&1)
    expect_not_contains "id -nG vgl-alice after expiry" "$out" "$GROUP" || return 1
    out=$(host getent group "$GROUP")
    expect_not_contains "getent group $GROUP after expiry" "$out" "vgl-alice" || return 1
    sudo_as vgl-alice id -u
    expect_nonzero "vgl-alice: sudo -n id -u after expiry" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "vgl-alice ran a command as root after her grant expired"
}
tap_case "vigild stopped: at the expiry the module drops vgl-alice's membership itself; sudo refuses her" \
    expires_without_vigild

sessions_json() { "$VIGILCTL" --socket "$ADMIN_SOCK" sessions --json 2>/dev/null; }
sudo_sessions() {
    sessions_json | python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["sessions"] if s["user"] == "vgl-alice" and s["service"] == "sudo"))' 2>/dev/null || echo 0
}
sudo_registered() { [ "$(sudo_sessions)" -ge 1 ]; }
sleeper_gone() { ! kill -0 "$BG_PID" 2>/dev/null && ! pgrep -xf 'sleep 600' >/dev/null; }
row_gone() { [ -z "$(member_expiry vgl-alice)" ]; }
ended_logged() { [ "$(audit_pick session_end vgl-alice sudo)" -ge 1 ]; }

BG_PID=""
sudo_ends_at_expiry() {
    pam_sudo_grants
    agent_start "$T/vigil.toml" vigild-restarted || return 1
    # The expired row is pruned, or was never rewritten: either way not served.
    host id -nG vgl-alice | tr ' ' '\n' | grep -qxF "$GROUP" &&
        { fail "vgl-alice holds $GROUP again after vigild restarted"; note "table" "$GRANTS" 10; return 1; }
    audit_mark
    request vgl-alice 6s "INC-2 rotate the logs"
    expect_rc "vgl-alice: vigilctl grant request --for 6s" 0 "$REQ_RC" "$REQ_OUT" || { note_logs; return 1; }
    parse_granted vgl-alice || return 1
    (cd / && ASAN_OPTIONS=$HOST_ASAN_OPTIONS exec timeout 120 su vgl-alice -s /bin/sh -c "sudo -n sleep 600") \
        >"$T/bg-sudo.out" 2>&1 </dev/null &
    BG_PID=$!
    e2e_track "$BG_PID"
    wait_for 5 sudo_registered ||
        { fail "alice's sudo session was not registered"; note "sudo output" "$T/bg-sudo.out"; note_logs; return 1; }
    echo "# sudo session registered with $(secs_left) s of the grant left"
    sleeper_gone && { fail "sudo -n sleep 600 ended before the grant expired"; note "sudo output" "$T/bg-sudo.out"; return 1; }
    # The membership ends at the table's expiry (whole seconds) or the
    # grant's end, whichever is first; the session must go within 3 s.
    local exp end_at gone_ms
    exp=$(member_expiry vgl-alice)
    [ -n "$exp" ] || { fail "no member row for the 6 s grant"; note "table" "$GRANTS" 10; return 1; }
    end_at=$(python3 -c "import sys; print(min(float(sys.argv[1]), float(sys.argv[2])))" "$exp" "$UNTIL")
    wait_for 15 past "$(python3 -c "import sys; print(float(sys.argv[1]) - 1)" "$end_at")" ||
        { fail "the clock did not reach the grant's end"; return 1; }
    sleeper_gone && { fail "the sudo session ended more than 1 s before the grant's end"; note_logs; return 1; }
    wait_for 5 sleeper_gone ||
        { fail "sudo -n sleep 600 still runs 4 s after the grant expired"; note "sudo output" "$T/bg-sudo.out"; note_logs; return 1; }
    gone_ms=$(python3 -c "import sys,time; print(int((time.time() - float(sys.argv[1])) * 1000))" "$end_at")
    echo "# measured: grant end (table expiry $exp, grant until $UNTIL_TEXT) -> sudo session gone (ms): $gone_ms"
    [ "$gone_ms" -le 3000 ] || { fail "the session ended $gone_ms ms after the grant's end, wanted within 3000"; return 1; }
    wait_for 5 row_gone || { fail "vigild did not remove vgl-alice's row at the expiry"; note "table" "$GRANTS" 10; return 1; }
    wait_for 5 ended_logged || { fail "no session_end record for vgl-alice/sudo"; note "audit log" "$AUDIT_LOG" 4; note_logs; return 1; }
    echo "# session_end: $(record_field reason_admin)"
    local json
    json=$("$VIGILCTL" --socket "$ADMIN_SOCK" grant list --json 2>&1)
    expect_not_contains "vigilctl grant list --json after the expiry" "$json" "$GRANT_ID"
}
tap_case "vigild restarted; a 6 s grant: alice's sudo -n sleep 600 (a registered session) ends at its expiry" \
    sudo_ends_at_expiry

bind_outside_a_session() {
    local before
    before=$(table_sum)
    request vgl-alice 10m "INC-4 one task" --bind
    expect_rc "vgl-alice: grant request --bind from su (no watched session)" 1 "$REQ_RC" "$REQ_OUT" || return 1
    expect_contains "the refusal" "$REQ_OUT" "not in a session vigild watches" || return 1
    [ "$(table_sum)" = "$before" ] || { fail "the grant table changed after a refused --bind"; note "table" "$GRANTS"; return 1; }
}
tap_case "grant request --bind outside any session vigild watches is refused; nothing is written" bind_outside_a_session

# The task: alice logs in over ssh, asks for a grant bound to that session,
# and runs a long sudo under it. Her logout ends the grant (long before its
# 10 minutes) and the sudo session that depended on it.
bound_out() { grep -q "^bound to session" "$T/bound.out"; }
bound_to_ssh() {
    local asan="ASAN_OPTIONS='$HOST_ASAN_OPTIONS'"
    timeout 120 ssh -F /dev/null -i "$T/ssh/id" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p "$SSHD_PORT" \
        vgl-alice@127.0.0.1 "$asan '$VIGILCTL' --grant-socket '$GRANT_SOCK' grant request --group $GROUP \
            --for 10m --reason 'INC-4 one task' --bind && $asan sudo -n sleep 600" >"$T/bound.out" 2>&1 </dev/null &
    local ssh_pid=$!
    e2e_track "$ssh_pid"
    wait_for 15 bound_out || { fail "no bound grant"; note "ssh output" "$T/bound.out"; note_logs; return 1; }
    wait_for 5 sudo_registered || { fail "the sudo session under the grant was not registered"; note "ssh output" "$T/bound.out"; note_logs; return 1; }
    local json
    json=$("$VIGILCTL" --socket "$ADMIN_SOCK" grant list --json 2>&1)
    expect_contains "vigilctl grant list --json" "$json" '"session":' || return 1
    host id -nG vgl-alice | tr ' ' '\n' | grep -qxF "$GROUP" || { fail "vgl-alice does not hold $GROUP during the grant"; return 1; }
    local t0
    t0=$(now_ms)
    kill -TERM "$ssh_pid" # alice's ssh goes away: sshd closes her session
    wait_for 10 row_gone || { fail "the bound grant outlived its session"; note "table" "$GRANTS" 10; note_logs; return 1; }
    echo "# measured: ssh client gone -> bound grant's row removed (ms): $(($(now_ms) - t0))"
    wait_for 10 sleeper_gone || { fail "the sudo session opened under the bound grant still runs"; note_logs; return 1; }
    echo "# measured: ssh client gone -> sudo session under the grant gone (ms): $(($(now_ms) - t0))"
    ! host id -nG vgl-alice | tr ' ' '\n' | grep -qxF "$GROUP" || fail "vgl-alice still holds $GROUP"
}
tap_case "a grant bound to alice's ssh session ends at her logout, and so does the sudo session under it" bound_to_ssh

account_row() { getent passwd "$ACCOUNT" 2>/dev/null; }
account_gone() { [ -z "$(host getent passwd "$ACCOUNT")" ]; }
account_session() { # 1 while the account has a registered session
    sessions_json | python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["sessions"] if s["user"] == sys.argv[1]))' "$ACCOUNT" 2>/dev/null || echo 0
}
account_registered() { [ "$(account_session)" -ge 1 ]; }
account_ssh_gone() { ! kill -0 "$ACCOUNT_SSH" 2>/dev/null; }
ACCOUNT_SSH=""
account_granted() {
    account_gone || { fail "$ACCOUNT exists before any grant"; return 1; }
    REQ_OUT=$(cd / && host timeout 30 su vgl-alice -s /bin/sh -c \
        "\"$VIGILCTL\" --grant-socket \"$GRANT_SOCK\" grant request --account $ACCOUNT --for 8s --reason 'INC-5 break glass'" \
        2>&1 </dev/null)
    REQ_RC=$?
    expect_rc "vgl-alice: vigilctl grant request --account $ACCOUNT" 0 "$REQ_RC" "$REQ_OUT" || { note_logs; return 1; }
    expect_match "vigilctl's answer" "$REQ_OUT" "^granted account $ACCOUNT to vgl-alice until " || return 1
    local row
    row=$(host getent passwd "$ACCOUNT")
    expect_match "getent passwd $ACCOUNT" "$row" "^$ACCOUNT:\*:$ACCOUNT_UID:$E2E_OPS_GID:vigil grant for vgl-alice:$T/home-$ACCOUNT:/bin/sh\$" || return 1
    # Someone else cannot take it over while alice holds it.
    local other
    other=$(cd / && host timeout 30 su vgl-mallory -s /bin/sh -c \
        "\"$VIGILCTL\" --grant-socket \"$GRANT_SOCK\" grant request --account $ACCOUNT --for 8s --reason 'take over'" 2>&1 </dev/null)
    expect_contains "vgl-mallory asking for the same account" "$other" "granted to someone else" || return 1
    # The account logs in over ssh (its key where sshd looks) and stays in.
    mkdir -p "$T/home-$ACCOUNT" && chown "$ACCOUNT_UID:$E2E_OPS_GID" "$T/home-$ACCOUNT"
    cp "$T/ssh/id.pub" "$T/keys/$ACCOUNT"
    timeout 120 ssh -F /dev/null -i "$T/ssh/id" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p "$SSHD_PORT" \
        "$ACCOUNT@127.0.0.1" sleep 600 >"$T/account-ssh.out" 2>&1 </dev/null &
    ACCOUNT_SSH=$!
    e2e_track "$ACCOUNT_SSH"
    wait_for 10 account_registered || { fail "the account's ssh session was not registered"; note "ssh" "$T/account-ssh.out"; note_logs; return 1; }
    wait_for 15 account_gone || { fail "$ACCOUNT outlived its 8 s grant"; note "table" "$GRANTS" 10; return 1; }
    local t0
    t0=$(now_ms)
    wait_for 5 account_ssh_gone || { fail "the account's ssh session outlived the account"; note_logs; return 1; }
    echo "# measured: account gone -> its ssh session gone (ms): $(($(now_ms) - t0))"
    wait_for 5 ended_logged_for "$ACCOUNT" || fail "no session_end record for $ACCOUNT"
}
ended_logged_for() { grep '"event":"session_end"' "$AUDIT_LOG" | grep -q "\"user\":\"$1\""; }
tap_case "an ephemeral account exists only while granted (getent passwd); its ssh session ends with the grant" \
    account_granted

# request_capped USER WANT_MAX: a request for 2h is granted for at most
# WANT_MAX seconds, or refused with nothing written.
request_capped() {
    local user=$1 want=$2
    request "$user" 2h "INC-3 a long one"
    case $REQ_RC in
        0)
            parse_granted "$user" || return 1
            local left
            left=$(secs_left)
            echo "# $user's request for 2h was capped: granted for $left s (at most $want expected)"
            within "$left" 0 $((want + 5)) || { fail "$user was granted $left s, more than $want"; return 1; }
            ;;
        1)
            echo "# $user's request for 2h was refused: $REQ_OUT"
            expect_match "vigilctl grant request --for 2h" "$REQ_OUT" "^vigilctl: denied: " || return 1
            [ -z "$(member_expiry "$user")" ] || { fail "refused, yet a row was written"; note "table" "$GRANTS" 10; return 1; }
            ;;
        *) fail "$user: vigilctl grant request --for 2h exited $REQ_RC"; note_text "output" "$REQ_OUT"; return 1 ;;
    esac
}
_reloads_above() { [ "$(grep -c "reloaded" "$AGENT_LOG")" -gt "$1" ]; }

over_max() {
    # The rule's session_max (30m) is the tighter cap.
    request_capped vgl-alice 1800 || return 1
    # With session_max 2h, [grants] max (1h) is the cap.
    write_grants_config 2h
    local n
    n=$(grep -c "reloaded" "$AGENT_LOG")
    kill -HUP "$AGENT_PID"
    wait_for 5 _reloads_above "$n" || { fail "vigild did not reload"; note_logs; return 1; }
    request_capped vgl-mallory 3600
}
tap_case "a request for 2h is capped by the rule's session_max (30m), then by [grants] max (1h), or refused" over_max

# Racing the grant table. vigild replaces the table whole (a new file,
# then rename) on every grant, so a reader sees the old table or the new
# one, never half of one: a half-written table fails validation and the
# module would serve nothing (getent exits 2). Four readers resolve the
# group in a loop while two users are granted it 30 times over. And an
# unprivileged user cannot put a table of its own in its place.
race_reader() { # N
    local n=0 bad=0 out rc
    while [ ! -e "$T/race.stop" ]; do
        out=$(host getent group "$GROUP")
        rc=$?
        n=$((n + 1))
        case $out in
            "$GROUP:*:$GROUP_GID:"*) [ "$rc" -eq 0 ] || bad=$((bad + 1)) ;;
            *) bad=$((bad + 1)); echo "rc $rc: $out" >>"$T/race.bad" ;;
        esac
    done
    echo "$n $bad" >"$T/race.$1"
}
table_race() {
    rm -f "$T/race.stop" "$T/race.bad"
    local -a readers=()
    local i before
    before=$(grep -c '"service":"elevate"' "$AUDIT_LOG")
    for i in 1 2 3 4; do
        race_reader "$i" &
        readers+=($!)
    done
    for i in $(seq 15); do
        request vgl-alice 30s "INC-6 race $i" || true
        request vgl-mallory 30s "INC-6 race $i" || true
    done
    touch "$T/race.stop"
    for i in "${readers[@]}"; do wait "$i"; done
    local reads=0 bad=0 n b
    for i in 1 2 3 4; do
        read -r n b <"$T/race.$i"
        reads=$((reads + n)) bad=$((bad + b))
    done
    local grants
    grants=$(($(grep -c '"service":"elevate"' "$AUDIT_LOG") - before))
    echo "# $grants grant decisions (each a table rewrite) during $reads lookups by 4 readers; $bad lookups saw no valid table"
    [ "$grants" -ge 30 ] || { fail "only $grants grant requests were decided"; note_logs; return 1; }
    [ "$reads" -ge 40 ] || { fail "only $reads lookups ran"; return 1; }
    [ "$bad" -eq 0 ] || { fail "$bad lookups saw no valid table"; note "what they saw" "$T/race.bad" 10; return 1; }
    # The directory is root's: nobody else can plant or swap a table.
    local sum out
    sum=$(table_sum)
    for cmd in "ln -sf /tmp/forged $GRANTS" "cp /etc/group $GRANTS" "mv $GRANTS /tmp/x" "touch $GRANTS.new"; do
        out=$(cd / && host su vgl-mallory -s /bin/sh -c "$cmd" 2>&1) &&
            { fail "vgl-mallory could run '$cmd'"; return 1; }
    done
    [ "$(table_sum)" = "$sum" ] || { fail "the table changed under vgl-mallory's attempts"; return 1; }
}
tap_case "racing the table: 30 rewrites under 4 looping readers, every lookup sees a whole table; vgl-mallory cannot swap it" \
    table_race

# The table cut short under a running vigild (a full disk, a stray
# truncate): the module serves nothing from it, vigild says so once (not at
# every sweep), and its next grant writes the whole table back, the earlier
# grants with it.
bad_table_logged() { grep -q "truncated?); the module serves nothing" "$AGENT_LOG"; }
truncated_table() {
    request vgl-alice 10m "before the cut" || true
    [ -n "$(member_expiry vgl-alice)" ] || { fail "alice's grant is not in the table"; note "table" "$GRANTS" 5; return 1; }
    local size
    size=$(stat -c %s "$GRANTS")
    truncate -s $((size - 7)) "$GRANTS"
    local out rc
    out=$(host getent group "$GROUP")
    rc=$?
    [ "$rc" -eq 2 ] || { fail "getent group $GROUP served a truncated table (exit $rc): $out"; return 1; }
    wait_for 5 bad_table_logged || { fail "vigild did not log the truncated table"; note_logs; return 1; }
    sleep 2.5 # two more sweeps, which must not log it again: time that must pass, not a wait
    local said
    said=$(grep -c "truncated?); the module serves nothing" "$AGENT_LOG")
    [ "$said" -eq 1 ] || { fail "vigild logged the bad table $said times, want once"; note_logs; return 1; }
    request vgl-mallory 10m "after the cut" || true
    out=$(host getent group "$GROUP")
    rc=$?
    expect_rc "getent group $GROUP after the next grant" 0 "$rc" "$out" || return 1
    expect_contains "getent group $GROUP" "$out" "vgl-alice" || return 1
    expect_contains "getent group $GROUP" "$out" "vgl-mallory" || return 1
    grep -q "written again from the grants vigild knew of" "$AGENT_LOG" || { fail "the repair was not logged"; note_logs; return 1; }
}
tap_case "the table cut short under vigild: nothing served, logged once; the next grant writes it back whole" truncated_table

# in_place FILE < new: FILE's content replaced without a new inode (the
# namespace's /etc files are bind mounts of these).
in_place() { cat >"$T/in-place.tmp" && cat "$T/in-place.tmp" >"$1"; }

# harness_account USER: the sshd stack's account phase for USER, in-process.
harness_account() {
    HARNESS_OUT=$("$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sshd --user "$1" --rhost 127.0.0.1 \
        --phase account 2>&1)
    HARNESS_RC=$?
}

# vgl-orphan is in vgl-ops, with a primary gid no group has. libnss_vgldown
# (tests/tools/nss_unavailable.cc), listed after files for groups, fails
# with EIO when asked to name that gid, as a group source whose server is
# down would. Not found is not an error; unavailable is.
group_source_down() {
    local libdir orphan_gid=64556
    libdir=$(e2e_system_libdir)
    install -m 0644 "$NSS_DOWN" "$libdir/libnss_vgldown.so.2" || { fail "cannot copy the test module"; return 1; }
    e2e_add_user vgl-orphan 64555 || return 1
    sed -E "s/^(vgl-orphan:x:64555:)64555:/\1$orphan_gid:/" "$T/etc/passwd" | in_place "$T/etc/passwd"
    sed -E "s/^($E2E_OPS_GROUP:x:$E2E_OPS_GID:.*)$/\1,vgl-orphan/" "$T/etc/group" | in_place "$T/etc/group"
    [ "$(id -g vgl-orphan)" = "$orphan_gid" ] || { fail "vgl-orphan's primary gid is not $orphan_gid"; return 1; }

    audit_mark
    harness_account vgl-orphan
    expect_rc "vgl-orphan's account phase, gid $orphan_gid unknown to every source" 0 "$HARNESS_RC" "$HARNESS_OUT" ||
        { note_logs; return 1; }
    audit_expect vgl-orphan sshd outcome=allow "rule=ops may ssh" || return 1

    local normal
    normal=$(cat "$T/etc/nsswitch.conf")
    sed -E 's/^group:.*/group: files vigil vgldown/' "$T/etc/nsswitch.conf" | in_place "$T/etc/nsswitch.conf"
    local rc=0
    audit_mark
    harness_account vgl-orphan
    [ "$HARNESS_RC" -ne 0 ] || { fail "vgl-orphan was allowed though NSS could not name gid $orphan_gid"; rc=1; }
    audit_expect vgl-orphan sshd outcome=deny "reason_admin~could not list their groups" || rc=1
    printf '%s\n' "$normal" | in_place "$T/etc/nsswitch.conf"
    [ "$rc" -eq 0 ] || return 1

    audit_mark
    harness_account vgl-orphan
    expect_rc "vgl-orphan's account phase with the failing source gone" 0 "$HARNESS_RC" "$HARNESS_OUT" || return 1
    audit_expect vgl-orphan sshd outcome=allow
}
tap_case "a group source that fails (EIO) for one of vgl-orphan's gids denies; not found leaves the gid out" \
    group_source_down

agent_alive() {
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died"; note_logs; return 1; }
    "$VIGILCTL" --socket "$ADMIN_SOCK" ping >/dev/null || { fail "vigild does not answer"; note_logs; return 1; }
    local out
    out=$("$VIGILCTL" audit verify "$AUDIT_LOG" 2>&1) || { fail "the trail does not verify"; note_text "audit verify" "$out"; }
}
tap_case "vigild stayed up and its trail verifies" agent_alive
