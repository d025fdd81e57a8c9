# shellcheck shell=bash
# The remote-PDP rows of bench/run.sh (sourced): pam_vigil → vigild → Cerbos
# against what it cannot beat and what people do without it, on one machine,
# one Cerbos (tests/pdp/cerbos.sh, policies tests/pdp/policies), one policy.
#
#   uncached    pam_vigil → vigild → Cerbos, a full PAM cycle per call
#   floor       pdp_floor (bench/pdp_floor.cc): one libcurl handle POSTing
#               vigild's own request to Cerbos back to back over one
#               keep-alive connection, each request timed. The body is the
#               one vigild sent for a real PAM request, recorded by
#               bench/capture_pdp.py (a pass-through a throwaway vigild asks)
#   paced floor the same with a pause between requests as long as the rest
#               of a PAM cycle, as Cerbos sees vigild's requests (a control:
#               how much of the gap to the floor is the pacing alone)
#   cached      pam_vigil with vigild's positive cache on (cache_allow_seconds
#               = 60, service in cache_services): repeated identical allows
#   local rule  pam_vigil with a local allow rule for the same user, no PDP:
#               what a cache hit cannot undercut (same NSS lookups)
#   pam_exec    account required pam_exec.so quiet pam_exec_cerbos.sh ...:
#               a shell, `id` and a curl process per call (fewer calls: slow)
# These run interleaved in VIGIL_BENCH_ROUNDS rounds (default 4), so that
# load from anything else on the machine falls on all of them alike.
#   IPC floor   pam_vigil against fake_agent (a canned allow at once), the
#               same user and service: what the cached path is measured by
# Then throughput at 1, 8, 64 and 200 concurrent pam_harness processes (a
# fixed count each, total wall time) and, for comparison, 64 pdp_floor
# processes asking Cerbos directly; vigild's memory and threads idle, under
# load and 30 s after it; and whether vigild reuses its connections to
# Cerbos. That is counted over
# every stretch in which the uncached vigild was deciding (its latency
# segments and the throughput levels; nothing else talks to Cerbos then),
# two ways:
#   - the kernel's TCP counters of the bench's private network namespace
#     (/proc/net/snmp: ActiveOpens = connect()s, PassiveOpens = accepts);
#   - `ss -tanp` snapshots (every 100 ms and at each stretch's end) of every
#     socket to Cerbos' port in any state: a connection closed by either
#     side stays in TIME-WAIT for 60 s, so no source port slips through.
# As a check of the method, the same counting runs over one round of
# pam_exec + curl, which must show one connection per call.
#
# The policy is the shipped conf/cerbos/host.yaml, which allows nothing unless
# the EDR sensor's unit is known to run: a real `systemd --user` (tests/e2e/
# systemd_user.sh) runs a unit of that name, every vigild follows it, and the
# pam_exec script is handed the same posture.
# The PAM service is `sudo` (Cerbos action "sudo"); the user vgl-bench is in
# a group `ops` (policy rule ops-sudo; host label sensitivity=low), created
# in the bench's private mount namespace by bind-mounting copies of
# /etc/passwd and /etc/group. Needs root and that namespace (run.sh enters
# it); CERBOS_BIN set by run.sh.
#
# Expects: BUILD, T, BENCH_DIR, SRCDIR, HARNESS, MOD, VIGILD, FLOOR_BIN
# (lib.sh sourced).

PDP_CALLS=${VIGIL_BENCH_PDP_CALLS:-2000}     # per path, over all rounds
PDP_WARMUP=${VIGIL_BENCH_PDP_WARMUP:-200}    # per path, over all rounds
EXEC_CALLS=${VIGIL_BENCH_EXEC_CALLS:-300}
EXEC_WARMUP=${VIGIL_BENCH_EXEC_WARMUP:-12}
ROUNDS=${VIGIL_BENCH_ROUNDS:-4}
TP_TOTAL=${VIGIL_BENCH_TP_TOTAL:-3072}       # cycles per concurrency level
TP_LEVELS="1 8 64 200"
TARGET_CACHED_FLOOR_RATIO=1.15  # cached decision vs the IPC floor, same user and service
TARGET_DIRECT_SHARE=80          # % of the throughput the same clients get from Cerbos directly
DIRECT_CLIENTS=64
BENCH_USER=vgl-bench
HOST_ID=bench-01
PDP_MAX_CONNECTIONS=8  # vigild's default [pdp] max_connections
TARGET_FLOOR_PLUS_US=300
TARGET_EXEC_FACTOR=10
TARGET_CACHED_US=100
EDR_UNIT=falcon-sensor.service  # conf/cerbos/host.yaml's edr_signal: systemd.unit.<this>

# ------------------------------------------------------------- set-up ----

# next_free_id START: the first id from START that no user or group in the
# copies under T/etc has.
next_free_id() {
    local id=$1
    while cut -d: -f3 "$T/etc/passwd" "$T/etc/group" | grep -qx "$id"; do id=$((id + 1)); done
    echo "$id"
}

# add_user NAME: a user NAME with a group of its own (same id), no login, in
# the copies under T/etc.
add_user() {
    grep -q "^$1:" "$T/etc/passwd" && return 0
    local id
    id=$(next_free_id 29901)
    echo "$1:x:$id:$id:vigil bench:/nonexistent:/usr/sbin/nologin" >>"$T/etc/passwd"
    echo "$1:x:$id:" >>"$T/etc/group"
}

