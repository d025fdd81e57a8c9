#!/bin/bash
# Posture from a local EDR agent's JSON status socket ([[posture.socket]]):
# a real unix-socket server (python3) stands in for the agent, and is made
# to answer well, too slowly, with broken JSON, with a huge answer, or not
# at all. vigild publishes the configured fields while the answers are good,
# and otherwise makes them missing (reachable = false) so a rule requiring
# them denies; it logs each change once and stays up throughout.
#
# Then whom vigild takes posture from, decided by a real sudo through
# pam_vigil.so: a status socket served by an ordinary user (uid 65534,
# under setpriv) is refused unless peer_user names that user; a Wazuh state
# file owned by an ordinary user, or in a directory anyone can write, is
# refused; a Falcon data.zta is believed only with a good signature from
# the key in public_key (RS256, a key pair made here with openssl), and
# without public_key its scores carry falcon.zta.verified = false into the
# trail.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 21

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

# agent_as UID SOCK: another stand-in on SOCK (in $T/nobody, which uid 65534
# owns), run as UID (0 or 65534); its pid in AS_PID.
AS_PID=""
agent_as() {
    local uid=$1 sock=$2
    rm -f "$sock"
    # Debian's python3 by path: a PATH set up for root may point into /root.
    setpriv --reuid="$uid" --regid="$uid" --clear-groups \
        /usr/bin/python3 "$T/fake_edr.py" "$sock" "$EDR_MODE" "$T/nobody/requests.$uid" 2>>"$T/fake_edr.log" &
    AS_PID=$!
    e2e_track "$AS_PID"
    wait_for 5 test -S "$sock" || { fail "the stand-in agent (uid $uid) did not create $sock"; return 1; }
}

stop_pid() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    e2e_untrack "$1"
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
    elif name not in sig or sig[name]["value"] != value:
        sys.exit(1)
    elif name.split(".")[0] in ("edr", "rogue", "vendor") and sig[name]["source"] != "socket":
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

# signal_age_ms NAME: how long ago vigild last observed that signal (-1 when
# it holds none).
signal_age_ms() {
    posture_json | python3 -c '
import json, sys
ages = {s["name"]: s["age_ms"] for s in json.load(sys.stdin)["signals"]}
print(ages.get(sys.argv[1], -1))' "$1" 2>/dev/null || echo -1
}

# collected_again NAME N: wait until the collector publishing NAME has
# observed it N more times (its age drops back at each collection); gives
# up after N intervals of 1 s plus 5 s.
collected_again() {
    local name=$1 want=$2 seen=0 last=-1 age deadline
    deadline=$(($(now_ms) + want * 1000 + 5000))
    while [ "$seen" -lt "$want" ]; do
        [ "$(now_ms)" -lt "$deadline" ] || { fail "$name was not collected $want more times"; return 1; }
        age=$(signal_age_ms "$name")
        [ "$last" -ge 0 ] && [ "$age" -ge 0 ] && [ "$age" -lt "$last" ] && seen=$((seen + 1))
        last=$age
        sleep 0.1
    done
}

FAILED_SIGNALS="edr.state=missing edr.score=missing edr.reachable=false"
GOOD_SIGNALS="edr.state=running edr.score=87 edr.reachable=true"

