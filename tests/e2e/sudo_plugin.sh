#!/bin/bash
# Real sudo with vigil_sudo.so, vigil's approval plugin, in sudo.conf (a bind
# mount in this namespace): sudoers allows every test user everything, and
# vigild decides each command sudo resolved, with its exact argv and run-as
# user. Rules name commands: an allowed one runs, another does not, and the
# user sees why; shells are refused however sudo starts them (-s, -i, bash);
# -u vgl-bob is decided apart from -u root. Every command leaves a record with
# the exact argv, the path sudo resolved and argv_source "plugin". With
# [sudo] approval = "pam" (no plugin to see the command), a rule that names
# commands cannot allow.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 12

sudo_rules() {
    cat <<EOF
[sudo]
approval = "${1:-plugin}"

[step_up.purpose]
prompt = "Reason or ticket: "
pattern = "^[A-Z]+-[0-9]+ .{4,}$"

[[rule]]
name = "no shells"
services = ["sudo"]
commands = ["/usr/bin/sh", "/usr/bin/bash", "/usr/bin/dash"]
decision = "deny"
reason = "shells are not allowed through sudo"

[[rule]]
name = "ops may ask who they are"
services = ["sudo"]
groups = ["$E2E_OPS_GROUP"]
commands = ["/usr/bin/id -u", "/usr/bin/cat /etc/hostname"]
runas = ["root"]
decision = "allow"

[[rule]]
name = "ops may ask their name, with a reason"
services = ["sudo"]
groups = ["$E2E_OPS_GROUP"]
commands = ["/usr/bin/id -un"]
decision = "allow"
purpose = true

[[rule]]
name = "ops may edit the host name"
services = ["sudo"]
groups = ["$E2E_OPS_GROUP"]
commands = ["sudoedit /etc/hostname"]
decision = "allow"

[[rule]]
name = "ops may run whoami as vgl-bob"
services = ["sudo"]
groups = ["$E2E_OPS_GROUP"]
commands = ["/usr/bin/whoami \"\""]
runas = ["vgl-bob"]
decision = "allow"
EOF
}

# sudo.conf: the plugin, asking this test's vigild; or nothing ($1 = none).
sudo_conf() {
    if [ "${1:-}" = none ]; then
        : >"$T/etc/sudo.conf"
    else
        echo "Plugin vigil_approval $SUDO_PLUGIN socket=$PAM_SOCK timeout=3000" >"$T/etc/sudo.conf"
    fi
}

setup() {
    [ -f "$SUDO_PLUGIN" ] || { fail "the plugin is not built: $SUDO_PLUGIN"; return 1; }
    e2e_setup_system
    sudo_conf
    mount --bind "$T/etc/sudo.conf" /etc/sudo.conf || { fail "cannot bind-mount sudo.conf"; return 1; }
    sudo_rules | write_config "$T/vigil.toml"
    pam_sudo_vigil timeout=3000
    agent_start "$T/vigil.toml" || return 1
    # sudo -V as root: what an admin runs to see that sudo loaded the plugin.
    local out
    out=$(ASAN_OPTIONS=$HOST_ASAN_OPTIONS sudo -V 2>&1)
    expect_contains "sudo -V" "$out" "vigil approval plugin version" || return 1
}
tap_case "setup: vigild with command rules, sudo.conf naming vigil_sudo.so" setup || e2e_abort "setup failed"

allowed_runs() {
    audit_mark
    sudo_as vgl-alice id -u
    expect_rc "vgl-alice: sudo -n id -u" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    no_line "" "$SUDO_OUT" "no output" || true
    [ "$SUDO_OUT" = 0 ] || { fail "sudo -n id -u printed '$SUDO_OUT', want 0"; return 1; }
    command_expect vgl-alice outcome=allow "rule=ops may ask who they are" service=sudo \
        command.0=id command.1=-u '!command.2' argv_source=plugin sudo.path=/usr/bin/id sudo.runas_user=root \
        sudo.runas_uid=0 uid=20001
}
tap_case "an allowed command runs: sudo id -u prints 0; the record has the exact argv and the path sudo resolved" \
    allowed_runs

denied_refused() {
    audit_mark
    sudo_as vgl-alice id -g
    expect_nonzero "vgl-alice: sudo -n id -g" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "id -g ran as root although vigil denied it" || return 1
    expect_contains "sudo's output" "$SUDO_OUT" "vigil: no policy rule allows sudo for vgl-alice" || return 1
    command_expect vgl-alice outcome=deny command.0=id command.1=-g argv_source=plugin sudo.path=/usr/bin/id
}
tap_case "a command no rule allows does not run, and the user is told why (same program, other arguments)" \
    denied_refused

shells_refused() {
    local how
    for how in "-s" "-i" "bash -c true" "sh -c id"; do
        audit_mark
        sudo_as vgl-alice "$how"
        expect_nonzero "vgl-alice: sudo -n $how" "$SUDO_RC" "$SUDO_OUT" || return 1
        expect_contains "sudo -n $how" "$SUDO_OUT" "vigil: shells are not allowed through sudo" || return 1
        command_expect vgl-alice outcome=deny "rule=no shells" argv_source=plugin || return 1
        echo "# sudo -n $how: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["sudo"]["path"], r["command"])' "$T/last-record.json")"
    done
}
tap_case "shells are refused however sudo starts them: -s, -i, bash -c, sh -c" shells_refused

