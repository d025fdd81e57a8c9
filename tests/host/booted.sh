#!/bin/bash
# vigil installed as an admin installs it, on a booted Debian 12 machine:
# systemd as PID 1 with journald, dbus and logind, the packages from `make
# deb` installed with apt, vigild run by its shipped unit with all of its
# sandboxing, pam_vigil.so wired in with pam-auth-update, and real ssh
# logins (sshd, pam_systemd) and sudo inside the machine. What only such a
# host shows: the unit's sandbox against what vigild must write and open,
# logind ending sessions, pam_systemd's RuntimeMaxSec, the journal, the
# grant table as other users see it, reload and restart under systemd.
#
# One machine (a fresh copy of the cached root, see lib.sh) serves every
# case, in order: later cases build on what earlier ones set up.
#
# usage: tests/host/booted.sh   (as root; TAP on stdout)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

host_plan 23
host_prepare new

DROPIN=/etc/vigil/vigil.toml.d/50-host.toml
TEXTFILE=/var/lib/prometheus/node-exporter/vigil.prom
TRAIL=/var/log/vigil/audit.jsonl
ACCOUNT=breakglass
ACCOUNT_UID=64301
GROUP=vigil-sudo
GROUP_GID=64201

host_run_dir
machine_copy "$HOST_BASE" "$RUN/root" || host_abort "cannot copy the root"
machine_boot "$RUN/root" "$RUN/console.log" >"$RUN/boot.msg" ||
    host_abort "the machine did not boot: $(cat "$RUN/boot.msg")"
host_put_debs "$HOST_NEW" new || host_abort "cannot put the packages into the machine"

# trail_count KEY=VALUE|KEY~=TEXT...: how many records of the machine's
# trail have each top-level KEY equal to VALUE (or containing TEXT).
trail_count() {
    python3 - "$M_ROOT$TRAIL" "$@" <<'EOF'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    ok = True
    for c in sys.argv[2:]:
        if "~=" in c:
            k, v = c.split("~=", 1)
            ok = ok and v in str(r.get(k, ""))
        else:
            k, v = c.split("=", 1)
            ok = ok and str(r.get(k)) == v
    n += ok
print(n)
EOF
}
# last_end_of USER: reason_admin of USER's last session_end record.
last_end_of() {
    python3 - "$M_ROOT$TRAIL" "$1" <<'EOF'
import json, sys
ends = [r for r in map(json.loads, open(sys.argv[1])) if r.get("phase") == "session_end" and r.get("user") == sys.argv[2]]
print(ends[-1].get("reason_admin") if ends else "(none)")
EOF
}
trail_has() { [ "$(trail_count "$@")" -ge 1 ]; }
trail_note() { note_text "the trail's last records" "$(tail -n 4 "$M_ROOT$TRAIL")"; }

# ------------------------------------------------------------- cases ----

install_debs() {
    apt_install_debs new || return 1
    local u
    for u in vigild.service vigild.socket vigild-grant.socket; do
        [ "$(m systemctl is-active "$u")" = active ] || fail "$u is not active after install"
    done
    # Every case runs under the unit as shipped: nothing loosens its sandbox.
    run systemctl show -P DropInPaths vigild.service
    [ -z "$OUT" ] || fail "vigild.service has drop-ins: $OUT"
    # Under the unit's seccomp filter (no chown), vigild still sets up its
    # break-glass spool.
    run vigilctl status --json
    [[ $OUT != *"break-glass spool"* ]] || fail "vigild could not set up its break-glass spool: $OUT"
    [ "$FAILS" -eq 0 ] || vigild_log
    return 0
}
case_ "apt installs the three packages; vigild.service and its sockets run under PID 1" install_debs

