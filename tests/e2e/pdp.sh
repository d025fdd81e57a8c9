#!/bin/bash
# vigild asking a real remote PDP: Cerbos 0.55 (tests/pdp/) serving the
# shipped example policy itself (tests/pdp/policies/host.yaml is a link to
# conf/cerbos/host.yaml) over its native API and over AuthZEN, with real
# sshd public-key logins and real sudo. The policy denies unless the EDR
# sensor's unit is known to run: a real `systemd --user` runs a unit of
# that name, and vigild follows it, so the requests carry the posture
# signal the policy reads (stopped: denied; not followed: denied).
# Obligations (session limit, step-up, one nobody knows), a local deny
# beating the PDP, and every fault the transport knows (PDP stopped,
# hanging, HTTP 500, garbage, TLS with the wrong CA, a dead first URL) with
# the fallback each config asks for; the cached fallback answering only the
# very question it was given for; a 4xx as the PDP's deny, not an outage.
# The audit record must say what decided and why. Fake PDPs here are only
# ever the faulty ones: every "Cerbos decided" case talks to the real binary.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/systemd_user.sh"
e2e_enter_ns "$@"

tap_plan 37

PDP_KIT=$SRCDIR/tests/pdp
POLICY_VERSION=2025.07.1 # the constant in conf/cerbos/host.yaml
# The EDR sensor's unit, as conf/cerbos/host.yaml's edr_signal names it.
EDR_UNIT=falcon-sensor.service
EDR_SIGNAL=systemd.unit.$EDR_UNIT
EDR_DOWN="endpoint security sensor is not running on this host"
# Generous bounds: su + sudo + PAM + the PDP deadline + slack.
HANG_BOUND_MS=2500   # [pdp] timeout = 800ms
BUDGET_BOUND_MS=3000 # module timeout=1500, [pdp] timeout = 10s

# ------------------------------------------------------------ helpers ----

CERBOS_DIRS=""
# cerbos_start NAME [--tls|--mtls]: a real Cerbos in $T/NAME; its
# cerbos.env is sourced (CERBOS_URL, CERBOS_CA, ...).
cerbos_start() {
    local dir=$T/$1
    shift
    unset CERBOS_URL CERBOS_PID CERBOS_CA CERBOS_CLIENT_CERT CERBOS_CLIENT_KEY CERBOS_BACKEND_URL
    if ! "$PDP_KIT/cerbos.sh" start "$dir" "$@" >"$dir.out" 2>&1; then
        note "cerbos.sh start $dir $*" "$dir.out" 30
        fail "Cerbos did not start"
        return 1
    fi
    CERBOS_DIRS="$CERBOS_DIRS $dir"
    # shellcheck disable=SC1091
    . "$dir/cerbos.env"
}

cerbos_stop() {
    "$PDP_KIT/cerbos.sh" stop "$T/$1" >>"$T/$1.out" 2>&1
}

# fake_pdp MODE [ARGS]: a faulty "PDP" on a free port (never a stand-in for a
# deciding one): hang = accepts and never answers; 500 = HTTP 500 with a
# JSON error body; garbage = 200 with truncated JSON; slow-first PORT MS = a
# relay to the real Cerbos on PORT that holds the first request for MS.
# Request heads go to $T/fake-MODE.log. Sets FAKE_URL.
fake_pdp() {
    local mode=$1 pid
    rm -f "$T/fake-$mode.port"
    python3 "$T/fake_pdp.py" "$mode" "$T/fake-$mode.port" "$T/fake-$mode.log" "${@:2}" 2>>"$T/fake-$mode.err" &
    pid=$!
    e2e_track "$pid"
    FAKE_PIDS="${FAKE_PIDS:-} $pid"
    if ! wait_for 5 test -s "$T/fake-$mode.port"; then
        note "fake PDP stderr" "$T/fake-$mode.err"
        fail "the fake '$mode' PDP did not start"
        return 1
    fi
    FAKE_URL=http://127.0.0.1:$(cat "$T/fake-$mode.port")
}

write_fake_pdp() {
    cat >"$T/fake_pdp.py" <<'PYEOF'
import http.server, os, socket, sys
mode, portfile, logfile = sys.argv[1:4]

def ready(port):
    with open(portfile + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(portfile + ".tmp", portfile)

if mode == "slow-first":
    # A TCP relay to 127.0.0.1:UPSTREAM that holds the first request it
    # relays for DELAY_MS and passes everything after at once.
    import threading, time
    upstream, delay = int(sys.argv[4]), int(sys.argv[5]) / 1000.0
    first = threading.Lock()
    held = [False]
    def pump(src, dst, slow):
        while True:
            data = src.recv(65536)
            if not data:
                break
            if slow:
                with first:
                    hold = not held[0]
                    held[0] = True
                if hold:
                    with open(logfile, "a") as f:
                        f.write("holding the first request\n")
                    time.sleep(delay)
            dst.sendall(data)
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    ready(s.getsockname()[1])
    while True:
        c, _ = s.accept()
        u = socket.create_connection(("127.0.0.1", upstream))
        threading.Thread(target=pump, args=(c, u, True), daemon=True).start()
        threading.Thread(target=pump, args=(u, c, False), daemon=True).start()

if mode == "hang":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    ready(s.getsockname()[1])
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)  # never read, never answer, never close
        with open(logfile, "a") as f:
            f.write("accepted\n")

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(logfile, "a") as f:
            f.write("POST %s (%d bytes)\n%s" % (self.path, len(body), self.headers))
        if mode == "500":
            code, payload = 500, b'{"code": 13, "message": "internal error (vigil e2e fault)"}'
        else:  # garbage: looks like an allow, but is cut off
            code, payload = 200, b'{"results": [{"resource": {"id": "web-01", "kind": "host"}, "actions": {"ssh": "EFFECT_ALLOW", "sudo": "EFF'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
    def log_message(self, *args):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
ready(srv.server_address[1])
srv.serve_forever()
PYEOF
}

# The hosts; setup adds the EDR collector to HOST_LOW and HOST_HIGH.
HOST_LOW_BARE='[host]
id = "web-01"
labels = { sensitivity = "low", environment = "test" }'
HOST_HIGH_BARE='[host]
id = "vault-01"
labels = { sensitivity = "high", environment = "test" }'

# agent_with NAME < toml: (re)starts vigild with [agent] + stdin as
# $T/NAME.toml; its log is $T/vigild-NAME.log. When the config follows the
# EDR unit, waits until vigild has read it.
agent_with() {
    local name=$1
    agent_stop || return 1
    write_agent_config "$T/$name.toml"
    agent_start "$T/$name.toml" "vigild-$name" || return 1
    if grep -q "^units = \[\"$EDR_UNIT\"\]" "$T/$name.toml"; then
        wait_for 5 edr_signal_is active || { fail "vigild never saw $EDR_UNIT active"; note_logs; return 1; }
    fi
}

