#!/bin/bash
# Load: 200 concurrent PAM clients for 60 s against vigild deciding every
# request with a real Cerbos. Each client is a pam_harness process running
# sudo's account phase through pam_vigil.so back to back. Every request must
# be answered: allowed, or denied with the explicit "busy" answer when
# vigild's bounded queue is full; never left to the module's deadline
# ("access check unavailable"). Every allow is in the trail, and the trail
# still verifies. Then an overload (one worker, a 200 ms budget): requests
# that cannot be decided in time are told busy before the module gives up,
# still none unanswered. p50/p99 and vigild's peak memory are reported.
#
# VIGIL_LOAD_CLIENTS (200; 64 in the sanitized tree; the overload takes at
# most 64) and VIGIL_LOAD_SECONDS (60) scale it. Under ASan every client is instrumented too: 200 of them
# spend the two CPUs of the CI machine on themselves, and what is measured
# is the scheduler, not vigild (a client not run until after its own
# deadline cannot be answered in time by any server). The sanitized tree is
# there for memory errors under concurrency; 64 clients against 64 workers,
# and against one, still make every queue and the busy path work.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 4

DEFAULT_CLIENTS=200
[ -n "${E2E_SANITIZED:-}" ] && DEFAULT_CLIENTS=64
CLIENTS=${VIGIL_LOAD_CLIENTS:-$DEFAULT_CLIENTS}
SECONDS_LOAD=${VIGIL_LOAD_SECONDS:-60}
OVERLOAD_SECONDS=10
OVERLOAD_CLIENTS=$((CLIENTS < 64 ? CLIENTS : 64))
CERBOS_STARTED=
_load_rc=0
trap '_load_rc=$?; [ -n "$CERBOS_STARTED" ] && "$SRCDIR/tests/pdp/cerbos.sh" stop "$T/cerbos" >/dev/null 2>&1; (exit $_load_rc); _e2e_cleanup' EXIT

measured() { echo "# measured: $*"; }

write_policy() {
    mkdir -p "$T/policies"
    cat >"$T/policies/host.yaml" <<'EOF'
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: "default"
  resource: "host"
  rules:
    - name: ops-sudo
      actions: ["sudo"]
      effect: EFFECT_ALLOW
      roles: ["vgl-ops"]
EOF
}

# load_config MAX_CONCURRENT: Cerbos decides; no cache, so every request
# is a round trip to the PDP.
load_config() {
    write_agent_config "$T/vigil.toml" <<EOF
[pdp]
protocol = "cerbos"
urls = ["$CERBOS_URL"]
timeout = "2s"
fallback = "deny"
EOF
    sed -i "s|^state_dir = .*|&\nmax_concurrent = $1|" "$T/vigil.toml"
}

setup() {
    e2e_setup_system
    write_policy
    "$SRCDIR/tests/pdp/install.sh" >/dev/null 2>"$T/install.err" ||
        { note "tests/pdp/install.sh" "$T/install.err"; fail "cannot install Cerbos"; return 1; }
    "$SRCDIR/tests/pdp/cerbos.sh" start "$T/cerbos" --policies "$T/policies" >"$T/cerbos.out" 2>&1 ||
        { note "cerbos.sh start" "$T/cerbos.out" 30; fail "Cerbos did not start"; return 1; }
    CERBOS_STARTED=1
    # shellcheck disable=SC1091
    . "$T/cerbos/cerbos.env"
    pam_sudo_vigil timeout=3000
    load_config 64
    agent_start "$T/vigil.toml" || return 1
    # One request through the whole chain before the load.
    "$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sudo --user vgl-alice --tty /dev/pts/0 --invoker vgl-alice \
        --quiet >"$T/probe.out" 2>&1 || { note "pam_harness" "$T/probe.out"; fail "vigil-alice's sudo is not allowed"; return 1; }
}
tap_case "setup: Cerbos, vigild (protocol cerbos, max_concurrent 64), a sudo stack; one request allowed" setup ||
    e2e_abort "Cerbos or vigild did not start"

# vigild's VmRSS (kB), sampled every 200 ms into FILE until it is removed.
sample_rss() {
    local file=$1
    while [ -e "$file" ]; do
        awk '/^VmRSS/ { print $2 }' "/proc/$AGENT_PID/status" >>"$file" 2>/dev/null
        sleep 0.2
    done
}

