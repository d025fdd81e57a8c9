#!/bin/bash
# Posture from a local EDR agent's JSON status socket ([[posture.socket]]):
# a real unix-socket server (python3) stands in for the agent, and is made
# to answer well, too slowly, with broken JSON, with a huge answer, or not
# at all. vigild publishes the configured fields while the answers are good,
# and otherwise makes them missing (reachable = false) so a rule requiring
# them denies; it logs each change once and stays up throughout.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 12

EDR_SOCK=""
EDR_MODE=""
EDR_PID=""

# The stand-in agent: one thread per connection; reads a request line,
# answers as $EDR_MODE says at that moment, records the request.
write_fake_edr() {
    cat >"$T/fake_edr.py" <<'PYEOF'
import json, os, socket, sys, threading, time
path, mode_file, seen_file = sys.argv[1:4]
GOOD = {"sensor": {"state": "running", "version": "7.18.2"}, "health": {"score": 87, "checks": [{"ok": True}]}}

def answer(conn):
    conn.settimeout(2)
    req = b""
    try:
        while b"\n" not in req and len(req) < 4096:
            chunk = conn.recv(4096)
            if not chunk:
                break
            req += chunk
    except socket.timeout:
        pass
    with open(seen_file, "ab") as f:
        f.write(req)
    mode = open(mode_file).read().strip()
    if mode == "good":
        # Pretty-printed and then held open: the agent must stop reading at
        # the closing brace, not wait for EOF.
        conn.sendall(json.dumps(GOOD, indent=2).encode())
        time.sleep(3)
    elif mode == "slow":
        time.sleep(2)
        conn.sendall((json.dumps(GOOD) + "\n").encode())
    elif mode == "malformed":
        conn.sendall(b'{"sensor": {"state": "running"}, "health": {"score": 87\n')
    elif mode == "huge":
        big = dict(GOOD, padding="x" * (200 * 1024))
        conn.sendall((json.dumps(big) + "\n").encode())
    conn.close()

try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(16)
while True:
    c, _ = srv.accept()
    threading.Thread(target=answer, args=(c,), daemon=True).start()
PYEOF
}

edr_start() {
    python3 "$T/fake_edr.py" "$EDR_SOCK" "$EDR_MODE" "$T/edr.requests" 2>>"$T/fake_edr.log" &
    EDR_PID=$!
    e2e_track "$EDR_PID"
    wait_for 5 test -S "$EDR_SOCK" || { fail "the stand-in EDR agent did not create $EDR_SOCK"; return 1; }
}

edr_stop() {
    kill "$EDR_PID" 2>/dev/null
    wait "$EDR_PID" 2>/dev/null
    e2e_untrack "$EDR_PID"
    rm -f "$EDR_SOCK"
}

edr_mode() { echo "$1" >"$EDR_MODE"; }

posture_json() { "$VIGILCTL" --socket "$ADMIN_SOCK" posture --json 2>/dev/null; }

# signals_are NAME=VALUE... : every named signal has that value; VALUE
# "missing" means vigild lists no such signal.
signals_are() {
    posture_json | python3 -c '
import json, sys
sig = {s["name"]: s for s in json.load(sys.stdin)["signals"]}
for want in sys.argv[1:]:
    name, value = want.split("=", 1)
    if value == "missing":
        if name in sig: sys.exit(1)
    elif name not in sig or sig[name]["value"] != value or sig[name]["source"] != "socket":
        sys.exit(1)' "$@"
}

# expect_signals SECONDS WHY NAME=VALUE...: waits for them, or fails saying why.
expect_signals() {
    local secs=$1 why=$2
    shift 2
    wait_for "$secs" signals_are "$@" && return 0
    fail "$why: wanted $* within $secs s"
    note_text "vigilctl posture --json" "$(posture_json)"
    note_logs
}

FAILED_SIGNALS="edr.state=missing edr.score=missing edr.reachable=false"
GOOD_SIGNALS="edr.state=running edr.score=87 edr.reachable=true"

setup() {
    e2e_setup_system
    EDR_SOCK=$T/run/edr.sock
    EDR_MODE=$T/edr.mode
    edr_mode good
    write_fake_edr
    edr_start || return 1
    write_config "$T/vigil.toml" <<EOT
[posture]
max_age = "30s"

[[posture.socket]]
name = "edr"
path = "$EDR_SOCK"
request = "status\n"
timeout = "500ms"
interval = "1s"
max_age = "20s"
fields = { state = "sensor.state", score = "health.score" }

[[rule]]
name = "ops may sudo while the EDR agent is running and healthy"
services = ["sudo"]
groups = ["vgl-ops"]
decision = "allow"
require = ["edr.state == running", "edr.score >= 50 within 10s"]
EOT
    agent_start "$T/vigil.toml" || return 1
    expect_signals 5 "vigild never read the stand-in agent" $GOOD_SIGNALS
}
tap_case "setup: a stand-in EDR agent on a unix socket, vigild asking it every second" setup ||
    e2e_abort "the stand-in agent or vigild did not start"

