# shellcheck shell=bash
# TAP for every shell suite (tests/e2e, tests/deb, tests/host, the PDP and
# OIDC self-tests, the module harness): each case is a shell function; it
# passes when it returns 0 having called fail no time, and what it noted is
# printed under its "not ok" line.
#
#   . "$SRCDIR/tests/lib/tap.sh"
#   TAP_DIAG_DIR=$T        # where each case's diagnostics collect
#   tap_plan 3
#   tap_case "the package installs" installs || abort "no package"
#   case_ "its unit is enabled" enabled     # under set -e: never ends the script
#   tap_unrun "the script ended early"      # at exit: planned cases not run
#
# TAP_KEEP non-empty prints diagnostics for passing cases too;
# TAP_STDERR_TO_DIAG non-empty makes what a case writes to stderr part of its
# diagnostics; TAP_EXTRA cases are added to every plan (e2e's closing
# sanitizer case).

TAP_PLAN=0
TAP_N=0
TAP_FAILED=0
TAP_CURRENT=""
TAP_KEEP=${TAP_KEEP:-}
TAP_STDERR_TO_DIAG=${TAP_STDERR_TO_DIAG:-}
TAP_EXTRA=${TAP_EXTRA:-0}
TAP_DIAG_DIR=${TAP_DIAG_DIR:-}
DIAG=${DIAG:-/dev/null}
FAILS=0

tap_plan() {
    TAP_PLAN=$(($1 + TAP_EXTRA))
    echo "1..$TAP_PLAN"
}

# Prints text from stdin as TAP diagnostics.
tap_diag() { sed -e 's/^/# /'; }

# fail "why": one thing wrong in the current case (returns 1).
fail() {
    printf '%s\n' "$*" >>"$DIAG"
    FAILS=$((FAILS + 1))
    return 1
}

# note LABEL FILE [LINES]: attach the tail of a file to the diagnostics.
note() {
    local label=$1 file=$2 lines=${3:-15}
    {
        echo "--- $label ($file, last $lines lines):"
        if [ -f "$file" ]; then tail -n "$lines" "$file"; else echo "(missing)"; fi
    } >>"$DIAG"
}

# note_text LABEL TEXT: attach text (its last 60 lines) to the diagnostics.
note_text() { { echo "--- $1:"; printf '%s\n' "$2" | tail -n 60; } >>"$DIAG"; }

# tap_ok "description" / tap_not_ok "description" [diagnostic line...]: a
# result the caller decided (a check whose output it reads itself).
tap_ok() {
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - $1"
}
tap_not_ok() {
    TAP_N=$((TAP_N + 1))
    TAP_FAILED=$((TAP_FAILED + 1))
    echo "not ok $TAP_N - $1"
    shift
    [ $# -eq 0 ] || printf '%s\n' "$@" | tap_diag
}

# tap_bail "why": nothing more can run.
tap_bail() {
    echo "Bail out! $*"
    exit 1
}

# tap_case "description" command args...: runs one case, prints its result;
# returns 1 when it failed.
tap_case() {
    local desc=$1 rc=0
    shift
    DIAG=${TAP_DIAG_DIR:-${TMPDIR:-/tmp}}/diag.$((TAP_N + 1))
    : >"$DIAG"
    FAILS=0
    TAP_CURRENT=$desc
    if [ -n "$TAP_STDERR_TO_DIAG" ]; then "$@" 2>>"$DIAG" || rc=$?; else "$@" || rc=$?; fi
    TAP_CURRENT=""
    if [ "$rc" -eq 0 ] && [ "$FAILS" -eq 0 ]; then
        tap_ok "$desc"
        [ -n "$TAP_KEEP" ] && tap_diag <"$DIAG"
        return 0
    fi
    tap_not_ok "$desc"
    tap_diag <"$DIAG"
    return 1
}

# case_: tap_case for a script under set -e, which a failed case must not end.
case_() { tap_case "$@" || true; }

# tap_skip "description" "why": a skip is reported as a skip, never as a pass.
tap_skip() {
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - $1 # SKIP $2"
}

# tap_interrupted: the case running when the script was stopped fails.
tap_interrupted() {
    [ -n "$TAP_CURRENT" ] || return 0
    tap_not_ok "$TAP_CURRENT # interrupted"
    [ -s "$DIAG" ] && tap_diag <"$DIAG"
    TAP_CURRENT=""
}

# tap_unrun "why": every planned case not run yet is reported "not ok".
tap_unrun() {
    while [ "$TAP_N" -lt "$TAP_PLAN" ]; do
        TAP_N=$((TAP_N + 1))
        echo "not ok $TAP_N - not run ($*)"
        TAP_FAILED=$((TAP_FAILED + 1))
    done
}