# edr_signal_is VALUE: vigilctl posture shows the EDR unit's signal with
# VALUE; "missing": shows none.
edr_signal_is() {
    "$VIGILCTL" --socket "$ADMIN_SOCK" posture --json 2>/dev/null |
        python3 -c 'import json,sys
d=json.load(sys.stdin)
v=[s["value"] for s in d["signals"] if s["name"]==sys.argv[1]]
sys.exit(0 if v==([] if sys.argv[2]=="missing" else [sys.argv[2]]) else 1)' "$EDR_SIGNAL" "$1"
}

# toml_urls URL...: a TOML list of the URLs.
toml_urls() {
    local u out=""
    for u in "$@"; do out="$out${out:+, }\"$u\""; done
    echo "[$out]"
}

# pdp_table PROTOCOL [KEY=VALUE...] -- URL...: the [pdp] table every case
# here starts from: timeout "800ms" unless given, authzen_profile "cerbos"
# with authzen (the PDP is Cerbos either way). Numbers are written bare,
# everything else quoted.
pdp_table() {
    local protocol=$1 kv timeout=800ms
    shift
    local extra=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        case $1 in timeout=*) timeout=${1#timeout=} ;; *) extra+=("$1") ;; esac
        shift
    done
    shift
    echo "[pdp]"
    echo "protocol = \"$protocol\""
    [ "$protocol" = authzen ] && echo 'authzen_profile = "cerbos"'
    echo "urls = $(toml_urls "$@")"
    echo "timeout = \"$timeout\""
    for kv in "${extra[@]}"; do
        case ${kv#*=} in
            *[!0-9]* | '') echo "${kv%%=*} = \"${kv#*=}\"" ;;
            *) echo "${kv%%=*} = ${kv#*=}" ;;
        esac
    done
}

# Login / sudo expectations (exit code, output, the command ran or not).
ssh_ok() { # USER
    ssh_login "$1" id -un
    expect_rc "ssh $1" 0 "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    expect_contains "ssh $1 runs id -un" "$SSH_OUT" "$1"
}
ssh_denied() { # USER [TEXT the client must see]
    ssh_login "$1" id -un
    expect_nonzero "ssh $1" "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    no_line "$1" "$SSH_OUT" "the remote command ran although the login was denied" || return 1
    [ -z "${2:-}" ] || expect_contains "ssh client output" "$SSH_OUT" "$2"
}
sudo_ok() { # USER
    sudo_as "$1" id -u
    expect_rc "$1: sudo -n id -u" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    [ "$SUDO_OUT" = 0 ] || { fail "expected sudo's command to print 0 (root), got: $SUDO_OUT"; return 1; }
}
sudo_denied() { # USER [TEXT]
    sudo_as "$1" id -u
    expect_nonzero "$1: sudo -n id -u" "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    no_line 0 "$SUDO_OUT" "the command ran as root although sudo was denied" || return 1
    [ -z "${2:-}" ] || expect_contains "sudo output" "$SUDO_OUT" "$2"
}

# decide_json FILE USER SERVICE: vigilctl decide --json through the agent.
decide_json() {
    local out rc
    out=$("$VIGILCTL" --socket "$ADMIN_SOCK" decide --user "$2" --service "$3" --rhost 127.0.0.1 --json 2>&1)
    rc=$?
    printf '%s\n' "$out" >"$1"
    expect_rc "vigilctl decide --user $2 --service $3 --json" 0 "$rc" "$out"
}

json_get() { # FILE KEY (top level)
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"
}

_pdp_cleanup() {
    local d
    for d in $CERBOS_DIRS; do "$PDP_KIT/cerbos.sh" stop "$d" >/dev/null 2>&1; done
    CERBOS_DIRS=""
}

# ------------------------------------------------------------- setup ----

