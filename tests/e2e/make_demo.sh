#!/bin/bash
# `make demo` keeps working: scripts/demo.sh, run as make demo runs it (its
# own mount namespace, this build's binaries), exits 0 and ends with "All N
# steps behaved as narrated.", N being the steps it narrated; each step
# checks what it narrates, so a behaviour the demo shows that breaks fails
# here. Its whole narration is printed as TAP comments.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 3

DEMO_OUT=$T/demo.out
DEMO_RC=0
run_demo() {
    # As `make demo` starts it: from the host's namespace, not from this one,
    # finding the binaries in the build directory by itself (as the README's
    # first command does), not through the paths meson gives the tests.
    env -u VIGIL_E2E_HOST_MNTNS -u VIGILD -u VIGILCTL -u PAM_VIGIL -u PAM_HARNESS -u NSS_VIGIL \
        timeout 280 bash "$SRCDIR/scripts/demo.sh" "$BUILD_DIR" \
        >"$DEMO_OUT" 2>&1 </dev/null
    DEMO_RC=$?
    tap_diag <"$DEMO_OUT"
    expect_rc "scripts/demo.sh $BUILD_DIR" 0 "$DEMO_RC" "$(tail -n 30 "$DEMO_OUT")"
}
tap_case "scripts/demo.sh exits 0" run_demo

# The steps the demo narrated: its lines "N. ..." at the start of a line.
narrated_steps() { grep -cE '^[0-9]+\. ' "$DEMO_OUT"; }
last_line() {
    local last n
    last=$(tail -n 1 "$DEMO_OUT")
    n=$(narrated_steps)
    [ "$last" = "All $n steps behaved as narrated." ] ||
        { fail "last line '$last', expected 'All $n steps behaved as narrated.'"; return 1; }
    ! grep -q '\[UNEXPECTED\]' "$DEMO_OUT" || fail "a step said [UNEXPECTED]"
}
tap_case "its last line is 'All N steps behaved as narrated.', N the steps it narrated; none unexpected" last_line

# What the demo is for (issue 13): besides the rules and the trail, a
# posture change, a TOTP step-up, a session limit and a JIT grant, each
# checked by its step.
shows_the_whole_job() {
    local want
    for want in "re-decided her session when the unit stopped" "her next sudo is denied" \
        "the right one let the command run as root" "warned on her terminal" \
        "his groups include vgl-oncall" "the group is gone from his groups" "the edit is caught"; do
        grep -q "\[as narrated\] .*$want" "$DEMO_OUT" || { fail "no step narrated '$want'"; return 1; }
    done
}
tap_case "it shows a posture change, a TOTP step-up, a session limit, a JIT grant and its expiry" shows_the_whole_job