runas_decided() {
    audit_mark
    sudo_as vgl-alice -u vgl-bob whoami
    expect_rc "vgl-alice: sudo -n -u vgl-bob whoami" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    [ "$SUDO_OUT" = vgl-bob ] || { fail "whoami printed '$SUDO_OUT', want vgl-bob"; return 1; }
    command_expect vgl-alice outcome=allow sudo.runas_user=vgl-bob sudo.runas_uid=20003 || return 1
    audit_mark
    sudo_as vgl-alice -u root whoami
    expect_nonzero "vgl-alice: sudo -n -u root whoami" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line root "$SUDO_OUT" "whoami ran as root although only vgl-bob is allowed" || return 1
    command_expect vgl-alice outcome=deny sudo.runas_user=root
}
tap_case "run-as is decided: whoami as vgl-bob runs, as root it does not" runas_decided

# sudoedit is decided on the file it edits: the editor (here true, which
# leaves the copy unchanged) runs as the user on a temporary copy.
sudoedit_as() { # USER FILE
    SUDO_OUT=$(cd / && ASAN_OPTIONS=$HOST_ASAN_OPTIONS timeout 30 su "$1" -s /bin/sh \
        -c "SUDO_EDITOR=/usr/bin/true sudo -n -e $2" 2>&1 </dev/null)
    SUDO_RC=$?
}

sudoedit_decided() {
    audit_mark
    sudoedit_as vgl-alice /etc/hostname
    expect_rc "vgl-alice: sudoedit /etc/hostname" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    command_expect vgl-alice outcome=allow "rule=ops may edit the host name" sudo.sudoedit_files=1 \
        sudo.path=/usr/bin/true command.2=/etc/hostname || return 1
    audit_mark
    sudoedit_as vgl-alice /etc/shadow
    expect_nonzero "vgl-alice: sudoedit /etc/shadow" "$SUDO_RC" "$SUDO_OUT" || return 1
    expect_contains "sudoedit's output" "$SUDO_OUT" "vigil: no policy rule allows sudo" || return 1
    command_expect vgl-alice outcome=deny sudo.sudoedit_files=1
}
tap_case "sudoedit is decided on the file it edits: /etc/hostname yes, /etc/shadow no" sudoedit_decided

# A rule with purpose = true asks for a reason before its command, through
# sudo's own conversation (-S: read from stdin); other commands ask nothing.
step_up_for_one_command() {
    audit_mark
    sudo_as vgl-alice id -un
    expect_nonzero "vgl-alice: sudo -n id -un (needs a reason)" "$SUDO_RC" "$SUDO_OUT" || return 1
    expect_contains "sudo -n id -un" "$SUDO_OUT" "sudo -n cannot ask" || return 1
    audit_mark
    SUDO_OUT=$(cd / && printf 'INC-42 checking who I am\n' | ASAN_OPTIONS=$HOST_ASAN_OPTIONS timeout 30 \
        su vgl-alice -s /bin/sh -c "sudo -S -p '' id -un" 2>&1)
    SUDO_RC=$?
    expect_rc "vgl-alice: sudo -S id -un, a reason given" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    expect_contains "sudo -S id -un" "$SUDO_OUT" "Reason or ticket:" || return 1
    # The prompt has no newline: "Reason or ticket: root".
    expect_match "sudo -S id -un ran as root" "$SUDO_OUT" "(^|: )root$" || return 1
    command_expect vgl-alice outcome=allow "rule=ops may ask their name, with a reason" \
        "purpose=INC-42 checking who I am" command.1=-un || return 1
    audit_mark
    SUDO_OUT=$(cd / && printf 'no ticket\n' | ASAN_OPTIONS=$HOST_ASAN_OPTIONS timeout 30 \
        su vgl-alice -s /bin/sh -c "sudo -S -p '' id -un" 2>&1)
    SUDO_RC=$?
    expect_nonzero "vgl-alice: sudo -S id -un, a reason that does not fit the pattern" "$SUDO_RC" "$SUDO_OUT"
}
tap_case "step-up for one command and not another: id -un asks for a reason (sudo -n cannot), id -u does not" \
    step_up_for_one_command

outsider_refused() {
    audit_mark
    sudo_as vgl-bob id -u
    expect_nonzero "vgl-bob (not in $E2E_OPS_GROUP): sudo -n id -u" "$SUDO_RC" "$SUDO_OUT" || return 1
    audit_expect vgl-bob sudo outcome=deny
}
tap_case "a user no command rule names is refused in PAM's account phase already" outsider_refused

