#!/bin/bash
# Faults of time and disk under live sessions. vigild's wall clock is
# stepped (libfaketime, read from a file the test rewrites; the machine's
# clock is never touched): an 8 s session_max neither ends early when the
# clock jumps forward an hour nor stretches when it jumps back two, because
# limits are durations (CLOCK_BOOTTIME). Then the state directory turns
# read-only: sessions are still registered and ended at their limits, the
# failed saves are logged, and the registry is saved again once it can be.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 3

FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
# The state directory's tmpfs goes before the temp dir is removed.
_clock_rc=0
trap '_clock_rc=$?; [ -n "${T:-}" ] && umount -l "$T/state" 2>/dev/null; (exit $_clock_rc); _e2e_cleanup' EXIT

# ssh_bg, gone, session_count, count_is: lib.sh.
measured() { echo "# measured: $*"; }
alive() { kill -0 "$(cat "$T/$1.pid")" 2>/dev/null; }
logged() { grep -q -- "$1" "$AGENT_LOG"; }

setup() {
    [ -f "$FAKETIME_LIB" ] || { fail "libfaketime is not installed ($FAKETIME_LIB)"; return 1; }
    e2e_setup_system
    pam_sshd_vigil timeout=3000
    write_config "$T/vigil.toml" <<'EOF'
[sessions]
warn_before = "0s"
revoke_grace = "1s"

[[rule]]
name = "ops: 8 s sessions"
services = ["sshd"]
groups = ["vgl-ops"]
decision = "allow"
session_max = "8s"
EOF
    echo "+0" >"$T/faketime"
    # Its own filesystem, so that it can be made read-only under vigild
    # (a remount reaches the descriptor vigild holds; a bind mount would not).
    mount -t tmpfs -o size=4m,mode=0700 tmpfs "$T/state" || { fail "cannot mount a tmpfs on the state directory"; return 1; }
    # Only vigild's wall clock is faked; its monotonic clocks are the real ones.
    LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE=$T/faketime FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 agent_start "$T/vigil.toml" || return 1
    sshd_start
}
tap_case "setup: vigild under libfaketime (wall clock from a file), sshd, ops get 8 s sessions" setup ||
    e2e_abort "vigild or sshd did not start"

clock_steps() {
    ssh_bg vgl-alice steps
    wait_for 5 count_is vgl-alice 1 || { fail "alice's session was not registered"; note_logs; return 1; }
    local t0
    t0=$(now_ms)
    sleep 2 # the scenario's time: the clock steps 2 s into the session
    echo "+1h" >"$T/faketime"
    # The step is measured between two clocks read a moment apart: allow a second.
    wait_for 5 logged "stepped by +360[01] s\|stepped by +3599 s" || { fail "vigild did not notice its clock going forward an hour"; note_logs; return 1; }
    sleep 1.5 # time that must pass: a session ended by the step would be gone by now
    alive steps || { fail "the session ended when the clock jumped forward (at $(($(now_ms) - t0)) ms)"; note_logs; return 1; }
    echo "-1h" >"$T/faketime"
    wait_for 5 logged "stepped by -720[01] s\|stepped by -7199 s" || { fail "vigild did not notice its clock going back two hours"; note_logs; return 1; }
    wait_for 15 gone steps || { fail "the session outlived its 8 s after the clock went back"; note_logs; return 1; }
    local ms=$(($(now_ms) - t0))
    measured "8 s session, clock +1h at 2 s and -2h at ~4 s: ended $ms ms after registration"
    [ "$ms" -ge 7000 ] && [ "$ms" -le 11000 ] || { fail "ended after $ms ms, want 7-11 s"; return 1; }
    echo "+0" >"$T/faketime"
}
tap_case "vigild's clock stepped +1h then -2h: an 8 s session ends after 8 s of real time, neither early nor late" clock_steps

state_readonly() {
    mount -o remount,ro "$T/state" || { fail "cannot make the state directory read-only"; return 1; }
    ssh_bg vgl-alice ro
    wait_for 5 count_is vgl-alice 1 || { fail "with state_dir read-only, the session was not registered"; note_logs; mount -o remount,rw "$T/state"; return 1; }
    wait_for 5 logged "registered but not saved" || { fail "the failed save was not logged"; note_logs; mount -o remount,rw "$T/state"; return 1; }
    wait_for 15 gone ro || { fail "with state_dir read-only, the session outlived its 8 s"; note_logs; mount -o remount,rw "$T/state"; return 1; }
    mount -o remount,rw "$T/state" || { fail "cannot make the state directory writable again"; return 1; }
    ssh_bg vgl-alice rw
    wait_for 5 count_is vgl-alice 1 || { fail "the next session was not registered"; note_logs; return 1; }
    grep -q '"vgl-alice"' "$T/state/sessions.json" || { fail "sessions.json does not hold the new session"; note "sessions.json" "$T/state/sessions.json" 5; return 1; }
    wait_for 15 gone rw || { fail "the last session outlived its 8 s"; return 1; }
    kill -0 "$AGENT_PID" || { fail "vigild died"; return 1; }
}
tap_case "state_dir read-only: sessions still registered and ended at their limit, the failed save logged; saved again once writable" \
    state_readonly
