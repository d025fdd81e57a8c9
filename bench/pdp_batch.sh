# shellcheck shell=bash
# The AuthZEN batching rows of bench/pdp.sh (sourced; run while its Cerbos
# runs): does asking Cerbos about several requests in one
# POST /access/v1/evaluations help, and what does vigild's [pdp] batch make
# of it?
#
#   Cerbos directly  pdp_floor --clients: 64 single evaluations in flight,
#                    against 8 batches of 8 in flight (64 questions at a
#                    time either way). The evaluation is the one vigild
#                    sends (vigilctl decide --json), for BATCH_USERS users.
#   through vigild   64 pam_harness processes spread over BATCH_USERS users
#                    (different subjects: identical questions already share
#                    one call), AuthZEN with authzen_profile "cerbos",
#                    max_connections 8, batch = false against batch = true,
#                    interleaved in BATCH_ROUNDS rounds.
#
# Expects what pdp.sh expects, and pdp_setup_user to have created the
# users batch_user 1..BATCH_USERS in group ops.

BATCH_USERS=32
BATCH_CLIENTS=64
BATCH_ROUNDS=2
BATCH_SIZE=8

batch_user() { printf 'vgl-bb%02d' "$1"; }

# batch_config NAME BATCH: an AuthZEN vigild config, batch = BATCH.
batch_config() {
    pdp_config "$T/$1.toml" "$1" 0
    sed -i "s/^protocol = \"cerbos\"\$/protocol = \"authzen\"\nauthzen_profile = \"cerbos\"\nbatch = $2/" "$T/$1.toml"
    mkdir -p "$T/$1.pam.d"
    echo "account required $MOD socket=$T/$1.sock timeout=3000" >"$T/$1.pam.d/sudo"
}

# batch_bodies: T/eval.json (one user's evaluation, as vigild sends it) and
# T/batch.json (BATCH_SIZE users' evaluations in one batch).
batch_bodies() {
    local i
    for i in $(seq "$BATCH_SIZE"); do
        "$BUILD/agent/ctl/vigilctl" --socket "$T/azsingle.admin.sock" decide --user "$(batch_user "$i")" \
            --service sudo --json >"$T/decide.$i.json"
    done
    python3 - "$T" "$BATCH_SIZE" <<'PYEOF'
import json, sys
t, n = sys.argv[1], int(sys.argv[2])
evals = []
for i in range(1, n + 1):
    d = json.load(open(f"{t}/decide.{i}.json"))
    if d.get("outcome") != "allow":
        sys.exit(f"bench: vigilctl decide for user {i} did not allow: {d.get('reason_admin')}")
    evals.append(d["pdp"]["request"])
json.dump(evals[0], open(f"{t}/eval.json", "w"))
json.dump({"context": {"cerbos.includeMeta": True}, "evaluations": evals}, open(f"{t}/batch.json", "w"))
PYEOF
}

# batch_direct NAME PATH BODY CLIENTS DECISIONS_PER_REQUEST: pdp_floor with
# CLIENTS requests in flight; adds to BD_*[NAME].
declare -A BD_DECISIONS=() BD_NS=() BD_CERBOS=() BD_CLIENT=() BD_FAILED=()
batch_direct() {
    local name=$1 path=$2 body=$3 clients=$4 per=$5 requests t0 t1 c0 out
    requests=$((TP_TOTAL / per))
    c0=$(cpu_ticks "$CERBOS_PID")
    t0=$(now_ns)
    out=$("$FLOOR_BIN" --url "$CERBOS_URL$path" --body "$body" --count "$requests" --warmup 0 \
        --clients "$clients" --expect '"decision":true' 2>"$T/$name.err") || BD_FAILED[$name]=1
    t1=$(now_ns)
    BD_DECISIONS[$name]=$((${BD_DECISIONS[$name]:-0} + requests * per))
    BD_NS[$name]=$((${BD_NS[$name]:-0} + t1 - t0))
    BD_CERBOS[$name]=$((${BD_CERBOS[$name]:-0} + $(cpu_ticks "$CERBOS_PID") - c0))
    BD_CLIENT[$name]=$((${BD_CLIENT[$name]:-0} + $(field cpu_us <<<"$out")))
}