# The bench users, in a group named ops, visible through NSS in this mount
# namespace only.
pdp_setup_user() {
    if [ -z "${VIGIL_BENCH_HOST_MNTNS:-}" ] ||
        [ "$(readlink /proc/self/ns/mnt)" = "$VIGIL_BENCH_HOST_MNTNS" ]; then
        echo "bench: refusing to bind-mount over /etc outside a private mount namespace" >&2
        return 1
    fi
    mkdir -p "$T/etc"
    chmod 755 "$T" "$T/etc"
    cp /etc/passwd /etc/group "$T/etc/"
    # The bench user, and the users of the AuthZEN batching rows (pdp_batch.sh).
    local users=("$BENCH_USER") u i
    for i in $(seq "$BATCH_USERS"); do users+=("$(batch_user "$i")"); done
    for u in "${users[@]}"; do add_user "$u"; done
    if grep -q '^ops:' "$T/etc/group"; then
        # The host has an ops group: add the bench users to it (copy only).
        for u in "${users[@]}"; do
            sed -i "/^ops:/ { s/:\$/:$u/; t; s/\$/,$u/ }" "$T/etc/group"
        done
    else
        echo "ops:x:$(next_free_id 29900):$(IFS=,; echo "${users[*]}")" >>"$T/etc/group"
    fi
    chmod 644 "$T/etc/passwd" "$T/etc/group"
    mount --bind "$T/etc/passwd" /etc/passwd
    mount --bind "$T/etc/group" /etc/group
    if ! id -nG "$BENCH_USER" 2>/dev/null | grep -qw ops; then
        echo "bench: $BENCH_USER is not in group ops through NSS (is nscd or sssd caching?)" >&2
        return 1
    fi
}

# pdp_config FILE NAME CACHE_SECONDS [URL]: a vigild config asking Cerbos
# (or URL).
pdp_config() {
    local file=$1 name=$2 cache=$3 url=${4:-$CERBOS_URL}
    mkdir -p "$T/$name.state"
    cat >"$file" <<EOF
[agent]
socket = "$T/$name.sock"
admin_socket = "$T/$name.admin.sock"
grant_socket = "$T/$name.grant.sock"
audit_log = "$T/$name.audit.jsonl"
state_dir = "$T/$name.state"

[pdp]
protocol = "cerbos"
urls = ["$url"]
timeout = "800ms"
cache_allow_seconds = $cache
cache_services = ["sudo"]

[host]
id = "$HOST_ID"
labels = { sensitivity = "low" }

[posture.systemd]
bus = "$SDU_BUS"
units = ["$EDR_UNIT"]
EOF
    chmod 600 "$file"
}

# wait_edr NAME: until vigild NAME has read the EDR unit's state (before
# that the signal is missing, and the policy denies).
wait_edr() {
    local _
    for _ in $(seq 100); do
        "$BUILD/agent/ctl/vigilctl" --socket "$T/$1.admin.sock" posture 2>/dev/null |
            grep -q "systemd.unit.$EDR_UNIT  *active" && return 0
        sleep 0.05
    done
    echo "bench: vigild $1 never saw $EDR_UNIT active" >&2
    return 1
}

# start_edr_unit: a systemd --user manager running the EDR sensor's unit.
start_edr_unit() {
    # shellcheck source=tests/e2e/systemd_user.sh
    . "$SRCDIR/tests/e2e/systemd_user.sh"
    # sdu_start refuses the host's mount namespace: name it, for this call
    # only (bench/ssh.sh takes the same variable to mean it is in its own).
    VIGIL_E2E_HOST_MNTNS=${VIGIL_BENCH_HOST_MNTNS:-} sdu_start "$T/sdu" &&
        sdu_unit "$EDR_UNIT" "ExecStart=/bin/sleep infinity" && sdu_start_unit "$EDR_UNIT"
}

snmp_tcp() {  # snmp_tcp FIELD: this network namespace's TCP counter
    awk -v f="$1" '$1 == "Tcp:" { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col[f] }' \
        /proc/net/snmp
}

# Source ports of every socket connected to Cerbos' port, any state, with
# the owning process where ss knows it (not for TIME-WAIT).
ss_snapshot() {
    ss -Htanpe "( dport = :$CERBOS_PORT )" 2>/dev/null |
        awk -v peer="127.0.0.1:$CERBOS_PORT" '$5 == peer && $4 ~ /^127\.0\.0\.1:[0-9]+$/' || true
}

# ss_sockets < snapshots: "STATE PORT SOCKET-COOKIE OWNER-PID" per line. The
# cookie (ss -e "sk:") tells sockets apart even when the kernel reuses a
# source port still in TIME-WAIT (tcp_tw_reuse, the default on loopback).
ss_sockets() {
    awk '{
        sk = "?"; pid = "-"
        if (match($0, / sk:[0-9a-f]+/)) sk = substr($0, RSTART + 4, RLENGTH - 4)
        if (match($0, /pid=[0-9]+/)) pid = substr($0, RSTART + 4, RLENGTH - 4)
        sub(/.*:/, "", $4)
        print $1, $4, sk, pid
    }'
}

# sampler OUT INTERVAL CMD...: appends CMD's output to OUT every INTERVAL
# seconds until stop_sampler; its pid goes to SAMPLER_PID. (It finishes its
# current CMD before it stops, so that no half line lands in OUT.)
sampler() {
    local out=$1 interval=$2
    shift 2
    rm -f "$out.stop"
    (
        while [ ! -e "$out.stop" ]; do
            "$@"
            sleep "$interval"
        done
    ) >>"$out" 2>/dev/null &
    SAMPLER_PID=$!
    BENCH_PIDS="$BENCH_PIDS $SAMPLER_PID"
}

# stop_sampler PID OUT
stop_sampler() {
    : >"$2.stop"
    wait "$1" 2>/dev/null || true
}

rss_sample() { echo "$(rss_kib "$PDP_AGENT") $(threads_of "$PDP_AGENT") $(anon_kib "$PDP_AGENT")"; }

# cpu_ticks PID: user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)
# cpu_us_per TICKS CYCLES
cpu_us_per() { awk -v t="$1" -v d="$2" -v hz="$CLK_TCK" 'BEGIN {if (d > 0) printf "%.0f", t * 1e6 / hz / d; else printf "n/a"}'; }

