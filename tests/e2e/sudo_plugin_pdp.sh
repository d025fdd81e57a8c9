#!/bin/bash
# Each sudo command decided by a real Cerbos: vigil_sudo.so in real sudo
# (sudo.conf bind-mounted in this namespace), vigild asking Cerbos 0.55 with
# the shipped example policies themselves (tests/pdp/policies/*.yaml are
# links to conf/cerbos/). host.yaml lets ops use sudo at all; command.yaml
# decides each command sudo resolved, sent as the resource {kind: "command",
# id: the program, attr: {argv, runas_user, ..., host}}: `systemctl restart
# nginx` runs as root and not as another user, `systemctl restart sshd` does
# not, shells do not however sudo starts them, and `systemctl stop` of a
# critical unit asks for a TOTP code through sudo's own prompt first. The
# EDR sensor is a unit of a real `systemd --user` that vigild follows: with
# it stopped, no command runs. The same over Cerbos' AuthZEN API, and the
# same answers from local rules alone: the shipped drop-in
# conf/vigil.toml.d/20-sudo-commands.toml.example, the same checks; and a
# live `sudo sleep` is re-decided on its command when the EDR unit stops.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/systemd_user.sh"
e2e_enter_ns "$@"

tap_plan 9

PDP_KIT=$SRCDIR/tests/pdp
POLICY_VERSION=2026.12.1 # the constant in conf/cerbos/command.yaml
EDR_UNIT=falcon-sensor.service # conf/cerbos/command.yaml's edr_signal
EDR_SIGNAL=systemd.unit.$EDR_UNIT
SHELLS_REFUSED="shells, editors and pagers are not allowed through sudo"
# Who decides (the records' path): the PDP, then local rules alone; what the
# user is told with the EDR unit stopped; the TOTP step a code is taken from
# (a code is accepted once: the local run takes the next one).
DECIDER=pdp
EDR_REFUSED="endpoint security sensor is not running"
TOTP_STEP=0
PERIOD=30
CERBOS_DIR=""
_sp_rc=0
trap '_sp_rc=$?; [ -n "$CERBOS_DIR" ] && "$PDP_KIT/cerbos.sh" stop "$CERBOS_DIR" >/dev/null 2>&1; (exit $_sp_rc); _e2e_cleanup' EXIT

# agent_config PROTOCOL: vigild asking the Cerbos started in setup; for
# "local", the shipped drop-in decides alone.
agent_config() {
    local protocol=$1
    if [ "$protocol" = local ]; then
        local_config
        return
    fi
    rm -rf "$T/vigil.toml.d"
    write_agent_config "$T/vigil.toml" <<EOF
[pdp]
protocol = "$protocol"
$([ "$protocol" = authzen ] && echo 'authzen_profile = "cerbos"')
urls = ["$CERBOS_URL"]
timeout = "2s"
fallback = "deny"

[host]
id = "web-01"
labels = { sensitivity = "low" }

[posture.systemd]
bus = "$SDU_BUS"
units = ["$EDR_UNIT"]
interval = "1s"

[sudo]
approval = "plugin"

[step_up.totp]
store_dir = "$T/totp"
issuer = "vigil-e2e"
period = "${PERIOD}s"
EOF
}

# local_config: the host's own settings in vigil.toml, the policy in
# vigil.toml.d/ as shipped ([sudo], the EDR unit and the rules).
local_config() {
    write_agent_config "$T/vigil.toml" <<EOF
[pdp]
protocol = "local"

[host]
id = "web-01"

[posture.systemd]
bus = "$SDU_BUS"
interval = "1s"

[step_up.totp]
store_dir = "$T/totp"
issuer = "vigil-e2e"
period = "${PERIOD}s"

[sessions]
deny_grace = "1s"
EOF
    mkdir -p "$T/vigil.toml.d"
    install -o root -g root -m 0600 "$SRCDIR/conf/vigil.toml.d/20-sudo-commands.toml.example" \
        "$T/vigil.toml.d/20-sudo-commands.toml"
}

# edr_signal_is VALUE: vigilctl posture shows the EDR unit's signal so.
edr_signal_is() {
    "$VIGILCTL" --socket "$ADMIN_SOCK" posture --json 2>/dev/null |
        python3 -c 'import json, sys
d = json.load(sys.stdin)
sigs = d.get("signals", d) if isinstance(d, dict) else d
found = [s.get("value") for s in sigs if isinstance(s, dict) and s.get("name") == sys.argv[1]]
sys.exit(0 if found and found[0] == sys.argv[2] else 1)' "$EDR_SIGNAL" "$1"
}

start_agent() {
    agent_stop || return 1
    agent_config "$1"
    agent_start "$T/vigil.toml" || return 1
    wait_for 10 edr_signal_is active || { fail "vigild never saw $EDR_UNIT active"; note_logs; return 1; }
}

