#!/bin/bash
# libnss_vigil.so.2 serving just-in-time grants to real glibc lookups
# (getent, id), su and sudo, with no vigild running at all: a grant of
# %vigil-sudo lets a user sudo until it expires and not after; an ephemeral
# account resolves until it expires; a corrupt, group-writable, foreign-owned
# or symlinked table serves nothing and nothing crashes.
#
# glibc dlopen()s "libnss_vigil.so.2" by name from the system library
# directory, and setuid sudo ignores LD_LIBRARY_PATH, so the module has to
# be where an installed one would be, and the table at the compiled-in
# /var/lib/vigil/grants. Inside this script's private mount namespace, the
# multiarch library directory and /var/lib each become an overlay whose
# upper layer is a tmpfs: the module and the table are copied into the
# overlays, so they exist only in this namespace's view. The host's
# directories are never written, and the overlays go when the namespace does.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NSS_VIGIL=${NSS_VIGIL:-$BUILD_DIR/nss/libnss_vigil.so.2}
e2e_enter_ns "$@"

tap_plan 14

# In an ASan build the module carries the sanitizer runtime into every
# program that resolves a name through it (getent, id, chown, su, sudo),
# none of which is built with it: the same options as sudo in lib.sh. No
# vigild runs here, so they apply to everything this script starts.
if [ -n "${E2E_SANITIZED:-}" ]; then export ASAN_OPTIONS=$HOST_ASAN_OPTIONS; fi

GRANTS=/var/lib/vigil/grants
VIGIL_SUDO_GID=64001
TEMP_USER=vgl-temp
TEMP_UID=64101
OVERLAYS=""

# overlay_dir DIR NAME: DIR becomes DIR plus a private, writable tmpfs layer.
overlay_dir() {
    local dir=$1 top=$T/overlay/$2
    mkdir -p "$top" || return 1
    mount -t tmpfs -o mode=0755 tmpfs "$top" || { fail "cannot mount a tmpfs on $top"; return 1; }
    OVERLAYS="$top $OVERLAYS"
    mkdir "$top/upper" "$top/work"
    chmod --reference="$dir" "$top/upper" && chown --reference="$dir" "$top/upper"
    mount -t overlay overlay -o "lowerdir=$dir,upperdir=$top/upper,workdir=$top/work" "$dir" ||
        { fail "cannot mount an overlay on $dir"; return 1; }
    OVERLAYS="$dir $OVERLAYS"
}

# Detaches the overlays and their tmpfs before lib.sh removes $T (it would
# otherwise stop at the tmpfs mount points), then hands over to its cleanup.
nss_cleanup() {
    local rc=$? m
    for m in $OVERLAYS; do umount -l "$m" 2>/dev/null; done
    (exit "$rc")
    _e2e_cleanup
}
trap nss_cleanup EXIT

# The directory libc.so.6 is loaded from: where glibc looks for NSS modules.
system_libdir() {
    dirname "$(readlink -f "$(ldd /bin/sh | awk '$1 == "libc.so.6" { print $3 }')")"
}

# row FIELD...: one table row, the fields joined by TABs.
row() {
    local IFS=$'\t'
    printf '%s' "$*"
}

# write_grants ROW...: the table as vigild writes it: root-owned, 0644,
# renamed into place.
write_grants() {
    {
        echo "vigil-grants v1"
        local r
        for r in "$@"; do printf '%s\n' "$r"; done
    } >"$GRANTS.new"
    chown root:root "$GRANTS.new" && chmod 644 "$GRANTS.new" && mv -f "$GRANTS.new" "$GRANTS"
}

# grants_until EXPIRY: vigil-sudo declared for good, vgl-alice in it and the
# ephemeral account until EXPIRY; vgl-bob's membership ended an hour ago.
grants_until() {
    local until=$1 past=$(($(date +%s) - 3600))
    write_grants \
        "$(row group vigil-sudo "$VIGIL_SUDO_GID" 0)" \
        "$(row member vigil-sudo vgl-alice "$until" g-alice)" \
        "$(row member vigil-sudo vgl-bob "$past" g-bob)" \
        "$(row passwd "$TEMP_USER" "$TEMP_UID" "$VIGIL_SUDO_GID" "vigil JIT account" "$T/home/$TEMP_USER" /bin/sh \
            "$until" g-temp)"
}