# run_clients NAME SECONDS: CLIENTS pam_harness processes, each asking
# for SECONDS; each cycle's latency and PAM result in $T/NAME.<i>.results,
# what the module told the user in .err.
run_clients() {
    local name=$1 secs=$2 i
    local -a pids=()
    for i in $(seq "$CLIENTS"); do
        ASAN_OPTIONS=${ASAN_OPTIONS:-} "$PAM_HARNESS" --confdir "$T/etc/pam.d" --service sudo --user vgl-alice \
            --tty /dev/pts/0 --invoker vgl-alice --for "$secs" --results-out "$T/$name.$i.results" 2>"$T/$name.$i.err" &
        pids+=($!)
    done
    local bad=0
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}"
        case $? in
            0 | 16) ;; # all allowed; or some denied (PAM_PERM_DENIED), judged below
            *) bad=$((bad + 1)) ;;
        esac
    done
    CLIENTS_BAD=$bad
}

# tally NAME: what CLIENTS clients saw, checked against the trail after
# AUDIT_MARK. Prints: requests allowed busy denied_by_pdp_fallback
# unanswered other_messages p50_allowed_ms p99_allowed_ms p99_all_ms max_ms.
# A deny the trail holds was answered (the PDP could not decide in time:
# [pdp] fallback); a busy answer is not a decision and is not audited; any
# other failed cycle went unanswered (the module gave up: failmode).
tally() {
    tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" >"$T/$1.trail"
    python3 - "$T" "$1" "$CLIENTS" <<'PYEOF'
import json, sys
t, name, clients = sys.argv[1], sys.argv[2], int(sys.argv[3])
allowed_ns, all_ns, failed, busy, other = [], [], 0, 0, 0
for i in range(1, clients + 1):
    with open(f"{t}/{name}.{i}.results") as f:
        for line in f:
            ns, code = (int(x) for x in line.split())
            all_ns.append(ns)
            if code == 0:
                allowed_ns.append(ns)
            else:
                failed += 1
    with open(f"{t}/{name}.{i}.err", errors="replace") as f:
        for line in f:
            if "access check busy" in line:
                busy += 1
            elif "access check unavailable" in line or line.startswith("pam_harness: "):
                pass
            elif line.strip():
                other += 1
audited_denies = 0
with open(f"{t}/{name}.trail") as f:
    for line in f:
        r = json.loads(line)
        if r.get("outcome") == "deny":
            audited_denies += 1
            if "pdp" not in json.dumps(r.get("reason_admin", "")).lower():
                other += 1  # a deny for another reason than the PDP
unanswered = failed - busy - audited_denies
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] / 1e6 if v else 0.0
print(len(all_ns), len(allowed_ns), busy, audited_denies, unanswered, other,
      f"{pct(allowed_ns, 0.5):.1f}", f"{pct(allowed_ns, 0.99):.1f}", f"{pct(all_ns, 0.99):.1f}",
      f"{max(all_ns) / 1e6 if all_ns else 0:.1f}")
PYEOF
}

allows_in_trail() { # from the line after MARK
    tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | grep -c '"outcome":"allow"' || true
}

LOAD_ALLOWED=0
full_load() {
    audit_mark
    local rss_file=$T/rss.load
    : >"$rss_file.run"
    sample_rss "$rss_file.run" &
    local sampler=$!
    local t0 t1
    t0=$(now_ms)
    run_clients load "$SECONDS_LOAD"
    t1=$(now_ms)
    mv "$rss_file.run" "$rss_file"
    wait "$sampler" 2>/dev/null
    local cycles allowed busy fallback unanswered other p50 p99 p99all pmax
    read -r cycles allowed busy fallback unanswered other p50 p99 p99all pmax <<<"$(tally load)"
    local peak
    peak=$(sort -n "$rss_file" | tail -n 1)
    measured "$CLIENTS clients x ${SECONDS_LOAD}s, no pause between requests: $cycles requests in $(((t1 - t0) / 1000)) s ($((cycles * 1000 / (t1 - t0)))/s); allowed $allowed, told busy $busy, denied by [pdp] fallback (Cerbos too slow) $fallback, unanswered $unanswered"
    measured "latency of allowed requests p50 $p50 ms, p99 $p99 ms; of all requests p99 $p99all ms, max $pmax ms; vigild peak VmRSS $((${peak:-0} / 1024)) MiB"
    LOAD_ALLOWED=$allowed
    [ "$cycles" -gt "$CLIENTS" ] || { fail "only $cycles requests were made"; return 1; }
    [ "$CLIENTS_BAD" -eq 0 ] || { fail "$CLIENTS_BAD clients ended with something other than allow or deny"; note "a client's messages" "$T/load.1.err"; return 1; }
    [ "$unanswered" -eq 0 ] || { fail "$unanswered requests went unanswered (the module's failmode)"; note_logs; return 1; }
    [ "$other" -eq 0 ] || { fail "$other denials were neither busy answers nor PDP fallbacks"; note "a client's messages" "$T/load.1.err"; return 1; }
    [ "$allowed" -gt 0 ] || { fail "nothing was allowed"; return 1; }
}
tap_case "$CLIENTS clients for ${SECONDS_LOAD}s: every request answered (allowed, told busy, or denied by the PDP fallback), none left to the deadline" full_load

