#!/bin/bash
# Live sessions through real sshd: vigild registers every session it allowed
# and ends it at session_max (warning on its terminal first), on `vigilctl
# revoke`, and within moments of a posture change that no longer allows it
# (a real systemd --user manager's unit stopped), and after session_idle
# without input on its terminal. A vigild killed and
# restarted with 20 sessions live still lists and ends all of them. With an
# AuthZEN PDP (Cerbos), the re-decisions of many sessions go in one batch.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/systemd_user.sh"
e2e_enter_ns "$@"

tap_plan 11

# Five more users, in ops for Cerbos, for the batched re-decisions.
BATCH_USERS="vgl-b1 vgl-b2 vgl-b3 vgl-b4 vgl-b5"
E2E_USERS="$E2E_USERS vgl-b1:20031 vgl-b2:20032 vgl-b3:20033 vgl-b4:20034 vgl-b5:20035"

UNIT=fake-edr.service
CERBOS_STARTED=
_sessions_rc=0
trap '_sessions_rc=$?; [ -n "$CERBOS_STARTED" ] && "$SRCDIR/tests/pdp/cerbos.sh" stop "$T/cerbos" >/dev/null 2>&1; (exit $_sessions_rc); _e2e_cleanup' EXIT

write_sessions_config() {
    write_config "$T/vigil.toml" <<EOF
[sessions]
warn_before = "4s"
revoke_grace = "1s"
deny_grace = "0"

[posture]
max_age = "30s"

[posture.systemd]
bus = "$SDU_BUS"
units = ["$UNIT"]
interval = "2s"

[[rule]]
name = "alice: short sessions"
services = ["sshd"]
users = ["vgl-alice"]
decision = "allow"
session_max = "8s"

[[rule]]
name = "mallory: half a minute"
services = ["sshd"]
users = ["vgl-mallory"]
decision = "allow"
session_max = "40s"

[[rule]]
name = "the batch users"
services = ["sshd"]
users = [$(printf '"%s", ' $BATCH_USERS)]
decision = "allow"
session_max = "60s"

[[rule]]
name = "bob: only while the EDR sensor runs"
services = ["sshd"]
users = ["vgl-bob"]
decision = "allow"
require = ["systemd.unit.$UNIT == active"]
session_idle = "10s"
EOF
}

setup() {
    e2e_setup_system
    sdu_start "$T/sdu" || return 1
    sdu_unit "$UNIT" "ExecStart=/bin/sleep infinity" || return 1
    sdu_start_unit "$UNIT" || return 1
    write_sessions_config
    pam_sshd_vigil timeout=3000
    agent_start "$T/vigil.toml" || return 1
    SSHD_EXTRA_CONFIG="MaxStartups 100" sshd_start
}
tap_case "setup: systemd --user with the EDR stand-in, vigild, sshd" setup || e2e_abort "setup failed"

# ssh_bg, gone, session_count, count_is: lib.sh.

# A TAP comment with a measured number, printed whether the case passes or not.
measured() { echo "# measured: $*"; }

_reloads_above() { [ "$(grep -c "reloaded" "$AGENT_LOG")" -gt "$1" ]; }
ends_logged() { # REASON N: N session_end records naming REASON
    [ "$(grep '"event":"session_end"' "$AUDIT_LOG" | grep -c "$1")" -ge "$2" ]
}

session_max() {
    ssh_bg vgl-alice alice
    wait_for 5 count_is vgl-alice 1 || { fail "alice's session was not registered"; note_logs; return 1; }
    local t0
    t0=$(now_ms)
    wait_for 20 gone alice || { fail "alice's session outlived session_max"; note_logs; return 1; }
    measured "session ended after (ms, from registration; session_max 8 s): $(($(now_ms) - t0))"
    tty_says alice "this session ends in a minute (session limit)." || return 1
    wait_for 5 ends_logged "session_max reached" 1 || { fail "no session_end record"; note_logs; return 1; }
    wait_for 5 count_is vgl-alice 0 || fail "alice's session is still listed"
}
tap_case "session_max: a warning on the session's terminal, then the session ends; the trail says why" session_max