setup() {
    [ -f "$SUDO_PLUGIN" ] || { fail "the plugin is not built: $SUDO_PLUGIN"; return 1; }
    e2e_setup_system
    sdu_start "$T/sdu" || { fail "systemd --user did not start"; return 1; }
    sdu_unit "$EDR_UNIT" "ExecStart=/bin/sleep infinity" || return 1
    sdu_start_unit "$EDR_UNIT" || return 1
    # Cerbos' roles are the user's groups, and the policies name "ops".
    e2e_add_group ops 20101 vgl-alice || return 1
    e2e_add_group sre 20102 vgl-bob || return 1
    "$PDP_KIT/install.sh" >/dev/null 2>"$T/install.err" ||
        { note "tests/pdp/install.sh" "$T/install.err"; fail "cannot install Cerbos"; return 1; }
    CERBOS_DIR=$T/cerbos
    "$PDP_KIT/cerbos.sh" start "$CERBOS_DIR" >"$T/cerbos.out" 2>&1 ||
        { note "cerbos.sh start" "$T/cerbos.out" 30; fail "Cerbos did not start"; return 1; }
    # shellcheck disable=SC1091
    . "$CERBOS_DIR/cerbos.env"
    echo "Plugin vigil_approval $SUDO_PLUGIN socket=$PAM_SOCK timeout=5000" >"$T/etc/sudo.conf"
    mount --bind "$T/etc/sudo.conf" /etc/sudo.conf || { fail "cannot bind-mount sudo.conf"; return 1; }
    pam_sudo_vigil_sessions timeout=5000
    agent_config cerbos
    totp_enroll vgl-alice "$T/vigil.toml" && ALICE_TOTP=$TOTP_SECRET || return 1
    start_agent cerbos
}
tap_case "setup: systemd --user with the EDR unit, Cerbos with conf/cerbos/, vigild (plugin approval), sudo.conf naming vigil_sudo.so" \
    setup || e2e_abort "setup failed"

# decide_command FILE USER COMMAND [RUNAS]: vigilctl decide --json for that
# command, as the plugin would ask (a dry run: nothing is audited).
decide_command() {
    local file=$1 user=$2 command=$3 runas=${4:-}
    "$VIGILCTL" --socket "$ADMIN_SOCK" decide --json --user "$user" --service sudo --command "$command" \
        ${runas:+--runas "$runas"} >"$file" 2>"$file.err" ||
        { note "vigilctl decide --command '$command'" "$file.err"; fail "vigilctl decide failed"; return 1; }
}

# ran_systemctl WHAT: sudo's output is systemctl's own (it ran, whatever it
# could do in this namespace), not vigil's refusal.
ran_systemctl() {
    expect_not_contains "$1" "$SUDO_OUT" "vigil:" || return 1
    expect_not_contains "$1" "$SUDO_OUT" "sudo: " || return 1
    last_command_record vgl-alice && json_expect "$1" "$T/last-record.json" outcome=allow
}

allowed_runs() {
    audit_mark
    sudo_as vgl-alice systemctl restart nginx
    ran_systemctl "vgl-alice: sudo -n systemctl restart nginx" || { note_logs; return 1; }
    command_expect vgl-alice outcome=allow path=$DECIDER \
        command.0=systemctl command.1=restart command.2=nginx '!command.3' argv_source=plugin \
        sudo.path=/usr/bin/systemctl sudo.runas_user=root || return 1
    if [ $DECIDER = local ]; then
        command_expect vgl-alice "rule=ops may restart the web server" '!pdp'
        return
    fi
    command_expect vgl-alice pdp.protocol=cerbos "pdp.policy_version=$POLICY_VERSION" || return 1
    # What Cerbos is sent, shown by the same question asked as a dry run.
    decide_command "$T/decide.json" vgl-alice "systemctl restart nginx" || return 1
    json_expect "vigilctl decide --command 'systemctl restart nginx'" "$T/decide.json" outcome=allow path=pdp \
        pdp.request.resources.0.resource.kind=command pdp.request.resources.0.resource.id=/usr/bin/systemctl \
        pdp.request.resources.0.resource.attr.argv.0=systemctl pdp.request.resources.0.resource.attr.argv.2=nginx \
        '!pdp.request.resources.0.resource.attr.argv.3' pdp.request.resources.0.resource.attr.runas_user=root \
        "pdp.request.resources.0.resource.attr.host.posture~\"$EDR_SIGNAL\": \"active\"" \
        'pdp.request.resources.0.actions=["sudo"]' pdp.request.principal.attr.context.argv_source=plugin \
        'pdp.response.results.0.outputs.0.src=resource.command.vdefault#ops-web-units'
}
tap_case "cerbos: systemctl restart nginx runs as root; the PDP is sent the command resource, argv exact, and the host's posture" \
    allowed_runs

