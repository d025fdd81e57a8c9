# shellcheck shell=bash
# vigil's three .debs built from this source tree with `make deb`, for the
# suites that install them (tests/deb, tests/host).
#
#   . tests/deb/packages.sh
#   debs_build "$SRCDIR" "$DEB_DIR" || exit 1   # a no-op when they are up to date
#   deb=$(debs_newest "$DEB_DIR" vigil-agent)

# shellcheck disable=SC2034 # for the scripts that source this
VIGIL_PACKAGES="vigil-agent libpam-vigil libnss-vigil"

# debs_build SRCDIR DEB_DIR: make deb. On failure prints the tail of its log
# as TAP diagnostics ("# " lines) on stdout and returns 1.
debs_build() {
    local srcdir=$1 deb_dir=$2 log rc=0
    log=$(mktemp)
    # A make above us (make test) must not hand its jobserver down.
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$srcdir" deb DEB_DIR="$deb_dir" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "# make deb failed (exit $rc):"
        tail -n 40 "$log" | sed -e 's/^/# /'
    fi
    rm -f "$log"
    return "$rc"
}

# debs_newest DIR PACKAGE: the newest PACKAGE_*.deb in DIR, empty when there
# is none (make deb leaves only one; a DIR filled by hand may hold more).
debs_newest() {
    # shellcheck disable=SC2012 # package file names are plain
    ls -t "$1/$2"_*.deb 2>/dev/null | head -n 1
}