# batch_agent NAME: BATCH_CLIENTS pam_harness processes, TP_TOTAL cycles in
# all, through vigild NAME; adds to BD_*[NAME] and counts its records asked
# in a batch.
declare -A BD_BATCHED=() BD_RECORDS=() BD_VIGILD=()
batch_agent() {
    local name=$1 per=$((TP_TOTAL / BATCH_CLIENTS)) i p t0 t1 c0 v0 first user
    local -a pids=()
    local pid=${AGENT_PIDS[$name]}
    first=$(($(audit_lines "$T/$name.audit.jsonl") + 1))
    c0=$(cpu_ticks "$CERBOS_PID")
    v0=$(cpu_ticks "$pid")
    t0=$(now_ns)
    for i in $(seq "$BATCH_CLIENTS"); do
        user=$(batch_user $(((i - 1) % BATCH_USERS + 1)))
        "$HARNESS" --confdir "$T/$name.pam.d" --service sudo --user "$user" --tty /dev/pts/0 --invoker "$user" \
            --count "$per" --warmup 0 --quiet 2>"$T/$name.$i.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || BD_FAILED[$name]=$((${BD_FAILED[$name]:-0} + 1)); done
    t1=$(now_ns)
    if [ -n "${BD_FAILED[$name]:-}" ]; then
        echo "bench: $name: ${BD_FAILED[$name]} client(s) did not get PAM_SUCCESS every time, e.g.:" >&2
        cat "$T"/"$name".*.err | head -n 3 >&2
    fi
    BD_DECISIONS[$name]=$((${BD_DECISIONS[$name]:-0} + per * BATCH_CLIENTS))
    BD_NS[$name]=$((${BD_NS[$name]:-0} + t1 - t0))
    BD_CERBOS[$name]=$((${BD_CERBOS[$name]:-0} + $(cpu_ticks "$CERBOS_PID") - c0))
    BD_VIGILD[$name]=$((${BD_VIGILD[$name]:-0} + $(cpu_ticks "$pid") - v0))
    sleep 0.1
    local counts
    counts=$(tail -n +"$first" "$T/$name.audit.jsonl" | python3 -c '
import json, sys
records = batched = 0
for line in sys.stdin:
    r = json.loads(line)
    if r.get("event") != "decision":
        continue
    records += 1
    batched += "batch" in r.get("pdp", {})
print(records, batched)')
    BD_RECORDS[$name]=$((${BD_RECORDS[$name]:-0} + ${counts% *}))
    BD_BATCHED[$name]=$((${BD_BATCHED[$name]:-0} + ${counts#* }))
}

# shellcheck disable=SC2034 # PDP_STAGE: read by bench/run.sh when a stage fails
batch_measure() {
    PDP_STAGE="AuthZEN batching: starting two vigild instances"
    batch_config azsingle false
    batch_config azbatch true
    local name r
    for name in azsingle azbatch; do
        start_vigild "$T/$name.toml" "$T/$name.log" "$T/$name.sock"
        AGENT_PIDS[$name]=$VIGILD_PID
    done
    wait_edr azsingle && wait_edr azbatch
    PDP_STAGE="AuthZEN batching: the evaluations vigild sends (vigilctl decide --json)"
    batch_bodies
    echo "bench: AuthZEN batching, $BATCH_ROUNDS rounds of $TP_TOTAL decisions per path ..." >&2
    for r in $(seq "$BATCH_ROUNDS"); do
        PDP_STAGE="AuthZEN batching, round $r: Cerbos directly"
        batch_direct single /access/v1/evaluation "$T/eval.json" "$BATCH_CLIENTS" 1
        batch_direct batched /access/v1/evaluations "$T/batch.json" $((BATCH_CLIENTS / BATCH_SIZE)) "$BATCH_SIZE"
        PDP_STAGE="AuthZEN batching, round $r: through vigild"
        batch_agent azsingle
        batch_agent azbatch
    done
    for name in azsingle azbatch; do stop_pid "${AGENT_PIDS[$name]}"; done
}

batch_rate() { awk -v d="${BD_DECISIONS[$1]:-0}" -v ns="${BD_NS[$1]:-0}" 'BEGIN {if (ns > 0) printf "%.0f", d / (ns / 1e9); else printf "n/a"}'; }

# batch_row NAME LABEL: decisions/s, Cerbos CPU, own CPU, batched share, failures.
batch_row() {
    local name=$1 rate own="" share=""
    rate=$(batch_rate "$name")
    if [ -n "${BD_VIGILD[$name]:-}" ]; then
        own="vigild $(cpu_us_per "${BD_VIGILD[$name]}" "${BD_DECISIONS[$name]}")"
        share="${BD_BATCHED[$name]} of ${BD_RECORDS[$name]}"
    else
        own="client $(awk -v c="${BD_CLIENT[$name]}" -v d="${BD_DECISIONS[$name]}" 'BEGIN {printf "%.0f", c / d}')"
    fi
    echo "| $2 | ${BD_DECISIONS[$name]} | **$rate** | $(cpu_us_per "${BD_CERBOS[$name]}" "${BD_DECISIONS[$name]}") | $own | $share | ${BD_FAILED[$name]:-0} |"
}

batch_report() {
    local rows
    rows="$(batch_row single "Cerbos directly: $BATCH_CLIENTS single evaluations in flight (pdp_floor --clients $BATCH_CLIENTS)")
$(batch_row batched "Cerbos directly: $((BATCH_CLIENTS / BATCH_SIZE)) batches of $BATCH_SIZE in flight")
$(batch_row azsingle "pam_vigil → vigild → Cerbos AuthZEN, $BATCH_CLIENTS clients over $BATCH_USERS users, batch = false")
$(batch_row azbatch "the same, batch = true")"
    cat <<EOF

### AuthZEN batches: Cerbos $CERBOS_VERSION

Whether asking Cerbos about several requests in one
\`POST /access/v1/evaluations\` helps, and what vigild's \`[pdp] batch\`
makes of it. The evaluation is the one vigild sends for user \`$(batch_user 1)\`
(\`vigilctl decide --json\`); a batch holds $BATCH_SIZE users' evaluations.
Through vigild: $BATCH_CLIENTS pam_harness processes spread over $BATCH_USERS
users in group ops (service sudo), \`max_connections = 8\`, no cache; with
\`batch = true\` the requests that wait for one of the 8 calls go out
together. $BATCH_ROUNDS interleaved rounds of $TP_TOTAL decisions per path.
CPU: user + system time per decision, $CLK_TCK Hz ticks. "failed": pdp_floor
runs or PAM cycles that did not succeed.

| path | decisions | decisions/s | Cerbos CPU µs/decision | own CPU µs/decision | records asked in a batch | failed |
|---|---:|---:|---:|---:|---:|---:|
$rows

Batches of $BATCH_SIZE against single evaluations, asked directly: $(ratio "$(batch_rate batched)" "$(batch_rate single)")× the
decisions/s. Through vigild, batch = true against false: $(ratio "$(batch_rate azbatch)" "$(batch_rate azsingle)")×.
EOF
}