# CPU accounting per path over the rounds: cpu_begin, then cpu_end PATH
# CALLS adds vigild's (the path's own instance, if any) and Cerbos' CPU
# ticks to VCPU[PATH] / CCPU[PATH] and CALLS to NCPU[PATH].
declare -A VCPU=() CCPU=() NCPU=() AGENT_PIDS=()
cpu_begin() {
    CPU_V0=$([ -n "${1:-}" ] && cpu_ticks "$1" || echo 0)
    CPU_C0=$(cpu_ticks "$CERBOS_PID")
}
cpu_end() {  # cpu_end PATH CALLS [VIGILD_PID]
    local v1=0
    [ -n "${3:-}" ] && v1=$(cpu_ticks "$3")
    VCPU[$1]=$((${VCPU[$1]:-0} + v1 - CPU_V0))
    CCPU[$1]=$((${CCPU[$1]:-0} + $(cpu_ticks "$CERBOS_PID") - CPU_C0))
    NCPU[$1]=$((${NCPU[$1]:-0} + $2))
}
vcpu() { cpu_us_per "${VCPU[$1]:-0}" "${NCPU[$1]:-0}"; }
ccpu() { cpu_us_per "${CCPU[$1]:-0}" "${NCPU[$1]:-0}"; }

# field NAME <<< "a=1 b=2": one value from audit_stats.py's or pdp_floor's output.
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

audit_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# audit_slice NAME FIRST LAST: summary of T/NAME.audit.jsonl lines
# FIRST..LAST on stdout; their pdp.latency_us and latency_us values are
# appended to T/NAME.pdp_us and T/NAME.engine_us.
audit_slice() {
    local name=$1
    python3 "$BENCH_DIR/audit_stats.py" "$T/$name.audit.jsonl" "$2" "$3" "$T/$name.slice"
    cat "$T/$name.slice.pdp_us" >>"$T/$name.pdp_us"
    cat "$T/$name.slice.engine_us" >>"$T/$name.engine_us"
}

# ------------------------------------------- counting vigild's connections ----
#
# seg_begin / seg_end bracket a stretch in which only the uncached vigild
# talks to Cerbos. Connections opened then are its own: the kernel's counters
# move, and source ports appear that were not there at the start.

CONN_ACTIVE=0 CONN_PASSIVE=0 CONN_TW=0 CONN_SNAPSHOTS=0 SEG=0 SEG_NEW=0 SEG_TW=0

seg_begin() {
    SEG=$((SEG + 1))
    ss_snapshot | ss_sockets | awk '{print $3}' | sort -u >"$T/ss.base.$SEG"
    SEG_ACTIVE0=$(snmp_tcp ActiveOpens)
    SEG_PASSIVE0=$(snmp_tcp PassiveOpens)
    sampler "$T/ss.seg.$SEG" 0.1 ss_snapshot
    SEG_SAMPLER=$SAMPLER_PID
}

# seg_end [--control]: what the stretch added. SEG_NEW = connections
# Cerbos accepted (kernel); SEG_TW = connections closed (sockets that went
# into TIME-WAIT, by cookie); vigild's sockets seen established go to
# T/ss.vigild. --control: a stretch of another client, to show the counting
# works; not added to vigild's totals.
seg_end() {
    stop_sampler "$SEG_SAMPLER" "$T/ss.seg.$SEG"
    ss_snapshot >>"$T/ss.seg.$SEG"
    local active passive
    active=$(($(snmp_tcp ActiveOpens) - SEG_ACTIVE0))
    passive=$(($(snmp_tcp PassiveOpens) - SEG_PASSIVE0))
    ss_sockets <"$T/ss.seg.$SEG" | awk 'NR == FNR {base[$1] = 1; next} !($3 in base)' \
        "$T/ss.base.$SEG" - | sort -u >"$T/ss.new.$SEG"
    SEG_NEW=$passive
    SEG_TW=$(awk '$1 == "TIME-WAIT" {print $3}' "$T/ss.new.$SEG" | sort -u | wc -l)
    [ "${1:-}" = --control ] && return 0
    CONN_ACTIVE=$((CONN_ACTIVE + active))
    CONN_PASSIVE=$((CONN_PASSIVE + passive))
    CONN_TW=$((CONN_TW + SEG_TW))
    awk -v pid="$PDP_AGENT" '$1 == "ESTAB" && $4 == pid {print $2, $3}' "$T/ss.new.$SEG" >>"$T/ss.vigild"
    CONN_SNAPSHOTS=$((CONN_SNAPSHOTS + $(grep -c . "$T/ss.seg.$SEG" || true)))
}

# ----------------------------------------------------------- the paths ----

# capture_request: the exact body vigild sends Cerbos for this PAM request,
# recorded by a pass-through in front of Cerbos that a throwaway vigild asks.
capture_request() {
    python3 "$BENCH_DIR/capture_pdp.py" "$CERBOS_URL" "$T/check.json" "$T/capture.port" &
    local proxy=$!
    BENCH_PIDS="$BENCH_PIDS $proxy"
    local _
    for _ in $(seq 100); do [ -s "$T/capture.port" ] && break; sleep 0.05; done
    [ -s "$T/capture.port" ]
    pdp_config "$T/capture.toml" capture 0 "http://127.0.0.1:$(cat "$T/capture.port")"
    mkdir -p "$T/capture.pam.d"
    echo "account required $MOD socket=$T/capture.sock timeout=3000" >"$T/capture.pam.d/sudo"
    start_vigild "$T/capture.toml" "$T/capture.log" "$T/capture.sock"
    local agent=$VIGILD_PID
    wait_edr capture
    harness_as "$BENCH_USER" "$T/capture.pam.d" sudo 1 0
    stop_pid "$agent"
    stop_pid "$proxy"
    [ -s "$T/check.json" ]
}

# local_rule_config FILE: the same user allowed by a local rule, no PDP.
local_rule_config() {
    mkdir -p "$T/localrule.state"
    cat >"$1" <<EOF
[agent]
socket = "$T/localrule.sock"
admin_socket = "$T/localrule.admin.sock"
grant_socket = "$T/localrule.grant.sock"
audit_log = "$T/localrule.audit.jsonl"
state_dir = "$T/localrule.state"

[pdp]
protocol = "local"

[[rule]]
name = "ops may sudo"
services = ["sudo"]
groups = ["ops"]
decision = "allow"
EOF
    chmod 600 "$1"
}