setup() {
    e2e_setup_system
    [ -f "$NSS_VIGIL" ] || { fail "the module is not built: $NSS_VIGIL"; return 1; }
    local libdir
    libdir=$(system_libdir)
    [ -d "$libdir" ] || { fail "cannot find the system library directory (got '$libdir')"; return 1; }
    overlay_dir "$libdir" lib || return 1
    install -m 0644 "$NSS_VIGIL" "$libdir/libnss_vigil.so.2" || { fail "cannot copy the module into $libdir"; return 1; }
    overlay_dir /var/lib varlib || return 1
    install -d -m 0711 /var/lib/vigil # as the package and vigild.service make it
    # nsswitch.conf: the machine's, with vigil after files for users and groups.
    sed -E -e 's/^(passwd|group):.*/\1: files vigil/' -e '/^initgroups:/d' /etc/nsswitch.conf >"$T/etc/nsswitch.conf"
    grep -q '^group: files vigil$' "$T/etc/nsswitch.conf" || echo "group: files vigil" >>"$T/etc/nsswitch.conf"
    grep -q '^passwd: files vigil$' "$T/etc/nsswitch.conf" || echo "passwd: files vigil" >>"$T/etc/nsswitch.conf"
    mount --bind "$T/etc/nsswitch.conf" /etc/nsswitch.conf || { fail "cannot bind-mount nsswitch.conf"; return 1; }
    # A running nscd would answer from the host's view, without the module.
    if [ -S /run/nscd/socket ]; then mount -t tmpfs tmpfs /run/nscd || return 1; fi
    mkdir -p "$T/home/$TEMP_USER"
    # Only the grant decides sudo here: the PAM stack permits everything.
    cat >"$T/etc/sudoers" <<EOF
Defaults !lecture
Defaults !syslog
Defaults env_reset
root ALL=(ALL:ALL) ALL
%vigil-sudo ALL=(ALL:ALL) NOPASSWD: ALL
EOF
    printf 'auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_permit.so\n' |
        write_pam sudo
    grants_until $(($(date +%s) + 3600))
}
tap_case "setup: the module and the table exist only in the namespace's overlays" setup ||
    e2e_abort "the module could not be put in place"

module_is_tiny() {
    local syms needed
    syms=$(nm -D --defined-only "$NSS_VIGIL" | awk '{ print $3 }')
    [ -n "$syms" ] || { fail "nm found no exported symbols"; return 1; }
    if printf '%s\n' "$syms" | grep -v '^_nss_vigil_'; then
        fail "exports more than _nss_vigil_*"
        note_text "exported" "$syms"
        return 1
    fi
    # Sanitizer runtimes are expected in an ASan build, nothing else.
    needed=$(readelf -d "$NSS_VIGIL" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -Ev '^lib(asan|ubsan)\.so')
    [ "$needed" = "libc.so.6" ] || { fail "needs more than libc.so.6"; note_text "NEEDED" "$needed"; return 1; }
}
tap_case "the module exports only _nss_vigil_* and needs only libc" module_is_tiny

no_agent() {
    if pgrep -x vigild >/dev/null; then
        fail "a vigild is running in the namespace"
        return 1
    fi
    local out
    out=$(getent group vgl-ops)
    expect_contains "getent group vgl-ops (from files)" "$out" "vgl-ops:x:$E2E_OPS_GID:vgl-alice,vgl-mallory"
}
tap_case "no vigild runs; groups in files still resolve with vigil in nsswitch.conf" no_agent

group_served() {
    local out rc
    out=$(getent group vigil-sudo 2>&1)
    rc=$?
    expect_rc "getent group vigil-sudo" 0 "$rc" "$out" || return 1
    # vgl-bob's grant has expired: only vgl-alice is a member.
    [ "$out" = "vigil-sudo:*:$VIGIL_SUDO_GID:vgl-alice" ] ||
        { fail "unexpected entry"; note_text "getent group vigil-sudo" "$out"; return 1; }
    out=$(getent group "$VIGIL_SUDO_GID" 2>&1)
    [ "$out" = "vigil-sudo:*:$VIGIL_SUDO_GID:vgl-alice" ] ||
        { fail "getgrgid($VIGIL_SUDO_GID) differs"; note_text "getent group $VIGIL_SUDO_GID" "$out"; return 1; }
}
tap_case "getent group vigil-sudo: the declared gid, vgl-alice's live grant, not vgl-bob's expired one" group_served

