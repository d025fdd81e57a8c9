#!/bin/bash
# vigild restarted under load, as the packages run it: a real systemd
# manager (systemd --user, tests/e2e/systemd_user.sh) holds the PAM and
# admin sockets (a .socket unit) and runs vigild as a Type=notify service.
# 20 PAM clients ask back to back while the service is restarted three
# times: every request is answered by one vigild or the next (the socket
# never goes away; connections made meanwhile wait in its backlog), none
# is left to the module's deadline, every allow is in the trail, and each
# vigild stops on its own (its loop reads SIGTERM however busy it is).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/systemd_user.sh"
e2e_enter_ns "$@"

tap_plan 3

CLIENTS=20
SECONDS_LOAD=12

measured() { echo "# measured: $*"; }

setup() {
    e2e_setup_system
    sdu_start "$T/sdu" || { fail "systemd --user did not start"; return 1; }
    pam_sudo_vigil timeout=3000
    standard_rules | write_config "$T/vigil.toml"
    sdu_unit vigild-test.socket \
        "ListenStream=$PAM_SOCK" "ListenStream=$ADMIN_SOCK" "SocketMode=0600" "Service=vigild-test.service" || return 1
    # The sanitizer settings of this run reach vigild through the unit.
    sdu_unit vigild-test.service "Type=notify" "NotifyAccess=main" \
        "Environment=ASAN_OPTIONS=${ASAN_OPTIONS:-} UBSAN_OPTIONS=${UBSAN_OPTIONS:-}" \
        "ExecStart=$VIGILD --config $T/vigil.toml" "StandardError=append:$T/vigild.log" || return 1
    AGENT_LOG=$T/vigild.log
    sdu_start_unit vigild-test.socket || return 1
    [ -S "$PAM_SOCK" ] || { fail "the socket unit did not create $PAM_SOCK"; return 1; }
    # The first request starts the service.
    local out
    out=$("$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sudo --user vgl-alice --tty /dev/pts/0 --invoker vgl-alice 2>&1) ||
        { fail "the first request (socket activation) was not allowed"; note_text "pam_harness" "$out"; note "vigild" "$T/vigild.log"; return 1; }
    [ "$(sdu_active_state vigild-test.service)" = active ] || { fail "vigild-test.service is not active after the first request"; return 1; }
}
tap_case "setup: systemd --user holds vigild's sockets; the first request starts vigild (Type=notify)" setup ||
    e2e_abort "the manager or vigild did not start"

# Allow records written since audit_mark, and a test that there are more than N.
trail_allows() { tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | grep -c '"outcome":"allow"' || true; }
allows_above() { [ "$(trail_allows)" -gt "$1" ]; }

restarts_under_load() {
    audit_mark
    local -a pids=()
    local i
    for i in $(seq "$CLIENTS"); do
        "$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sudo --user vgl-alice --tty /dev/pts/0 --invoker vgl-alice \
            --for "$SECONDS_LOAD" --results-out "$T/load.$i.results" 2>"$T/load.$i.err" &
        pids+=($!)
    done
    local main0 main1 restarts=0
    main0=$(systemctl --user show -p MainPID --value vigild-test.service)
    # Each vigild serves its share of the load before it is restarted.
    for i in 1 2 3; do
        wait_for 10 allows_above $((i * 150)) || { fail "restart $i: vigild served under 150 requests in 10 s"; break; }
        sdu_systemctl restart vigild-test.service >/dev/null || { fail "restart $i failed"; break; }
        restarts=$((restarts + 1))
    done
    main1=$(systemctl --user show -p MainPID --value vigild-test.service)
    for i in "${pids[@]}"; do wait "$i"; done
    local counts
    counts=$(cat "$T"/load.*.results | awk '{ n++; if ($2 == 0) ok++; else bad++; if ($1 > max) max = $1 } END { printf "%d %d %d %.1f", n, ok, bad, max / 1e6 }')
    local n ok bad max
    read -r n ok bad max <<<"$counts"
    local allows
    allows=$(trail_allows)
    measured "$CLIENTS clients x ${SECONDS_LOAD}s, $restarts restarts of vigild (pid $main0 -> $main1): $n requests, $ok allowed, $bad not; slowest $max ms; $allows allows in the trail"
    [ "$main0" != "$main1" ] || { fail "vigild's pid did not change: it was not restarted"; return 1; }
    [ "$bad" -eq 0 ] || { fail "$bad requests were not allowed across the restarts"; cat "$T"/load.*.err | sort | uniq -c | sort -rn | head -5 | tap_diag; note "vigild" "$T/vigild.log" 20; return 1; }
    [ "$allows" -eq "$ok" ] || { fail "$ok requests allowed but $allows allow records"; return 1; }
    # Each vigild stopped on its own, having answered what it held: not
    # killed by the manager at TimeoutStopSec because a busy loop never
    # read its SIGTERM.
    local stops
    stops=$(grep -c "stopping: finishing requests in flight" "$T/vigild.log")
    [ "$stops" -eq "$restarts" ] || { fail "$restarts restarts but vigild stopped on its own $stops times"; note "vigild" "$T/vigild.log" 20; return 1; }
}
tap_case "$CLIENTS clients for ${SECONDS_LOAD}s while vigild.service restarts 3 times: every request answered and allowed, every allow audited, each vigild stopped on its own" \
    restarts_under_load

chain_and_stop() {
    "$VIGILCTL" audit verify "$AUDIT_LOG" >"$T/verify.out" 2>&1 || { note "audit verify" "$T/verify.out"; fail "the trail does not verify across the restarts"; return 1; }
    local starts
    starts=$(grep -c "listening on" "$T/vigild.log")
    [ "$starts" -ge 4 ] || { fail "vigild started $starts times, expected 4"; note "vigild" "$T/vigild.log" 20; return 1; }
    sdu_stop_unit vigild-test.service >/dev/null && sdu_stop_unit vigild-test.socket >/dev/null
}
tap_case "the trail's chain runs unbroken across the 4 vigild processes" chain_and_stop