listed_and_revoked() {
    ssh_bg vgl-mallory mallory
    wait_for 5 count_is vgl-mallory 1 || { fail "mallory's session was not registered"; note_logs; return 1; }
    local table
    table=$("$VIGILCTL" --socket "$ADMIN_SOCK" sessions)
    expect_match "vigilctl sessions" "$table" "vgl-mallory +sshd +127\.0\.0\.1" || return 1
    local t0
    t0=$(now_ms)
    "$VIGILCTL" --socket "$ADMIN_SOCK" revoke --user vgl-mallory --reason "INC-7 key leaked" >/dev/null ||
        { fail "vigilctl revoke failed"; return 1; }
    wait_for 10 gone mallory || { fail "the revoked session is still running"; note_logs; return 1; }
    measured "revoke to session gone (ms): $(($(now_ms) - t0))"
    wait_for 5 ends_logged "INC-7 key leaked" 1 || { fail "the trail has no revocation naming the reason"; return 1; }
}
tap_case "vigilctl sessions lists a session; vigilctl revoke --user ends it, and the trail records the reason" \
    listed_and_revoked

posture_change() {
    ssh_bg vgl-bob bob
    wait_for 5 count_is vgl-bob 1 || { fail "bob's session was not registered"; note_logs; return 1; }
    local t0
    t0=$(now_ms)
    sdu_stop_unit "$UNIT" || return 1
    wait_for 5 gone bob || { fail "bob's session survived the EDR sensor stopping"; note_logs; return 1; }
    local took=$(($(now_ms) - t0))
    measured "systemctl stop to session gone (ms): $took"
    [ "$took" -le 2000 ] || fail "ended $took ms after the stop, wanted within 2000"
    wait_for 5 ends_logged "no longer allowed" 1 || { fail "no session_end record for the re-decision"; note_logs; }
    sdu_start_unit "$UNIT"
}
tap_case "posture: stopping the EDR unit (systemd --user) ends bob's session within 2 s" posture_change

# ssh_typing USER NAME: like ssh_bg, but the remote side reads the terminal
# (cat) and a line is typed every 2 s: a session in use.
ssh_typing() {
    (while sleep 2; do echo typed; done) | timeout 120 ssh -tt -F /dev/null -i "$T/ssh/id" -o IdentitiesOnly=yes \
        -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
        -p "$SSHD_PORT" "$1@127.0.0.1" 'cat >/dev/null' >"$T/$2.out" 2>&1 &
    echo $! >"$T/$2.pid"
}
bob_may_login() { ssh_login vgl-bob true && [ "$SSH_RC" -eq 0 ]; }
idle_limit() {
    # The EDR unit was started again by the case before: wait for the posture
    # to say so, or bob's logins are still refused.
    wait_for 15 bob_may_login || { fail "bob cannot log in again after the EDR unit restarted"; note_logs; return 1; }
    local t0
    t0=$(now_ms)
    ssh_bg vgl-bob bob_idle
    ssh_typing vgl-bob bob_typing
    wait_for 5 count_is vgl-bob 2 || { fail "bob's two sessions were not registered"; note_logs; return 1; }
    sessions_json | grep -q '"idle_max_seconds": 10' || { fail "the sessions carry no 10 s idle limit"; return 1; }
    # Idle is measured to the kernel's 8 s granularity, counted in bob's favour.
    wait_for 30 gone bob_idle || { fail "the idle session outlived session_idle"; note_logs; return 1; }
    measured "idle session gone after (ms; session_idle 10 s, terminal stamps every 8 s): $(($(now_ms) - t0))"
    tty_says bob_idle "this session ends in a minute without input (idle limit)." || return 1
    # The typing session must outlive the limit by a margin: 25 s in all
    # (time that must pass, not a wait).
    local left=$((25000 - ($(now_ms) - t0)))
    [ "$left" -gt 0 ] && sleep "$((left / 1000)).$((left % 1000 / 100))"
    kill -0 "$(cat "$T/bob_typing.pid")" 2>/dev/null ||
        { fail "the session with input every 2 s was ended"; note_logs; return 1; }
    "$VIGILCTL" --socket "$ADMIN_SOCK" revoke --user vgl-bob >/dev/null
    wait_for 10 gone bob_typing || fail "the typing session did not end on revoke"
    wait_for 5 ends_logged "no input for" 1 || { fail "no session_end record naming the idle limit"; note_logs; }
}
tap_case "session_idle: a session without terminal input is warned, then ended; one in use is not" idle_limit

