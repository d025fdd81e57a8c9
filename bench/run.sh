#!/bin/bash
# bench/run.sh BUILD_DIR — what pam_vigil.so costs sshd and sudo per request.
#
# A benchmark, not a test: it prints numbers and the targets beside them and
# fails only when it cannot measure (a stack that does not return
# PAM_SUCCESS, an agent that does not start).
#
# Per-call latency of one full PAM cycle, in-process through pam_harness
# (pam_start_confdir -> pam_acct_mgmt -> pam_end, timed with steady_clock):
#   pam_permit  the floor: libpam itself (config parse, dlopen, audit message)
#   pam_unix    what every Debian host already pays in its account phase
#   pam_vigil   local rules decided by a running vigild over its unix socket
# and vigild's resident memory idle and after 10,000 decisions.
#
# To tell the module's share from the agent's, two more figures (labelled as
# such, never as vigild): pam_vigil against fake_agent answering a canned
# allow (module + socket, no agent work), and the engine's own decision time
# that vigild records as latency_us in each audit record.
#
# Results go to stdout and BUILD_DIR/bench/results.md.
# Environment: VIGIL_BENCH_CALLS (default 5000), VIGIL_BENCH_WARMUP (500).
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
CALLS=${VIGIL_BENCH_CALLS:-5000}
WARMUP=${VIGIL_BENCH_WARMUP:-500}
DECISIONS_FOR_RSS=10000
TARGET_MEDIAN_US=100
TARGET_RSS_MIB=10

HARNESS=$BUILD/tests/tools/pam_harness
MOD=$BUILD/pam_module/pam_vigil.so
VIGILD=$BUILD/agent/vigild
FAKE=$BUILD/tests/tools/fake_agent
for f in "$HARNESS" "$VIGILD"; do
    [ -x "$f" ] || { echo "bench: $f missing; build first (make)" >&2; exit 1; }
done
[ -f "$MOD" ] || { echo "bench: $MOD missing; build first (make)" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
    echo "bench: warning: not root; pam_unix then checks shadow through unix_chkpwd" >&2
fi

umask 077
T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
AGENT_PID=
FAKE_PID=
cleanup() {
    local pid
    for pid in $AGENT_PID $FAKE_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT

# ------------------------------------------------------------ fixtures ----

mkdir -p "$T/pam.d" "$T/state"
cat >"$T/vigil.toml" <<EOF
[agent]
socket = "$T/pam.sock"
admin_socket = "$T/admin.sock"
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

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# harness SERVICE COUNT WARMUP [latency file]: full account cycles as root.
harness() {
    local svc=$1 count=$2 warmup=$3 out=${4:-}
    local args=(--confdir "$T/pam.d" --service "$svc" --user root --tty /dev/pts/0
        --ruser root --count "$count" --warmup "$warmup" --quiet)
    [ -n "$out" ] && args+=(--latency-out "$out")
    if ! "$HARNESS" "${args[@]}" 2>"$T/harness.err"; then
        echo "bench: $svc did not return PAM_SUCCESS; numbers would be meaningless" >&2
        cat "$T/harness.err" >&2
        [ -f "$T/vigild.log" ] && tail -n 20 "$T/vigild.log" >&2
        exit 1
    fi
}

# stats FILE [DIVISOR] -> "calls median p99 mean" (nearest-rank percentiles);
# latency files hold ns, so the default divisor gives µs.
stats() {
    sort -n "$1" | awk -v div="${2:-1000}" '
        { a[NR] = $1; sum += $1 }
        END {
            if (NR == 0) { print "0 n/a n/a n/a"; exit }
            m = int((NR * 50 + 99) / 100); p = int((NR * 99 + 99) / 100)
            printf "%d %.1f %.1f %.1f\n", NR, a[m] / div, a[p] / div, sum / NR / div
        }'
}

# ---------------------------------------------------------------- agent ----

"$VIGILD" --config "$T/vigil.toml" 2>"$T/vigild.log" &
AGENT_PID=$!
for _ in $(seq 200); do
    [ -S "$T/pam.sock" ] && break
    kill -0 "$AGENT_PID" 2>/dev/null || break
    sleep 0.05
done
if [ ! -S "$T/pam.sock" ]; then
    echo "bench: vigild did not start:" >&2
    tail -n 20 "$T/vigild.log" >&2
    exit 1
fi
sleep 0.5
RSS_IDLE=$(rss_kib "$AGENT_PID")

# ---------------------------------------------------------- latencies ----

echo "bench: $CALLS calls per stack after $WARMUP warm-up calls ..." >&2
START=$SECONDS
harness bench-permit "$CALLS" "$WARMUP" "$T/permit.ns"
harness bench-unix "$CALLS" "$WARMUP" "$T/unix.ns"
harness vigil-bench "$CALLS" "$WARMUP" "$T/vigil.ns"

# Top vigild up to 10,000 decisions since it started, then read its memory.
DECIDED=$((CALLS + WARMUP))
if [ "$DECIDED" -lt "$DECISIONS_FOR_RSS" ]; then
    harness vigil-bench $((DECISIONS_FOR_RSS - DECIDED)) 0
    DECIDED=$DECISIONS_FOR_RSS
fi
sleep 0.2
RSS_AFTER=$(rss_kib "$AGENT_PID")
RSS_PEAK=$(hwm_kib "$AGENT_PID")
AUDIT_RECORDS=$( [ -f "$T/audit.jsonl" ] && wc -l <"$T/audit.jsonl" || echo 0)
# The engine's own time per decision, as vigild records it in the trail.
grep -o '"latency_us":[0-9]*' "$T/audit.jsonl" 2>/dev/null | cut -d: -f2 >"$T/engine.us" || true
read -r E_N E_MED E_P99 E_MEAN <<<"$(stats "$T/engine.us" 1)"

# Breakdown: the module against a peer that does no work at all.
F_N=0 F_MED=n/a F_P99=n/a F_MEAN=n/a
if [ -x "$FAKE" ]; then
    "$FAKE" --socket "$T/fake.sock" --mode allow 2>/dev/null &
    FAKE_PID=$!
    for _ in $(seq 100); do [ -S "$T/fake.sock" ] && break; sleep 0.05; done
    harness vigil-noop-peer "$CALLS" "$WARMUP" "$T/noop.ns"
    read -r F_N F_MED F_P99 F_MEAN <<<"$(stats "$T/noop.ns")"
fi
ELAPSED=$((SECONDS - START))

read -r P_N P_MED P_P99 P_MEAN <<<"$(stats "$T/permit.ns")"
read -r U_N U_MED U_P99 U_MEAN <<<"$(stats "$T/unix.ns")"
read -r V_N V_MED V_P99 V_MEAN <<<"$(stats "$T/vigil.ns")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a + 0 == a && b > 0) printf "%.2f", a / b; else printf "n/a"}'; }
within() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t ? "within target" : "OVER target")}'; }