setup() {
    local b
    for b in curl openssl ss; do # tests/pdp/cerbos.sh and the second CA need them
        command -v "$b" >/dev/null 2>&1 || { fail "missing $b (Debian: curl, openssl, iproute2)"; return 1; }
    done
    e2e_setup_system
    # The unit stands in for the EDR sensor's daemon; the manager, the bus
    # and vigild's collector are the real ones.
    sdu_start "$T/sdu" || { fail "systemd --user did not start"; return 1; }
    sdu_unit "$EDR_UNIT" "ExecStart=/bin/sleep infinity" || return 1
    sdu_start_unit "$EDR_UNIT" || return 1
    EDR_POSTURE="[posture.systemd]
bus = \"$SDU_BUS\"
units = [\"$EDR_UNIT\"]
interval = \"2s\""
    HOST_LOW="$HOST_LOW_BARE

$EDR_POSTURE"
    HOST_HIGH="$HOST_HIGH_BARE

$EDR_POSTURE"
    # Cerbos' roles are the user's groups and the policies want "ops".
    e2e_add_group ops 20101 vgl-alice,vgl-mallory || return 1
    e2e_add_user vgl-weird 20004 || return 1
    write_fake_pdp
    local bin
    bin=$("$PDP_KIT/install.sh" 2>"$T/install.err") ||
        { note "tests/pdp/install.sh" "$T/install.err"; fail "cannot install Cerbos"; return 1; }
    [ -x "$bin" ] || { fail "install.sh printed no Cerbos binary ($bin)"; return 1; }
    # The main Cerbos (plain HTTP on loopback), used by most cases.
    cerbos_start cerbos-main || return 1
    URL_MAIN=$CERBOS_URL
    pam_sshd_vigil timeout=3000
    pam_sudo_vigil timeout=3000
    main_agent && sshd_start
}

# The agent most cases use: the main Cerbos, fallback deny, the EDR unit followed.
main_agent() {
    agent_with cerbos <<EOF
$(pdp_table cerbos fallback=deny -- "$URL_MAIN")

$HOST_LOW
EOF
}
_pdp_rc=0
trap '_pdp_rc=$?; _pdp_cleanup; (exit $_pdp_rc); _e2e_cleanup' EXIT
tap_case "setup: systemd --user with the EDR unit, Cerbos, vigild (protocol cerbos, following the unit) and sshd start" setup ||
    e2e_abort "systemd --user, Cerbos, vigild or sshd did not start"

# ----------------------------------------------- Cerbos, native API ----

cerbos_ssh_allow() {
    audit_mark
    ssh_ok vgl-alice || return 1
    audit_expect vgl-alice sshd outcome=allow path=pdp pdp.protocol=cerbos "pdp.url=$URL_MAIN" \
        session_max_seconds=3600 "pdp.policy_version=$POLICY_VERSION" '?pdp.latency_us' '!pdp.error' \
        'groups~"ops"' || return 1
    # The session sshd opens next follows that decision and keeps its limit.
    local id
    id=$(json_get "$T/last-record.json" id)
    tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" |
        python3 -c 'import json, sys
want = sys.argv[1]
for line in sys.stdin:
    r = json.loads(line)
    if r.get("event") == "session_open" and r.get("decision_id") == want:
        print(json.dumps(r))
        break' "$id" >"$T/session-record.json"
    [ -s "$T/session-record.json" ] ||
        { fail "no session_open record follows account decision $id"; note "audit log" "$AUDIT_LOG" 4; return 1; }
    json_expect "session_open record" "$T/session-record.json" user=vgl-alice outcome=allow session_max_seconds=3600
}
tap_case "cerbos: sshd vgl-alice (role ops) allowed; audit path=pdp, session_max 3600 (also on the session) and policy_version from Cerbos' outputs" \
    cerbos_ssh_allow

cerbos_ssh_deny() {
    audit_mark
    ssh_denied vgl-bob "vigil: access denied by policy" || return 1
    wait_for 3 grep -q "Access denied for user vgl-bob by PAM account configuration" "$SSHD_LOG" ||
        { fail "sshd log does not show a PAM account denial for vgl-bob"; note_logs; return 1; }
    audit_expect vgl-bob sshd outcome=deny path=pdp pdp.protocol=cerbos '!session_max_seconds' \
        'reason_admin~answered deny'
}
tap_case "cerbos: sshd vgl-bob (no ops role) denied by Cerbos in the account phase" cerbos_ssh_deny

cerbos_sudo_allow() {
    audit_mark
    sudo_ok vgl-alice || return 1
    audit_expect vgl-alice sudo outcome=allow path=pdp pdp.protocol=cerbos "pdp.policy_version=$POLICY_VERSION"
}
tap_case "cerbos: sudo vgl-alice allowed by Cerbos" cerbos_sudo_allow

cerbos_sudo_deny() {
    audit_mark
    sudo_denied vgl-mallory "vigil: contractors cannot use sudo on this host" || return 1
    audit_expect vgl-mallory sudo outcome=deny path=pdp pdp.protocol=cerbos \
        "reason_user=contractors cannot use sudo on this host" \
        "reason_admin=policy host/mallory-never-sudo" "pdp.policy_version=$POLICY_VERSION"
}
tap_case "cerbos: sudo vgl-mallory denied; sudo shows Cerbos' reason_user" cerbos_sudo_deny

cerbos_dry_run() {
    local before after id
    before=$(wc -l <"$AUDIT_LOG")
    decide_json "$T/decide-alice.json" vgl-alice sshd || return 1
    id=$(json_get "$T/decide-alice.json" id)
    json_expect "vigilctl decide vgl-alice sshd" "$T/decide-alice.json" \
        outcome=allow path=pdp pdp.protocol=cerbos session_max_seconds=3600 \
        pdp.request.principal.id=vgl-alice 'pdp.request.principal.roles~"ops"' \
        pdp.request.principal.attr.context.source_ip=127.0.0.1 "pdp.request.requestId=$id" \
        pdp.request.includeMeta=true pdp.request.resources.0.actions='["ssh"]' \
        pdp.request.resources.0.resource.kind=host pdp.request.resources.0.resource.id=web-01 \
        pdp.request.resources.0.resource.attr.labels.sensitivity=low \
        "pdp.response.requestId=$id" '?pdp.response.cerbosCallId' \
        pdp.response.results.0.actions.ssh=EFFECT_ALLOW \
        'pdp.response.results.0.outputs.0.src=resource.host.vdefault#ops-ssh' \
        pdp.response.results.0.outputs.0.val.session_max_seconds=3600 || return 1
    decide_json "$T/decide-bob.json" vgl-bob sudo || return 1
    json_expect "vigilctl decide vgl-bob sudo" "$T/decide-bob.json" outcome=deny path=pdp \
        pdp.request.principal.id=vgl-bob pdp.request.resources.0.actions='["sudo"]' \
        pdp.response.results.0.actions.sudo=EFFECT_DENY || return 1
    after=$(wc -l <"$AUDIT_LOG")
    [ "$before" -eq "$after" ] || { fail "a dry run wrote $((after - before)) audit record(s)"; return 1; }
}
tap_case "vigilctl decide --json: pdp.request is the Cerbos check body, pdp.response Cerbos' answer; nothing audited" \
    cerbos_dry_run

# ------------------------------- the shipped policy's posture rule ----

edr_shipped() {
    # Cerbos serves the example as shipped, not a copy of it.
    [ "$(readlink -f "$PDP_KIT/policies/host.yaml")" = "$(readlink -f "$SRCDIR/conf/cerbos/host.yaml")" ] ||
        { fail "tests/pdp/policies/host.yaml is not conf/cerbos/host.yaml"; return 1; }
    grep -q "edr_signal: \"$EDR_SIGNAL\"" "$SRCDIR/conf/cerbos/host.yaml" ||
        { fail "conf/cerbos/host.yaml does not read $EDR_SIGNAL"; return 1; }
    decide_json "$T/decide-edr.json" vgl-alice sudo || return 1
    json_expect "vigilctl decide vgl-alice sudo" "$T/decide-edr.json" outcome=allow path=pdp \
        "pdp.request.resources.0.resource.attr.posture~\"$EDR_SIGNAL\": \"active\"" \
        pdp.response.results.0.actions.sudo=EFFECT_ALLOW || return 1
    audit_mark
    sudo_ok vgl-alice || return 1
    audit_expect vgl-alice sudo outcome=allow path=pdp "pdp.policy_version=$POLICY_VERSION" "signals~$EDR_SIGNAL"
}
tap_case "shipped policy: the EDR unit active in systemd -> vigild sends $EDR_SIGNAL=active, Cerbos allows sudo" \
    edr_shipped

edr_down_denies() {
    wait_for 5 edr_signal_is inactive || { fail "vigild never saw $EDR_UNIT inactive"; note_logs; return 1; }
    audit_mark
    sudo_denied vgl-alice "vigil: $EDR_DOWN" || return 1
    audit_expect vgl-alice sudo outcome=deny path=pdp "reason_user=$EDR_DOWN" \
        "reason_admin=posture $EDR_SIGNAL=inactive" "pdp.policy_version=$POLICY_VERSION" || return 1
    ssh_denied vgl-alice "vigil: $EDR_DOWN" || return 1
    audit_expect vgl-alice sshd outcome=deny path=pdp "reason_admin=posture $EDR_SIGNAL=inactive"
}

edr_down() {
    local rc=0
    sdu_stop_unit "$EDR_UNIT" || { fail "could not stop $EDR_UNIT"; return 1; }
    edr_down_denies || rc=1
    # Started again whatever happened: the cases after this one need it.
    sdu_start_unit "$EDR_UNIT" || { fail "could not start $EDR_UNIT again"; return 1; }
    wait_for 5 edr_signal_is active || { fail "vigild never saw $EDR_UNIT active again"; note_logs; return 1; }
    [ "$rc" -eq 0 ] || return 1
    audit_mark
    sudo_ok vgl-alice || return 1
    audit_expect vgl-alice sudo outcome=allow path=pdp
}
tap_case "shipped policy: the EDR unit stopped -> sudo and ssh denied ($EDR_SIGNAL=inactive); started again -> allowed" \
    edr_down

# edr_missing_with NAME COLLECTOR [SIGNAL]: vigild with COLLECTOR (TOML, may
# be empty), which does not follow the EDR unit, once it reports SIGNAL;
# sudo and ssh must be denied.
edr_missing_with() {
    agent_with "$1" <<EOF || return 1
$(pdp_table cerbos -- "$URL_MAIN")

$HOST_LOW_BARE

$2
EOF
    if [ -n "${3:-}" ]; then
        wait_for 5 signal_seen "$3" || { fail "$1: vigild never reported $3"; note_logs; return 1; }
    fi
    edr_signal_is missing || { fail "$1: vigild reports $EDR_SIGNAL although it does not follow it"; return 1; }
    audit_mark
    sudo_denied vgl-alice "vigil: $EDR_DOWN" || return 1
    audit_expect vgl-alice sudo outcome=deny path=pdp "reason_admin=posture $EDR_SIGNAL=missing" || return 1
    ssh_denied vgl-alice "vigil: $EDR_DOWN" || return 1
    audit_expect vgl-alice sshd outcome=deny path=pdp "reason_admin=posture $EDR_SIGNAL=missing"
}

signal_seen() { # NAME: vigilctl posture lists the signal
    "$VIGILCTL" --socket "$ADMIN_SOCK" posture --json 2>/dev/null | grep -q "\"$1\""
}

edr_missing() {
    # The admin follows another unit, but not the EDR sensor's...
    sdu_unit auditd.service "ExecStart=/bin/sleep infinity" && sdu_start_unit auditd.service || return 1
    local rc=0
    edr_missing_with edr-other-unit "[posture.systemd]
bus = \"$SDU_BUS\"
units = [\"auditd.service\"]" systemd.unit.auditd.service || rc=1
    # ...or follows nothing at all: the policy cannot tell that it runs.
    [ "$rc" -ne 0 ] || edr_missing_with edr-no-collector "" || rc=1
    main_agent || return 1
    return "$rc"
}
tap_case "shipped policy: no $EDR_SIGNAL (another unit followed; no collector) -> sudo and ssh denied, fail closed" \
    edr_missing

# ------------------------------------------------------- obligations ----

unknown_obligation() {
    audit_mark
    ssh_denied vgl-weird "vigil: access denied: the policy asks for something this host cannot enforce" || return 1
    audit_expect vgl-weird sshd outcome=deny path=pdp 'reason_admin~launch_missiles' \
        pdp.error_kind=obligation || return 1
    sudo_denied vgl-weird "vigil: access denied" || return 1
    audit_expect vgl-weird sudo outcome=deny path=pdp 'reason_admin~launch_missiles'
}
tap_case "obligations: Cerbos allows vgl-weird with launch_missiles; vigild denies (ssh and sudo), reason_admin names it" \
    unknown_obligation

step_up() {
    # Without [step_up.totp] the host cannot give what the PDP asks for.
    agent_with cerbos-high-no-totp <<EOF || return 1
$(pdp_table cerbos -- "$URL_MAIN")

$HOST_HIGH
EOF
    audit_mark
    ssh_denied vgl-alice "vigil: access denied: the policy asks for a second factor this host does not offer" ||
        return 1
    audit_expect vgl-alice sshd outcome=deny path=pdp "reason_admin~not configured under [step_up]" || return 1
    agent_with cerbos-high <<EOF || return 1
$(pdp_table cerbos -- "$URL_MAIN")

[step_up.totp]
store_dir = "$T/totp"

$HOST_HIGH
EOF
    audit_mark
    ssh_denied vgl-alice "vigil: this request needs a second factor" || return 1
    # The PDP's limit is kept: it applies once the second factor is given.
    audit_expect vgl-alice sshd outcome=step_up step_up=totp path=pdp pdp.protocol=cerbos \
        session_max_seconds=3600
}
tap_case "obligations: high-sensitivity host -> Cerbos step_up; denied when the host has no TOTP, else the account phase denies asking for a second factor" step_up

high_sudo() {
    audit_mark
    sudo_denied vgl-alice "vigil: sudo is not allowed on high-sensitivity hosts" || return 1
    audit_expect vgl-alice sudo outcome=deny path=pdp "pdp.policy_version=$POLICY_VERSION"
}
tap_case "obligations: high-sensitivity host -> sudo denied with the reason from Cerbos' conditionNotMet output" high_sudo

# ------------------------------------------------ local rules first ----

local_first() {
    agent_with local-first <<EOF || return 1
$(pdp_table cerbos -- "$URL_MAIN")

$HOST_LOW

[[rule]]
name = "alice on hold"
users = ["vgl-alice"]
services = ["sshd", "sudo"]
decision = "deny"
reason = "on hold pending INC-7"

[[rule]]
name = "bob break-glass"
users = ["vgl-bob"]
services = ["sshd"]
decision = "allow"
ask_pdp = false
EOF
    audit_mark
    ssh_denied vgl-alice "vigil: on hold pending INC-7" || return 1
    audit_expect vgl-alice sshd outcome=deny path=local "rule=alice on hold" '!pdp' || return 1
    # Cerbos is up and asked for others: it allows mallory's ssh...
    ssh_ok vgl-mallory || return 1
    audit_expect vgl-mallory sshd outcome=allow path=pdp pdp.protocol=cerbos || return 1
    # ...and would deny bob, whom a local ask_pdp = false rule lets in.
    ssh_ok vgl-bob || return 1
    audit_expect vgl-bob sshd outcome=allow path=local "rule=bob break-glass" '!pdp'
}
tap_case "local rules: a deny beats Cerbos' allow, ask_pdp=false beats Cerbos' deny; path=local, no pdp object" local_first

# ---------------------------------------------------------- AuthZEN ----

authzen() {
    agent_with authzen <<EOF || return 1
$(pdp_table authzen -- "$URL_MAIN")

$HOST_LOW
EOF
    audit_mark
    ssh_ok vgl-alice || return 1
    audit_expect vgl-alice sshd outcome=allow path=pdp pdp.protocol=authzen "pdp.url=$URL_MAIN" \
        session_max_seconds=3600 "pdp.policy_version=$POLICY_VERSION" || return 1
    ssh_denied vgl-bob || return 1
    audit_expect vgl-bob sshd outcome=deny path=pdp pdp.protocol=authzen || return 1
    sudo_ok vgl-alice || return 1
    audit_expect vgl-alice sudo outcome=allow path=pdp pdp.protocol=authzen || return 1
    sudo_denied vgl-mallory "vigil: contractors cannot use sudo on this host" || return 1
    audit_expect vgl-mallory sudo outcome=deny path=pdp pdp.protocol=authzen \
        "reason_admin=policy host/mallory-never-sudo"
}
tap_case "authzen (profile cerbos): the same allow/deny for sshd and sudo; audit pdp.protocol=authzen" authzen

authzen_dry_run() {
    decide_json "$T/decide-authzen.json" vgl-alice sshd || return 1
    json_expect "vigilctl decide (authzen)" "$T/decide-authzen.json" outcome=allow pdp.protocol=authzen \
        pdp.request.subject.type=user pdp.request.subject.id=vgl-alice \
        'pdp.request.subject.properties~"cerbos.roles": ["' pdp.request.action.name=ssh \
        pdp.request.resource.type=host pdp.request.resource.id=web-01 \
        'pdp.request.context~"cerbos.includeMeta": true' '!pdp.request.principal' \
        pdp.response.decision=true 'pdp.response.context~"cerbos.response"' \
        'pdp.response.context~"EFFECT_ALLOW"'
}
tap_case "authzen: vigilctl decide --json shows an AuthZEN evaluation (subject/action/resource) and Cerbos' decision" \
    authzen_dry_run

# sudo_bg USER: sudo_as USER in the background; output and exit code in
# $T/bg-USER.out and $T/bg-USER.rc, its pid added to BG_PIDS.
sudo_bg() {
    (
        sudo_as "$1" id -u
        printf '%s\n' "$SUDO_OUT" >"$T/bg-$1.out"
        echo "$SUDO_RC" >"$T/bg-$1.rc"
    ) &
    BG_PIDS+=($!)
}

# bg_result USER: the exit code and output of sudo_bg USER, in SUDO_RC and SUDO_OUT.
bg_result() {
    SUDO_RC=$(cat "$T/bg-$1.rc")
    SUDO_OUT=$(cat "$T/bg-$1.out")
}

# With one connection to the PDP, requests that come while it is busy go
# out as one AuthZEN batch, and each gets its own answer: the relay holds
# vgl-weird's request, alice, mallory and bob ask meanwhile; Cerbos then
# gets one /access/v1/evaluations with their three questions.
authzen_batch() {
    local port=${URL_MAIN##*:} u
    fake_pdp slow-first "$port" 1500 || return 1
    agent_with authzen-batch <<EOF || return 1
$(pdp_table authzen max_connections=1 timeout=2500ms -- "$FAKE_URL")

$HOST_LOW
EOF
    audit_mark
    rm -f "$T"/bg-*.rc
    BG_PIDS=()
    sudo_bg vgl-weird
    wait_for 10 grep -q "holding the first request" "$T/fake-slow-first.log" ||
        { fail "vgl-weird's request never reached the PDP"; return 1; }
    for u in vgl-alice vgl-mallory vgl-bob; do sudo_bg "$u"; done
    wait "${BG_PIDS[@]}"
    bg_result vgl-alice
    expect_rc "vgl-alice: sudo -n id -u (batched)" 0 "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    for u in vgl-weird vgl-mallory vgl-bob; do
        bg_result "$u"
        expect_nonzero "$u: sudo -n id -u (batched)" "$SUDO_RC" "$SUDO_OUT" || return 1
        no_line 0 "$SUDO_OUT" "the command ran as root although sudo was denied" || return 1
    done
    expect_contains "vgl-mallory's sudo output" "$(cat "$T/bg-vgl-mallory.out")" \
        "vigil: contractors cannot use sudo on this host" || return 1
    audit_expect vgl-weird sudo outcome=deny path=pdp '!pdp.batch' || return 1
    audit_expect vgl-alice sudo outcome=allow path=pdp pdp.batch.size=3 "pdp.policy_version=$POLICY_VERSION" || return 1
    audit_expect vgl-mallory sudo outcome=deny path=pdp pdp.batch.size=3 \
        "reason_admin=policy host/mallory-never-sudo" || return 1
    audit_expect vgl-bob sudo outcome=deny path=pdp pdp.batch.size=3 || return 1
    # Two calls: vgl-weird's alone, then the batch; nothing left waiting.
    "$VIGILCTL" --socket "$ADMIN_SOCK" status --json >"$T/status-batch.json" 2>"$T/status-batch.err" ||
        { fail "vigilctl status failed"; note "stderr" "$T/status-batch.err" 5; return 1; }
    json_expect "vigilctl status --json" "$T/status-batch.json" pdp.calls.made=2 pdp.calls.batches=1 \
        pdp.calls.waiting=0
}
tap_case "authzen: requests waiting for the one PDP connection go out as one batch, each with its own answer" \
    authzen_batch

# ---------------------------------------------------- Cerbos stopped ----

stopped_setup() {
    cerbos_start cerbos-doomed || return 1
    URL_DOOMED=$CERBOS_URL
    agent_with doomed <<EOF || return 1
$(pdp_table cerbos fallback=deny cache_max_age=5m breaker_failures=3 breaker_cooldown=60s -- "$URL_DOOMED")

$HOST_LOW

[[rule]]
name = "alice sudo, local fallback"
users = ["vgl-alice"]
services = ["sudo"]
decision = "allow"
fallback = "local"

[[rule]]
name = "ssh, cached fallback"
users = ["vgl-alice", "vgl-bob"]
services = ["sshd"]
decision = "allow"
fallback = "cached"
EOF
    # While Cerbos answers, it decides (and alice's ssh answer is kept).
    audit_mark
    ssh_ok vgl-alice && audit_expect vgl-alice sshd outcome=allow path=pdp || return 1
    ssh_ok vgl-mallory && audit_expect vgl-mallory sshd outcome=allow path=pdp || return 1
    sudo_ok vgl-alice && audit_expect vgl-alice sudo outcome=allow path=pdp || return 1
    cerbos_stop cerbos-doomed
    local port=${URL_DOOMED##*:}
    if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null; then
        fail "something still listens on $URL_DOOMED after cerbos.sh stop"
        return 1
    fi
}
tap_case "faults: a second Cerbos answers (path=pdp), then is stopped with cerbos.sh stop" stopped_setup

stopped_deny() {
    audit_mark
    ssh_denied vgl-mallory "vigil: access check unavailable, request denied" || return 1
    audit_expect vgl-mallory sshd outcome=deny path=fallback:deny pdp.error_kind=connect \
        "pdp.failed.0.url=$URL_DOOMED" 'reason_admin~PDP unavailable'
}
tap_case "faults: Cerbos stopped -> [pdp] fallback=deny denies mallory's ssh (Cerbos had allowed it); error_kind=connect" \
    stopped_deny

stopped_cached() {
    audit_mark
    ssh_ok vgl-alice || return 1
    audit_expect vgl-alice sshd outcome=allow path=fallback:cached pdp.error_kind=connect \
        session_max_seconds=3600 'reason_admin~cached answer'
}
tap_case "faults: Cerbos stopped -> fallback=cached lets alice in on Cerbos' earlier answer (path=fallback:cached)" stopped_cached

stopped_local() {
    audit_mark
    sudo_ok vgl-alice || return 1
    audit_expect vgl-alice sudo outcome=allow path=fallback:local pdp.error_kind=connect \
        "rule=alice sudo, local fallback"
}
tap_case "faults: Cerbos stopped -> the allow rule's fallback=local lets alice sudo (path=fallback:local)" stopped_local

stopped_breaker() {
    # Three connect failures in a row opened the circuit: the dead PDP is
    # not even tried. Bob has no earlier answer to fall back on.
    audit_mark
    ssh_denied vgl-bob "vigil: access check unavailable" || return 1
    audit_expect vgl-bob sshd outcome=deny path=fallback:cached pdp.error_kind=circuit_open \
        pdp.failed.0.kind=circuit_open 'reason_admin~nothing to fall back on'
}
tap_case "faults: after 3 failures the circuit is open (error_kind=circuit_open); fallback=cached without an answer denies" \
    stopped_breaker

# ------------------------ fallback = cached: the same question only ----

cached_setup() {
    cerbos_start cerbos-cached || return 1
    URL_CACHED=$CERBOS_URL
    agent_with cached <<EOF || return 1
$(pdp_table cerbos fallback=cached cache_max_age=5m -- "$URL_CACHED")

$HOST_LOW
EOF
    audit_mark
    sudo_ok vgl-alice && audit_expect vgl-alice sudo outcome=allow path=pdp || return 1
    audit_mark
    ssh_ok vgl-alice && audit_expect vgl-alice sshd outcome=allow path=pdp || return 1
    cerbos_stop cerbos-cached
}
tap_case "cached: Cerbos allows alice's 'sudo id -u' and her ssh (answers kept), then is stopped" cached_setup

cached_command() {
    audit_mark
    sudo_ok vgl-alice || return 1
    audit_expect vgl-alice sudo outcome=allow path=fallback:cached 'reason_admin~cached answer' || return 1
    # Another command is another question, which Cerbos never answered.
    audit_mark
    sudo_as vgl-alice /bin/sh -c id
    expect_nonzero "vgl-alice: sudo -n /bin/sh -c id" "$SUDO_RC" "$SUDO_OUT" || { note_logs; return 1; }
    expect_not_contains "sudo output" "$SUDO_OUT" "uid=0" || return 1
    expect_contains "sudo output" "$SUDO_OUT" "vigil: access check unavailable, request denied" || return 1
    audit_expect vgl-alice sudo outcome=deny path=fallback:cached 'command~/bin/sh' \
        'reason_admin~nothing to fall back on'
}
tap_case "cached: Cerbos down -> 'sudo id -u' answered from the cache, 'sudo /bin/sh -c id' denied (another question)" \
    cached_command

# set_group_members GROUP MEMBERS: rewrites the namespace's /etc/group in
# place (same inode: the bind mount over /etc/group sees it).
set_group_members() {
    local new
    new=$(awk -F: -v g="$1" -v m="$2" 'BEGIN { OFS = ":" } $1 == g { $4 = m } { print }' "$T/etc/group") || return 1
    printf '%s\n' "$new" >"$T/etc/group"
}

cached_groups() {
    # Cerbos allowed alice's ssh as a member of ops. Out of ops, her login
    # is another question.
    set_group_members ops vgl-mallory || return 1
    id -nG vgl-alice | tr ' ' '\n' | grep -qx ops && { fail "vgl-alice is still in ops"; return 1; }
    audit_mark
    ssh_login vgl-alice id -un
    set_group_members ops vgl-alice,vgl-mallory || return 1
    expect_nonzero "ssh vgl-alice (out of ops)" "$SSH_RC" "$SSH_OUT" || { note_logs; return 1; }
    no_line vgl-alice "$SSH_OUT" "the remote command ran although the login was denied" || return 1
    audit_expect vgl-alice sshd outcome=deny path=fallback:cached 'reason_admin~nothing to fall back on' || return 1
    # Back in ops: the question Cerbos answered.
    audit_mark
    ssh_ok vgl-alice || return 1
    audit_expect vgl-alice sshd outcome=allow path=fallback:cached 'groups~"ops"' 'reason_admin~cached answer'
}
tap_case "cached: Cerbos down -> alice out of group ops is not let in on the answer given to her in ops; back in ops she is" \
    cached_groups

# ------------------------------------------ a 4xx is the PDP's answer ----

refusal() {
    # A base URL under which Cerbos serves nothing: every request is a 404.
    local url=$URL_MAIN/no-such-prefix
    agent_with refusal <<EOF || return 1
$(pdp_table cerbos fallback=cached breaker_failures=1 -- "$url" "$URL_MAIN")

$HOST_LOW

[[rule]]
name = "alice sudo, local fallback"
users = ["vgl-alice"]
services = ["sudo"]
decision = "allow"
fallback = "local"
EOF
    local _
    for _ in 1 2 3; do
        audit_mark
        sudo_denied vgl-alice "vigil: access denied: the policy service refused the request" || return 1
        audit_expect vgl-alice sudo outcome=deny path=pdp pdp.error_kind=http_status "pdp.url=$url" \
            'pdp.error~HTTP 404' 'reason_admin~HTTP 404' 'reason_admin~no fallback' '!pdp.failed' || return 1
    done
    # Refusals are answers: no circuit opened (breaker_failures = 1).
    "$VIGILCTL" --socket "$ADMIN_SOCK" status --json >"$T/status-refusal.json" 2>"$T/status-refusal.err"
    json_expect "vigilctl status --json" "$T/status-refusal.json" "pdp.endpoints.0.url=$url" \
        pdp.endpoints.0.circuit=closed pdp.endpoints.1.circuit=closed || return 1
    agent_with refusal-authzen <<EOF || return 1
$(pdp_table authzen fallback=local -- "$url")

$HOST_LOW

[[rule]]
name = "alice ssh"
users = ["vgl-alice"]
services = ["sshd"]
decision = "allow"
EOF
    audit_mark
    ssh_denied vgl-alice "vigil: access denied: the policy service refused the request" || return 1
    audit_expect vgl-alice sshd outcome=deny path=pdp pdp.protocol=authzen pdp.error_kind=http_status \
        'reason_admin~HTTP 404'
}
tap_case "refusal: Cerbos answers 404 (a URL prefix it does not serve) -> deny naming it, no fallback (local, cached), no failover, circuit closed" \
    refusal

# ------------------------------------------- hanging, 500, garbage ----

hang() {
    fake_pdp hang || return 1
    URL_HANG=$FAKE_URL
    agent_with hang <<EOF || return 1
$(pdp_table cerbos fallback=deny -- "$URL_HANG")

$HOST_LOW
EOF
    local t0 elapsed
    audit_mark
    t0=$(now_ms)
    sudo_denied vgl-alice "vigil: access check unavailable, request denied" || return 1
    elapsed=$(($(now_ms) - t0))
    echo "# sudo against the hanging PDP returned in $elapsed ms"
    [ "$elapsed" -le "$HANG_BOUND_MS" ] ||
        { fail "sudo took ${elapsed} ms against a hanging PDP (timeout 800ms, bound $HANG_BOUND_MS ms)"; return 1; }
    grep -q accepted "$T/fake-hang.log" 2>/dev/null ||
        { fail "vigild never connected to the hanging PDP"; return 1; }
    audit_expect vgl-alice sudo outcome=deny path=fallback:deny pdp.error_kind=timeout
}
tap_case "faults: a PDP that accepts and never answers -> sudo returns within ${HANG_BOUND_MS} ms, error_kind=timeout" hang

budget() {
    # The [pdp] timeout is long; the module's own budget must cut it short
    # so that vigild (not the module's deadline) answers: then the local
    # fallback can allow.
    pam_sudo_vigil timeout=1500
    agent_with hang-budget <<EOF || return 1
$(pdp_table cerbos timeout=10s fallback=deny -- "$URL_HANG")

$HOST_LOW

[[rule]]
name = "alice sudo, local fallback"
users = ["vgl-alice"]
services = ["sudo"]
decision = "allow"
fallback = "local"
EOF
    local t0 elapsed rc=0
    audit_mark
    t0=$(now_ms)
    sudo_ok vgl-alice || rc=1
    elapsed=$(($(now_ms) - t0))
    echo "# sudo with module timeout=1500 returned in $elapsed ms"
    pam_sudo_vigil timeout=3000
    [ "$rc" -eq 0 ] || return 1
    [ "$elapsed" -le "$BUDGET_BOUND_MS" ] ||
        { fail "sudo took ${elapsed} ms (module timeout 1500 ms, bound $BUDGET_BOUND_MS ms)"; return 1; }
    audit_expect vgl-alice sudo outcome=allow path=fallback:local pdp.error_kind=timeout
}
tap_case "faults: [pdp] timeout=10s is capped by the module's timeout=1500 budget; fallback=local answers in time" budget

# fault_agent NAME URL: fallback deny, alice's sudo rule falls back locally.
fault_agent() {
    agent_with "$1" <<EOF
$(pdp_table cerbos fallback=deny -- "$2")

$HOST_LOW

[[rule]]
name = "alice sudo, local fallback"
users = ["vgl-alice"]
services = ["sudo"]
decision = "allow"
fallback = "local"
EOF
}

http500() {
    fake_pdp 500 || return 1
    fault_agent http500 "$FAKE_URL" || return 1
    audit_mark
    sudo_ok vgl-alice || return 1
    audit_expect vgl-alice sudo outcome=allow path=fallback:local pdp.error_kind=http_status \
        'pdp.error~500' || return 1
    sudo_denied vgl-mallory "vigil: access check unavailable" || return 1
    audit_expect vgl-mallory sudo outcome=deny path=fallback:deny pdp.error_kind=http_status
}
tap_case "faults: HTTP 500 -> fallback (local for alice, deny for mallory), error_kind=http_status" http500

malformed() {
    fake_pdp garbage || return 1
    fault_agent garbage "$FAKE_URL" || return 1
    audit_mark
    sudo_ok vgl-alice || return 1
    audit_expect vgl-alice sudo outcome=allow path=fallback:local pdp.error_kind=malformed || return 1
    # The garbage starts like an allow: it must not become one.
    sudo_denied vgl-mallory "vigil: access check unavailable" || return 1
    audit_expect vgl-mallory sudo outcome=deny path=fallback:deny pdp.error_kind=malformed
}
tap_case "faults: 200 with truncated JSON -> fallback (local / deny), error_kind=malformed" malformed

# --------------------------------------------------------------- TLS ----

tls_agent() { # NAME CA_FILE
    agent_with "$1" <<EOF
$(pdp_table cerbos fallback=deny ca_file="$2" -- "$URL_TLS")

$HOST_LOW
EOF
}

tls_wrong_ca() {
    cerbos_start cerbos-tls --tls || return 1
    URL_TLS=$CERBOS_URL CA_TLS=$CERBOS_CA
    case $URL_TLS in https://*) ;; *) fail "cerbos.sh --tls gave $URL_TLS"; return 1 ;; esac
    mkdir -p "$T/other-ca"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$T/other-ca/ca.key" -out "$T/other-ca/ca.pem" -days 2 -subj "/CN=not the vigil test CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>"$T/other-ca/err" || { note "openssl" "$T/other-ca/err"; fail "cannot make a second CA"; return 1; }
    tls_agent tls-wrong "$T/other-ca/ca.pem" || return 1
    audit_mark
    sudo_denied vgl-alice "vigil: access check unavailable, request denied" || return 1
    audit_expect vgl-alice sudo outcome=deny path=fallback:deny pdp.error_kind=tls "pdp.failed.0.url=$URL_TLS"
}
tap_case "tls: Cerbos over TLS with a ca_file that did not sign its certificate -> error_kind=tls, denied" tls_wrong_ca

tls_right_ca() {
    [ -n "${URL_TLS:-}" ] || { fail "no TLS Cerbos (previous case failed)"; return 1; }
    tls_agent tls-right "$CA_TLS" || return 1
    audit_mark
    sudo_ok vgl-alice || return 1
    audit_expect vgl-alice sudo outcome=allow path=pdp "pdp.url=$URL_TLS" '!pdp.error' || return 1
    sudo_denied vgl-mallory "vigil: contractors cannot use sudo on this host" || return 1
    audit_expect vgl-mallory sudo outcome=deny path=pdp "pdp.url=$URL_TLS"
}
tap_case "tls: with the right ca_file Cerbos is reached over verified TLS and decides" tls_right_ca

mtls() {
    cerbos_start cerbos-mtls --mtls || return 1
    local url=$CERBOS_URL cert=$CERBOS_CLIENT_CERT key=$CERBOS_CLIENT_KEY ca=$CERBOS_CA
    agent_with mtls <<EOF || return 1
$(pdp_table cerbos ca_file="$ca" client_cert="$cert" client_key="$key" -- "$url")

$HOST_LOW
EOF
    audit_mark
    sudo_ok vgl-alice || return 1
    audit_expect vgl-alice sudo outcome=allow path=pdp "pdp.url=$url" || return 1
    # The same proxy refuses vigild without its certificate.
    agent_with mtls-nocert <<EOF || return 1
$(pdp_table cerbos ca_file="$ca" -- "$url")

$HOST_LOW
EOF
    audit_mark
    sudo_denied vgl-alice "vigil: access check unavailable" || return 1
    audit_expect vgl-alice sudo outcome=deny path=fallback:deny pdp.error_kind=tls
}
tap_case "mtls: through a proxy that requires a client certificate: allowed with client_cert/key, error_kind=tls without" mtls

# ---------------------------------------------------------- failover ----

failover() {
    local dead
    dead=http://127.0.0.1:$(free_port)
    agent_with failover <<EOF || return 1
$(pdp_table cerbos -- "$dead" "$URL_MAIN")

$HOST_LOW
EOF
    audit_mark
    ssh_ok vgl-alice || return 1
    audit_expect vgl-alice sshd outcome=allow path=pdp "pdp.url=$URL_MAIN" session_max_seconds=3600 \
        "pdp.failed.0.url=$dead" pdp.failed.0.kind=connect '!pdp.failed.1' '!pdp.error'
}
tap_case "failover: urls = [dead, Cerbos] -> allowed by Cerbos, pdp.failed lists the dead URL" failover

# An endpoint that answers 200 with garbage is no healthier than a dead one.
failover_garbage() {
    fake_pdp garbage || return 1
    local garbage=$FAKE_URL
    agent_with failover-garbage <<EOF || return 1
$(pdp_table cerbos -- "$garbage" "$URL_MAIN")

$HOST_LOW
EOF
    audit_mark
    ssh_ok vgl-alice || return 1
    audit_expect vgl-alice sshd outcome=allow path=pdp "pdp.url=$URL_MAIN" \
        "pdp.failed.0.url=$garbage" pdp.failed.0.kind=malformed '!pdp.failed.1' '!pdp.error'
}
tap_case "failover: urls = [garbage, Cerbos] -> the malformed answer fails over; allowed by Cerbos" failover_garbage

# ------------------------------------------------------ bearer token ----

token_config() {
    write_agent_config "$T/token.toml" <<EOF
$(pdp_table cerbos bearer_token_file="$T/pdp.token" -- "$@")

$HOST_LOW
EOF
}

token_loose() {
    agent_stop || return 1
    TOKEN=vigil-e2e-$RANDOM$RANDOM
    printf '%s\n' "$TOKEN" >"$T/pdp.token"
    chown root:root "$T/pdp.token"
    chmod 0644 "$T/pdp.token"
    token_config "$URL_MAIN"
    local out rc
    out=$(timeout 10 "$VIGILD" --config "$T/token.toml" 2>&1 </dev/null)
    rc=$?
    [ "$rc" -ne 124 ] || { fail "vigild kept running with a token file of mode 0644"; note_text "output" "$out"; return 1; }
    expect_nonzero "vigild --config (token file mode 0644)" "$rc" "$out" || return 1
    expect_contains "vigild's message" "$out" "$T/pdp.token" || return 1
    expect_contains "vigild's message" "$out" "0644" || return 1
    # Refused before the sockets are claimed: none is left behind.
    [ ! -e "$PAM_SOCK" ] && [ ! -e "$ADMIN_SOCK" ] ||
        { fail "sockets left behind after the refused start"; return 1; }
    # --check refuses what vigild refuses.
    out=$("$VIGILD" --check --config "$T/token.toml" 2>&1)
    expect_nonzero "vigild --check (token file mode 0644)" "$?" "$out" || return 1
    expect_contains "vigild --check's message" "$out" "0644"
}
tap_case "token: bearer_token_file with mode 0644 -> vigild refuses to start, naming the file and its mode" token_loose

token_strict() {
    chmod 0600 "$T/pdp.token"
    # First URL: the HTTP-500 fault PDP, which logs request heads; then Cerbos.
    if [ -z "${FAKE_PIDS:-}" ] || [ ! -s "$T/fake-500.port" ]; then
        fail "no HTTP 500 fault PDP running (an earlier case failed)"
        return 1
    fi
    local url500
    url500=http://127.0.0.1:$(cat "$T/fake-500.port")
    : >"$T/fake-500.log"
    token_config "$url500" "$URL_MAIN"
    agent_start "$T/token.toml" vigild-token || return 1
    audit_mark
    ssh_ok vgl-alice || return 1
    audit_expect vgl-alice sshd outcome=allow path=pdp "pdp.url=$URL_MAIN" \
        "pdp.failed.0.url=$url500" pdp.failed.0.kind=http_status || return 1
    grep -qx "Authorization: Bearer $TOKEN" <(tr -d '\r' <"$T/fake-500.log") ||
        { fail "the first PDP did not receive 'Authorization: Bearer <token>'"; note "request heads" "$T/fake-500.log" 12; return 1; }
    if grep -q "$TOKEN" "$AUDIT_LOG" "$AGENT_LOG"; then
        fail "the bearer token appears in the audit trail or vigild's log"
        return 1
    fi
}
tap_case "token: mode 0600 -> vigild starts, sends 'Authorization: Bearer' (seen by the 5xx PDP), Cerbos decides after failover" \
    token_strict

# ------------------------------------------------------------- end ----

finish() {
    local rc=0 d pid
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died during the test"; note_logs; rc=1; }
    agent_stop || rc=1
    if cat "$T"/vigild-*.log | grep -Eiq 'sanitizer|runtime error|segmentation|abort'; then
        fail "a vigild log reports a crash or sanitizer error"
        rc=1
    fi
    "$VIGILCTL" audit verify "$AUDIT_LOG" >"$T/verify.out" 2>&1 ||
        { fail "vigilctl audit verify rejects the trail"; note "verify" "$T/verify.out"; rc=1; }
    for d in $CERBOS_DIRS; do
        pid=$(sed -n 's/^CERBOS_PID=//p' "$d/cerbos.env")
        "$PDP_KIT/cerbos.sh" stop "$d" >>"$d.out" 2>&1
        # An exited process its parent has not reaped yet (state Z) is
        # stopped; one still tearing down gets ten seconds to finish (the
        # last CI saw one take longer than one on a loaded machine).
        running() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
        for _ in $(seq 1 100); do [ -n "$pid" ] && running "$pid" || break; sleep 0.1; done
        if [ -n "$pid" ] && running "$pid"; then
            fail "Cerbos $pid ($d) still runs after cerbos.sh stop"
            rc=1
        fi
    done
    CERBOS_DIRS=""
    for pid in ${FAKE_PIDS:-}; do
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        e2e_untrack "$pid"
    done
    return "$rc"
}
tap_case "end: vigild never crashed, the trail verifies, every Cerbos and fault PDP is stopped" finish