# The terminal is bob's own: he can set its access time to any time. One set
# into the future must not read as input that keeps the session alive.
forged_atime() {
    wait_for 15 bob_may_login || { fail "bob cannot log in"; note_logs; return 1; }
    timeout 120 ssh -tt -F /dev/null -i "$T/ssh/id" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p "$SSHD_PORT" \
        vgl-bob@127.0.0.1 'touch -a -d "1 hour" "$(tty)" && stat -c "atime %X" "$(tty)" && sleep 600' \
        >"$T/bob_forged.out" 2>&1 </dev/null &
    echo $! >"$T/bob_forged.pid"
    wait_for 5 count_is vgl-bob 1 || { fail "bob's session was not registered"; note_logs; return 1; }
    wait_for 10 grep -q "^atime" "$T/bob_forged.out" || { fail "touch -a did not run"; note "ssh" "$T/bob_forged.out"; return 1; }
    local atime now
    atime=$(sed -n 's/^atime \([0-9]*\).*/\1/p' "$T/bob_forged.out")
    now=$(date +%s)
    [ "$atime" -gt $((now + 3000)) ] || { fail "the terminal's atime ($atime) is not an hour ahead of $now"; return 1; }
    wait_for 30 gone bob_forged || { fail "a terminal stamped an hour ahead kept the idle session alive"; note_logs; return 1; }
    wait_for 5 ends_logged "no input for" 2 || { fail "no session_end record naming the idle limit"; note_logs; return 1; }
    expect_contains "vigild's log" "$(cat "$AGENT_LOG")" "in the future; not counted as input"
}
tap_case "session_idle: a terminal atime set into the future (touch -a) is not input; the session still ends" \
    forged_atime

TWENTY=20
twenty_live() {
    local i
    for i in $(seq 1 $TWENTY); do
        ssh_bg vgl-mallory "m$i"
        wait_for 5 count_is vgl-mallory "$i" || { fail "session $i was not registered"; note_logs; return 1; }
    done
    T_TWENTY=$(now_ms)
}
restart_keeps_them() {
    twenty_live || return 1
    kill -KILL "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null
    agent_start "$T/vigil.toml" vigild-restarted || return 1
    wait_for 5 count_is vgl-mallory $TWENTY ||
        { fail "after the restart $(session_count vgl-mallory) of $TWENTY sessions are listed"; note_logs; return 1; }
    grep -q "$TWENTY live session(s) restored" "$AGENT_LOG" || fail "vigild did not log the restored sessions"
}
tap_case "vigild SIGKILLed and restarted with $TWENTY sessions live: all $TWENTY are listed again" restart_keeps_them

all_gone() {
    local i
    for i in $(seq 1 $TWENTY); do gone "m$i" || return 1; done
}
twenty_end() {
    wait_for 60 all_gone || { fail "not every restored session ended at its session_max"; note_logs; return 1; }
    measured "20 sessions gone after (ms from the last start; session_max 40 s): $(($(now_ms) - T_TWENTY))"
    wait_for 10 ends_logged "session_max reached" $((TWENTY + 1)) ||
        fail "expected $TWENTY more session_max records in the trail"
}
tap_case "the $TWENTY restored sessions still end at their session_max" twenty_end

