# shellcheck shell=bash
# The local rows of bench/run.sh (sourced): what pam_vigil.so costs sshd and
# sudo per request when vigild decides from its own rules.
#
# Per-call latency of one full PAM cycle, in-process through pam_harness
# (pam_start_confdir -> pam_acct_mgmt -> pam_end, timed with steady_clock):
#   pam_permit  the floor: libpam itself (config parse, dlopen, audit message)
#   pam_unix    what every Debian host already pays in its account phase
#   pam_vigil   local rules decided by a running vigild over its unix socket
# and vigild's resident memory idle and after 10,000 decisions; then 200
# clients asking back to back for 60 s (VIGIL_BENCH_LOAD_SECONDS): every
# request answered and allowed, none told "busy", vigild's peak memory and
# threads.
#
# To tell the module's share from the agent's, two more figures (labelled as
# such, never as vigild): pam_vigil against fake_agent answering a canned
# allow (module + socket, no agent work), and the engine's own decision time
# that vigild records as latency_us in each audit record.
#
# Expects: BUILD, T, HARNESS, MOD, VIGILD, FAKE, CALLS, WARMUP (lib.sh sourced).

DECISIONS_FOR_RSS=10000
TARGET_MEDIAN_US=100
TARGET_RSS_MIB=10
TARGET_FLOOR_RATIO=1.15
TARGET_LOAD_RSS_MIB=16
LOAD_CLIENTS=200

# local_harness SERVICE COUNT WARMUP [latency file]: full account cycles as root.
local_harness() {
    if ! harness_as root "$T/pam.d" "$@"; then
        [ -f "$T/vigild.log" ] && tail -n 20 "$T/vigild.log" >&2
        exit 1
    fi
}

local_measure() {
    mkdir -p "$T/pam.d" "$T/state"
    cat >"$T/vigil.toml" <<EOF
[agent]
socket = "$T/pam.sock"
admin_socket = "$T/admin.sock"
grant_socket = "$T/grant.sock"
audit_log = "$T/audit.jsonl"
state_dir = "$T/state"

[pdp]
protocol = "local"

[[rule]]
name = "nobody is refused"
users = ["nobody"]
decision = "deny"

[[rule]]
name = "root may sudo"
services = ["vigil-bench"]
users = ["root"]
decision = "allow"
EOF
    echo "account required pam_permit.so" >"$T/pam.d/bench-permit"
    echo "account required pam_unix.so" >"$T/pam.d/bench-unix"
    echo "account required $MOD socket=$T/pam.sock timeout=3000" >"$T/pam.d/vigil-bench"
    echo "account required $MOD socket=$T/fake.sock timeout=3000" >"$T/pam.d/vigil-noop-peer"

    start_vigild "$T/vigil.toml" "$T/vigild.log" "$T/pam.sock" || exit 1
    AGENT_PID=$VIGILD_PID
    sleep 0.5
    RSS_IDLE=$(rss_kib "$AGENT_PID")

    # The IPC floor: the module against a peer that does no work at all
    # (fake_agent, a canned allow), interleaved with vigild round by round
    # so that both see the same machine.
    local have_fake=
    if [ -x "$FAKE" ]; then
        "$FAKE" --socket "$T/fake.sock" --mode allow 2>/dev/null &
        FAKE_PID=$!
        BENCH_PIDS="$BENCH_PIDS $FAKE_PID"
        for _ in $(seq 100); do [ -S "$T/fake.sock" ] && break; sleep 0.05; done
        have_fake=1
    fi

    echo "bench: local rows: $CALLS calls per stack after $WARMUP warm-up calls ..." >&2
    local start=$SECONDS
    local_harness bench-permit "$CALLS" "$WARMUP" "$T/permit.ns"
    local_harness bench-unix "$CALLS" "$WARMUP" "$T/unix.ns"
    local rounds=${VIGIL_BENCH_ROUNDS:-4} r per warm
    per=$((CALLS / rounds))
    VIGILD_TICKS=0 FAKE_TICKS=0 CALLS_MADE=0
    for r in $(seq "$rounds"); do
        warm=$([ "$r" -eq 1 ] && echo "$WARMUP" || echo 50)
        CALLS_MADE=$((CALLS_MADE + per + warm))  # the CPU counted covers the warm-up calls too
        local t0
        t0=$(cpu_ticks "$AGENT_PID")
        local_harness vigil-bench "$per" "$warm" "$T/vigil.ns.$r"
        VIGILD_TICKS=$((VIGILD_TICKS + $(cpu_ticks "$AGENT_PID") - t0))
        if [ -n "$have_fake" ]; then
            t0=$(cpu_ticks "$FAKE_PID")
            local_harness vigil-noop-peer "$per" "$warm" "$T/noop.ns.$r"
            FAKE_TICKS=$((FAKE_TICKS + $(cpu_ticks "$FAKE_PID") - t0))
        fi
    done
    MEASURED_PER_STACK=$((per * rounds))
    [ -n "$have_fake" ] && stop_pid "$FAKE_PID"

    # Top vigild up to 10,000 decisions since it started, then read its memory.
    DECIDED=$((MEASURED_PER_STACK + WARMUP + 50 * (rounds - 1)))
    if [ "$DECIDED" -lt "$DECISIONS_FOR_RSS" ]; then
        local_harness vigil-bench $((DECISIONS_FOR_RSS - DECIDED)) 0
        DECIDED=$DECISIONS_FOR_RSS
    fi
    sleep 0.2
    RSS_AFTER=$(rss_kib "$AGENT_PID")
    RSS_PEAK=$(hwm_kib "$AGENT_PID")
    AUDIT_RECORDS=$([ -f "$T/audit.jsonl" ] && wc -l <"$T/audit.jsonl" || echo 0)
    # The engine's own time per decision, as vigild records it in the trail.
    grep -o '"latency_us":[0-9]*' "$T/audit.jsonl" 2>/dev/null | cut -d: -f2 >"$T/engine.us" || true
    read -r E_N E_MED E_P99 E_MEAN <<<"$(stats "$T/engine.us" -d 1)"
    F_N=0 F_MED=n/a F_P99=n/a F_MEAN=n/a
    # shellcheck disable=SC2046 # one file per round
    [ -n "$have_fake" ] && read -r F_N F_MED F_P99 F_MEAN <<<"$(stats $(ls "$T"/noop.ns.*))"
    local_load
    AUDIT_RECORDS=$(wc -l <"$T/audit.jsonl")
    stop_pid "$AGENT_PID"

    # The same, with NSS asked on every request ([agent] identity_cache = "0"):
    # what the identity cache saves.
    sed 's/^state_dir = .*/&\nidentity_cache = "0"/' "$T/vigil.toml" >"$T/vigil-nocache.toml"
    rm -f "$T/pam.sock"
    start_vigild "$T/vigil-nocache.toml" "$T/vigild-nocache.log" "$T/pam.sock" || exit 1
    local_harness vigil-bench "$CALLS" "$WARMUP" "$T/vigil-nocache.ns"
    stop_pid "$VIGILD_PID"
    tail -n +"$((AUDIT_RECORDS + 1))" "$T/audit.jsonl" | grep -o '"latency_us":[0-9]*' | cut -d: -f2 >"$T/engine-nocache.us" || true
    read -r EN_N EN_MED EN_P99 EN_MEAN <<<"$(stats "$T/engine-nocache.us" -d 1)"
    LOCAL_ELAPSED=$((SECONDS - start))

    read -r P_N P_MED P_P99 P_MEAN <<<"$(stats "$T/permit.ns")"
    read -r U_N U_MED U_P99 U_MEAN <<<"$(stats "$T/unix.ns")"
    # shellcheck disable=SC2046 # one file per round
    read -r V_N V_MED V_P99 V_MEAN <<<"$(stats $(ls "$T"/vigil.ns.*))"
    read -r N_N N_MED N_P99 N_MEAN <<<"$(stats "$T/vigil-nocache.ns")"
}