id_shows_grant() {
    local out
    out=$(id vgl-alice 2>&1)
    expect_contains "id vgl-alice" "$out" "$VIGIL_SUDO_GID(vigil-sudo)" || return 1
    out=$(id -nG vgl-bob 2>&1)
    expect_not_contains "id -nG vgl-bob" "$out" "vigil-sudo"
}
tap_case "id vgl-alice lists vigil-sudo (initgroups); id vgl-bob does not" id_shows_grant

account_served() {
    local out rc want="$TEMP_USER:*:$TEMP_UID:$VIGIL_SUDO_GID:vigil JIT account:$T/home/$TEMP_USER:/bin/sh"
    out=$(getent passwd "$TEMP_USER" 2>&1)
    rc=$?
    expect_rc "getent passwd $TEMP_USER" 0 "$rc" "$out" || return 1
    [ "$out" = "$want" ] || { fail "unexpected entry, want '$want'"; note_text "getent passwd" "$out"; return 1; }
    out=$(getent passwd "$TEMP_UID" 2>&1)
    [ "$out" = "$want" ] || { fail "getpwuid($TEMP_UID) differs"; note_text "getent passwd $TEMP_UID" "$out"; return 1; }
    # The account is real to the system: root can run a command as it.
    out=$(cd / && su -s /bin/sh "$TEMP_USER" -c 'id -un; id -gn' 2>&1 </dev/null)
    [ "$out" = "$TEMP_USER"$'\n'"vigil-sudo" ] ||
        { fail "su $TEMP_USER did not run as the account with group vigil-sudo"; note_text "su output" "$out"; }
}
tap_case "getent passwd resolves the ephemeral account by name and uid; su runs a command as it" account_served

enumeration() {
    local groups users
    groups=$(getent group)
    users=$(getent passwd)
    expect_contains "getent group" "$groups" "vigil-sudo:*:$VIGIL_SUDO_GID:vgl-alice" || return 1
    expect_contains "getent group" "$groups" "vgl-ops:x:" || return 1
    expect_contains "getent passwd" "$users" "$TEMP_USER:*:$TEMP_UID:" || return 1
    [ "$(printf '%s\n' "$groups" | grep -c '^vigil-sudo:')" -eq 1 ] || { fail "vigil-sudo listed more than once"; }
}
tap_case "enumeration: getent group and getent passwd list the table's entries after the files'" enumeration

sudo_during_grant() {
    sudo_as vgl-alice id -u
    expect_rc "vgl-alice: sudo -n id -u" 0 "$SUDO_RC" "$SUDO_OUT" || return 1
    [ "$SUDO_OUT" = 0 ] || { fail "expected sudo's command to print 0 (root), got: $SUDO_OUT"; return 1; }
    sudo_as vgl-bob id -u
    expect_nonzero "vgl-bob (grant expired): sudo -n id -u" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "vgl-bob ran a command as root without a live grant"
}
tap_case "sudo: %vigil-sudo lets vgl-alice run a command as root; vgl-bob's expired grant does not" sudo_during_grant

EXPIRY=0
short_grant_served() {
    EXPIRY=$(($(date +%s) + 3))
    grants_until "$EXPIRY"
    local out
    out=$(getent group vigil-sudo)
    expect_contains "getent group vigil-sudo" "$out" ":vgl-alice" || return 1
    getent passwd "$TEMP_USER" >/dev/null || { fail "getent passwd $TEMP_USER failed before expiry"; return 1; }
    sudo_as vgl-alice id -u
    expect_rc "vgl-alice: sudo -n id -u before expiry" 0 "$SUDO_RC" "$SUDO_OUT"
}
tap_case "a grant expiring in 3 s is served (group, account, sudo)" short_grant_served

past_expiry() { [ "$(date +%s)" -ge "$EXPIRY" ]; }

