#!/bin/bash
# shellcheck disable=SC2016  # the bash -c snippets expand their own $1/$2
# Self-test of the device flow against a real OpenID provider: installs the
# pinned oidc-provider if needed, starts it on loopback (tests/oidc/provider.sh),
# and for each case runs build/tests/tools/device_flow_probe (vigild's
# DeviceFlow) while tests/oidc/approve.mjs plays the person on the provider's
# own pages: approve with MFA (RS256, ES256, a confidential client), deny,
# let the code expire, approve as the wrong user, approve as an account whose
# preferred_username but not sub is the user, approve without MFA, a
# provider that answers slow_down, and a provider whose JWKS does not match
# its signing key. ~30 s.
#
#   tests/oidc/selftest.sh                 # TAP lines, then "N passed, N failed"
#   tests/oidc/selftest.sh --tap           # TAP only (for meson's protocol: 'tap')
#   tests/oidc/selftest.sh --probe PATH    # the probe to run (default build/tests/tools/device_flow_probe)
# Exit status 1 when anything failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd)
tap_only=0
probe=$root/build/tests/tools/device_flow_probe
while [ $# -gt 0 ]; do
    case "$1" in
        --tap) tap_only=1 ;;
        --probe) probe=$2; shift ;;
        *) echo "usage: $0 [--tap] [--probe PATH]" >&2; exit 2 ;;
    esac
    shift
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-oidc.XXXXXX")