# agent_round NAME COUNT WARMUP: COUNT cycles (after WARMUP) through the
# vigild behind T/NAME.sock, latencies to T/NAME.ns, audit summary of the
# counted cycles in SLICE.
agent_round() {
    local name=$1 count=$2 warmup=$3 first pid=${AGENT_PIDS[$1]}
    first=$(($(audit_lines "$T/$name.audit.jsonl") + warmup + 1))
    cpu_begin "$pid"
    harness_as "$BENCH_USER" "$T/$name.pam.d" sudo "$count" "$warmup" "$T/$name.round.ns"
    cpu_end "$name" $((count + warmup)) "$pid"
    cat "$T/$name.round.ns" >>"$T/$name.ns"
    sleep 0.05
    SLICE=$(audit_slice "$name" "$first" $((first + count - 1)))
}

# floor_round COUNT WARMUP PAUSE_US NAME: pdp_floor, latencies to T/NAME.ns;
# its connections in FLOOR_CONNS.
floor_round() {
    local out
    cpu_begin
    out=$("$FLOOR_BIN" --url "$CERBOS_URL/api/check/resources" --body "$T/check.json" \
        --count "$1" --warmup "$2" --pause-us "$3" --expect EFFECT_ALLOW --latency-out "$T/floor.round.ns")
    cpu_end "$4" $(($1 + $2))
    cat "$T/floor.round.ns" >>"$T/$4.ns"
    FLOOR_CONNS=$((FLOOR_CONNS + $(field connections <<<"$out")))
    FLOOR_REQUESTS=$((FLOOR_REQUESTS + $1 + $2))
}