ssh_allowed_denied() {
    admin_users || { fail "cannot create the users"; return 1; }
    run pam-auth-update --enable vigil || return 1
    ssh_as alice id -un || { fail "alice (ops) could not log in"; trail_note; return 1; }
    [ "$OUT" = alice ] || fail "alice's login ran as '$OUT'"
    if ssh_as bob id -un; then fail "bob (no rule allows him) logged in"; fi
    trail_has phase=account service=sshd user=bob outcome=deny "reason_user~=no policy rule allows" ||
        { fail "no deny for bob's ssh login in the trail"; trail_note; }
    return 0
}
case_ "pam-auth-update --enable vigil: ssh by alice (ops) allowed, by bob denied" ssh_allowed_denied

sudo_allowed_denied() {
    ssh_as alice sudo -n id -u || { fail "alice's sudo failed"; return 1; }
    [ "$OUT" = 0 ] || fail "alice's sudo ran as '$OUT'"
    if ssh_as mallory sudo -n id -u; then fail "mallory's sudo was allowed"; fi
    [[ $OUT == *"contractors cannot use sudo on this host"* ]] || fail "mallory was not told the rule's reason"
    trail_has phase=account service=sudo user=mallory outcome=deny || { fail "no deny for mallory's sudo in the trail"; trail_note; }
    return 0
}
case_ "sudo inside an ssh session: alice allowed, mallory denied with the rule's reason" sudo_allowed_denied

SUDO_DROPIN=/etc/vigil/vigil.toml.d/40-sudo.toml

# status_sudo TEXT: vigilctl status --json's sudo object holds TEXT.
status_sudo() {
    run vigilctl status --json
    python3 -c 'import json, sys; print(json.dumps(json.loads(sys.stdin.read())["sudo"]))' <<<"$OUT" >"$RUN/sudo.json" ||
        { fail "vigilctl status --json has no sudo object: $OUT"; return 1; }
    grep -qF "$1" "$RUN/sudo.json" || { fail "vigilctl status: sudo is $(cat "$RUN/sudo.json"), want $1"; return 1; }
}

# The plugin in and out of the host's own /etc/sudo.conf with vigilctl, as
# vigil_sudo(8) says; vigild (approval = "plugin") reports whether sudo
# loads it. Taken out at the end: the break-glass cases below run without.
sudo_plugin_in_out() {
    if run vigilctl sudo-plugin status; then fail "sudo-plugin status: loaded before it was enabled"; fi
    run vigilctl sudo-plugin enable --options "timeout=3000 failmode=secure" || return 1
    [[ $OUT == *"sudo -V: the plugin is loaded"* ]] || fail "vigilctl sudo-plugin enable said: $OUT"
    [ "$(stat -c %U:%G:%a "$M_ROOT/etc/sudo.conf")" = root:root:644 ] || fail "sudo.conf is not root:root 0644"
    grep -qx "Plugin vigil_approval /usr/libexec/vigil/vigil_sudo.so timeout=3000 failmode=secure" \
        "$M_ROOT/etc/sudo.conf" || fail "sudo.conf has no such line: $(cat "$M_ROOT/etc/sudo.conf")"
    ssh_as alice sudo -n id -u || { fail "alice's sudo through the plugin failed"; trail_note; return 1; }
    trail_has phase=command user=alice argv_source=plugin outcome=allow ||
        { fail "no command record by the plugin for alice's sudo"; trail_note; }
    printf '[sudo]\napproval = "plugin"\n' >"$M_ROOT$SUDO_DROPIN" && chmod 0644 "$M_ROOT$SUDO_DROPIN" || return 1
    run systemctl reload vigild || { vigild_log; return 1; }
    status_sudo '"plugin": "/usr/libexec/vigil/vigil_sudo.so", "plugin_loaded": true'
    run vigilctl sudo-plugin disable || return 1
    [[ $OUT == *"sudo -V: the plugin is not loaded"* ]] || fail "vigilctl sudo-plugin disable said: $OUT"
    status_sudo '"problem": "/etc/sudo.conf has no \"Plugin vigil_approval\" line"'
    run vigilctl status
    [[ $OUT == *'problem: sudo: [sudo] approval = "plugin", but /etc/sudo.conf has no'* ]] ||
        fail "vigilctl status does not name the missing plugin: $OUT"
    rm -f "$M_ROOT$SUDO_DROPIN"
    run systemctl reload vigild || { vigild_log; return 1; }
    # What enable refuses: a file that is not vigil's plugin; sudo.conf is left as it was.
    cp "$M_ROOT/etc/sudo.conf" "$RUN/sudo.conf.before"
    if run vigilctl sudo-plugin enable --plugin /usr/lib/x86_64-linux-gnu/libpam.so.0; then
        fail "enable accepted libpam.so.0 as the plugin"
    fi
    [[ $OUT == *"has no vigil_approval symbol"* ]] || fail "enable with libpam.so.0 said: $OUT"
    cmp -s "$RUN/sudo.conf.before" "$M_ROOT/etc/sudo.conf" || fail "a refused enable changed sudo.conf"
    return 0
}
case_ "vigilctl sudo-plugin enable: sudo -V loads vigil_sudo.so, commands are decided by it, status says so; disable" \
    sudo_plugin_in_out