other_unit_refused() {
    audit_mark
    sudo_as vgl-alice systemctl restart sshd
    expect_nonzero "vgl-alice: sudo -n systemctl restart sshd" "$SUDO_RC" "$SUDO_OUT" || return 1
    expect_contains "sudo's output" "$SUDO_OUT" "vigil:" || return 1
    command_expect vgl-alice outcome=deny path=$DECIDER command.2=sshd || return 1
    # And the one allowed unit, as another user than root.
    audit_mark
    sudo_as vgl-alice -u vgl-bob systemctl restart nginx
    expect_nonzero "vgl-alice: sudo -n -u vgl-bob systemctl restart nginx" "$SUDO_RC" "$SUDO_OUT" || return 1
    command_expect vgl-alice outcome=deny path=$DECIDER sudo.runas_user=vgl-bob || return 1
    decide_command "$T/decide.json" vgl-alice "systemctl restart nginx" vgl-bob || return 1
    json_expect "vigilctl decide --command 'systemctl restart nginx' --runas vgl-bob" "$T/decide.json" outcome=deny ||
        return 1
    [ $DECIDER = local ] && return
    json_expect "vigilctl decide: what Cerbos is sent" "$T/decide.json" \
        pdp.request.resources.0.resource.attr.runas_user=vgl-bob pdp.request.resources.0.resource.attr.runas_uid=20003
}
tap_case "cerbos: systemctl restart sshd is refused; restart nginx as vgl-bob (not root) is refused" other_unit_refused

shells_refused() {
    local how
    for how in "bash -c id" "-s id" "-i id" "sh -c id" "perl -e 1"; do
        audit_mark
        # shellcheck disable=SC2086  # each is several words
        sudo_as vgl-alice $how
        expect_nonzero "vgl-alice: sudo -n $how" "$SUDO_RC" "$SUDO_OUT" || return 1
        expect_contains "sudo -n $how" "$SUDO_OUT" "$SHELLS_REFUSED" || return 1
        command_expect vgl-alice outcome=deny path=$DECIDER || return 1
    done
}
tap_case "cerbos: shells and interpreters are refused however sudo starts them (bash -c, -s, -i, sh -c, perl), with the policy's reason" \
    shells_refused

step_up_stop() {
    audit_mark
    sudo_as vgl-alice systemctl stop ssh.service
    expect_nonzero "vgl-alice: sudo -n systemctl stop ssh.service (needs a code)" "$SUDO_RC" "$SUDO_OUT" || return 1
    expect_contains "sudo -n systemctl stop" "$SUDO_OUT" "sudo -n cannot ask" || return 1
    audit_mark
    local code
    code=$(totp_code "$ALICE_TOTP" "$PERIOD" $TOTP_STEP)
    SUDO_OUT=$(cd / && printf '%s\n' "$code" | ASAN_OPTIONS=$HOST_ASAN_OPTIONS timeout 30 \
        su vgl-alice -s /bin/sh -c "sudo -S -p '' systemctl stop ssh.service" 2>&1)
    SUDO_RC=$?
    expect_not_contains "sudo -S systemctl stop ssh.service, a code given" "$SUDO_OUT" "vigil: " ||
        { note_logs; return 1; }
    command_expect vgl-alice outcome=allow path=$DECIDER mfa.method=totp command.1=stop || return 1
    # Another command asks for no code.
    audit_mark
    sudo_as vgl-alice systemctl status nginx
    ran_systemctl "vgl-alice: sudo -n systemctl status nginx, no code asked" || return 1
    command_expect vgl-alice outcome=allow '!mfa'
}
tap_case "cerbos: systemctl stop ssh.service asks for a TOTP code through sudo's prompt (sudo -n cannot), runs with one; status nginx asks nothing" \
    step_up_stop

edr_down() {
    sdu_stop_unit "$EDR_UNIT" || return 1
    wait_for 10 edr_signal_is inactive || { fail "vigild never saw $EDR_UNIT stop"; return 1; }
    audit_mark
    sudo_as vgl-alice systemctl restart nginx
    expect_nonzero "vgl-alice: sudo -n systemctl restart nginx, EDR stopped" "$SUDO_RC" "$SUDO_OUT" || return 1
    expect_contains "sudo's output" "$SUDO_OUT" "$EDR_REFUSED" || return 1
    sdu_start_unit "$EDR_UNIT" || return 1
    wait_for 10 edr_signal_is active || { fail "vigild never saw $EDR_UNIT again"; return 1; }
    sudo_as vgl-alice systemctl restart nginx
    ran_systemctl "vgl-alice: sudo -n systemctl restart nginx, EDR running again"
}
tap_case "cerbos: with the EDR unit stopped no command runs, with the reason; started again, it does" edr_down

