# shellcheck shell=bash
# bench/posture.sh — sourced by bench/run.sh: what posture costs.
#
#   - a decision with 10 signals from a warm snapshot (a [[posture.socket]]
#     stand-in agent publishing 10 fields, plus [posture.host]; one rule
#     requiring one of them) against the same decision with no signals:
#     full PAM cycles, and the engine's own latency_us from the trail;
#   - vigild's CPU while idle with those collectors on, over
#     VIGIL_BENCH_IDLE_SECONDS (default 60), from /proc/PID/stat.
# Targets (issue 4): ≤ 20 µs added per decision; idle CPU ≤ 0.1 % of a core.

POSTURE_CALLS=${VIGIL_BENCH_POSTURE_CALLS:-4000}
POSTURE_IDLE_S=${VIGIL_BENCH_IDLE_SECONDS:-60}

# A stand-in agent answering {"a":0,...,"j":9} on a unix socket.
posture_agent() {
    python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(16)
doc = (json.dumps({k: i for i, k in enumerate("abcdefghij")}) + "\n").encode()
while True:
    c, _ = s.accept()
    try:
        c.recv(100)
        c.sendall(doc)
    finally:
        c.close()
' "$1" &
    BENCH_PIDS="$BENCH_PIDS $!"
}

# posture_config NAME [posture TOML] [rule line]: decides vigil-posture for root.
posture_config() {
    local name=$1 extra=${2:-} require=${3:-}
    printf '[agent]\nsocket = "%s"\nadmin_socket = "%s"\ngrant_socket = "%s"\naudit_log = "%s"\nstate_dir = "%s"\n\n%s\n\n' \
        "$T/posture.sock" "$T/posture-admin.sock" "$T/posture-grant.sock" "$T/posture-$name.jsonl" "$T/state" "$extra" \
        >"$T/posture-$name.toml"
    printf '[[rule]]\nname = "root may"\nservices = ["vigil-posture"]\nusers = ["root"]\ndecision = "allow"\n%s\n' \
        "$require" >>"$T/posture-$name.toml"
}

# posture_run NAME: POSTURE_CALLS cycles against a vigild on that config.
posture_run() {
    start_vigild "$T/posture-$1.toml" "$T/posture-$1.log" "$T/posture.sock" || exit 1
    sleep 1.5  # the collectors' first round
    harness_as root "$T/pam.d" vigil-posture "$POSTURE_CALLS" 400 "$T/posture-$1.lat" || exit 1
    stop_pid "$VIGILD_PID"
    cat "$T/posture-$1.lat" >>"$T/posture-$1.all"
}

# Median of the engine's latency_us over the trail.
posture_engine_us() {
    python3 -c '
import json, statistics, sys
print(statistics.median(json.loads(l)["latency_us"] for l in open(sys.argv[1])))' "$T/posture-$1.jsonl"
}

posture_signals() {
    tail -n 1 "$T/posture-$1.jsonl" | python3 -c 'import json,sys; print(len(json.loads(sys.stdin.read())["signals"]))'
}

posture_idle() {
    start_vigild "$T/posture-ten.toml" "$T/posture-idle.log" "$T/posture.sock" || exit 1
    sleep 2
    local a b
    POSTURE_TCK=$(getconf CLK_TCK)
    a=$(awk '{print $14 + $15}' "/proc/$VIGILD_PID/stat")
    sleep "$POSTURE_IDLE_S"
    b=$(awk '{print $14 + $15}' "/proc/$VIGILD_PID/stat")
    stop_pid "$VIGILD_PID"
    POSTURE_IDLE_TICKS=$((b - a))
    POSTURE_IDLE_PCT=$(awk -v t="$POSTURE_IDLE_TICKS" -v hz="$POSTURE_TCK" -v s="$POSTURE_IDLE_S" \
        'BEGIN {printf "%.3f", t / hz / s * 100}')
}

posture_measure() {
    mkdir -p "$T/pam.d" "$T/state" "$T/hostroot"
    echo "account required $MOD socket=$T/posture.sock timeout=3000" >"$T/pam.d/vigil-posture"
    posture_agent "$T/edr.sock"
    local collectors
    collectors=$(printf '[[posture.socket]]\nname = "edr"\npath = "%s"\nrequest = "s\\n"\ninterval = "10s"\nfields = { a = "a", b = "b", c = "c", d = "d", e = "e", f = "f", g = "g", h = "h", i = "i", j = "j" }\n\n[posture.host]\nroot = "%s"\ninterval = "30s"' \
        "$T/edr.sock" "$T/hostroot")
    posture_config none
    posture_config ten "$collectors" 'require = ["edr.a == 0"]'
    local _
    for _ in 1 2; do
        posture_run none
        posture_run ten
    done
    POSTURE_NONE=$(stats "$T/posture-none.all")
    POSTURE_TEN=$(stats "$T/posture-ten.all")
    POSTURE_NONE_ENGINE=$(posture_engine_us none)
    POSTURE_TEN_ENGINE=$(posture_engine_us ten)
    POSTURE_TEN_SIGNALS=$(posture_signals ten)
    posture_idle
}

posture_report() {
    local n10 m10 p10 n0 m0 p0 added
    read -r n0 m0 p0 _ <<<"$POSTURE_NONE"
    read -r n10 m10 p10 _ <<<"$POSTURE_TEN"
    added=$(awk -v a="$m10" -v b="$m0" 'BEGIN {printf "%.1f", a - b}')
    printf '\n## Posture\n\n'
    printf 'Root, local allow rule, PAM service vigil-posture. With signals: a\n'
    printf '[[posture.socket]] stand-in agent publishing 10 fields plus [posture.host]\n'
    printf '(%s signals in each snapshot; the rule requires one). Two interleaved\n' "$POSTURE_TEN_SIGNALS"
    printf 'rounds of %s cycles each.\n\n' "$POSTURE_CALLS"
    printf '| decision | cycles | median µs | p99 µs | engine median µs (audit latency_us) |\n'
    printf '|---|---:|---:|---:|---:|\n'
    printf '| no signals | %s | %s | %s | %s |\n' "$n0" "$m0" "$p0" "$POSTURE_NONE_ENGINE"
    printf '| %s signals, one required | %s | %s | %s | %s |\n\n' "$POSTURE_TEN_SIGNALS" "$n10" "$m10" "$p10" \
        "$POSTURE_TEN_ENGINE"
    printf '| target | measured | verdict |\n|---|---|---|\n'
    printf '| 10 signals add ≤ 20 µs (median, whole PAM cycle) | %s µs | %s |\n' "$added" "$(within "$added" 20)"
    printf '| vigild idle CPU with collectors on ≤ 0.1 %% of a core | %s %% (%s ticks of 1/%s s in %s s) | %s |\n' \
        "$POSTURE_IDLE_PCT" "$POSTURE_IDLE_TICKS" "$POSTURE_TCK" "$POSTURE_IDLE_S" "$(within "$POSTURE_IDLE_PCT" 0.1)"
}