cleanup() {
    local d
    for d in main short slow slowauth wrongkey; do "$here/provider.sh" stop "$work/$d" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=../lib/tap.sh
. "$root/tests/lib/tap.sh"

# check NAME CMD...: passes when CMD exits 0.
check() {
    local name=$1; shift
    if "$@" >"$work/out" 2>&1; then tap_ok "$name"; else tap_not_ok "$name"; tap_diag < "$work/out"; fi
}

# flow ISSUER CLIENT USER [PROBE_OPTS...] [-- APPROVER_ARGS...]: runs the probe
# for USER; once it prints its verification URL, runs the approver with
# APPROVER_ARGS (none: nobody approves). The probe's last line (state=...)
# ends up in $work/state, everything in $work/flow.log.
flow() {
    local issuer=$1 client=$2 user=$3; shift 3
    local popts=() aargs=() url="" _ pid
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do popts+=("$1"); shift; done
    [ $# -gt 0 ] && shift && aargs=("$@")
    : > "$work/probe.out"
    "$probe" --issuer "$issuer" --client-id "$client" --user "$user" --deadline-ms 15000 "${popts[@]}" \
        >"$work/probe.out" 2>"$work/probe.err" &
    pid=$!
    for _ in $(seq 1 100); do
        url=$(sed -n 's/^verification_uri_complete=//p' "$work/probe.out")
        [ -n "$url" ] || grep -q '^state=' "$work/probe.out" && break
        sleep 0.1
    done
    : > "$work/approve.out"
    if [ -n "$url" ] && [ ${#aargs[@]} -gt 0 ]; then
        node "$here/approve.mjs" "$url" "${aargs[@]}" >"$work/approve.out" 2>&1
    fi
    wait "$pid"
    grep '^state=' "$work/probe.out" | tail -n1 > "$work/state"
    cat "$work/probe.out" "$work/probe.err" "$work/approve.out" > "$work/flow.log"
}

# expect NAME REGEX: the last flow's state line matches REGEX.
expect() {
    if grep -Eq "$2" "$work/state"; then tap_ok "$1"; tap_diag < "$work/state"; else tap_not_ok "$1"; tap_diag < "$work/flow.log"; fi
}

# start_provider NAME [OPTS...]: sets $issuer.
start_provider() {
    local name=$1; shift
    if "$here/provider.sh" start "$work/$name" "$@" >"$work/$name.env" 2>"$work/out"; then
        tap_ok "provider.sh start${*:+ $*}"
        issuer=$(sed -n 's/^OIDC_ISSUER=//p' "$work/$name.env")
    else
        tap_not_ok "provider.sh start${*:+ $*}"
        tap_diag < "$work/out"
        return 1
    fi
}

if ! "$here/install.sh" >"$work/out" 2>&1; then
    tap_not_ok "install.sh"; tap_diag < "$work/out"; echo "1..$TAP_N"; exit 1
fi
want=$(sed -n 's/.*"oidc-provider": *"\([0-9.]*\)".*/\1/p' "$here/package.json")
check "install.sh installs the pinned oidc-provider $want" \
    bash -c '[ "$(node -p "require(\"$1/package.json\").version")" = "$2" ]' _ "$here/node_modules/oidc-provider" "$want"
check "install.sh is a fast no-op when installed" bash -c '[ "$("$1")" = "$2/provider.mjs" ]' _ "$here/install.sh" "$here"
[ -x "$probe" ] || { tap_not_ok "device_flow_probe is built at $probe"; echo "1..$TAP_N"; exit 1; }

# --- an honest provider ---------------------------------------------------------
if start_provider main; then
    echo "# issuer $issuer"
    flow "$issuer" vigil-rs vgl-alice -- --as alice
    expect "approved with MFA (RS256): approved as vgl-alice (sub)" '^state=approved user=vgl-alice sub=vgl-alice .*amr=pwd,otp'

    flow "$issuer" vigil-es vgl-alice -- --as alice
    expect "approved with MFA (ES256): approved" '^state=approved user=vgl-alice '

    flow "$issuer" vigil-rs vgl-alice -- --as vgl-alice
    expect "preferred_username vgl-alice, sub 00u-alice-1001: refused by default, naming sub" \
        '^state=failed why=ID token: sub "00u-alice-1001" \(user_claim\) is not the local user vgl-alice; its preferred_username is vgl-alice'

    flow "$issuer" vigil-rs vgl-alice --user-claim preferred_username -- --as vgl-alice
    expect "preferred_username vgl-alice with user_claim preferred_username: approved" \
        '^state=approved user=vgl-alice sub=00u-alice-1001 '

    install -m 600 /dev/null "$work/client.secret"
    echo vigil-test-secret > "$work/client.secret"
    flow "$issuer" vigil-secret vgl-bob --user-claim preferred_username --client-secret-file "$work/client.secret" \
        -- --as vgl-bob
    expect "confidential client (client_secret_file): approved as vgl-bob" '^state=approved user=vgl-bob '

    echo wrong-secret > "$work/client.secret"
    flow "$issuer" vigil-secret vgl-bob --client-secret-file "$work/client.secret"
    expect "confidential client with a wrong secret: refused by the provider" '^state=failed why=.*invalid_client'

    flow "$issuer" vigil-rs vgl-alice -- --deny
    expect "denied by the user: denied" '^state=denied why=denied at the provider'

    flow "$issuer" vigil-rs vgl-alice -- --as vgl-bob
    expect "token for the wrong user: refused, naming the claim and both users" \
        '^state=failed why=ID token: sub "00u-bob-1002" \(user_claim\) is not the local user vgl-alice$'

    flow "$issuer" vigil-rs vgl-alice -- --as alice --no-mfa
    expect "no MFA in amr: refused" '^state=failed why=ID token: amr \[pwd\] shows no second factor'

    flow "$issuer" vigil-rs vgl-alice --amr-any hwk --acr-any urn:vigil:acr:mfa -- --as alice
    expect "MFA shown by acr (accept_acr) when amr is not accepted: approved" '^state=approved user=vgl-alice .*acr=urn:vigil:acr:mfa'

    flow "$issuer" vigil-rs vgl-alice --deadline-ms 1500
    expect "nobody approves before the deadline: pending" '^state=pending '

    start=$(date +%s%N)
    flow "$issuer" vigil-rs vgl-alice --cancel-after-ms 500
    took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    expect "cancel() from another thread ends wait() (${took_ms} ms)" '^state=failed why=cancelled$'
    check "cancel() ends wait() within 3 s of the cancel" test "$took_ms" -lt 3500

    flow "${issuer/127.0.0.1/localhost}" vigil-rs vgl-alice
    expect "issuer spelled differently from the provider's own: refused at discovery" \
        '^state=failed why=.*discovery names issuer "http://127.0.0.1:[0-9]+", not "http://localhost:'

    flow "http://vigil-idp.invalid" vigil-rs vgl-alice
    expect "plain http:// issuer off loopback: refused before any request" \
        '^state=failed why=.*plain http is allowed only on loopback'

    pid=$(sed -n 's/^OIDC_PID=//p' "$work/main.env")
    port=${issuer##*:}
    "$here/provider.sh" stop "$work/main"
    check "provider.sh stop ends the provider and frees its port" \
        bash -c '[ -z "$(ps -o stat= -p "$1" | grep -v Z)" ] && [ -z "$(ss -Htln "sport = :$2")" ]' _ "$pid" "$port"
fi

# --- device codes that live 3 s -------------------------------------------------
if start_provider short --device-code-ttl 3; then
    flow "$issuer" vigil-rs vgl-alice
    expect "nobody approves before the code expires: expired" '^state=expired '
    "$here/provider.sh" stop "$work/short"
fi

# --- a provider that enforces its polling rate -----------------------------------
if start_provider slow --min-poll-gap 2; then
    start=$(date +%s%N)
    flow "$issuer" vigil-rs vgl-alice -- --as alice
    took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    expect "slow_down: still approved" '^state=approved user=vgl-alice '
    polls=$(grep -c 'POST /token' "$work/slow/provider.log")
    slowed=$(grep -c 'answered slow_down' "$work/slow/provider.log")
    check "slow_down: the client waited interval + 5 s before polling again (3 polls, 1 slow_down, ${took_ms} ms)" \
        bash -c '[ "$1" = 3 ] && [ "$2" = 1 ] && [ "$3" -ge 6000 ]' _ "$polls" "$slowed" "$took_ms"
    "$here/provider.sh" stop "$work/slow"
fi

# --- a provider slower than the caller's deadline ----------------------------------
if start_provider slowauth --delay /device/auth=5000; then
    flow "$issuer" vigil-rs vgl-alice --deadline-ms 1500
    expect "device authorization slower than begin()'s deadline: refused by the deadline, not http_timeout" \
        "^state=failed why=device flow: device authorization at .*: timeout: .*the PAM module's deadline left"
    "$here/provider.sh" stop "$work/slowauth"
fi

# --- a provider whose JWKS does not hold the key it signs with --------------------
if start_provider wrongkey --jwks wrong-key; then
    flow "$issuer" vigil-rs vgl-alice -- --as alice
    expect "bad signature (RS256): refused" '^state=failed why=ID token: signature does not verify$'
    flow "$issuer" vigil-es vgl-alice -- --as alice
    expect "bad signature (ES256): refused" '^state=failed why=ID token: signature does not verify$'
    "$here/provider.sh" stop "$work/wrongkey"
fi

echo "1..$TAP_N"
[ "$tap_only" = 1 ] || echo "$((TAP_N - TAP_FAILED)) passed, $TAP_FAILED failed"
[ "$TAP_FAILED" -eq 0 ]
