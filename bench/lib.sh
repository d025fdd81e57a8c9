# shellcheck shell=bash
# Helpers shared by bench/run.sh, bench/local.sh and bench/pdp.sh (sourced).
# Expects: BUILD, T (temp dir), HARNESS, VIGILD.

BENCH_PIDS=""

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
anon_kib() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }
# cpu_ticks PID: user + system CPU time so far, in clock ticks (getconf CLK_TCK).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# us_per_call TICKS CALLS: CPU time per call in µs.
us_per_call() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {if (n > 0) printf "%.0f", t * 1e6 / hz / n; else printf "n/a"}'; }
threads_of() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
now_ns() { date +%s%N; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a + 0 == a && b > 0) printf "%.2f", a / b; else printf "n/a"}'; }
within() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t ? "within target" : "OVER target")}'; }

# harness_as USER CONFDIR SERVICE COUNT WARMUP [latency file]: full account
# cycles, as USER's setuid sudo would run them (real uid USER's); a stack
# that does not return PAM_SUCCESS cannot be measured.
harness_as() {
    local user=$1 confdir=$2 svc=$3 count=$4 warmup=$5 out=${6:-}
    local args=(--confdir "$confdir" --service "$svc" --user "$user" --tty /dev/pts/0
        --invoker "$user" --count "$count" --warmup "$warmup" --quiet)
    [ -n "$out" ] && args+=(--latency-out "$out")
    if ! "$HARNESS" "${args[@]}" 2>"$T/harness.err"; then
        echo "bench: $svc ($confdir) for $user did not return PAM_SUCCESS; numbers would be meaningless" >&2
        cat "$T/harness.err" >&2
        return 1
    fi
}

# stats FILE... [-d DIVISOR] -> "calls median p99 mean" (nearest-rank
# percentiles); latency files hold ns, so the default divisor gives µs.
stats() {
    local div=1000 files=()
    while [ $# -gt 0 ]; do
        case $1 in
            -d) div=$2; shift 2 ;;
            *) files+=("$1"); shift ;;
        esac
    done
    cat "${files[@]}" 2>/dev/null | sort -n | awk -v div="$div" '
        { a[NR] = $1; sum += $1 }
        END {
            if (NR == 0) { print "0 n/a n/a n/a"; exit }
            m = int((NR * 50 + 99) / 100); p = int((NR * 99 + 99) / 100)
            printf "%d %.1f %.1f %.1f\n", NR, a[m] / div, a[p] / div, sum / NR / div
        }'
}

# start_vigild CONFIG LOG SOCKET: starts vigild, waits for its socket; the pid
# goes to VIGILD_PID (and to the list cleanup ends).
start_vigild() {
    local config=$1 log=$2 sock=$3
    "$VIGILD" --config "$config" 2>"$log" &
    VIGILD_PID=$!
    BENCH_PIDS="$BENCH_PIDS $VIGILD_PID"
    local _
    for _ in $(seq 200); do
        [ -S "$sock" ] && return 0
        kill -0 "$VIGILD_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "bench: vigild ($config) did not start:" >&2
    tail -n 20 "$log" >&2
    return 1
}

# stop_pid PID: ends a process this script started.
stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
