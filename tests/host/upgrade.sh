#!/bin/bash
# An upgrade, as an admin runs one, on a booted Debian 12 machine (see
# lib.sh): the earlier version's packages (prev_debs.sh) installed with apt
# and in use — pam-auth-update --enable vigil, the admin's own rule in the
# conffile and a drop-in, a user logged in, a JIT grant live — then today's
# packages from `make deb` installed over them with apt. The config, the
# session, the grant and the trail's hash chain must come through; then
# remove and purge must leave the PAM stacks and nsswitch.conf as they
# were before vigil came.
#
# usage: tests/host/upgrade.sh   (as root; TAP on stdout)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

host_plan 11
host_prepare new prev

CONFFILE=/etc/vigil/vigil.toml
DROPIN=/etc/vigil/vigil.toml.d/50-site.toml
TRAIL=/var/log/vigil/audit.jsonl
GROUP=vigil-sudo
GROUP_GID=64201
# What vigil's packages may change while installed, and must give back.
SYSTEM_FILES="/etc/nsswitch.conf /etc/pam.d/common-auth /etc/pam.d/common-account /etc/pam.d/common-session
  /etc/pam.d/common-session-noninteractive /etc/pam.d/common-password"

host_run_dir
machine_copy "$HOST_BASE" "$RUN/root" || host_abort "cannot copy the root"
machine_boot "$RUN/root" "$RUN/console.log" >"$RUN/boot.msg" ||
    host_abort "the machine did not boot: $(cat "$RUN/boot.msg")"
if ! host_put_debs "$HOST_PREV" prev || ! host_put_debs "$HOST_NEW" new; then
    host_abort "cannot put the packages into the machine"
fi
# shellcheck disable=SC2086
m sha256sum $SYSTEM_FILES >"$RUN/before.sums" || host_abort "cannot read the machine's PAM stacks"
mkdir "$RUN/before" && for f in $SYSTEM_FILES; do cp "$M_ROOT$f" "$RUN/before/"; done

# shellcheck disable=SC2016 # a dpkg-query format
version_of() { m dpkg-query -W -f '${Version}' "$1" 2>/dev/null; }
deb_version() { dpkg-deb -f "$(debs_newest "$1" vigil-agent)" Version; }
PREV_VERSION=$(deb_version "$HOST_PREV")
NEW_VERSION=$(deb_version "$HOST_NEW")
echo "# upgrade from $PREV_VERSION ($HOST_PREV) to $NEW_VERSION"

# The files that differ from before vigil came, with their diffs.
changed_files() {
    local f
    for f in $SYSTEM_FILES; do
        cmp -s "$RUN/before/$(basename "$f")" "$M_ROOT$f" ||
            fail "$f differs from before install: $(diff "$RUN/before/$(basename "$f")" "$M_ROOT$f")"
    done
    return 0
}

# ------------------------------------------------------------- cases ----

install_prev() {
    dpkg --compare-versions "$PREV_VERSION" lt "$NEW_VERSION" ||
        { fail "the earlier packages ($PREV_VERSION) are not older than today's ($NEW_VERSION)"; return 1; }
    apt_install_debs prev || return 1
    [ "$(version_of vigil-agent)" = "$PREV_VERSION" ] || fail "vigil-agent is $(version_of vigil-agent), want $PREV_VERSION"
    [ "$(m systemctl is-active vigild)" = active ] || { fail "vigild is not active"; vigild_log; }
    return 0
}
case_ "apt installs the earlier version's packages; vigild runs" install_prev

# The admin's own changes: a rule in the conffile (erin) and one in a
# drop-in (frank), grants on; alice logs in and holds a JIT group.
in_use() {
    admin_users erin frank || { fail "cannot create the users"; return 1; }
    run pam-auth-update --enable vigil || return 1
    printf '\n# Added by this host'"'"'s admin.\n[[rule]]\nname = "erin may ssh"\nservices = ["sshd"]\nusers = ["erin"]\ndecision = "allow"\n' \
        >>"$M_ROOT$CONFFILE"
    cat >"$M_ROOT$DROPIN" <<EOF
[grants]
max = "1h"

[[grants.group]]
name = "$GROUP"
gid = $GROUP_GID

[[rule]]
name = "frank may ssh"
services = ["sshd"]
users = ["frank"]
decision = "allow"

[[rule]]
name = "ops may ask for grants"
services = ["elevate"]
groups = ["ops"]
decision = "allow"
EOF
    chmod 0644 "$M_ROOT$DROPIN"
    run systemctl restart vigild || { vigild_log; return 1; }
    ssh_as erin true || fail "erin (the conffile's rule) cannot log in"
    ssh_as frank true || fail "frank (the drop-in's rule) cannot log in"
    # The earlier version put vigilctl in /usr/sbin, on no user's PATH.
    ssh_as alice PATH=/usr/bin:/bin:/usr/sbin vigilctl grant request --group "$GROUP" --for 30m \
        --reason "'INC-7 upgrade window'" ||
        fail "alice's grant request failed"
    ssh_session live alice sleep 900
    wait_for 20 has_session alice || fail "alice's session is not registered"
    TRAIL_BEFORE=$(wc -l <"$M_ROOT$TRAIL")
    TRAIL_BEFORE_SUM=$(sha256sum <"$M_ROOT$TRAIL")
    PID_BEFORE=$(main_pid)
    return 0
}
TRAIL_BEFORE=0
TRAIL_BEFORE_SUM=""
PID_BEFORE=""
case_ "in use: PAM enabled, the admin's rules in the conffile and a drop-in, a live session, a grant" in_use