buildtype=$(meson configure "$BUILD" 2>/dev/null | awk '$1 == "buildtype" {print $2}' || true)
sanitize=$(meson configure "$BUILD" 2>/dev/null | awk '$1 == "b_sanitize" {print $2}' || true)
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)

report() {
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

- vigil / permit (median): **$(ratio "$V_MED" "$P_MED")×**; p99: $(ratio "$V_P99" "$P_P99")×;
  added per call (median): $(awk -v a="$V_MED" -v b="$P_MED" 'BEGIN {printf "%.1f", a - b}') µs
- pam_vigil median **$V_MED µs** — target ≤ $TARGET_MEDIAN_US µs: $(within "$V_MED" $TARGET_MEDIAN_US)
- pam_vigil / pam_unix (median): $(ratio "$V_MED" "$U_MED")×

Where pam_vigil's time goes (breakdown only, not a vigild measurement):

| part | calls | median µs | p99 µs | mean µs |
|---|---:|---:|---:|---:|
| pam_vigil → fake_agent canned allow (module + socket, no agent work) | $F_N | $F_MED | $F_P99 | $F_MEAN |
| vigild engine per decision (audit \`latency_us\`: NSS lookup + rules) | $E_N | $E_MED | $E_P99 | $E_MEAN |

| vigild memory | VmRSS MiB | target |
|---|---:|---|
| idle, after start | $(mib "$RSS_IDLE") | ≤ $TARGET_RSS_MIB MiB: $(within "$(mib "$RSS_IDLE")" $TARGET_RSS_MIB) |
| after $DECIDED decisions | $(mib "$RSS_AFTER") | ≤ $TARGET_RSS_MIB MiB: $(within "$(mib "$RSS_AFTER")" $TARGET_RSS_MIB) |
| peak (VmHWM) | $(mib "$RSS_PEAK") | |

Audit records written: $AUDIT_RECORDS · measured in ${ELAPSED} s.
EOF
}

mkdir -p "$BUILD/bench"
report | tee "$BUILD/bench/results.md"
echo "bench: written to $BUILD/bench/results.md" >&2