journal_decisions() {
    m journalctl -u vigild -o json --no-pager >"$RUN/journal.json" || { fail "journalctl -u vigild failed"; return 1; }
    python3 - "$RUN/journal.json" >>"$DIAG" <<'EOF' || fail "the journal lacks records (above)"
import json, sys
want = {
    "a decision (bob's ssh denied)": {"MESSAGE_ID": "5d1a6c0e7b2f4a9e8c3d2b1a0f9e8d7c", "VIGIL_USER": "bob",
                                       "VIGIL_SERVICE": "sshd", "VIGIL_OUTCOME": "deny"},
    "a decision (alice's sudo allowed)": {"MESSAGE_ID": "5d1a6c0e7b2f4a9e8c3d2b1a0f9e8d7c", "VIGIL_USER": "alice",
                                         "VIGIL_SERVICE": "sudo", "VIGIL_OUTCOME": "allow"},
    "agent_started": {"MESSAGE_ID": "7b6cf3cbde8841448b3ee8d97ec1a76d", "VIGIL_EVENT": "agent_started"},
}
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
missing = [name for name, fields in want.items()
           if not any(all(e.get(k) == v for k, v in fields.items()) for e in entries)]
for name in missing:
    print(f"no journal entry of vigild.service for {name}")
sys.exit(1 if missing else 0)
EOF
}
case_ "journalctl -u vigild: decisions and events with their MESSAGE_IDs and VIGIL_ fields" journal_decisions

# What the admin adds: a drop-in with metrics, grants and two short-lived
# users' limits; the account's home; [metrics] and [grants] need a restart.
DROPIN_TEXT="[sessions]
warn_before = \"15s\"

[metrics]
textfile = \"$TEXTFILE\"
interval = \"2s\"

[grants]
max = \"10m\"

[[grants.group]]
name = \"$GROUP\"
gid = $GROUP_GID

[[grants.account]]
name = \"$ACCOUNT\"
uid = $ACCOUNT_UID
gid = OPS_GID
home = \"/home/$ACCOUNT\"
shell = \"/bin/bash\"