# With sudoers' intercept, sudo asks its approval plugins again for every
# program the command starts: an allowed script's forbidden child is refused.
intercept_rules() {
    cat <<EOF
[sudo]
approval = "plugin"

[[rule]]
name = "ops may run scripts that ask who they are"
services = ["sudo"]
groups = ["$E2E_OPS_GROUP"]
commands = ["/usr/bin/sh -c *", "/usr/bin/id -u"]
decision = "allow"
EOF
}

intercept_children() {
    agent_stop || return 1
    intercept_rules | write_config "$T/vigil.toml"
    agent_start "$T/vigil.toml" || return 1
    cp "$T/etc/sudoers" "$T/sudoers.saved"
    echo "Defaults intercept" >>"$T/etc/sudoers"
    audit_mark
    sudo_as vgl-alice "sh -c 'id -u; cat /etc/shadow; echo script-went-on'"
    cat "$T/sudoers.saved" >"$T/etc/sudoers"
    echo "# sudo sh -c '...' with intercept: rc $SUDO_RC"
    printf '%s\n' "$SUDO_OUT" | sed 's/^/#   /'
    no_line "root:*:" "$SUDO_OUT" "cat /etc/shadow ran under the allowed shell" || return 1
    expect_match "the script's output" "$SUDO_OUT" "(^|[[:space:]])0($|[[:space:]])" || return 1
    expect_contains "the script's output" "$SUDO_OUT" "script-went-on" || return 1
    # The shell may try each directory of its PATH: every try is decided.
    command_expect vgl-alice outcome=deny command.1=/etc/shadow sudo.resolved=/usr/bin/cat || return 1
    python3 - "$AUDIT_LOG" "$AUDIT_MARK" <<'PYEOF2' || { fail "the intercepted commands were not each decided"; return 1; }
import json, sys
seen = [json.loads(l) for i, l in enumerate(open(sys.argv[1])) if i >= int(sys.argv[2])]
cmds = [(r["command"][0].rsplit("/", 1)[-1], r["outcome"]) for r in seen if r.get("phase") == "command"]
print("# command records:", cmds)
want = [("sh", "allow"), ("id", "allow"), ("cat", "deny")]
sys.exit(0 if all(w in cmds for w in want) else 1)
PYEOF2
}
tap_case "with sudoers' intercept, an allowed script runs id -u, and its cat /etc/shadow is refused" \
    intercept_children

# sudo's PAM session phase as the shipped stacks have it: the session sudo
# opens follows the command's decision; with the plugin gone from sudo.conf
# (approval still "plugin"), PAM's account phase allowed only "may use sudo",
# and the session refuses to open, so nothing runs unchecked.
session_needs_command() {
    pam_sudo_vigil_sessions timeout=3000
    audit_mark
    sudo_as vgl-alice id -u
    expect_rc "vgl-alice: sudo -n id -u, with a session" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    [ "$SUDO_OUT" = 0 ] || { fail "sudo -n id -u printed '$SUDO_OUT', want 0"; return 1; }
    last_command_record vgl-alice || { fail "no command record"; return 1; }
    local id
    id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$T/last-record.json")
    tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | grep '"phase":"open_session"' | tail -n 1 >"$T/session.json"
    [ -s "$T/session.json" ] || { fail "no open_session record"; note "audit log" "$AUDIT_LOG" 4; return 1; }
    json_expect "the session sudo opened" "$T/session.json" outcome=allow "decision_id=$id" || return 1
    sudo_conf none
    audit_mark
    sudo_as vgl-alice id -u
    sudo_conf
    pam_sudo_vigil timeout=3000
    expect_nonzero "vgl-alice: sudo -n id -u, plugin gone from sudo.conf" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "id -u ran as root though no command decision came before its session" || return 1
    tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | grep '"phase":"open_session"' | tail -n 1 >"$T/session.json"
    json_expect "the session sudo tried to open" "$T/session.json" outcome=deny "reason_admin~/etc/sudo.conf"
}
tap_case "sudo's session opens under the command's decision; with the plugin gone from sudo.conf it does not open" \
    session_needs_command

pam_only() {
    agent_stop || return 1
    sudo_conf none
    sudo_rules pam | write_config "$T/vigil.toml"
    agent_start "$T/vigil.toml" || return 1
    audit_mark
    sudo_as vgl-alice id -u
    expect_nonzero "vgl-alice: sudo -n id -u, no plugin" "$SUDO_RC" "$SUDO_OUT" || return 1
    no_line 0 "$SUDO_OUT" "id -u ran as root with no plugin to check the command" || return 1
    expect_contains "sudo's output" "$SUDO_OUT" "this command cannot be checked" || return 1
    audit_expect vgl-alice sudo outcome=deny argv_source=cmdline "rule=no shells" "reason_admin~approval = \"pam\""
}
tap_case "[sudo] approval = \"pam\", no plugin: command rules cannot allow (the argv is only sudo's command line)" \
    pam_only

agent_alive() {
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died"; note_logs; return 1; }
    local out
    out=$("$VIGILCTL" audit verify "$AUDIT_LOG" 2>&1) || { fail "the trail does not verify"; note_text "audit verify" "$out"; }
}
tap_case "vigild stayed up and its trail verifies" agent_alive