trail_holds() {
    local n
    n=$(allows_in_trail)
    [ "$n" -eq "$LOAD_ALLOWED" ] || { fail "$LOAD_ALLOWED requests were allowed but the trail holds $n allow records"; return 1; }
    "$VIGILCTL" audit verify "$AUDIT_LOG" >"$T/verify.out" 2>&1 || { note "vigilctl audit verify" "$T/verify.out"; fail "the trail does not verify after the load"; return 1; }
    "$VIGILCTL" --socket "$ADMIN_SOCK" ping >/dev/null 2>&1 || { fail "vigild does not answer after the load"; note_logs; return 1; }
    measured "trail: $n allow records for $LOAD_ALLOWED allowed requests; chain verified"
    local shared
    shared=$(tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | grep -c '"shared_with"' || true)
    measured "PDP calls shared by identical questions asked at once: $shared of $n requests answered by another's call"
}
tap_case "every allowed request is in the trail, the chain verifies, vigild still answers" trail_holds

# A request waits for a worker while it can still be answered in time; one
# worker serves ~700-800 requests/s against Cerbos here, so of 64 clients
# with 200 ms each (told busy after 50 ms waiting) many must be, none left
# to time out. Not 200: with 200 clients and Cerbos on two CPUs some client
# is not run again until after its own deadline, which no server can meet
# (on a slow day c6c18e5 left 4 of 21,085 unanswered, 9f46187 1 of 22,601);
# that measures the scheduler, as 02b5f2d found for the sanitized tree. The sanitized build runs several times slower (600 ms,
# still overloaded).
overload() {
    local CLIENTS=$OVERLOAD_CLIENTS budget=200
    [ -n "${E2E_SANITIZED:-}" ] && budget=600
    agent_stop || return 1
    load_config 1
    pam_sudo_vigil timeout=$budget
    agent_start "$T/vigil.toml" || return 1
    audit_mark
    run_clients over "$OVERLOAD_SECONDS"
    local cycles allowed busy fallback unanswered other p50 p99 p99all pmax
    read -r cycles allowed busy fallback unanswered other p50 p99 p99all pmax <<<"$(tally over)"
    measured "max_concurrent 1, timeout=$budget, $CLIENTS clients x ${OVERLOAD_SECONDS}s: $cycles requests; allowed $allowed, told busy $busy, denied by fallback $fallback, unanswered $unanswered; p99 allowed $p99 ms, all $p99all ms"
    [ "$busy" -gt 0 ] || { fail "no request was told busy with 1 worker for $CLIENTS clients"; return 1; }
    [ "$unanswered" -eq 0 ] || { fail "$unanswered requests went unanswered (the module's failmode)"; note_logs; return 1; }
    [ "$other" -eq 0 ] || { fail "$other denials were neither busy answers nor PDP fallbacks"; return 1; }
    [ "$allowed" -gt 0 ] || { fail "nothing was allowed under overload"; return 1; }
    local n
    n=$(allows_in_trail)
    [ "$n" -eq "$allowed" ] || { fail "$allowed allowed but $n allow records"; return 1; }
    grep -q 'answered peer pid .* "busy"' "$AGENT_LOG" || { fail "vigild did not log its busy answers"; note_logs; return 1; }
}
tap_case "overload (max_concurrent 1, 64 clients, a 200 ms budget, 600 ms sanitized): explicit busy denials in time, logged; none unanswered; allows audited" overload
