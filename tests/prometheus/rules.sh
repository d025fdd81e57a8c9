#!/bin/bash
# conf/prometheus/vigil-alerts.yml as shipped: promtool accepts it, its
# unit tests (vigil-alerts.test.yml: each alert fires on trouble and not on
# a healthy host) pass, and every vigil_ metric it names is one vigild
# writes (agent/trail/telemetry.cc), so a renamed metric cannot leave an alert
# that never fires. TAP output.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
rules=$top/conf/prometheus/vigil-alerts.yml
echo "1..3"
if ! command -v promtool >/dev/null; then
    for i in 1 2 3; do echo "not ok $i - promtool is not installed (scripts/deps.sh test: Debian package prometheus)"; done
    exit 1
fi
failed=0
check() { # N DESCRIPTION CMD...
    local n=$1 desc=$2 out
    shift 2
    if out=$("$@" 2>&1); then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        printf '%s\n' "$out" | sed 's/^/# /'
        failed=$((failed + 1))
    fi
}
check 1 "promtool check rules accepts conf/prometheus/vigil-alerts.yml" promtool check rules "$rules"
check 2 "promtool test rules: each alert fires on its trouble, none on a healthy host" \
    promtool test rules "$top/tests/prometheus/vigil-alerts.test.yml"
known=$(grep -oE '\{"vigil_[a-z_]+"' "$top/agent/trail/telemetry.cc" | grep -oE 'vigil_[a-z_]+' | sort -u)
used=$(grep -v '^\s*#' "$rules" | grep -oE '\bvigil_[a-z_]+' | sort -u)
unknown=$(comm -23 <(echo "$used") <(echo "$known"))
check 3 "every vigil_ metric the rules name is one vigild writes" test -z "$unknown"
[ -z "$unknown" ] || echo "# unknown: $unknown"
exit "$failed"