[[rule]]
name = \"carol: short sessions\"
services = [\"sshd\"]
users = [\"carol\"]
decision = \"allow\"
session_max = \"30s\"

[[rule]]
name = \"dave: sessions end when idle\"
services = [\"sshd\"]
users = [\"dave\"]
decision = \"allow\"
session_idle = \"20s\"

[[rule]]
name = \"ops may ask for grants\"
services = [\"elevate\"]
groups = [\"ops\"]
decision = \"allow\"
"
admin_dropin() {
    admin_users carol dave || { fail "cannot create carol and dave"; return 1; }
    local gid
    gid=$(m getent group ops | cut -d: -f3)
    printf '%s' "${DROPIN_TEXT//OPS_GID/$gid}" >"$M_ROOT$DROPIN" && chmod 0644 "$M_ROOT$DROPIN" || return 1
    run install -d -m 0700 -o "$ACCOUNT_UID" -g ops "/home/$ACCOUNT" "/home/$ACCOUNT/.ssh" || return 1
    run install -m 0600 -o "$ACCOUNT_UID" -g ops /root/.ssh/id_ed25519.pub "/home/$ACCOUNT/.ssh/authorized_keys" || return 1
    run vigild --check --config /etc/vigil/vigil.toml || return 1
    run systemctl restart vigild || { vigild_log; return 1; }
    [ "$(m systemctl is-active vigild)" = active ] || { fail "vigild is not active after the restart"; vigild_log; }
    return 0
}
case_ "the admin's drop-in (metrics, grants, limits) passes vigild --check; vigild restarts with it" admin_dropin

metrics_written() {
    wait_for 10 test -s "$M_ROOT$TEXTFILE" || {
        fail "no $TEXTFILE after 10 s"
        note_text "vigild on metrics" "$(m journalctl -u vigild --no-pager | grep -i metrics | tail -n 5)"
        return 1
    }
    grep -q '^vigil_up 1$' "$M_ROOT$TEXTFILE" || fail "$TEXTFILE has no 'vigil_up 1'"
    # A decision, then what Prometheus scrapes: Debian's node_exporter,
    # reading its textfile directory, counts it within an interval or two.
    ssh_as alice true || { fail "alice could not log in"; return 1; }
    # (node_exporter sorts the labels by name.)
    wait_for 10 scraped '^vigil_decisions_total{outcome="allow",phase="account",service="sshd"} [1-9]' ||
        fail "node_exporter does not serve alice's allowed login in vigil_decisions_total"
    scraped '^vigil_up 1$' || fail "node_exporter does not serve vigil_up 1"
    return 0
}
# scraped REGEX: node_exporter's page has a line matching REGEX.
scraped() { m curl -sf http://127.0.0.1:9100/metrics | grep -q "$1"; }
case_ "metrics at the documented path ($TEXTFILE), served by node_exporter" metrics_written

# carol (session_max 30s, warned 15 s before) and dave (session_idle 20s)
# log in with a terminal and wait; both limits run at once.
limit_sessions_start() {
    ssh_session carol carol sleep 600
    ssh_session dave dave sleep 600
    wait_for 20 has_session carol || fail "carol's session is not registered"
    wait_for 20 has_session dave || fail "dave's session is not registered"
    [ "$FAILS" -eq 0 ] || { note_text "carol's terminal" "$(cat "$M_ROOT/root/carol.out")"; trail_note; }
}
scope_of() { # USER: the systemd scope of USER's logind session
    local id
    id=$(m loginctl list-sessions --no-legend | awk -v u="$1" '$3 == u { print $1; exit }')
    [ -n "$id" ] && echo "session-$id.scope"
}
runtime_max() {
    limit_sessions_start || return 1
    local scope value
    scope=$(scope_of carol) || { fail "carol has no logind session"; note_text "loginctl" "$(m loginctl list-sessions)"; return 1; }
    value=$(m systemctl show -P RuntimeMaxUSec "$scope")
    [ "$value" = 30s ] || fail "$scope has RuntimeMaxUSec=$value, want 30s (pam_vigil's session_max through pam_systemd)"
    return 0
}
case_ "session_max: pam_systemd gives carol's logind session RuntimeMaxSec=30s" runtime_max

# clean_warning TERMINAL REGEX: the terminal shows the warning as one line,
# "vigil: " and text matching REGEX, and no other line from vigil.
clean_warning() {
    grep -qxE "vigil: $2" <<<"$1" || { fail "no line 'vigil: $2' on the terminal"; return 1; }
    [ "$(grep -c '^vigil:' <<<"$1")" -eq 1 ] || { fail "vigil wrote more than the warning's line"; return 1; }
}

warned_then_ended() {
    wait_for 60 ssh_gone carol
    if ssh_alive carol; then fail "carol's session outlived its 30 s limit by 30 s"; fi
    local out
    out=$(tr -d '\r' <"$M_ROOT/root/carol.out")
    note_text "carol's terminal" "$out"
    clean_warning "$out" 'this session ends in .* \(session limit\)\.' || vigild_log
    # logind (RuntimeMaxSec) or vigild, whichever comes first, ends it.
    trail_has event=session_end user=carol || trail_has event=session_close user=carol ||
        { fail "no record of the end of carol's session"; trail_note; }
    return 0
}
case_ "carol is warned on her terminal, then her session ends at its limit" warned_then_ended

idle_ended() {
    wait_for 40 ssh_gone dave
    if ssh_alive dave; then fail "dave's idle session still runs 60 s after it began"; fi
    local out
    out=$(tr -d '\r' <"$M_ROOT/root/dave.out")
    note_text "dave's terminal" "$out"
    clean_warning "$out" 'this session ends in .* without input \(idle limit\)\.' 
    trail_has phase=session_end user=dave "reason_admin~=logind TerminateSession" ||
        { fail "dave's session was not ended through logind's TerminateSession"; trail_note; }
    return 0
}
case_ "dave's idle session is warned, then ended through logind (TerminateSession)" idle_ended

group_granted() {
    ssh_as alice vigilctl grant request --group "$GROUP" --for 5m --reason "'INC-1 host test'" ||
        { fail "alice's grant request failed"; return 1; }
    # Her own processes, after a new login: the group by name, and the table.
    ssh_as alice 'id -nG; getent group '"$GROUP" || return 1
    grep -qw "$GROUP" <<<"$(head -n 1 <<<"$OUT")" || fail "id -nG in alice's login does not name $GROUP"
    grep -q "^$GROUP:.*:$GROUP_GID:alice\$" <<<"$OUT" || fail "getent group $GROUP as alice does not list her"
    return 0
}
case_ "a JIT group: alice's own processes see it by name (id -nG, getent)" group_granted

account_granted() {
    ssh_as alice vigilctl grant request --account "$ACCOUNT" --for 5m --reason "'INC-2 break glass'" ||
        { fail "alice's account request failed"; return 1; }
    ssh_as "$ACCOUNT" 'whoami; id -un' || { fail "$ACCOUNT could not log in"; return 1; }
    [ "$OUT" = "$ACCOUNT
$ACCOUNT" ] || fail "whoami and id -un in $ACCOUNT's own login do not name it"
    return 0
}
case_ "an ephemeral account: its own login knows its name (whoami, id -un)" account_granted

# alice stays logged in from here on.
reload_live() {
    ssh_session live alice sleep 600
    wait_for 20 has_session alice || { fail "alice's session is not registered"; return 1; }
    local before after
    before=$(main_pid)
    run systemctl reload vigild || return 1
    after=$(main_pid)
    [ "$before" = "$after" ] || fail "the reload replaced vigild ($before -> $after)"
    m journalctl -u vigild -o json --no-pager MESSAGE_ID=541dca6255174f3687845664f3a94b4e | grep -q . ||
        fail "no reload_ok event in the journal"
    has_session alice || fail "alice's session is gone after the reload"
    ssh_alive live || fail "alice's ssh ended with the reload"
    return 0
}
case_ "systemctl reload vigild with alice logged in: same process, reload_ok, session kept" reload_live

restart_live() {
    local before after ino_before ino_after
    before=$(main_pid)
    ino_before=$(m stat -c %i /run/vigil/pam.sock) || { fail "no /run/vigil/pam.sock"; return 1; }
    run systemctl restart vigild || return 1
    after=$(main_pid)
    ino_after=$(m stat -c %i /run/vigil/pam.sock)
    [ "$before" != "$after" ] || fail "vigild's main pid did not change"
    [ "$ino_before" = "$ino_after" ] || fail "pam.sock was replaced ($ino_before -> $ino_after): not held by vigild.socket"
    has_session alice || fail "alice's session is gone after the restart"
    ssh_alive live || fail "alice's ssh ended with the restart"
    run vigilctl grant list || return 1
    grep -q "$GROUP" <<<"$OUT" || fail "alice's group grant is gone after the restart"
    ssh_as alice true || fail "a login right after the restart failed"
    return 0
}
case_ "systemctl restart vigild with alice logged in: session and grants kept" restart_live

sockets_held() {
    run systemctl stop vigild.service || return 1
    [ "$(m systemctl is-active vigild.socket)" = active ] || fail "vigild.socket stopped with the service"
    # A login now waits on the socket systemd holds, and systemd starts vigild.
    ssh_as alice id -un || { fail "a login while vigild was stopped failed"; vigild_log; return 1; }
    [ "$(m systemctl is-active vigild.service)" = active ] || fail "the login did not start vigild"
    has_session alice || fail "alice's session is gone"
    return 0
}
case_ "vigild stopped, sockets held: a login starts it through vigild.socket" sockets_held

# Issue 18: a session ends with everything it started, whatever left its
# process tree. erin's login starts a process that leaves it (setsid -f:
# a new session, reparented to PID 1) and ignores SIGHUP and SIGTERM, as a
# daemon left behind would; vigilctl revoke ends the session.
escapee() { m pgrep -u erin -f "^sleep $1\$"; }
escapee_gone() { ! escapee "$1" >/dev/null; }
# escaped_login SECONDS: erin logs in and leaves "sleep SECONDS" behind.
escaped_login() {
    ssh_session "escape$1" erin "setsid -f sh -c \"trap '' HUP TERM; exec sleep $1\"; sleep 600"
    wait_for 20 has_session erin || { fail "erin's session is not registered"; vigild_log; return 1; }
    wait_for 10 escapee "$1" >/dev/null || { fail "the escaping process did not start"; return 1; }
    local ppid
    ppid=$(m ps -o ppid= -p "$(escapee "$1")" | tr -d ' ')
    [ "$ppid" = 1 ] || fail "the escaping process's parent is $ppid, not PID 1: it did not leave the tree"
}
# revoke_ends_escapee SECONDS: vigilctl revoke ends erin's session and the
# escaped process, through the scope.
# Prints (a TAP comment) how long that took and what the trail says of it.
revoke_ends_escapee() {
    local pid began
    pid=$(escapee "$1")
    began=$(date +%s%N)
    run vigilctl revoke --user erin --reason "issue 18 test" || return 1
    wait_for 40 ssh_gone "escape$1" || fail "erin's ssh outlived the revoke by 40 s"
    if wait_for 40 escapee_gone "$1"; then
        echo "# the escaped process was gone $((($(date +%s%N) - began) / 1000000)) ms after vigilctl revoke;" \
            "session_end: $(last_end_of erin)"
        return 0
    fi
    fail "the process that left the tree outlived the session by 40 s"
    note_text "its cgroup" "$(cat "$M_ROOT/proc/$pid/cgroup" 2>&1)"
    vigild_log
}
scope_killed_with_logind() {
    m id erin >/dev/null 2>&1 || admin_users erin || return 1
    m usermod -aG ops erin || return 1
    escaped_login 601 || return 1
    local scope
    scope=$(scope_of erin) || { fail "erin has no logind session"; return 1; }
    m grep -q "/$scope\$" "/proc/$(escapee 601)/cgroup" || fail "the escaped process is not in $scope"
    revoke_ends_escapee 601
    trail_has phase=session_end user=erin "reason_admin~=logind TerminateSession" "reason_admin~=scope $scope" ||
        { fail "the session's end does not say logind and the scope ended it"; trail_note; }
    return 0
}
case_ "with logind: a setsid'd process that ignores SIGTERM ends with the session (logind, then its scope)" \
    scope_killed_with_logind

# Without pam_systemd (a host without logind sessions), vigild puts the
# session in a scope of its own before sshd starts the shell.
COMMON_SESSION=/etc/pam.d/common-session
scope_killed_without_logind() {
    cp "$M_ROOT$COMMON_SESSION" "$RUN/common-session" || return 1
    sed -i 's/^\(session.*pam_systemd\.so.*\)/# \1/' "$M_ROOT$COMMON_SESSION" || return 1
    escaped_login 602
    local rc=$? unit
    cp "$RUN/common-session" "$M_ROOT$COMMON_SESSION"
    [ "$rc" -eq 0 ] || return 1
    if scope_of erin >/dev/null; then fail "erin has a logind session without pam_systemd"; fi
    unit=$(m systemctl list-units --plain --no-legend 'vigil-session-*.scope' | awk '{ print $1; exit }')
    [ -n "$unit" ] || { fail "no vigil-session-*.scope unit"; vigild_log; return 1; }
    m grep -q "/$unit\$" "/proc/$(escapee 602)/cgroup" || fail "the escaped process is not in $unit"
    revoke_ends_escapee 602
    trail_has phase=session_end user=erin "reason_admin~=scope $unit" ||
        { fail "the session's end does not name its scope"; trail_note; }
    [ "$(m systemctl is-active "$unit")" != active ] || fail "$unit is still active"
    return 0
}
case_ "without logind: vigild puts the session in its own scope; a setsid'd process ends with it" \
    scope_killed_without_logind

# Issue 14: a config that cannot lock the fleet out, and break-glass.
BAD=/etc/vigil/vigil.toml.d/60-bad.toml
BG_GROUP=vigil-breakglass

bad_dropin_reload() {
    local before
    before=$(main_pid)
    printf '[rollout]\nmode = "enforced"\n' >"$M_ROOT$BAD" && chmod 0644 "$M_ROOT$BAD" || return 1
    if run systemctl reload vigild; then fail "systemctl reload accepted a drop-in that fails vigild --check"; fi
    m journalctl -u vigild --no-pager -n 30 >"$RUN/reload.log" 2>&1
    grep -q "60-bad.toml:2: rollout.mode must be" "$RUN/reload.log" ||
        { fail "the journal does not name the drop-in's file and line"; note_text "journalctl -u vigild" "$(cat "$RUN/reload.log")"; }
    [ "$(main_pid)" = "$before" ] || fail "vigild was replaced ($before -> $(main_pid))"
    [ "$(m systemctl is-active vigild)" = active ] || fail "vigild is not active"
    ssh_as alice id -un || fail "alice cannot log in under the running policy"
    if ssh_as bob id -un; then fail "bob got in under the running policy"; fi
    return 0
}
case_ "a drop-in that fails vigild --check: systemctl reload fails with its file:line; vigild serves on" bad_dropin_reload

bad_config_upgrade() {
    local before
    before=$(main_pid)
    # shellcheck disable=SC2016 # expanded inside the machine
    if run sh -c 'exec apt-get install -y --reinstall -o DPkg::Lock::Timeout=120 /root/debs/new/vigil-agent_*.deb'; then
        fail "the package configured with a config vigild --check refuses"
    fi
    [[ $OUT == *"60-bad.toml:2: rollout.mode must be"* ]] || fail "apt's output does not name the drop-in's file and line"
    [[ $OUT == *"vigild was not restarted"* ]] || fail "apt's output does not say vigild was kept"
    [ "$(main_pid)" = "$before" ] || fail "vigild was restarted ($before -> $(main_pid))"
    ssh_as alice id -un || fail "alice cannot log in after the refused upgrade"
    return 0
}
case_ "the package refuses to configure with that config; the running vigild keeps its policy" bad_config_upgrade

# bob (no rule lets him in) and mallory (no sudo by the rules) are the
# break-glass group; the admin adds the option to the PAM lines
# pam-auth-update wrote.
breakglass_when_down() {
    run groupadd "$BG_GROUP" && run usermod -aG "$BG_GROUP" bob && run usermod -aG "$BG_GROUP" mallory || return 1
    # Every file pam-auth-update wrote a pam_vigil line to: sudo's session
    # stack is common-session-noninteractive.
    # shellcheck disable=SC2016 # expanded inside the machine
    run sh -c 'sed -i -e "s/\(pam_vigil\.so.*failmode=secure\)/\1 breakglass=$0/" $(grep -l pam_vigil.so /etc/pam.d/common-*)' \
        "$BG_GROUP" || return 1
    grep -q "breakglass=$BG_GROUP" "$M_ROOT/etc/pam.d/common-session-noninteractive" ||
        { fail "the option is not in common-session-noninteractive"; return 1; }
    grep -q "breakglass=$BG_GROUP" "$M_ROOT/etc/pam.d/common-account" || { fail "the option is not in common-account"; return 1; }
    if ssh_as bob id -un; then fail "bob got in through break-glass while vigild answers deny"; fi
    run systemctl restart vigild && fail "vigild started with a config that fails its check"
    [ "$(m systemctl is-active vigild.service)" != active ] || { fail "vigild is active"; return 1; }
    ssh_as bob id -un || { fail "bob (break-glass) could not log in with vigild down"; return 1; }
    ssh_as mallory sudo -n id -u || fail "mallory's sudo (break-glass) failed with vigild down"
    [ "$OUT" = 0 ] || fail "mallory's sudo ran as '$OUT'"
    if ssh_as alice id -un; then fail "alice (not in $BG_GROUP) got in with vigild down"; fi
    m journalctl --no-pager -p alert --grep "BREAK-GLASS" >"$RUN/bg.log" 2>&1
    grep -q "BREAK-GLASS: bob (group $BG_GROUP) let through for sshd" "$RUN/bg.log" ||
        fail "the journal has no alert from the module for bob's ssh"
    grep -q "BREAK-GLASS: mallory (group $BG_GROUP) let through for sudo" "$RUN/bg.log" ||
        fail "the journal has no alert from the module for mallory's sudo"
    [ "$FAILS" -eq 0 ] || note_text "journalctl -p alert --grep BREAK-GLASS" "$(cat "$RUN/bg.log")"
    return 0
}
case_ "vigild cannot start: the break-glass group gets in by ssh and sudo, others do not; alerts in the journal" breakglass_when_down

breakglass_recorded() {
    rm -f "$M_ROOT$BAD"
    run dpkg --configure -a || { fail "dpkg --configure -a failed once the config was fixed"; return 1; }
    wait_for 20 sh -c '[ "$(nsenter --target '"$M_PID1"' --all systemctl is-active vigild)" = active ]' ||
        { fail "vigild is not active"; vigild_log; return 1; }
    wait_for 20 trail_has event=break_glass user=bob service=sshd recorded_by=pam_vigil ||
        fail "bob's break-glass use is not in the trail"
    trail_has event=break_glass user=mallory service=sudo "why~=" || fail "mallory's break-glass use is not in the trail"
    run vigilctl status --json || return 1
    [[ $OUT == *'"break_glass"'*'"user": "mallory"'* ]] || fail "vigilctl status does not list the uses"
    # journald files what vigild sent in its own time.
    wait_for 10 sh -c "nsenter --target $M_PID1 --all journalctl -u vigild -o json --no-pager \
        MESSAGE_ID=35fa7631163f45fba12f2262ea865bd1 | grep -q 'break-glass: bob '" ||
        fail "no break_glass_used event for bob in vigild's journal"
    return 0
}
case_ "config fixed, dpkg --configure -a: vigild back takes every break-glass use into its trail and status" breakglass_recorded

audit_verifies() {
    run vigilctl audit verify
}
case_ "vigilctl audit verify: the trail of all of this holds" audit_verifies

# Removing the package that holds the plugin must not leave sudo.conf naming
# a file that is gone: sudo would then refuse every command, root's too.
remove_keeps_sudo() {
    run vigilctl sudo-plugin enable || return 1
    run apt-get remove -y libpam-vigil || return 1
    [ ! -e "$M_ROOT/usr/libexec/vigil/vigil_sudo.so" ] || fail "the plugin is still installed"
    if grep -q vigil_approval "$M_ROOT/etc/sudo.conf"; then fail "sudo.conf still names the plugin"; fi
    run sudo -n true || fail "root's sudo fails once libpam-vigil is removed: $OUT"
    return 0
}
case_ "apt-get remove libpam-vigil with the plugin enabled: sudo.conf no longer names it; sudo runs" remove_keeps_sudo

[ "$TAP_FAILED" -eq 0 ]