# LOAD_CLIENTS pam_harness processes asking back to back for
# VIGIL_BENCH_LOAD_SECONDS against the running vigild. Sets LOAD_* (requests,
# allowed, busy, other failures, p50 and p99 ms, peak VmHWM kB, most threads).
local_load() {
    LOAD_SECONDS=${VIGIL_BENCH_LOAD_SECONDS:-60}
    local i n
    local -a pids=()
    echo "bench: $LOAD_CLIENTS clients for $LOAD_SECONDS s on local rules ..." >&2
    for i in $(seq "$LOAD_CLIENTS"); do
        "$HARNESS" --confdir "$T/pam.d" --service vigil-bench --user root --tty /dev/pts/0 --invoker root \
            --for "$LOAD_SECONDS" --results-out "$T/load.$i" 2>"$T/load.$i.err" &
        pids+=($!)
    done
    LOAD_THREADS=0
    while kill -0 "${pids[0]}" 2>/dev/null; do
        n=$(threads_of "$AGENT_PID")
        [ "${n:-0}" -gt "$LOAD_THREADS" ] && LOAD_THREADS=$n
        sleep 1
    done
    wait "${pids[@]}"
    LOAD_HWM=$(hwm_kib "$AGENT_PID")
    LOAD_BUSY=$(cat "$T"/load.*.err | grep -c "access check busy" || true)
    read -r LOAD_N LOAD_OK LOAD_P50 LOAD_P99 <<<"$(cat "$T"/load.[0-9]* | sort -n | awk '
        { a[NR] = $1; if ($2 == 0) ok++ }
        END { printf "%d %d %.1f %.1f\n", NR, ok, a[int((NR * 50 + 99) / 100)] / 1e6, a[int((NR * 99 + 99) / 100)] / 1e6 }')"
    LOAD_OTHER=$((LOAD_N - LOAD_OK - LOAD_BUSY))
}

