# shellcheck shell=bash
# TAP cases for the suites that run one long script (tests/deb/install.sh,
# tests/host/*.sh): each case is a shell function; it fails when it calls
# fail at least once or returns non-zero, and what it noted is printed under
# its "not ok" line. (tests/e2e/lib.sh has its own, with the agent's logs.)
#
#   . "$SRCDIR/tests/lib/tap.sh"
#   DIAG=$T.diag           # where a case's diagnostics collect
#   TAP_KEEP=${VIGIL_DEB_KEEP:-}   # non-empty: print them for passing cases too
#   case_ "the package installs" installs
#
# TAP_N counts the cases run, TAP_FAILED the failed ones.

TAP_N=0
TAP_FAILED=0
TAP_KEEP=${TAP_KEEP:-}
FAILS=0

# fail "why": one thing wrong in the current case.
fail() {
    printf '%s\n' "$*" >>"$DIAG"
    FAILS=$((FAILS + 1))
    return 1
}

# note LABEL TEXT: attach text to the case's diagnostics.
note() { { echo "--- $1:"; printf '%s\n' "$2" | tail -n 40; } >>"$DIAG"; }

# case_ "description" command...: one TAP case.
case_() {
    local desc=$1 rc=0
    shift
    : >"$DIAG"
    FAILS=0
    TAP_N=$((TAP_N + 1))
    "$@" || rc=$?
    if [ "$rc" -eq 0 ] && [ "$FAILS" -eq 0 ]; then
        echo "ok $TAP_N - $desc"
        [ -n "$TAP_KEEP" ] && sed -e 's/^/# /' "$DIAG"
    else
        echo "not ok $TAP_N - $desc"
        TAP_FAILED=$((TAP_FAILED + 1))
        sed -e 's/^/# /' "$DIAG"
    fi
    return 0
}