# tp_level N: N concurrent pam_harness processes, TP_TOTAL/N cycles each.
tp_level() {
    local n=$1 per=$((TP_TOTAL / $1)) i p t0 t1 first last
    local -a pids=()
    first=$(($(audit_lines "$T/uncached.audit.jsonl") + 1))
    : >"$T/rss.$n"
    sampler "$T/rss.$n" 0.05 rss_sample
    local rss_sampler=$SAMPLER_PID
    local v0 c0 v1 c1
    seg_begin
    v0=$(cpu_ticks "$PDP_AGENT")
    c0=$(cpu_ticks "$CERBOS_PID")
    t0=$(now_ns)
    for i in $(seq "$n"); do
        # Not --quiet: a "busy" answer shows as the module's message.
        "$HARNESS" --confdir "$T/uncached.pam.d" --service sudo --user "$BENCH_USER" \
            --tty /dev/pts/0 --invoker "$BENCH_USER" --count "$per" --warmup 0 \
            --latency-out "$T/tp.$n.$i.ns" 2>"$T/tp.$n.$i.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    t1=$(now_ns)
    v1=$(cpu_ticks "$PDP_AGENT")
    c1=$(cpu_ticks "$CERBOS_PID")
    stop_sampler "$rss_sampler" "$T/rss.$n"
    sleep 0.1
    seg_end
    local new_conns=$SEG_NEW
    last=$(audit_lines "$T/uncached.audit.jsonl")
    local s records span_ms failed busy cycles=$((per * n))
    s=$(python3 "$BENCH_DIR/audit_stats.py" "$T/uncached.audit.jsonl" "$first" "$last" "$T/tp.$n")
    records=$(field records <<<"$s")
    span_ms=$(field span_ms <<<"$s")
    failed=$(cat "$T"/tp."$n".*.err | sed -n 's/^pam_harness: \([0-9]*\) of [0-9]* cycles failed.*/\1/p' |
        awk '{s += $1} END {print s + 0}')
    busy=$(cat "$T"/tp."$n".*.err | grep -c 'busy' || true)
    TP_FAILED_TOTAL=$((TP_FAILED_TOTAL + failed))
    TP_BUSY_TOTAL=$((TP_BUSY_TOTAL + busy))
    TP_UNAUDITED_TOTAL=$((TP_UNAUDITED_TOTAL + cycles - records))
    TP_DECISIONS=$((TP_DECISIONS + records))
    local wall_s rate vrate med p99 rss_peak thr_peak
    wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
    rate=$(awk -v d="$cycles" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", d / ((b - a) / 1e9)}')
    vrate=$(awk -v d="$records" -v s="$span_ms" 'BEGIN {if (s > 0 && d > 1) printf "%.0f", (d - 1) / (s / 1000); else printf "n/a"}')
    read -r _ med p99 _ <<<"$(stats "$T"/tp."$n".*.ns)"
    rss_peak=$(awk 'BEGIN {m = 0} $1 > m {m = $1} END {print m}' "$T/rss.$n")
    thr_peak=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$T/rss.$n")
    local anon_peak
    anon_peak=$(awk 'BEGIN {m = 0} $3 > m {m = $3} END {print m}' "$T/rss.$n")
    TP_RATE[$n]=$rate TP_UNANSWERED[$n]=$((failed - busy))
    TP_ROWS+="| $n | $per | $cycles | $wall_s | **$rate** | $vrate | $med | $p99 | $((cycles - failed)) | $failed | $busy | $records | $new_conns | $(cpu_us_per $((v1 - v0)) "$cycles") | $(cpu_us_per $((c1 - c0)) "$cycles") | $(mib "$rss_peak") | $thr_peak |"$'\n'
    if [ "$rss_peak" -gt "${PDP_RSS_LOAD:-0}" ]; then
        PDP_RSS_LOAD=$rss_peak PDP_RSS_LOAD_AT=$n PDP_ANON_LOAD=$anon_peak
    fi
    if [ "$thr_peak" -gt "${PDP_THREADS_LOAD:-0}" ]; then
        PDP_THREADS_LOAD=$thr_peak
    fi
    echo "bench:   $n clients: $cycles cycles in $wall_s s = $rate/s ($failed failed, $busy busy)" >&2
}

# direct_level N: N concurrent pdp_floor processes (a libcurl keep-alive
# connection each) POSTing vigild's request straight to Cerbos, TP_TOTAL/N
# each: what the same clients would get from Cerbos without vigil.
direct_level() {
    local n=$1 per=$((TP_TOTAL / $1)) i p t0 t1 c0 c1
    local -a pids=()
    c0=$(cpu_ticks "$CERBOS_PID")
    t0=$(now_ns)
    for i in $(seq "$n"); do
        "$FLOOR_BIN" --url "$CERBOS_URL/api/check/resources" --body "$T/check.json" --count "$per" --warmup 0 \
            --expect EFFECT_ALLOW --latency-out "$T/direct.$n.$i.ns" >"$T/direct.$n.$i.out" 2>"$T/direct.$n.$i.err" &
        pids+=($!)
    done
    DIRECT_FAILED=0
    for p in "${pids[@]}"; do wait "$p" || DIRECT_FAILED=$((DIRECT_FAILED + 1)); done
    t1=$(now_ns)
    c1=$(cpu_ticks "$CERBOS_PID")
    DIRECT_RATE=$(awk -v d=$((per * n)) -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", d / ((b - a) / 1e9)}')
    DIRECT_CERBOS_CPU=$(cpu_us_per $((c1 - c0)) $((per * n)))
    # The clients' own CPU (pdp_floor's getrusage), per request.
    DIRECT_CLIENT_CPU=$(cat "$T"/direct."$n".*.out | sed -n 's/.*cpu_us=\([0-9]*\).*/\1/p' |
        awk -v d=$((per * n)) '{s += $1} END {printf "%.0f", s / d}')
    echo "bench:   Cerbos directly, $n clients: $((per * n)) requests = $DIRECT_RATE/s ($DIRECT_FAILED clients failed)" >&2
}

# ------------------------------------------------------------ measuring ----

pdp_measure() {
    PDP_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    PDP_STAGE="creating the bench user"
    pdp_setup_user

    PDP_STAGE="starting systemd --user with the EDR unit"
    start_edr_unit

    PDP_STAGE="starting Cerbos"
    local env_out
    env_out=$(CERBOS_BIN=$CERBOS_BIN "$SRCDIR/tests/pdp/cerbos.sh" start "$T/cerbos")
    CERBOS_DIR=$T/cerbos
    CERBOS_URL=$(sed -n 's/^CERBOS_URL=//p' <<<"$env_out")
    CERBOS_PID=$(sed -n 's/^CERBOS_PID=//p' <<<"$env_out")
    CERBOS_PORT=${CERBOS_URL##*:}
    CERBOS_VERSION=$("$CERBOS_BIN" --version 2>/dev/null | head -n1 | awk '{print $NF}')
    [ -n "$CERBOS_PORT" ] && [ -n "$CERBOS_PID" ]

    # PAM stacks, each in its own confdir as service "sudo".
    local d
    for d in uncached cached localrule; do
        mkdir -p "$T/$d.pam.d"
        echo "account required $MOD socket=$T/$d.sock timeout=3000" >"$T/$d.pam.d/sudo"
    done
    # The IPC floor for this user and service: the module against
    # fake_agent, which answers a canned allow at once.
    mkdir -p "$T/ipcfloor.pam.d"
    echo "account required $MOD socket=$T/ipcfloor.sock timeout=3000" >"$T/ipcfloor.pam.d/sudo"
    "$FAKE" --socket "$T/ipcfloor.sock" --mode allow 2>/dev/null &
    IPC_FLOOR_PID=$!
    BENCH_PIDS="$BENCH_PIDS $IPC_FLOOR_PID"
    mkdir -p "$T/exec.pam.d"
    install -m 755 "$BENCH_DIR/pam_exec_cerbos.sh" "$T/pam_exec_cerbos.sh"
    echo "account required pam_exec.so quiet $T/pam_exec_cerbos.sh $CERBOS_URL $HOST_ID low systemd.unit.$EDR_UNIT=active" \
        >"$T/exec.pam.d/sudo"

    PDP_STAGE="recording vigild's request to Cerbos (bench/capture_pdp.py)"
    capture_request
    CHECK_BYTES=$(wc -c <"$T/check.json")

    PDP_STAGE="checking the pam_exec + curl stack"
    # It must refuse someone the policy refuses (root is not in ops), or it
    # would be measuring a script that always says yes.
    if "$HARNESS" --confdir "$T/exec.pam.d" --service sudo --user root --count 1 --quiet 2>/dev/null; then
        echo "bench: the pam_exec script allowed root, whom the policy denies" >&2
        return 1
    fi

    PDP_STAGE="starting the vigild instances"
    pdp_config "$T/uncached.toml" uncached 0
    pdp_config "$T/cached.toml" cached 60
    local_rule_config "$T/localrule.toml"
    local name
    for name in uncached cached localrule; do
        start_vigild "$T/$name.toml" "$T/$name.log" "$T/$name.sock"
        AGENT_PIDS[$name]=$VIGILD_PID
    done
    wait_edr uncached && wait_edr cached
    PDP_AGENT=${AGENT_PIDS[uncached]}
    sleep 0.5
    PDP_RSS_IDLE=$(rss_kib "$PDP_AGENT")
    PDP_ANON_IDLE=$(anon_kib "$PDP_AGENT")
    PDP_THREADS_IDLE=$(threads_of "$PDP_AGENT")
    : >"$T/ss.vigild"

    # ---- latency: all paths, interleaved in rounds ----
    local per=$((PDP_CALLS / ROUNDS)) warm=$((PDP_WARMUP / ROUNDS))
    local eper=$((EXEC_CALLS / ROUNDS)) ewarm=$((EXEC_WARMUP / ROUNDS))
    [ "$warm" -ge 1 ] || warm=1
    [ "$ewarm" -ge 1 ] || ewarm=1
    echo "bench: pdp rows: Cerbos $CERBOS_VERSION at $CERBOS_URL; $ROUNDS rounds of $per calls per path ($eper for pam_exec) ..." >&2
    FLOOR_CONNS=0 FLOOR_REQUESTS=0 CONN_SEQ=0 CACHE_HITS=0 CACHE_RECORDS=0 UNC_PDP=0
    local r s
    for r in $(seq "$ROUNDS"); do
        PDP_STAGE="round $r: pam_vigil → vigild → Cerbos (uncached)"
        seg_begin
        agent_round uncached "$per" "$warm"
        seg_end
        CONN_SEQ=$((CONN_SEQ + SEG_NEW))
        UNC_PDP=$((UNC_PDP + $(field pdp <<<"$SLICE")))
        if [ "$r" = 1 ]; then
            # Between two of vigild's requests to Cerbos lies the rest of a
            # PAM cycle: median cycle minus median round trip.
            local cyc rt
            read -r _ cyc _ _ <<<"$(stats "$T/uncached.ns")"
            read -r _ rt _ _ <<<"$(stats "$T/uncached.pdp_us" -d 1)"
            PACE_US=$(awk -v c="$cyc" -v r="$rt" 'BEGIN {p = c - r; printf "%d", (p > 0 ? p : 0)}')
        fi

        PDP_STAGE="round $r: the floor (pdp_floor → Cerbos)"
        floor_round "$per" "$warm" 0 floor
        floor_round "$per" "$warm" "$PACE_US" floor.paced

        PDP_STAGE="round $r: pam_vigil with vigild's positive cache"
        agent_round cached "$per" "$warm"
        CACHE_HITS=$((CACHE_HITS + $(field cache <<<"$SLICE")))
        CACHE_RECORDS=$((CACHE_RECORDS + $(field records <<<"$SLICE")))

        PDP_STAGE="round $r: pam_vigil with a local rule for $BENCH_USER"
        agent_round localrule "$per" "$warm"

        PDP_STAGE="round $r: pam_vigil → fake_agent (the IPC floor)"
        harness_as "$BENCH_USER" "$T/ipcfloor.pam.d" sudo "$per" "$warm" "$T/ipcfloor.round.ns"
        cat "$T/ipcfloor.round.ns" >>"$T/ipcfloor.ns"

        PDP_STAGE="round $r: pam_exec + curl → Cerbos"
        cpu_begin
        [ "$r" = 1 ] && seg_begin
        harness_as "$BENCH_USER" "$T/exec.pam.d" sudo "$eper" "$ewarm" "$T/exec.round.ns"
        if [ "$r" = 1 ]; then
            seg_end --control
            CONTROL_CALLS=$((eper + ewarm)) CONTROL_CONNS=$SEG_NEW CONTROL_TW=$SEG_TW
        fi
        cpu_end exec $((eper + ewarm))
        cat "$T/exec.round.ns" >>"$T/exec.ns"
        echo "bench:   round $r done" >&2
    done
    PDP_DECIDED=$(audit_lines "$T/uncached.audit.jsonl")
    PDP_RSS_AFTER=$(rss_kib "$PDP_AGENT")
    PDP_ANON_AFTER=$(anon_kib "$PDP_AGENT")
    if [ "$UNC_PDP" != $((per * ROUNDS)) ]; then
        echo "bench: not every uncached decision went to Cerbos ($UNC_PDP of $((per * ROUNDS)))" >&2
        return 1
    fi

    # ---- throughput ----
    PDP_STAGE="throughput"
    echo "bench: throughput, $TP_TOTAL cycles per level ..." >&2
    TP_ROWS="" TP_FAILED_TOTAL=0 TP_BUSY_TOTAL=0 TP_UNAUDITED_TOTAL=0 TP_DECISIONS=0
    local n
    declare -gA TP_RATE=() TP_UNANSWERED=()
    for n in $TP_LEVELS; do tp_level "$n"; done
    PDP_RSS_HWM=$(hwm_kib "$PDP_AGENT")
    direct_level "$DIRECT_CLIENTS"
    # Idle workers end after 30 s (vigild's worker_idle): the threads and
    # memory a burst took are given back.
    PDP_STAGE="waiting for idle workers to end"
    sleep 32
    PDP_THREADS_RESTED=$(threads_of "$PDP_AGENT")
    PDP_RSS_RESTED=$(rss_kib "$PDP_AGENT")
    PDP_ANON_RESTED=$(anon_kib "$PDP_AGENT")

    batch_measure

    # ---- what the connection counting saw ----
    CONN_SOCKETS=$(sort -u "$T/ss.vigild" | wc -l)
    CONN_PORT_LIST=$(sort -u "$T/ss.vigild" | awk '{print $1}' | sort -n | paste -sd, -)
    s=$(python3 "$BENCH_DIR/audit_stats.py" "$T/uncached.audit.jsonl" 1 1000000000 "$T/all")
    CONN_DECISIONS=$(field pdp <<<"$s")

    # shellcheck disable=SC2034 # read by bench/run.sh, which sources this file
    PDP_STAGE=""
    "$SRCDIR/tests/pdp/cerbos.sh" stop "$CERBOS_DIR" >/dev/null 2>&1 || true
    CERBOS_DIR=
    PDP_LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

    read -r U2_N U2_MED U2_P99 U2_MEAN <<<"$(stats "$T/uncached.ns")"
    read -r FL_N FL_MED FL_P99 FL_MEAN <<<"$(stats "$T/floor.ns")"
    read -r FP_N FP_MED FP_P99 FP_MEAN <<<"$(stats "$T/floor.paced.ns")"
    read -r CA_N CA_MED CA_P99 CA_MEAN <<<"$(stats "$T/cached.ns")"
    read -r LR_N LR_MED LR_P99 LR_MEAN <<<"$(stats "$T/localrule.ns")"
    read -r IF_N IF_MED IF_P99 IF_MEAN <<<"$(stats "$T/ipcfloor.ns")"
    read -r EX_N EX_MED EX_P99 EX_MEAN <<<"$(stats "$T/exec.ns")"
    read -r RT_N RT_MED RT_P99 RT_MEAN <<<"$(stats "$T/uncached.pdp_us" -d 1)"
    read -r EN_N EN_MED EN_P99 EN_MEAN <<<"$(stats "$T/uncached.engine_us" -d 1)"
    read -r CE_N CE_MED CE_P99 CE_MEAN <<<"$(stats "$T/cached.engine_us" -d 1)"
    read -r LE_N LE_MED LE_P99 LE_MEAN <<<"$(stats "$T/localrule.engine_us" -d 1)"
}

# ----------------------------------------------------------- report ----

verdict() {  # verdict AWK_CONDITION: "within target" / "OVER target"
    awk "BEGIN {print (($1) ? \"within target\" : \"OVER target\")}"
}

pdp_report() {
    local floor_target speedup reuse_verdict
    floor_target=$(awk -v f="$FL_MED" -v t=$TARGET_FLOOR_PLUS_US 'BEGIN {printf "%.1f", f + t}')
    speedup=$(ratio "$EX_MED" "$U2_MED")
    if [ "$CONN_PASSIVE" -le "$PDP_MAX_CONNECTIONS" ] && [ "$CONN_SOCKETS" -le "$PDP_MAX_CONNECTIONS" ]; then
        reuse_verdict="**reused** — $CONN_PASSIVE TCP connection(s) for $CONN_DECISIONS decisions (≤ max_connections = $PDP_MAX_CONNECTIONS): $CONN_SEQ during the $((PDP_CALLS / ROUNDS * ROUNDS + PDP_WARMUP / ROUNDS * ROUNDS)) sequential calls, the rest opened by the pool for concurrent clients (per level in the throughput table)"
    else
        reuse_verdict="**NOT reused as designed** — $CONN_PASSIVE TCP connections for $CONN_DECISIONS decisions (max_connections = $PDP_MAX_CONNECTIONS)"
    fi
    local busy_note=""
    if [ "$TP_FAILED_TOTAL" -gt 0 ] || [ "$TP_UNAUDITED_TOTAL" -gt 0 ]; then
        busy_note="
Throughput runs: $TP_FAILED_TOTAL cycle(s) did not return PAM_SUCCESS, $TP_BUSY_TOTAL of them
answered \"access check busy\" by vigild at its \`max_concurrent\` bound (64);
$TP_UNAUDITED_TOTAL cycle(s) left no audit record.
"
    fi
    cat <<EOF

## Remote PDP: Cerbos $CERBOS_VERSION on loopback

Same machine, one Cerbos (\`tests/pdp/cerbos.sh\`, plain HTTP on 127.0.0.1 in
the bench's network namespace, policies \`tests/pdp/policies\`), one request:
user \`$BENCH_USER\` (groups ops, $BENCH_USER) via PAM service \`sudo\` →
Cerbos action \`sudo\` on host \`$HOST_ID\` (sensitivity=low) → rule
ops-sudo, EFFECT_ALLOW. Full PAM cycles via pam_harness as above. The floor
POSTs the body vigild sent for such a PAM request ($CHECK_BYTES bytes,
recorded by \`bench/capture_pdp.py\`) with one libcurl handle on one
keep-alive connection. All paths ran interleaved in $ROUNDS rounds.
Load average before/after: $PDP_LOAD_BEFORE / $PDP_LOAD_AFTER ($(nproc) CPUs,
shared with anything else running on this machine).

| path | calls | median µs | p99 µs | mean µs | median vs floor | vigild CPU µs/call | Cerbos CPU µs/call |
|---|---:|---:|---:|---:|---:|---:|---:|
| floor: libcurl keep-alive POST → Cerbos, back to back (\`bench/pdp_floor\`) | $FL_N | $FL_MED | $FL_P99 | $FL_MEAN | 1.00 | | $(ccpu floor) |
| *control:* the floor paced like a PAM client ($PACE_US µs pause between requests) | $FP_N | $FP_MED | $FP_P99 | $FP_MEAN | $(ratio "$FP_MED" "$FL_MED") | | $(ccpu floor.paced) |
| pam_vigil → vigild → Cerbos (uncached) | $U2_N | $U2_MED | $U2_P99 | $U2_MEAN | $(ratio "$U2_MED" "$FL_MED") | $(vcpu uncached) | $(ccpu uncached) |
| pam_vigil → vigild, positive cache hit ($CACHE_HITS/$CACHE_RECORDS from cache) | $CA_N | $CA_MED | $CA_P99 | $CA_MEAN | $(ratio "$CA_MED" "$FL_MED") | $(vcpu cached) | |
| pam_exec → sh + id + curl → Cerbos | $EX_N | $EX_MED | $EX_P99 | $EX_MEAN | $(ratio "$EX_MED" "$FL_MED") | | $(ccpu exec) |
| *reference:* pam_vigil, local allow rule, same user, no PDP | $LR_N | $LR_MED | $LR_P99 | $LR_MEAN | $(ratio "$LR_MED" "$FL_MED") | $(vcpu localrule) | |
| *IPC floor:* pam_vigil → fake_agent, a canned allow (same user and service) | $IF_N | $IF_MED | $IF_P99 | $IF_MEAN | $(ratio "$IF_MED" "$FL_MED") | | |
| *breakdown:* uncached: vigild's HTTP round trip to Cerbos (audit \`pdp.latency_us\`) | $RT_N | $RT_MED | $RT_P99 | $RT_MEAN | $(ratio "$RT_MED" "$FL_MED") | | |
| *breakdown:* uncached: whole decision inside vigild (audit \`latency_us\`) | $EN_N | $EN_MED | $EN_P99 | $EN_MEAN | $(ratio "$EN_MED" "$FL_MED") | | |
| *breakdown:* cache hit: whole decision inside vigild (audit \`latency_us\`) | $CE_N | $CE_MED | $CE_P99 | $CE_MEAN | | | |
| *breakdown:* local rule: whole decision inside vigild (audit \`latency_us\`) | $LE_N | $LE_MED | $LE_P99 | $LE_MEAN | | | |

CPU columns: user + system time of that vigild instance and of Cerbos
while the path ran, per call (warm-up included; ${CLK_TCK} Hz ticks, so
±$(awk -v n="${NCPU[uncached]:-1}" -v hz="$CLK_TCK" 'BEGIN {printf "%.0f", 1e6 / hz / n * 4}') µs).

| target | measured | verdict |
|---|---|---|
| pam_vigil median ≤ floor + $TARGET_FLOOR_PLUS_US µs | $U2_MED µs vs $FL_MED + $TARGET_FLOOR_PLUS_US = $floor_target µs (added: $(awk -v a="$U2_MED" -v b="$FL_MED" 'BEGIN {printf "%.1f", a - b}') µs) | $(verdict "$U2_MED <= $floor_target") |
| pam_vigil ≥ $TARGET_EXEC_FACTOR× faster than pam_exec + curl (median) | **${speedup}×** ($EX_MED / $U2_MED µs) | $(verdict "$EX_MED >= $TARGET_EXEC_FACTOR * $U2_MED") |
| cached pam_vigil median ≤ $TARGET_CACHED_US µs | $CA_MED µs (local rule, same user: $LR_MED µs; pam_permit: $P_MED µs) | $(verdict "$CA_MED <= $TARGET_CACHED_US") |
| cached pam_vigil median ≤ $TARGET_CACHED_FLOOR_RATIO× the IPC floor (same user and service) | **$(ratio "$CA_MED" "$IF_MED")×** ($CA_MED / $IF_MED µs; local rule: $(ratio "$LR_MED" "$IF_MED")×) | $(verdict "$CA_MED <= $TARGET_CACHED_FLOOR_RATIO * $IF_MED") |
| at $DIRECT_CLIENTS clients, vigild's allowed decisions/s ≥ $TARGET_DIRECT_SHARE % of Cerbos asked directly by as many clients (CPU per request there: Cerbos $DIRECT_CERBOS_CPU µs, the clients $DIRECT_CLIENT_CPU µs) | ${TP_RATE[$DIRECT_CLIENTS]:-n/a} vs $DIRECT_RATE/s: **$(awk -v a="${TP_RATE[$DIRECT_CLIENTS]:-0}" -v b="$DIRECT_RATE" 'BEGIN {printf "%.0f", (b > 0 ? 100 * a / b : 0)}') %** | $(verdict "${TP_RATE[$DIRECT_CLIENTS]:-0} >= $TARGET_DIRECT_SHARE / 100 * $DIRECT_RATE") |
| 200 clients at once: none unanswered (cycles neither allowed nor told busy) | ${TP_UNANSWERED[200]:-n/a} | $(verdict "${TP_UNANSWERED[200]:-1} == 0") |
| *control, no target:* vigild's HTTP round trip vs the paced floor (median) | $RT_MED vs $FP_MED µs: $(awk -v a="$RT_MED" -v b="$FP_MED" 'BEGIN {printf "%+.1f", a - b}') µs | |

Throughput, pam_vigil → vigild → Cerbos uncached: N pam_harness processes
started together, each running a fixed count; decisions/s = all cycles /
wall time from the first start to the last exit (process start-up
included); "vigild-side" = audit records / time from the first to the last
record. CPU = user + system time of vigild and of Cerbos during the level,
per cycle. Clients, vigild and Cerbos share $(nproc) CPUs.

| clients | calls each | cycles | wall s | decisions/s | vigild-side /s | median µs | p99 µs | PAM_SUCCESS | failed | of which busy | audit records | new TCP conns to Cerbos | vigild CPU µs/cycle | Cerbos CPU µs/cycle | vigild peak VmRSS MiB | vigild threads |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${TP_ROWS%$'\n'}
$busy_note
| vigild (Cerbos, uncached) memory | VmRSS MiB | of which anonymous (RssAnon) MiB | threads |
|---|---:|---:|---:|
| idle, after start | $(mib "$PDP_RSS_IDLE") | $(mib "$PDP_ANON_IDLE") | $PDP_THREADS_IDLE |
| after $PDP_DECIDED sequential PDP decisions | $(mib "$PDP_RSS_AFTER") | $(mib "$PDP_ANON_AFTER") | |
| under load (peak sampled every 50 ms, at $PDP_RSS_LOAD_AT clients) | $(mib "$PDP_RSS_LOAD") | $(mib "$PDP_ANON_LOAD") | $PDP_THREADS_LOAD |
| peak (VmHWM) at the end | $(mib "$PDP_RSS_HWM") | | |
| 30 s after the load (idle workers end, their arenas trimmed) | $(mib "$PDP_RSS_RESTED") | $(mib "$PDP_ANON_RESTED") | $PDP_THREADS_RESTED |

The rest of VmRSS is file-backed (RssFile): pages of the mapped shared
libraries, which other processes using the same libraries share.

Connection reuse, vigild → Cerbos ($CONN_DECISIONS decisions asked of Cerbos,
counted over every stretch in which the uncached vigild was deciding and
nothing else talked to Cerbos): $reuse_verdict.
- kernel TCP counters of the bench's private network namespace: $CONN_ACTIVE
  connect()s made (Tcp ActiveOpens), $CONN_PASSIVE connections accepted by
  Cerbos (Tcp PassiveOpens);
- \`ss -tanpe\` snapshots of every socket to Cerbos' port, every 100 ms and
  at each stretch's end ($CONN_SNAPSHOTS socket lines): $CONN_SOCKETS distinct
  sockets owned by vigild seen established${CONN_PORT_LIST:+ (source ports $CONN_PORT_LIST)};
  $CONN_TW connection(s) closed (new TIME-WAIT sockets, which stay for 60 s,
  so none slips between snapshots);
- for comparison: the floor client made $FLOOR_CONNS connection(s) for
  $FLOOR_REQUESTS requests (one per round and pacing);
- check of the method: the same counting over round 1 of pam_exec + curl
  ($CONTROL_CALLS calls, a curl process each) saw $CONTROL_CONNS connections
  accepted by Cerbos and $CONTROL_TW closed (new TIME-WAIT sockets).
EOF
    batch_report
}