upgrade() {
    # --force-confold: keep the admin's edited conffile, as unattended upgrades do.
    apt_install_debs new -o Dpkg::Options::=--force-confold || return 1
    [ "$(version_of vigil-agent)" = "$NEW_VERSION" ] || fail "vigil-agent is $(version_of vigil-agent), want $NEW_VERSION"
    [ "$(m systemctl is-active vigild)" = active ] || { fail "vigild is not active after the upgrade"; vigild_log; return 1; }
    local pid
    pid=$(main_pid)
    [ "$pid" != "$PID_BEFORE" ] || fail "vigild was not restarted into the new version"
    m readlink "/proc/$pid/exe" | grep -q '(deleted)' && fail "vigild still runs the replaced binary"
    local u
    for u in vigild.service vigild.socket vigild-grant.socket; do
        [ "$(m systemctl is-enabled "$u")" = enabled ] || fail "$u is not enabled after the upgrade"
        [ "$(m systemctl is-active "$u")" = active ] || fail "$u is not active after the upgrade"
    done
    return 0
}
case_ "apt upgrades to today's packages; vigild restarts into them" upgrade

config_kept() {
    grep -q 'name = "erin may ssh"' "$M_ROOT$CONFFILE" || fail "the admin's rule in $CONFFILE is gone"
    [ -f "$M_ROOT$DROPIN" ] || fail "$DROPIN is gone"
    ssh_as erin true || fail "erin (the conffile's rule) cannot log in after the upgrade"
    ssh_as frank true || fail "frank (the drop-in's rule) cannot log in after the upgrade"
    if ssh_as bob true; then fail "bob logged in after the upgrade: vigil no longer decides"; fi
    grep -qE '^account\s.*pam_vigil\.so' "$M_ROOT/etc/pam.d/common-account" ||
        fail "pam_vigil.so left common-account with the upgrade"
    return 0
}
case_ "config kept: the conffile's and the drop-in's rules hold, PAM still asks vigild" config_kept

session_kept() {
    has_session alice || fail "alice's session is not watched after the upgrade"
    ssh_alive live || fail "alice's ssh ended with the upgrade"
    return 0
}
case_ "alice's live session is kept and still watched" session_kept

grant_kept() {
    run vigilctl grant list || return 1
    grep -q "$GROUP" <<<"$OUT" || fail "alice's grant is not listed after the upgrade"
    ssh_as alice id -nG || return 1
    grep -qw "$GROUP" <<<"$OUT" || fail "alice's own login does not hold $GROUP after the upgrade"
    return 0
}
case_ "alice's grant is kept: listed, and her own login holds the group" grant_kept

trail_continues() {
    run vigilctl audit verify || return 1
    local n
    n=$(wc -l <"$M_ROOT$TRAIL")
    [ "$n" -gt "$TRAIL_BEFORE" ] || fail "no record after the upgrade ($n lines, $TRAIL_BEFORE before)"
    [ "$(head -n "$TRAIL_BEFORE" "$M_ROOT$TRAIL" | sha256sum)" = "$TRAIL_BEFORE_SUM" ] ||
        fail "the records from before the upgrade changed"
    return 0
}
case_ "the trail's hash chain runs on across the upgrade (vigilctl audit verify)" trail_continues

# The next upgrade starts from today's packages: apt reinstalling them runs
# the same maintainer scripts as an upgrade to a newer version would.
sockets_held() {
    local ino_before pid_before
    ino_before=$(m stat -c %i /run/vigil/pam.sock) || { fail "no /run/vigil/pam.sock"; return 1; }
    pid_before=$(main_pid)
    apt_install_debs new --reinstall -o Dpkg::Options::=--force-confold || return 1
    [ "$(main_pid)" != "$pid_before" ] || fail "vigild was not restarted"
    [ "$(m stat -c %i /run/vigil/pam.sock)" = "$ino_before" ] ||
        fail "pam.sock was replaced: a login in that moment would have found no socket"
    has_session alice || fail "alice's session is not watched after the reinstall"
    return 0
}
case_ "upgrading today's packages again restarts vigild, not its sockets: pam.sock held" sockets_held

removed() {
    run apt-get remove -y -o DPkg::Lock::Timeout=120 vigil-agent libpam-vigil libnss-vigil || return 1
    changed_files
    [ -e "$M_ROOT$CONFFILE" ] || fail "$CONFFILE went on remove (a conffile stays)"
    [ "$(m systemctl is-active vigild)" != active ] || fail "vigild still runs"
    ssh_as bob true || fail "bob cannot log in once vigil is removed"
    return 0
}
case_ "apt remove: PAM stacks and nsswitch.conf as before install; logins no longer ask vigil" removed

purged() {
    run apt-get purge -y -o DPkg::Lock::Timeout=120 vigil-agent libpam-vigil libnss-vigil || return 1
    changed_files
    local p
    for p in /var/lib/vigil /var/log/vigil; do
        [ ! -e "$M_ROOT$p" ] || fail "$p still there after purge"
    done
    run dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' vigil-agent libpam-vigil libnss-vigil
    ! grep -q '^[ic]' <<<"$OUT" || fail "a package is still known to dpkg"
    # dpkg removes what it installed; the admin's own drop-in stays, as any
    # file dpkg did not install does (it warns that the directory is not empty).
    run sh -c 'find /etc /lib/systemd /usr /var -name "*vigil*" -o -path "/etc/vigil/*"'
    [ "$OUT" = "/etc/vigil
/etc/vigil/vigil.toml.d
$DROPIN" ] || fail "left behind, besides the admin's $DROPIN: $OUT"
    return 0
}
case_ "apt purge: config, state and trail gone (the admin's drop-in stays); PAM and nsswitch.conf as before" purged

alice_after() {
    ssh_as alice id -un || fail "alice cannot log in after the purge"
    return 0
}
case_ "after the purge, logins work as they did before vigil" alice_after

[ "$TAP_FAILED" -eq 0 ]
