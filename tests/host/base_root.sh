# shellcheck shell=bash
# A Debian 12 root made with debootstrap, cached and reused: what every
# booted-host machine starts from (each run boots a fresh copy of it; see
# machine.sh).
#
#   . tests/host/base_root.sh
#   root=$(base_root "$CACHE" systemd openssh-server libcurl4 ...) || exit 1
#
# The cache key is the package set (and suite and mirror): a root with the
# same --include list is reused; another list (say a new library vigil's
# packages depend on) makes a new root, about a minute with the mirror.
# Roots unused for a day are removed then. Only building a root needs the
# network.

BASE_ROOT_SUITE=bookworm
BASE_ROOT_MIRROR=${VIGIL_HOST_MIRROR:-http://deb.debian.org/debian}

# base_root CACHE PACKAGE...: prints the root's directory. On failure prints
# "# " lines saying why and returns 1.
base_root() {
    local cache=$1 list key dir rc=0
    shift
    list=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
    key=$(printf '%s %s %s' "$BASE_ROOT_SUITE" "$BASE_ROOT_MIRROR" "$list" | sha256sum | cut -c1-16)
    dir=$cache/root-$key
    mkdir -p "$cache" || return 1
    # Two runs sharing a build tree build it once; the second waits.
    (
        flock 9
        [ -d "$dir" ] && exit 0
        rm -rf "$dir.tmp"
        if ! debootstrap --variant=minbase --include="$list" "$BASE_ROOT_SUITE" "$dir.tmp" \
            "$BASE_ROOT_MIRROR" >"$cache/debootstrap.log" 2>&1; then
            echo "# debootstrap $BASE_ROOT_SUITE from $BASE_ROOT_MIRROR failed; the log is $cache/debootstrap.log:"
            tail -n 20 "$cache/debootstrap.log" | sed -e 's/^/# /'
            rm -rf "$dir.tmp"
            exit 1
        fi
        find "$cache" -maxdepth 1 -name 'root-*' ! -name '*.tmp' -mtime +0 -exec rm -rf {} +
        # Only complete roots carry the final name.
        mv "$dir.tmp" "$dir"
    ) 9>"$cache/root.lock" || rc=$?
    [ "$rc" -eq 0 ] || return "$rc"
    touch "$dir" # used now
    echo "$dir"
}

# deb_depends DEB...: the packages the .debs depend on, one a line, without
# versions, taking the first of each set of alternatives and leaving out
# vigil's own packages.
deb_depends() {
    local deb
    for deb in "$@"; do
        dpkg-deb -f "$deb" Pre-Depends Depends
    done | sed -e 's/^[A-Za-z-]*: //' | tr ',' '\n' | sed -E -e 's/\|.*//' -e 's/\(.*\)//' -e 's/:any//' \
        -e 's/^\s+//' -e 's/\s+$//' | grep -vE '^(vigil-agent|libpam-vigil|libnss-vigil)?$' | sort -u
}
