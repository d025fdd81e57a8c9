#!/bin/bash
# Posture from a real systemd manager: `systemd --user` in this test's mount
# namespace runs a unit standing in for the EDR sensor. vigild follows it
# over sd-bus; sudo is allowed while the unit is active, denied with a reason
# naming the unit within a second of it stopping, and allowed again once it
# is back.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/systemd_user.sh"
e2e_enter_ns "$@"

tap_plan 8

UNIT=fake-edr.service
SIGNAL=systemd.unit.$UNIT

setup() {
    e2e_setup_system
    sdu_start "$T/sdu" || return 1
    sdu_unit "$UNIT" "ExecStart=/bin/sleep infinity" || return 1
    sdu_start_unit "$UNIT" || return 1
    write_config "$T/vigil.toml" <<EOT
[posture]
max_age = "30s"

[posture.systemd]
bus = "$SDU_BUS"
units = ["$UNIT"]
interval = "2s"
ntp = true

[[rule]]
name = "ops may sudo while the EDR sensor runs"
services = ["sudo"]
groups = ["vgl-ops"]
decision = "allow"
require = ["$SIGNAL == active"]
EOT
    pam_sudo_vigil timeout=3000
    agent_start "$T/vigil.toml" || return 1
    wait_for 5 posture_is active || { fail "vigild never saw $UNIT active"; note_logs; return 1; }
}

posture_is() { # VALUE: vigilctl posture shows the unit's signal with VALUE
    "$VIGILCTL" --socket "$ADMIN_SOCK" posture --json 2>/dev/null |
        python3 -c 'import json,sys
d=json.load(sys.stdin)
v=[s["value"] for s in d["signals"] if s["name"]==sys.argv[1]]
sys.exit(0 if v==[sys.argv[2]] else 1)' "$SIGNAL" "$1"
}

tap_case "setup: systemd --user, a unit standing in for the EDR sensor, vigild following it" setup ||
    e2e_abort "the user manager or vigild did not start"

posture_table() {
    local out
    out=$("$VIGILCTL" --socket "$ADMIN_SOCK" posture 2>&1)
    expect_contains "vigilctl posture" "$out" "$SIGNAL" || return 1
    expect_match "vigilctl posture" "$out" "$SIGNAL +active +[0-9.]+s +systemd" || return 1
    expect_contains "vigilctl posture" "$out" "systemd.system_state"
}
tap_case "vigilctl posture: the unit's signal is active, with its age and source" posture_table

ntp_missing() {
    # timedated lives on the system bus: on this user bus it cannot be
    # reached, so the signal is missing while the units still come through.
    local out
    out=$("$VIGILCTL" --socket "$ADMIN_SOCK" posture --json)
    expect_not_contains "vigilctl posture --json" "$out" "time.ntp_synchronized" || return 1
    expect_contains "vigilctl posture --json" "$out" "$SIGNAL" || return 1
    grep -q "timedate1 NTPSynchronized" "$AGENT_LOG" || { fail "vigild did not log the unreachable timedated"; return 1; }
    [ "$(grep -c "timedate1 NTPSynchronized" "$AGENT_LOG")" -eq 1 ] ||
        { fail "vigild logged the unreachable timedated more than once"; note_logs; return 1; }
}
tap_case "ntp = true without timedated on the bus: time.ntp_synchronized is missing, logged once" ntp_missing

sudo_while_active() {
    audit_mark
    sudo_as vgl-alice id -u
    expect_rc "vgl-alice: sudo -n id -u" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    # Signals are recorded sorted by name: failed_units, system_state, the unit, its sub_state.
    audit_expect vgl-alice sudo outcome=allow "signals.2.name=$SIGNAL" signals.2.value=active \
        signals.2.source=systemd "?signals.2.age_ms"
}
tap_case "sudo: allowed while $UNIT is active; the trail records the signal and its age" sudo_while_active

stop_denies() {
    local t0 t1 out
    t0=$(now_ms)
    sdu_stop_unit "$UNIT" || return 1
    # Within one second of the stop, a dry run already says no.
    wait_for 1 bash -c "'$VIGILCTL' --socket '$ADMIN_SOCK' decide --user vgl-alice --service sudo |
        grep -q 'outcome: *deny'" || { fail "vigilctl decide still allows 1 s after the stop"; note_logs; return 1; }
    t1=$(now_ms)
    echo "# denied $((t1 - t0)) ms after 'systemctl --user stop' began"
    out=$("$VIGILCTL" --socket "$ADMIN_SOCK" decide --user vgl-alice --service sudo)
    expect_contains "vigilctl decide" "$out" "$SIGNAL is inactive" || return 1
    audit_mark
    sudo_as vgl-alice id -u
    expect_nonzero "vgl-alice: sudo -n id -u" "$SUDO_RC" "$SUDO_OUT" || return 1
    expect_contains "sudo output" "$SUDO_OUT" "vigil: access denied: posture signal $SIGNAL is inactive" || return 1
    audit_expect vgl-alice sudo outcome=deny "reason_user~$SIGNAL" "rule^ops may sudo"
}
tap_case "stop $UNIT: within 1 s vigilctl decide and a real sudo are denied, naming the unit" stop_denies

start_allows() {
    sdu_start_unit "$UNIT" || return 1
    wait_for 1 posture_is active || { fail "vigild did not see $UNIT active again within 1 s"; return 1; }
    sudo_as vgl-alice id -u
    expect_rc "vgl-alice: sudo -n id -u" 0 "$SUDO_RC" "$SUDO_OUT"
}
tap_case "start $UNIT again: sudo is allowed again" start_allows

manager_gone() {
    sdu_stop || return 1
    # The bus is gone: the signal is forgotten (missing), never left "active".
    wait_for 3 bash -c "! '$VIGILCTL' --socket '$ADMIN_SOCK' posture --json | grep -q '\"$SIGNAL\"'" ||
        { fail "vigild still lists $SIGNAL after the manager went away"; return 1; }
    sudo_as vgl-alice id -u
    expect_nonzero "vgl-alice: sudo -n id -u" "$SUDO_RC" "$SUDO_OUT" || return 1
    expect_contains "sudo output" "$SUDO_OUT" "posture signal $SIGNAL is missing"
}
tap_case "the systemd manager goes away: the signal is missing and sudo is denied" manager_gone

agent_alive() {
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died"; note_logs; return 1; }
    "$VIGILCTL" audit verify "$AUDIT_LOG" >/dev/null
}
tap_case "vigild is still running and the trail verifies" agent_alive