authzen_same() {
    start_agent authzen || return 1
    audit_mark
    sudo_as vgl-alice systemctl restart nginx
    ran_systemctl "authzen: sudo -n systemctl restart nginx" || { note_logs; return 1; }
    command_expect vgl-alice outcome=allow path=pdp pdp.protocol=authzen command.1=restart || return 1
    decide_command "$T/decide.json" vgl-alice "systemctl restart nginx" || return 1
    json_expect "authzen: vigilctl decide --command" "$T/decide.json" outcome=allow pdp.request.resource.type=command \
        pdp.request.resource.id=/usr/bin/systemctl pdp.request.resource.properties.argv.1=restart \
        pdp.request.action.name=sudo || return 1
    audit_mark
    sudo_as vgl-alice bash -c id
    expect_nonzero "authzen: sudo -n bash -c id" "$SUDO_RC" "$SUDO_OUT" || return 1
    expect_contains "authzen: sudo -n bash -c id" "$SUDO_OUT" "$SHELLS_REFUSED"
}
tap_case "authzen (Cerbos' AuthZEN API): the same command resource, the same answers" authzen_same

# last_redecision: lib.sh.

# session_command USER: vigilctl sessions --json lists a session of USER
# that carries the command sleep 300.
session_command() {
    "$VIGILCTL" --socket "$ADMIN_SOCK" sessions --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
ss = d.get("sessions", d) if isinstance(d, dict) else d
sys.exit(0 if any(s.get("user") == sys.argv[1] and s.get("command") == ["sleep", "300"] for s in ss) else 1)' "$1"
}

# A live sudo session is re-decided on the command it runs: vgl-bob (sre)
# runs sleep as root; when the EDR unit stops, the re-decision asks about
# /usr/bin/sleep again, denies, and the sleep is ended.
session_redecided() {
    (cd / && ASAN_OPTIONS=$HOST_ASAN_OPTIONS exec su vgl-bob -s /bin/sh -c "exec sudo -n sleep 300" </dev/null >"$T/sleep.out" 2>&1) &
    local pid=$!
    wait_for 10 session_command vgl-bob ||
        {
            fail "no live session of vgl-bob with its command"
            "$VIGILCTL" --socket "$ADMIN_SOCK" sessions --json >"$T/sessions.json" 2>&1
            note "vigilctl sessions --json" "$T/sessions.json" 30
            note "sudo" "$T/sleep.out"
            kill "$pid"
            return 1
        }
    sdu_stop_unit "$EDR_UNIT" || return 1
    # deny_grace (1 s), then SIGHUP to sudo and its command.
    wait_for 20 sh -c "! kill -0 $pid 2>/dev/null" ||
        { fail "sudo sleep 300 outlived the EDR unit"; note_logs; note "the trail" "$AUDIT_LOG" 4; kill "$pid"; }
    wait "$pid" 2>/dev/null
    wait_for 5 last_redecision vgl-bob || { fail "no re-decision of vgl-bob's session in the trail"; note_logs; }
    json_expect "vgl-bob's re-decision" "$T/last-record.json" outcome=deny service=sudo command.0=sleep \
        command.1=300 sudo.path=/usr/bin/sleep sudo.runas_user=root "reason_admin~$EDR_SIGNAL"
    local rc=$?
    sdu_start_unit "$EDR_UNIT" || return 1
    wait_for 10 edr_signal_is active || { fail "vigild never saw $EDR_UNIT again"; return 1; }
    return $rc
}

# The same checks, the same answers, from local rules alone.
local_same() {
    DECIDER=local
    EDR_REFUSED="$EDR_SIGNAL"
    TOTP_STEP=1
    local out
    local_config
    out=$("$VIGILD" --check --config "$T/vigil.toml" 2>&1) ||
        { fail "vigild --check with the shipped drop-in"; note_text "output" "$out"; return 1; }
    expect_contains "vigild --check" "$out" "+ $T/vigil.toml.d/20-sudo-commands.toml" || return 1
    start_agent local || return 1
    allowed_runs && other_unit_refused && shells_refused && step_up_stop && edr_down && session_redecided
}
tap_case "local rules (the shipped conf/vigil.toml.d/20-sudo-commands.toml.example): the same commands run and are refused, the same step-up; a live sudo re-decided on its command" \
    local_same

trail_verifies() {
    "$VIGILCTL" audit verify "$AUDIT_LOG" >"$T/verify.out" 2>&1 ||
        { note "vigilctl audit verify" "$T/verify.out"; fail "the trail does not verify"; return 1; }
    "$VIGILCTL" --socket "$ADMIN_SOCK" ping >/dev/null 2>&1 || { fail "vigild does not answer"; note_logs; return 1; }
}
tap_case "vigild stayed up and its trail verifies" trail_verifies