decide() { "$VIGILCTL" --socket "$ADMIN_SOCK" decide --user vgl-alice --service sudo 2>&1; }

good_answer() {
    local out
    expect_signals 3 "good answer" $GOOD_SIGNALS || return 1
    # The configured request reached the agent, byte for byte.
    head -c 7 "$T/edr.requests" | cmp -s - <(printf 'status\n') ||
        { fail "the agent did not receive \"status\\n\""; note "requests" "$T/edr.requests" 3; return 1; }
    out=$(decide)
    expect_match "vigilctl decide" "$out" "outcome: *allow"
}
tap_case "good answer: edr.state, edr.score and edr.reachable published; the rule allows" good_answer

slow_answer() {
    local out
    edr_mode slow
    expect_signals 4 "answers past the 500 ms deadline" $FAILED_SIGNALS || return 1
    out=$(decide)
    expect_match "vigilctl decide" "$out" "outcome: *deny" || return 1
    expect_contains "vigilctl decide" "$out" "posture signal edr.state is missing"
}
tap_case "answers slower than the timeout: fields missing, reachable false, the rule denies" slow_answer

recovers() {
    edr_mode good
    expect_signals 5 "good answers again" $GOOD_SIGNALS || return 1
    expect_match "vigilctl decide" "$(decide)" "outcome: *allow"
}
tap_case "good answers again: the signals come back and the rule allows" recovers

malformed() {
    edr_mode malformed
    expect_signals 4 "malformed JSON" $FAILED_SIGNALS
}
tap_case "malformed JSON: fields missing, reachable false" malformed

huge() {
    edr_mode good
    expect_signals 5 "good answers again" $GOOD_SIGNALS || return 1
    edr_mode huge
    expect_signals 4 "a 200 KiB answer (max_response 64 KiB)" $FAILED_SIGNALS
}
tap_case "an answer past max_response: fields missing, reachable false" huge

absent() {
    edr_mode good
    expect_signals 5 "good answers again" $GOOD_SIGNALS || return 1
    edr_stop
    expect_signals 4 "socket removed" $FAILED_SIGNALS || return 1
    expect_contains "vigilctl decide" "$(decide)" "posture signal edr.state is missing"
}
tap_case "the agent goes away and its socket with it: fields missing, reachable false" absent

logged_once() {
    local n
    sleep 3  # three more intervals with the socket absent
    n=$(grep -c "no socket at $EDR_SOCK" "$AGENT_LOG")
    [ "$n" -eq 1 ] || { fail "the absent socket was logged $n times, expected once"; note_logs; return 1; }
    expect_match "vigild log" "$(cat "$AGENT_LOG")" "no complete answer from $EDR_SOCK within 500 ms" || return 1
    expect_match "vigild log" "$(cat "$AGENT_LOG")" "answer is not JSON" || return 1
    expect_match "vigild log" "$(cat "$AGENT_LOG")" "larger than 65536 bytes"
}
tap_case "each failure is logged once when it starts, not every interval" logged_once

comes_back() {
    edr_start || return 1
    expect_signals 5 "the agent restarted" $GOOD_SIGNALS
}
tap_case "the agent restarts: vigild reads it again without a restart of its own" comes_back

posture_table() {
    local out
    out=$("$VIGILCTL" --socket "$ADMIN_SOCK" posture 2>&1)
    expect_match "vigilctl posture" "$out" "edr\.state +running +[0-9.]+s +socket"
}
tap_case "vigilctl posture lists the socket's signals with age and source" posture_table

own_max_age() {
    posture_json | python3 -c '
import json, sys
j = json.load(sys.stdin)
sig = {s["name"]: s for s in j["signals"]}
sys.exit(0 if j["max_age_seconds"] == 30 and sig["edr.state"]["max_age_seconds"] == 20 else 1)' ||
        { fail "edr.state should carry the socket's max_age (20 s), not [posture]'s (30 s)"; note_text "posture" "$(posture_json)"; }
}
tap_case "a collector's own max_age travels with its signals" own_max_age

agent_alive() {
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died"; note_logs; return 1; }
    "$VIGILCTL" --socket "$ADMIN_SOCK" ping >/dev/null || { fail "vigild does not answer"; return 1; }
    "$VIGILCTL" audit verify "$AUDIT_LOG" >/dev/null
}
tap_case "vigild stayed up throughout and its trail verifies" agent_alive