local_report() {
    local buildtype sanitize cpu
    buildtype=$(meson configure "$BUILD" 2>/dev/null | awk '$1 == "buildtype" {print $2}' || true)
    sanitize=$(meson configure "$BUILD" 2>/dev/null | awk '$1 == "b_sanitize" {print $2}' || true)
    cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    cat <<EOF
# vigil benchmark

$(date -u '+%Y-%m-%d %H:%M UTC') · $(uname -r) · ${cpu:-unknown CPU} × $(nproc) ·
build \`${BUILD}\` (buildtype ${buildtype:-?}, sanitize ${sanitize:-?})

One call = one full PAM cycle in-process via pam_harness:
\`pam_start_confdir → pam_acct_mgmt → pam_end\` for root, timed with
steady_clock; $WARMUP warm-up calls first. Percentiles are nearest-rank.
Every stack pays libpam's own cost (config parse, dlopen, one audit
netlink message), which the pam_permit row shows.

| stack | calls | median µs | p99 µs | mean µs | median vs pam_permit |
|---|---:|---:|---:|---:|---:|
| pam_permit | $P_N | $P_MED | $P_P99 | $P_MEAN | 1.00 |
| pam_unix (account) | $U_N | $U_MED | $U_P99 | $U_MEAN | $(ratio "$U_MED" "$P_MED") |
| pam_vigil (local rules, vigild) | $V_N | $V_MED | $V_P99 | $V_MEAN | $(ratio "$V_MED" "$P_MED") |
| pam_vigil, identity_cache = "0" (NSS asked every request) | $N_N | $N_MED | $N_P99 | $N_MEAN | $(ratio "$N_MED" "$P_MED") |

- vigil / permit (median): **$(ratio "$V_MED" "$P_MED")×**; p99: $(ratio "$V_P99" "$P_P99")×;
  added per call (median): $(awk -v a="$V_MED" -v b="$P_MED" 'BEGIN {printf "%.1f", a - b}') µs
- pam_vigil median **$V_MED µs** — target ≤ $TARGET_MEDIAN_US µs: $(within "$V_MED" $TARGET_MEDIAN_US)
- pam_vigil / pam_unix (median): $(ratio "$V_MED" "$U_MED")×
- identity cache: pam_vigil median $V_MED µs with it, $N_MED µs with NSS asked every request
  ($(ratio "$V_MED" "$N_MED")×)

Against the IPC floor (pam_vigil talking to fake_agent, which answers a
canned allow at once: module, socket and wake-ups, no agent work),
interleaved round by round with the vigild row:

- pam_vigil with vigild / with fake_agent (median): **$(ratio "$V_MED" "$F_MED")×** — target ≤ $TARGET_FLOOR_RATIO: $(within "$(ratio "$V_MED" "$F_MED")" $TARGET_FLOOR_RATIO)
- CPU per request: vigild $(us_per_call "$VIGILD_TICKS" "$CALLS_MADE") µs, fake_agent $(us_per_call "$FAKE_TICKS" "$CALLS_MADE") µs (user + system, from /proc/PID/stat)

Where pam_vigil's time goes (breakdown only, not a vigild measurement):

| part | calls | median µs | p99 µs | mean µs |
|---|---:|---:|---:|---:|
| pam_vigil → fake_agent canned allow (module + socket, no agent work) | $F_N | $F_MED | $F_P99 | $F_MEAN |
| vigild engine per decision (audit \`latency_us\`: identity + rules) | $E_N | $E_MED | $E_P99 | $E_MEAN |
| the same, identity_cache = "0" (an NSS lookup each) | $EN_N | $EN_MED | $EN_P99 | $EN_MEAN |

| vigild memory | VmRSS MiB | target |
|---|---:|---|
| idle, after start | $(mib "$RSS_IDLE") | ≤ $TARGET_RSS_MIB MiB: $(within "$(mib "$RSS_IDLE")" $TARGET_RSS_MIB) |
| after $DECIDED decisions | $(mib "$RSS_AFTER") | ≤ $TARGET_RSS_MIB MiB: $(within "$(mib "$RSS_AFTER")" $TARGET_RSS_MIB) |
| peak (VmHWM) | $(mib "$RSS_PEAK") | |

$LOAD_CLIENTS clients asking back to back for $LOAD_SECONDS s (no pause between
requests; the same vigild):

| requests | allowed | told busy | not answered or denied | p50 ms | p99 ms | vigild VmHWM MiB | threads (most) |
|---:|---:|---:|---:|---:|---:|---:|---:|
| $LOAD_N | $LOAD_OK | $LOAD_BUSY | $LOAD_OTHER | $LOAD_P50 | $LOAD_P99 | $(mib "$LOAD_HWM") | $LOAD_THREADS |

- none told busy, none unanswered: $([ "$LOAD_BUSY" -eq 0 ] && [ "$LOAD_OTHER" -eq 0 ] && echo "within target" || echo "OVER target")
- peak memory under load: $(mib "$LOAD_HWM") MiB — target ≤ $TARGET_LOAD_RSS_MIB MiB: $(within "$(mib "$LOAD_HWM")" $TARGET_LOAD_RSS_MIB)

Audit records written: $AUDIT_RECORDS · measured in ${LOCAL_ELAPSED} s.
EOF
}