expired_gone() {
    wait_for 10 past_expiry || { fail "the clock did not reach $EXPIRY"; return 1; }
    local out rc
    out=$(getent group vigil-sudo)
    [ "$out" = "vigil-sudo:*:$VIGIL_SUDO_GID:" ] ||
        { fail "after expiry the group should have no members"; note_text "getent group vigil-sudo" "$out"; return 1; }
    out=$(id -nG vgl-alice)
    expect_not_contains "id -nG vgl-alice after expiry" "$out" "vigil-sudo" || return 1
    out=$(getent passwd "$TEMP_USER")
    rc=$?
    expect_rc "getent passwd $TEMP_USER after expiry" 2 "$rc" "$out" || return 1
    sudo_as vgl-alice id -u
    expect_nonzero "vgl-alice: sudo -n id -u after expiry" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "vgl-alice ran a command as root after her grant expired"
}
tap_case "once expired, with no vigild to prune it: no membership, no account, no sudo" expired_gone

# serves_nothing WHAT: the table, whatever is wrong with it, gives no
# entries, and getent and id exit normally.
serves_nothing() {
    local what=$1 out rc
    out=$(getent group vigil-sudo 2>&1)
    rc=$?
    expect_rc "$what: getent group vigil-sudo" 2 "$rc" "$out" || return 1
    out=$(getent passwd "$TEMP_USER" 2>&1)
    rc=$?
    expect_rc "$what: getent passwd $TEMP_USER" 2 "$rc" "$out" || return 1
    out=$(id -nG vgl-alice 2>&1)
    rc=$?
    expect_rc "$what: id -nG vgl-alice" 0 "$rc" "$out" || return 1
    expect_not_contains "$what: id -nG vgl-alice" "$out" "vigil-sudo" || return 1
    expect_contains "$what: id -nG vgl-alice" "$out" "vgl-ops"
}

corrupt_table() {
    local live=$(($(date +%s) + 3600)) good
    grants_until "$live"
    good=$(cat "$GRANTS")
    # One bad row after good ones: the good ones are not served either.
    write_grants "$(tail -n +2 <<<"$good")" "$(row member vigil-sudo 'bad name' "$live" g-x)"
    serves_nothing "a bad user name on the last line" || return 1
    printf '%s' "$good" >"$GRANTS" # no final newline: truncated
    serves_nothing "a truncated table" || return 1
    head -c 4096 /dev/urandom >"$GRANTS"
    serves_nothing "random bytes" || return 1
    { printf '%s\n' "$good"; head -c $((1024 * 1024)) /dev/zero | tr '\0' '#'; } >"$GRANTS"
    serves_nothing "a table over 1 MiB"
}
tap_case "a corrupt table serves nothing at all; getent exits 2, id still works" corrupt_table

writable_table() {
    grants_until $(($(date +%s) + 3600))
    getent group vigil-sudo >/dev/null || { fail "control: the good table is not served"; return 1; }
    chmod 664 "$GRANTS" || return 1
    serves_nothing "a group-writable table" || return 1
    chmod 646 "$GRANTS" || return 1
    serves_nothing "a world-writable table"
}
tap_case "a group- or world-writable table serves nothing" writable_table

foreign_table() {
    grants_until $(($(date +%s) + 3600))
    chown 20001:20001 "$GRANTS" || { fail "cannot chown the table"; return 1; }
    serves_nothing "a table owned by vgl-alice" || return 1
    grants_until $(($(date +%s) + 3600))
    mv "$GRANTS" "$T/grants.real" || return 1
    ln -s "$T/grants.real" "$GRANTS" || { fail "cannot make the symlink"; return 1; }
    serves_nothing "a symlink to a good table"
    rm -f "$GRANTS"
}
tap_case "a table not owned by root, or a symlink, serves nothing" foreign_table

under_valgrind() {
    grants_until $(($(date +%s) + 3600))
    local cmd log
    for cmd in "getent group vigil-sudo" "getent group" "getent passwd $TEMP_USER" "id vgl-alice"; do
        log=$T/valgrind.$(echo "$cmd" | tr -c 'a-z0-9' _).log
        # shellcheck disable=SC2086  # cmd is split into words on purpose
        if ! valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
            --log-file="$log" $cmd >/dev/null; then
            fail "valgrind reports errors for '$cmd'"
            note "valgrind log" "$log" 40
            return 1
        fi
    done
}
if [ -n "${E2E_SANITIZED:-}" ]; then
    tap_skip "getent and id under valgrind: no memory errors" "ASan build (valgrind and ASan do not mix)"
elif ! command -v valgrind >/dev/null; then
    tap_skip "getent and id under valgrind: no memory errors" "valgrind is not installed"
else
    tap_case "getent and id under valgrind: no memory errors and no leaks in the module" under_valgrind
fi