# The Wazuh agent's state file, written as wazuh-agentd would.
write_wazuh_state() {
    printf "# State file for wazuh-agentd\nstatus='connected'\nlast_keepalive='%s'\nmsg_count='12'\n" \
        "$(date '+%Y-%m-%d %H:%M:%S')" >"$WAZUH_STATE"
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# zta_token SCORE: a ZTA-shaped JWT signed RS256 with the test's key.
zta_payload() {
    local now
    now=$(date +%s)
    printf '{"iss":"CrowdStrike","sub":"4e2a1c9d7b3f40a8","iat":%s,"exp":%s,"assessment":{"overall":%s,"os":100,"sensor_config":80}}' \
        "$((now - 60))" "$((now + 86400))" "$1"
}
zta_token() {
    local input
    input="$(printf '{"alg":"RS256","typ":"JWT"}' | b64url).$(zta_payload "$1" | b64url)"
    printf '%s.%s\n' "$input" "$(printf '%s' "$input" | openssl dgst -sha256 -sign "$T/falcon/signing.key" -binary | b64url)"
}

# The vigild config; $1 = "key" to name the Falcon public key, "" not to.
write_edr_config() {
    local falcon_key=""
    [ "$1" = key ] && falcon_key="public_key = \"$T/falcon/crowdstrike-zta.pem\""
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

# Served by uid 65534 (or root, in the control case); nobody named: root only.
[[posture.socket]]
name = "rogue"
path = "$T/nobody/rogue.sock"
request = "status\n"
timeout = "500ms"
interval = "1s"
max_age = "20s"
fields = { state = "sensor.state" }

# Served by uid 65534, and peer_user says that is the vendor's account.
[[posture.socket]]
name = "vendor"
path = "$T/nobody/vendor.sock"
request = "status\n"
timeout = "500ms"
interval = "1s"
max_age = "20s"
peer_user = "nobody"
fields = { state = "sensor.state" }

[posture.wazuh]
state_file = "$WAZUH_STATE"
interval = "1s"
max_age = "20s"

[posture.falcon]
zta_file = "$T/falcon/data.zta"
$falcon_key
falconctl = ""
timeout = "500ms"
interval = "1s"
max_age = "20s"

[[rule]]
name = "bob may sudo while the rogue-path agent runs"
services = ["sudo"]
users = ["vgl-bob"]
decision = "allow"
require = ["rogue.state == running"]

[[rule]]
name = "carol may sudo while the vendor agent runs"
services = ["sudo"]
users = ["vgl-carol"]
decision = "allow"
require = ["vendor.state == running"]

[[rule]]
name = "dave may sudo while Wazuh is connected"
services = ["sudo"]
users = ["vgl-dave"]
decision = "allow"
require = ["wazuh.status == connected"]

[[rule]]
name = "erin may sudo with a good, verified ZTA score"
services = ["sudo"]
users = ["vgl-erin"]
decision = "allow"
require = ["falcon.zta.overall >= 70", "falcon.zta.verified == true"]
EOT
}

setup() {
    e2e_setup_system
    e2e_add_user vgl-carol 20004 && e2e_add_user vgl-dave 20005 && e2e_add_user vgl-erin 20006 || return 1
    pam_sudo_vigil
    EDR_SOCK=$T/run/edr.sock
    EDR_MODE=$T/edr.mode
    edr_mode good
    write_fake_edr
    edr_start || return 1
    # The ordinary user's own directory: its stand-in agents put their sockets here.
    mkdir "$T/nobody" && chown 65534:65534 "$T/nobody" || return 1
    agent_as 65534 "$T/nobody/rogue.sock" || return 1
    ROGUE_PID=$AS_PID
    agent_as 65534 "$T/nobody/vendor.sock" || return 1
    WAZUH_STATE=$T/wazuh/var/run/wazuh-agentd.state
    mkdir -p "$T/wazuh/var/run" "$T/falcon"
    write_wazuh_state
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/falcon/signing.key" 2>/dev/null &&
        openssl pkey -in "$T/falcon/signing.key" -pubout -out "$T/falcon/crowdstrike-zta.pem" || return 1
    zta_token 90 >"$T/falcon/data.zta" || return 1
    write_edr_config key
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
    collected_again edr.reachable 3 || return 1 # three more collections with the socket absent
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

# sudo_denied USER WHY: USER's real sudo (through pam_vigil.so) is refused, saying WHY.
sudo_denied() {
    sudo_as "$1" id -u
    expect_nonzero "$1: sudo -n id -u" "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    expect_contains "sudo output" "$SUDO_OUT" "$2"
}
sudo_allowed() {
    sudo_as "$1" id -u
    expect_rc "$1: sudo -n id -u" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
}

# logged_once TEXT SIGNAL: vigild's log has exactly one line containing
# TEXT, after three more collections of SIGNAL (its own collector's where it
# publishes one while failing, else another collector's on the same 1 s).
logged_once_text() {
    local n
    collected_again "$2" 3 || return 1
    n=$(grep -cF -- "$1" "$AGENT_LOG")
    [ "$n" -eq 1 ] || { fail "'$1' was logged $n times, expected once"; note_logs; return 1; }
}

rogue_refused() {
    expect_signals 5 "a socket served by uid 65534" rogue.state=missing rogue.reachable=false || return 1
    sudo_denied vgl-bob "posture signal rogue.state is missing" || return 1
    logged_once_text "$T/nobody/rogue.sock: refused: the peer runs as uid 65534 (pid $ROGUE_PID), not root" \
        rogue.reachable
}
tap_case "a status socket served by uid 65534: rogue.* missing, bob's sudo denied, the refusal logged once" \
    rogue_refused

rogue_as_root() {
    stop_pid "$ROGUE_PID"
    agent_as 0 "$T/nobody/rogue.sock" || return 1
    expect_signals 5 "the same socket served by root" rogue.state=running rogue.reachable=true || return 1
    sudo_allowed vgl-bob
}
tap_case "the same socket served by root: rogue.state published, bob's sudo allowed" rogue_as_root

vendor_admitted() {
    expect_signals 5 "peer_user = nobody" vendor.state=running vendor.reachable=true || return 1
    sudo_allowed vgl-carol
}
tap_case "peer_user = \"nobody\" admits uid 65534: vendor.state published, carol's sudo allowed" vendor_admitted

wazuh_trusted() {
    expect_signals 5 "a root-owned Wazuh state file" wazuh.status=connected || return 1
    sudo_allowed vgl-dave
}
tap_case "a Wazuh state file root owns: wazuh.status published, dave's sudo allowed" wazuh_trusted

wazuh_foreign_owner() {
    chown 65534:65534 "$WAZUH_STATE"
    expect_signals 5 "the state file owned by uid 65534" wazuh.status=missing || return 1
    sudo_denied vgl-dave "posture signal wazuh.status is missing" || return 1
    logged_once_text "$WAZUH_STATE: refused: it is owned by uid 65534, not root (no user wazuh on this host)" \
        vendor.reachable
}
tap_case "the state file chowned to uid 65534: wazuh.* missing, dave's sudo denied, the reason logged once" \
    wazuh_foreign_owner

wazuh_open_dir() {
    chown root:root "$WAZUH_STATE"
    expect_signals 5 "root's file again" wazuh.status=connected || return 1
    chmod 0777 "$T/wazuh/var/run"
    expect_signals 5 "its directory writable by others" wazuh.status=missing || return 1
    sudo_denied vgl-dave "posture signal wazuh.status is missing" || return 1
    expect_contains "vigild log" "$(cat "$AGENT_LOG")" \
        "$WAZUH_STATE: refused: $T/wazuh/var/run is writable by others (mode 0777)" || return 1
    chmod 0755 "$T/wazuh/var/run"
    expect_signals 5 "the directory closed again" wazuh.status=connected || return 1
    sudo_allowed vgl-dave
}
tap_case "its directory writable by others: wazuh.* missing and dave denied; closed again: allowed" wazuh_open_dir

zta_signed() {
    expect_signals 5 "data.zta signed with the configured key" falcon.zta.overall=90 falcon.zta.verified=true ||
        return 1
    sudo_allowed vgl-erin
}
tap_case "a data.zta signed with public_key's key (RS256): verified scores, erin's sudo allowed" zta_signed

zta_tampered() {
    local good parts
    good=$(cat "$T/falcon/data.zta")
    IFS=. read -ra parts <<<"$good"
    # The score raised to 95, the signature kept.
    printf '%s.%s.%s\n' "${parts[0]}" "$(zta_payload 95 | b64url)" "${parts[2]}" >"$T/falcon/data.zta"
    expect_signals 5 "a raised score under the old signature" falcon.zta.overall=missing \
        falcon.zta.verified=missing || return 1
    sudo_denied vgl-erin "posture signal falcon.zta.overall is missing" || return 1
    logged_once_text "data.zta refused: the RS256 signature does not verify with the public key" vendor.reachable
}
tap_case "data.zta with a raised score and the old signature: falcon.zta.* missing, erin's sudo denied, logged" \
    zta_tampered

zta_unverified() {
    zta_token 90 >"$T/falcon/data.zta"
    agent_stop || return 1
    write_edr_config ""
    agent_start "$T/vigil.toml" || return 1
    expect_signals 5 "no public_key" falcon.zta.overall=90 falcon.zta.verified=false || return 1
    expect_contains "vigild log" "$(cat "$AGENT_LOG")" \
        "no public_key set, so data.zta's signature is not checked" || return 1
    audit_mark
    sudo_denied vgl-erin "posture signal falcon.zta.verified is false, needs == true" || return 1
    audit_expect vgl-erin sudo outcome=deny || return 1
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
sig = {s["name"]: s["value"] for s in r["signals"]}
sys.exit(0 if sig.get("falcon.zta.verified") == "false" and sig.get("falcon.zta.overall") == "90" else 1)' \
        "$T/last-record.json" ||
        { fail "the trail record should carry falcon.zta.verified = false"; note "record" "$T/last-record.json"; }
}
tap_case "without public_key: scores published as falcon.zta.verified = false, in the trail; erin's rule denies" \
    zta_unverified

agent_alive() {
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died"; note_logs; return 1; }
    "$VIGILCTL" --socket "$ADMIN_SOCK" ping >/dev/null || { fail "vigild does not answer"; return 1; }
    "$VIGILCTL" audit verify "$AUDIT_LOG" >/dev/null
}
tap_case "vigild stayed up throughout and its trail verifies" agent_alive
