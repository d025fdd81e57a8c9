# shellcheck shell=bash
# The packages of an earlier vigil, for the upgrade test: built once per
# commit from `git archive` of that commit, cached, and reused.
#
#   . tests/host/prev_debs.sh
#   dir=$(prev_debs "$SRCDIR" "$CACHE" "$REF") || exit 1   # $dir/*.deb
#
# REF is a tag or commit; empty means the newest tag reachable from HEAD,
# else PREV_DEBS_DEFAULT. The packages get that commit's changelog version
# with "~prev.<commit>" appended: "0.1.0~prev.809b1a0" sorts before the
# "0.1.0" the commit was on its way to, so today's packages (whose changelog
# may well say the same version) are an upgrade of them, as dpkg sees it.
# The build is a full `dpkg-buildpackage -b` of that tree (minutes on two
# cores); the result lives in CACHE/prev-<commit>/ until the cache is removed.

# main before issue 13 (2026-12): packaging, socket units, the journal catalog.
PREV_DEBS_DEFAULT=809b1a0

# prev_debs_commit SRCDIR REF: the full commit id REF names.
prev_debs_commit() {
    local srcdir=$1 ref=$2
    if [ -z "$ref" ]; then
        ref=$(git -C "$srcdir" describe --tags --abbrev=0 2>/dev/null) || ref=$PREV_DEBS_DEFAULT
    fi
    git -C "$srcdir" rev-parse --verify --quiet "$ref^{commit}" ||
        { echo "# no commit $ref in $srcdir (a shallow clone? fetch its history)"; return 1; }
}

# prev_debs_changelog SRCDIR DIR COMMIT VERSION: puts a first stanza naming
# VERSION in front of DIR/debian/changelog, dated like the commit.
prev_debs_changelog() {
    local srcdir=$1 dir=$2 commit=$3 version=$4 date old
    date=$(git -C "$srcdir" show -s --format=%aD "$commit") || return 1
    old=$(cat "$dir/debian/changelog") || return 1
    cat >"$dir/debian/changelog" <<EOF
vigil ($version) bookworm; urgency=medium

  * Built by tests/host from commit ${commit:0:12}, as the earlier version
    that the upgrade test starts from.

 -- vigil developers <vigil@example.org>  $date

$old
EOF
}

# prev_debs SRCDIR CACHE REF: prints the directory holding the three .debs.
prev_debs() {
    local srcdir=$1 cache=$2 ref=$3 commit short dir work version rc=0
    commit=$(prev_debs_commit "$srcdir" "$ref") || { echo "$commit"; return 1; }
    short=${commit:0:7}
    dir=$cache/prev-$short
    if [ -d "$dir" ]; then
        echo "$dir"
        return 0
    fi
    mkdir -p "$cache" || return 1
    work=$cache/prev-$short.tmp
    rm -rf "$work"
    mkdir -p "$work/src/vigil"
    git -C "$srcdir" archive --format=tar "$commit" | tar -x -C "$work/src/vigil" || {
        echo "# git archive $commit failed"
        return 1
    }
    version=$(dpkg-parsechangelog -l "$work/src/vigil/debian/changelog" -S Version)~prev.$short
    prev_debs_changelog "$srcdir" "$work/src/vigil" "$commit" "$version" || return 1
    (cd "$work/src/vigil" &&
        env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL DEB_BUILD_OPTIONS="nocheck parallel=2" \
            dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "# dpkg-buildpackage of $short failed (exit $rc); the log is $work/build.log:"
        tail -n 30 "$work/build.log" | sed -e 's/^/# /'
        return 1
    fi
    mkdir "$work/debs"
    mv "$work"/src/*.deb "$work/debs/" && mv "$work/build.log" "$work/debs/" || return 1
    mv "$work/debs" "$dir" && rm -rf "$work" || return 1
    echo "$dir"
}