# A host policy that lets ops ssh and asks for a re-decision every 2 s.
# next_reevaluation USER: when vigild next re-decides USER's first session.
next_reevaluation() {
    sessions_json | python3 -c '
import json, sys
print(next((s.get("next_reevaluation", "") for s in json.load(sys.stdin)["sessions"] if s["user"] == sys.argv[1]), ""))' \
        "$1" 2>/dev/null
}

# reevaluated_again USER N: wait until USER's session has been re-decided N
# more times (each re-decision moves next_reevaluation on); gives up after
# 15 s.
reevaluated_again() {
    local user=$1 want=$2 seen=0 last next deadline
    deadline=$(($(now_ms) + 15000))
    last=$(next_reevaluation "$user")
    while [ "$seen" -lt "$want" ]; do
        [ "$(now_ms)" -lt "$deadline" ] || { fail "$user's session was not re-decided $want more times"; return 1; }
        sleep 0.1
        next=$(next_reevaluation "$user")
        [ -n "$next" ] && [ "$next" != "$last" ] && seen=$((seen + 1))
        last=$next
    done
}

write_policy() { # EFFECT
    cat >"$T/policies/host.yaml" <<EOF
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: "default"
  resource: "host"
  rules:
    - name: ops-ssh
      actions: ["ssh"]
      effect: $1
      roles: ["ops"]
      output:
        when:
          ruleActivated: |-
            {"reevaluate_seconds": 2}
EOF
}

cerbos_flip() {
    e2e_add_group ops 20101 "vgl-alice,vgl-mallory,$(echo $BATCH_USERS | tr ' ' ',')" || return 1
    mkdir -p "$T/policies" && write_policy EFFECT_ALLOW
    "$SRCDIR/tests/pdp/install.sh" >/dev/null 2>"$T/install.err" ||
        { note "tests/pdp/install.sh" "$T/install.err"; fail "cannot install Cerbos"; return 1; }
    "$SRCDIR/tests/pdp/cerbos.sh" start "$T/cerbos" --policies "$T/policies" --watch >"$T/cerbos.out" 2>&1 ||
        { note "cerbos.sh start" "$T/cerbos.out" 30; fail "Cerbos did not start"; return 1; }
    CERBOS_STARTED=1
    . "$T/cerbos/cerbos.env"
    write_sessions_config
    sed -i "s|^protocol = \"local\"|protocol = \"cerbos\"\nurls = [\"$CERBOS_URL\"]\ntimeout = \"2s\"|" "$T/vigil.toml"
    local n
    n=$(grep -c "reloaded" "$AGENT_LOG")
    kill -HUP "$AGENT_PID"
    wait_for 5 _reloads_above "$n" || { fail "vigild did not reload"; note_logs; return 1; }
    ssh_bg vgl-mallory flip
    wait_for 5 count_is vgl-mallory 1 || { fail "mallory's session was not registered"; note_logs; return 1; }
    sessions_json | grep -q '"reevaluate_seconds": 2' || { fail "the session has no 2 s re-evaluation"; return 1; }
    reevaluated_again vgl-mallory 2 || return 1 # two re-decisions that still allow
    kill -0 "$(cat "$T/flip.pid")" 2>/dev/null || { fail "the session ended while Cerbos still allowed it"; return 1; }
    local t0
    t0=$(now_ms)
    write_policy EFFECT_DENY
    wait_for 15 gone flip || { fail "the session survived Cerbos' policy turning to deny"; note_logs; return 1; }
    measured "policy file changed to deny -> session gone (ms; reevaluate 2 s + Cerbos' reload): $(($(now_ms) - t0))"
    wait_for 5 ends_logged "no longer allowed" 2 || fail "no session_end record for the re-decision"
}
tap_case "cerbos: a session re-decided every 2 s ends once Cerbos' policy turns to deny" cerbos_flip

