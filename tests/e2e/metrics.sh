#!/bin/bash
# Observability: vigild writes Prometheus metrics for node_exporter's
# textfile collector ([metrics]), counting real sudo decisions; promtool
# accepts the file; readers never see half a file; `vigilctl status` says
# healthy (exit 0), and unhealthy (exit 3, with why) once the configured
# PDP cannot be reached.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 13

PROM=""

# metrics_config FILE [PDP TOML]: the standard rules, metrics every second.
# The grant socket is this test's own: the default /run/vigil/grant.sock
# is shared with any other vigil test running on the machine.
metrics_config() {
    local file=$1 pdp=${2:-'[pdp]
protocol = "local"'}
    {
        printf '[agent]\nsocket = "%s"\nadmin_socket = "%s"\ngrant_socket = "%s"\n' \
            "$PAM_SOCK" "$ADMIN_SOCK" "$T/run/grant.sock"
        printf 'audit_log = "%s"\nstate_dir = "%s"\n\n' "$AUDIT_LOG" "$T/state"
        printf '[metrics]\ntextfile = "%s"\ninterval = "1s"\n\n%s\n\n' "$PROM" "$pdp"
        standard_rules
    } >"$file"
    chown root:root "$file"
    chmod 600 "$file"
}

# journald as vigild meets it: a datagram socket at the native protocol's
# path, on a tmpfs over /run/systemd that only this mount namespace sees.
# Each entry (KEY=value lines) is appended to $T/journal.entries, entries
# separated by a line "--".
journal_sink() {
    mount -t tmpfs tmpfs /run/systemd || return 1
    mkdir /run/systemd/journal
    python3 - /run/systemd/journal/socket "$T/journal.entries" <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a")
while True:
    data, i, lines = s.recv(1 << 20), 0, []
    while i < len(data):
        nl = data.index(b"\n", i)
        field = data[i:nl]
        if b"=" in field:
            lines.append(field.decode(errors="replace"))
            i = nl + 1
        else:  # KEY\n<le64 length><bytes>\n: a value with newlines
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            value = data[nl + 9:nl + 9 + n].decode(errors="replace").replace("\n", "\\n")
            lines.append(field.decode() + "=" + value)
            i = nl + 9 + n + 1
    out.write("\n".join(lines) + "\n--\n")
    out.flush()
PY
    e2e_track $!
    wait_for 5 test -S /run/systemd/journal/socket
}

setup() {
    e2e_setup_system
    journal_sink || { fail "cannot stand in for journald"; return 1; }
    mkdir -p "$T/textfiles"
    chmod 755 "$T/textfiles"
    PROM=$T/textfiles/vigil.prom
    metrics_config "$T/vigil.toml"
    pam_sudo_vigil timeout=3000
    pam_sshd_vigil timeout=3000
    agent_start "$T/vigil.toml" && sshd_start
}
tap_case "setup: vigild (with [metrics] textfile) and sshd start in a private mount namespace" setup ||
    e2e_abort "vigild or sshd did not start"

check_refuses_bad_textfile() {
    printf '[metrics]\ntextfile = "%s/textfiles/vigil.txt"\n' "$T" | write_config "$T/bad-metrics.toml"
    local out rc
    out=$("$VIGILD" --check --config "$T/bad-metrics.toml" 2>&1)
    rc=$?
    expect_nonzero "vigild --check with textfile vigil.txt" "$rc" "$out" || return 1
    expect_contains "vigild --check output" "$out" "$T/bad-metrics.toml:" || return 1
    expect_contains "vigild --check output" "$out" "must end in .prom"
}
tap_case "vigild --check refuses a [metrics] textfile the collector would never read" check_refuses_bad_textfile

# prom_has LINE: the file holds exactly this line.
prom_has() { grep -qxF -- "$1" "$PROM" 2>/dev/null; }

decisions() {
    sudo_as vgl-alice true
    expect_rc "sudo as vgl-alice" 0 "$SUDO_RC" "$SUDO_OUT" || return 1
    sudo_as vgl-bob true
    expect_nonzero "sudo as vgl-bob" "$SUDO_RC" "$SUDO_OUT" || return 1
    sudo_as vgl-mallory true
    expect_nonzero "sudo as vgl-mallory" "$SUDO_RC" "$SUDO_OUT" || return 1
    local allow='vigil_decisions_total{service="sudo",phase="account",outcome="allow"} 1'
    local deny='vigil_decisions_total{service="sudo",phase="account",outcome="deny"} 2'
    if ! wait_for 5 prom_has "$allow" || ! wait_for 5 prom_has "$deny"; then
        fail "the metrics file does not count 1 allow and 2 denies within 5 s"
        note "metrics" "$PROM" 60
        return 1
    fi
    prom_has 'vigil_up 1' || { fail "vigil_up is not 1 while vigild runs"; note "metrics" "$PROM" 60; return 1; }
    prom_has 'vigil_sessions_live 0' || { fail "no vigil_sessions_live 0"; note "metrics" "$PROM" 60; return 1; }
}
tap_case "1 allowed and 2 denied sudo requests are counted in the metrics file" decisions

promtool_accepts() {
    if ! command -v promtool >/dev/null; then
        fail "promtool not found: run 'scripts/deps.sh test' (Debian package prometheus)"
        return 1
    fi
    local out
    out=$(promtool check metrics <"$PROM" 2>&1) || {
        fail "promtool check metrics rejects the file"
        note_text "promtool" "$out"
        note "metrics" "$PROM" 60
        return 1
    }
}
tap_case "promtool check metrics accepts the file (format and naming lint)" promtool_accepts

# Every read sees a whole file: it ends with the last family's sample and a
# newline. The writer replaces it by rename, so its inode changes.
never_partial() {
    local inode_before inode_after
    inode_before=$(stat -c %i "$PROM")
    local out
    out=$(python3 - "$PROM" <<'PY'
import sys, time
path, reads, bad = sys.argv[1], 0, []
end = time.time() + 3.5
while time.time() < end:
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        bad.append("missing"); continue
    reads += 1
    if not data.startswith(b"# HELP vigil_up ") or not data.endswith(b"\nvigil_report_mode{service=\"default\"} 0\n"):
        bad.append(repr(data[-80:]))
print(reads, len(bad), bad[:3])
sys.exit(1 if bad or reads < 100 else 0)
PY
)   || { fail "a read saw a partial or missing file (reads, bad, samples): $out"; return 1; }
    inode_after=$(stat -c %i "$PROM")
    [ "$inode_before" != "$inode_after" ] ||
        { fail "the file's inode did not change in 3.5 s: not replaced by rename every 1 s"; return 1; }
}
tap_case "readers never see a partial file while it is rewritten every second (rename, not rewrite)" never_partial

reload_counted() {
    kill -HUP "$AGENT_PID"
    wait_for 5 prom_has 'vigil_config_reloads_total{result="ok"} 1' ||
        { fail "a SIGHUP reload is not counted"; note "metrics" "$PROM" 60; note_logs; return 1; }
}
tap_case "a reload is counted as vigil_config_reloads_total{result=\"ok\"}" reload_counted

# A login that stays open (sleep on a pty), then revoked.
session_revoked() {
    timeout 60 ssh -tt -F /dev/null -i "$T/ssh/id" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
        -p "$SSHD_PORT" vgl-alice@127.0.0.1 sleep 600 >"$T/alice.out" 2>&1 </dev/null &
    local ssh_pid=$!
    e2e_track "$ssh_pid"
    wait_for 10 prom_has 'vigil_sessions_live 1' ||
        { fail "vigil_sessions_live never says 1"; note "metrics" "$PROM" 60; note_logs; return 1; }
    "$VIGILCTL" --socket "$ADMIN_SOCK" revoke --user vgl-alice --reason "metrics test" >/dev/null ||
        { fail "vigilctl revoke failed"; return 1; }
    local line
    for line in 'vigil_revocations_total 1' 'vigil_sessions_ended_total{reason="revoked"} 1' \
        'vigil_sessions_live 0' 'vigil_decisions_total{service="sshd",phase="account",outcome="allow"} 1'; do
        wait_for 10 prom_has "$line" || { fail "no $line"; note "metrics" "$PROM" 80; note_logs; return 1; }
    done
    # sshd's pam_close_session for the revoked session is no second ending:
    # once the close is counted, the file written with it says no "closed".
    wait_for 10 prom_has 'vigil_decisions_total{service="sshd",phase="close_session",outcome="allow"} 1' ||
        { fail "sshd's close of the revoked session was never counted"; note "metrics" "$PROM" 80; note_logs; return 1; }
    ! grep -q 'vigil_sessions_ended_total{reason="closed"}' "$PROM" ||
        { fail "the revoked session was counted as closed too"; note "metrics" "$PROM" 80; return 1; }
}
tap_case "an ssh session shows in vigil_sessions_live; revoking it counts in the revocation and end counters" \
    session_revoked

# status_is RC: vigilctl status exits RC; its output is left in $out.
status_is() {
    local rc
    out=$("$VIGILCTL" --socket "$ADMIN_SOCK" status 2>&1)
    rc=$?
    expect_rc "vigilctl status" "$1" "$rc" "$out"
}

status_healthy() {
    local out
    status_is 0 || return 1
    expect_match "vigilctl status" "$out" '^status: +healthy$' || return 1
    expect_match "vigilctl status" "$out" '^pdp: +not configured' || return 1
    expect_match "vigilctl status" "$out" '^sessions: +0 live$' || return 1
    expect_match "vigilctl status" "$out" "^metrics: +$PROM\$" || return 1
    expect_match "vigilctl status" "$out" '^policy: +sha256:' || return 1
}
tap_case "vigilctl status says healthy and exits 0" status_healthy

status_json_healthy() {
    "$VIGILCTL" --socket "$ADMIN_SOCK" status --json >"$T/status.json" 2>&1 ||
        { fail "vigilctl status --json exited non-zero"; note "output" "$T/status.json"; return 1; }
    json_expect "status --json" "$T/status.json" healthy=true pdp.configured=false sessions.live=0 grants.live=0 \
        "metrics.textfile=$PROM" ?vigild.policy_version ?recent_problems
}
tap_case "vigilctl status --json says the same for machines" status_json_healthy

dead_pdp() {
    agent_stop || return 1
    local port
    port=$(free_port)
    metrics_config "$T/dead.toml" "[pdp]
protocol = \"authzen\"
urls = [\"http://127.0.0.1:$port\"]
timeout = \"500ms\"
fallback = \"deny\"

[host]
id = \"e2e-host\""
    agent_start "$T/dead.toml" dead-pdp || return 1
    sudo_as vgl-alice true
    expect_nonzero "sudo as vgl-alice with the PDP down (fallback deny)" "$SUDO_RC" "$SUDO_OUT" || return 1
    local out
    status_is 3 || return 1
    expect_match "vigilctl status" "$out" '^status: +UNHEALTHY$' || return 1
    expect_match "vigilctl status" "$out" '^  problem: pdp: the last call gave no usable answer \(connect' || return 1
    "$VIGILCTL" --socket "$ADMIN_SOCK" status --json >"$T/dead.json"
    json_expect "status --json" "$T/dead.json" healthy=false pdp.configured=true pdp.reachable=no \
        "pdp.endpoints.0.url=http://127.0.0.1:$port" ?pdp.last_failure
}
tap_case "a PDP on a dead port: the request falls back to deny, status says UNHEALTHY (exit 3) and why" dead_pdp

pdp_metrics() {
    local err='vigil_pdp_errors_total{kind="connect"} 1'
    wait_for 5 prom_has "$err" || { fail "no $err"; note "metrics" "$PROM" 80; return 1; }
    prom_has 'vigil_pdp_request_duration_seconds_count{pdp="authzen"} 1' ||
        { fail "the PDP call is not in the latency histogram"; note "metrics" "$PROM" 80; return 1; }
}
tap_case "the failed PDP call is counted by kind and timed in the histogram" pdp_metrics

# journal_has EVENT [FIELD=VALUE]: an entry with EVENT's MESSAGE_ID (and the field).
journal_has() {
    python3 - "$T/journal.entries" "$@" <<'PY'
import sys
ids = {"decision": "5d1a6c0e7b2f4a9e8c3d2b1a0f9e8d7c", "agent_started": "7b6cf3cbde8841448b3ee8d97ec1a76d",
       "reload_ok": "541dca6255174f3687845664f3a94b4e", "pdp_unreachable": "4aa288b906c54cbb96782124c02645ed",
       "session_ended_revoked": "12d0530ff7d440488ee33279d15d6992"}
path, event, want = sys.argv[1], sys.argv[2], sys.argv[3:]
for entry in open(path).read().split("\n--\n"):
    fields = entry.split("\n")
    if "MESSAGE_ID=" + ids[event] in fields and all(w in fields for w in want):
        sys.exit(0)
sys.exit(1)
PY
}

journal_events() {
    local e
    for e in "agent_started VIGIL_EVENT=agent_started" "decision VIGIL_SERVICE=sudo VIGIL_USER=vgl-bob VIGIL_OUTCOME=deny" \
        "reload_ok PRIORITY=6" "session_ended_revoked SYSLOG_IDENTIFIER=vigild" "pdp_unreachable PRIORITY=4"; do
        # shellcheck disable=SC2086  # each line is an event and its fields
        journal_has $e || { fail "no journal entry for: $e"; note "journal entries" "$T/journal.entries" 40; return 1; }
    done
    local sent catalog
    sent=$(sed -n 's/^MESSAGE_ID=//p' "$T/journal.entries" | sort -u)
    catalog=$(sed -n 's/^-- //p' "$SRCDIR/conf/catalog/vigil.catalog" | sort -u)
    [ -z "$(comm -23 <(echo "$sent") <(echo "$catalog"))" ] ||
        { fail "MESSAGE_IDs sent but not in the catalog: $(comm -23 <(echo "$sent") <(echo "$catalog"))"; return 1; }
}
tap_case "journald gets the start, each decision, the reload, the revoke and the PDP failure with their MESSAGE_IDs" \
    journal_events

final_write() {
    agent_stop || return 1
    prom_has 'vigil_up 0' || { fail "the file left at exit does not say vigil_up 0"; note "metrics" "$PROM" 60; return 1; }
    local left
    left=$(find "$T/textfiles" -mindepth 1 ! -name vigil.prom)
    [ -z "$left" ] || { fail "temp files left behind: $left"; return 1; }
}
tap_case "at exit the file is written once more, with vigil_up 0, and no temp file is left" final_write
