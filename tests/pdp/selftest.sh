#!/bin/bash
# shellcheck disable=SC2016  # the bash -c snippets expand their own $1/$2
# Self-test of the test PDP kit: installs Cerbos if needed, runs the policy
# unit tests, starts Cerbos plain / --tls / --mtls, replays every example in
# tests/pdp/examples against it (and checks SHAPES.md shows each verbatim),
# checks TLS and mTLS refuse what they must, and stops everything it started.
#
#   tests/pdp/selftest.sh          # TAP lines, then "N passed, N failed"
#   tests/pdp/selftest.sh --tap    # TAP only (for meson's protocol: 'tap')
# Exit status 1 when anything failed.
set -uo pipefail

tap_only=0
[ "${1:-}" = "--tap" ] && tap_only=1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-pdp.XXXXXX")

cleanup() {
    local d
    for d in plain tls mtls; do
        [ -d "$work/$d" ] && "$here/cerbos.sh" stop "$work/$d"
    done
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
# refuse NAME CMD...: passes when CMD fails.
refuse() {
    local name=$1; shift
    if "$@" >"$work/out" 2>&1; then tap_not_ok "$name (it succeeded)"; tap_diag < "$work/out"; else tap_ok "$name"; fi
}

# Count examples.js's own PASS/FAIL lines.
replay() {
    local line
    while IFS= read -r line; do
        case "$line" in
            "PASS "*) tap_ok "example ${line#PASS }" ;;
            "FAIL "*) tap_not_ok "example ${line#FAIL }" ;;
            *) echo "# $line" ;;
        esac
    done < <(node "$here/examples.js" "$@" 2>&1)
}

bin=$("$here/install.sh" 2> >(tap_diag)) || { tap_not_ok "install.sh"; echo "1..$TAP_N"; exit 1; }
check "install.sh gives an executable Cerbos 0.55.0" \
    bash -c '[ -x "$1" ] && "$1" --version | head -n1 | grep -qx 0.55.0' _ "$bin"
check "install.sh is a fast no-op when installed" \
    bash -c '[ "$("$1")" = "$2" ]' _ "$here/install.sh" "$bin"

check "policy unit tests (cerbos compile tests/pdp/policies)" "$bin" compile "$here/policies"

# The test PDP serves the shipped examples themselves, not copies that could drift.
for policy in host command; do
    check "tests/pdp/policies/$policy.yaml is conf/cerbos/$policy.yaml" \
        bash -c '[ -L "$1" ] && [ "$(readlink -f "$1")" = "$(readlink -f "$2")" ]' _ \
        "$here/policies/$policy.yaml" "$root/conf/cerbos/$policy.yaml"
done

# --- plain HTTP: every example, and SHAPES.md shows each ---------------------
if "$here/cerbos.sh" start "$work/plain" >"$work/plain.env"; then
    tap_ok "cerbos.sh start (plain HTTP)"
    # shellcheck disable=SC1091
    . "$work/plain.env"
    replay --url "$CERBOS_URL" --doc "$here/SHAPES.md" "$here"/examples/*.json
    pid=$CERBOS_PID
    port=${CERBOS_URL##*:}
    "$here/cerbos.sh" stop "$work/plain"
    check "cerbos.sh stop ends the PDP and frees its port" \
        bash -c '[ -z "$(ps -o stat= -p "$1" | grep -v Z)" ] && [ -z "$(ss -Htln "sport = :$2")" ]' _ "$pid" "$port"
else
    tap_not_ok "cerbos.sh start (plain HTTP)"
fi

# --- TLS ----------------------------------------------------------------------
if "$here/cerbos.sh" start "$work/tls" --tls >"$work/tls.env"; then
    tap_ok "cerbos.sh start --tls"
    # shellcheck disable=SC1091
    . "$work/tls.env"
    check "--tls URL is https" test "${CERBOS_URL#https://127.0.0.1:}" != "$CERBOS_URL"
    replay --url "$CERBOS_URL" --ca "$CERBOS_CA" \
        "$here/examples/06-health.json" "$here/examples/12-authzen-allow-obligations.json" \
        "$here/examples/01-native-check-allow-stepup.json"
    refuse "--tls: a client that does not trust the CA is refused" \
        curl -sS --max-time 5 "$CERBOS_URL/_cerbos/health"
    "$here/cerbos.sh" stop "$work/tls"
else
    tap_not_ok "cerbos.sh start --tls"
fi

# --- mTLS ---------------------------------------------------------------------
if "$here/cerbos.sh" start "$work/mtls" --mtls >"$work/mtls.env"; then
    tap_ok "cerbos.sh start --mtls"
    # shellcheck disable=SC1091
    . "$work/mtls.env"
    replay --url "$CERBOS_URL" --ca "$CERBOS_CA" \
        --cert "$CERBOS_CLIENT_CERT" --key "$CERBOS_CLIENT_KEY" \
        "$here/examples/06-health.json" "$here/examples/17-authzen-batch.json"
    refuse "--mtls: a client without a certificate is refused" \
        curl -sS --max-time 5 --cacert "$CERBOS_CA" "$CERBOS_URL/_cerbos/health"
    refuse "--mtls: a client certificate from another CA is refused" \
        curl -sS --max-time 5 --cacert "$CERBOS_CA" \
        --cert "$work/tls/server.pem" --key "$work/tls/server.key" "$CERBOS_URL/_cerbos/health"
    "$here/cerbos.sh" stop "$work/mtls"
else
    tap_not_ok "cerbos.sh start --mtls"
fi

echo "1..$TAP_N"
[ "$tap_only" = 1 ] || echo "$((TAP_N - TAP_FAILED)) passed, $TAP_FAILED failed"
[ "$TAP_FAILED" -eq 0 ]