# The reevaluate records in the trail, after line $1, that went to the PDP
# in AuthZEN batches: "LARGEST BATCHES REPEATS" — the largest batch, how
# many batches, and how many times a batch held one user twice (Cerbos would
# have merged those; vigild must never send them).
batch_stats() {
    tail -n +"$(($1 + 1))" "$AUDIT_LOG" | python3 -c '
import collections, json, sys
users = collections.defaultdict(list)
for line in sys.stdin:
    r = json.loads(line)
    b = (r.get("pdp") or {}).get("batch")
    if r.get("phase") == "reevaluate" and b:
        users[b["id"]].append(r["user"])
largest = max((len(u) for u in users.values()), default=0)
repeats = sum(len(u) - len(set(u)) for u in users.values())
print(largest, len(users), repeats)'
}
batch_of() { [ "$(batch_stats "$1" | cut -d" " -f1)" -ge "$2" ]; }
mallory_may_login() { ssh_login vgl-mallory true && [ "$SSH_RC" -eq 0 ]; }
all_batched_gone() {
    local i
    for i in $(seq 1 "$BATCHED"); do gone "b$i" || return 1; done
}
BATCHED=10 # two sessions for each of the five batch users
authzen_batch() {
    [ -n "$CERBOS_STARTED" ] || { fail "Cerbos is not running (the case before failed)"; return 1; }
    write_policy EFFECT_ALLOW
    write_sessions_config
    sed -i "s|^protocol = \"local\"|protocol = \"authzen\"\nauthzen_profile = \"cerbos\"\nurls = [\"$CERBOS_URL\"]\ntimeout = \"2s\"|" \
        "$T/vigil.toml"
    local n
    n=$(grep -c "reloaded" "$AGENT_LOG")
    kill -HUP "$AGENT_PID"
    wait_for 5 _reloads_above "$n" || { fail "vigild did not reload"; note_logs; return 1; }
    wait_for 15 mallory_may_login || { fail "Cerbos (AuthZEN) does not let mallory in again"; note_logs; return 1; }
    local i=0 u
    for u in $BATCH_USERS $BATCH_USERS; do
        i=$((i + 1))
        ssh_bg "$u" "b$i"
    done
    for u in $BATCH_USERS; do
        wait_for 15 count_is "$u" 2 || { fail "$(session_count "$u") of 2 sessions of $u registered"; note_logs; return 1; }
    done
    local mark
    mark=$(wc -l <"$AUDIT_LOG")
    # A posture change re-decides every session in the same tick.
    sdu_stop_unit "$UNIT" && sdu_start_unit "$UNIT"
    # Ten sessions of five users: two requests of five, each user once in each.
    wait_for 10 batch_of "$mark" 5 ||
        { fail "no AuthZEN batch of 5 re-decisions in the trail (largest, batches, repeats: $(batch_stats "$mark"))"; note_logs; return 1; }
    local stats
    stats=$(batch_stats "$mark")
    measured "re-decisions of $BATCHED sessions (5 users x 2) after a posture change: largest batch, batches, repeated users: $stats"
    [ "${stats##* }" -eq 0 ] || { fail "a batch held the same user twice: $stats"; return 1; }
    local t0
    t0=$(now_ms)
    write_policy EFFECT_DENY
    wait_for 20 all_batched_gone || { fail "the sessions survived Cerbos' policy turning to deny"; note_logs; return 1; }
    measured "policy file changed to deny -> $BATCHED sessions gone (ms; reevaluate 2 s, batched): $(($(now_ms) - t0))"
}
tap_case "authzen: $BATCHED sessions are re-decided in batches (/access/v1/evaluations), no user twice in one; all end on deny" \
    authzen_batch

agent_alive() {
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died"; note_logs; return 1; }
    "$VIGILCTL" audit verify "$AUDIT_LOG" >/dev/null || fail "the trail does not verify"
}
tap_case "vigild stayed up and its trail verifies" agent_alive
