#!/bin/bash
# bench/sudo.sh BUILD_DIR — the wall time of `sudo -n true`, run by a test
# user, with and without vigil_sudo.so (sudo's approval plugin) in
# sudo.conf. Both ways sudo's PAM account phase asks vigild (pam_vigil.so,
# [sudo] approval = "plugin", local rules); the plugin adds the decision on
# the command itself. Run by bench/run.sh; prints a Markdown section.
# Root: it runs in a private mount namespace (tests/e2e/lib.sh), where the
# test users, /etc/pam.d and /etc/sudo.conf are overlays.
#
# The two sudo.conf alternate call by call (sudo reads it afresh each
# time), so drift on the machine hits both alike. Each time is taken by the
# user's own shell around sudo alone, not around su.
# Target (issue 17): median with the plugin / median without ≤ 1.05.
# VIGIL_BENCH_SUDO_ROUNDS (default 60) calls each, after 3 warm-up calls each.
set -u
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${VIGIL_E2E_HOST_MNTNS:-}" ]; then
    BUILD_DIR=${1:-${BUILD_DIR:-$SRCDIR/build}}
    case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
fi
export SRCDIR BUILD_DIR E2E_NO_TAP=1
. "$SRCDIR/tests/e2e/lib.sh"
e2e_enter_ns "$@"

ROUNDS=${VIGIL_BENCH_SUDO_ROUNDS:-60}
TARGET=1.05
SUDO_PLUGIN=${SUDO_PLUGIN:-$BUILD_DIR/sudo_plugin/vigil_sudo.so}

without_plugin() { : >"$T/etc/sudo.conf"; }
with_plugin() { echo "Plugin vigil_approval $SUDO_PLUGIN socket=$PAM_SOCK timeout=3000" >"$T/etc/sudo.conf"; }

# one_call SETUP FILE: one `sudo -n true` by vgl-alice, timed in her shell (µs).
one_call() {
    "$1"
    local us
    us=$(cd / && su vgl-alice -s /bin/bash -c \
        't0=$(date +%s%N); sudo -n true || exit 1; t1=$(date +%s%N); echo $(((t1 - t0) / 1000))' 2>&1) ||
        { echo "bench: sudo -n true failed with $1: $us" >&2; note_logs; exit 1; }
    [ -n "${2:-}" ] && echo "$us" >>"$2"
}

[ -f "$SUDO_PLUGIN" ] || { echo "bench: no sudo plugin at $SUDO_PLUGIN" >&2; exit 1; }
e2e_setup_system
without_plugin
mount --bind "$T/etc/sudo.conf" /etc/sudo.conf || { echo "bench: cannot bind-mount sudo.conf" >&2; exit 1; }
{
    printf '[sudo]\napproval = "plugin"\n\n'
    standard_rules
} | write_config "$T/vigil.toml"
pam_sudo_vigil timeout=3000
agent_start "$T/vigil.toml" || { cat "$E2E_DIAG" >&2; exit 1; }
echo "bench: sudo -n true, $ROUNDS calls with and without vigil_sudo.so, alternating ..." >&2
for _ in 1 2 3; do one_call without_plugin; one_call with_plugin; done
audit_mark
for _ in $(seq "$ROUNDS"); do
    one_call without_plugin "$T/without.us"
    one_call with_plugin "$T/with.us"
done
# Every call with the plugin left a command record.
commands=$(tail -n +"$((AUDIT_MARK + 1))" "$AUDIT_LOG" | grep -c '"phase":"command"')

stats() { sort -n "$1" | awk '{v[NR] = $1; s += $1} END {printf "%d %d %d", v[int((NR + 1) / 2)], s / NR, v[int(NR * 0.9 + 0.999)]}'; }
ms() { awk -v v="$1" 'BEGIN {printf "%.1f", v / 1000}'; }
read -r WO_MED WO_MEAN WO_P90 <<<"$(stats "$T/without.us")"
read -r WI_MED WI_MEAN WI_P90 <<<"$(stats "$T/with.us")"
ratio_med=$(awk -v a="$WI_MED" -v b="$WO_MED" 'BEGIN {printf "%.3f", a / b}')
ratio_mean=$(awk -v a="$WI_MEAN" -v b="$WO_MEAN" 'BEGIN {printf "%.3f", a / b}')
verdict=$(awk -v r="$ratio_med" -v t="$TARGET" 'BEGIN {print (r <= t ? "within target" : "OVER target")}')

cat <<EOF

## sudo -n true, wall time

Real sudo run by a test user, timed in that user's shell around sudo
alone; sudo's PAM account phase asks vigild both ways (\`pam_vigil.so\`,
local rules). "With the plugin" adds \`vigil_sudo.so\` in sudo.conf, so
vigild also decides the command sudo resolved ($commands command decisions
in its trail for $ROUNDS calls). The two sudo.conf alternate call by call,
$ROUNDS calls each after 3 warm-up calls.

| sudo.conf | calls | median ms | mean ms | p90 ms |
|---|---:|---:|---:|---:|
| without vigil_sudo.so | $ROUNDS | $(ms "$WO_MED") | $(ms "$WO_MEAN") | $(ms "$WO_P90") |
| with vigil_sudo.so | $ROUNDS | $(ms "$WI_MED") | $(ms "$WI_MEAN") | $(ms "$WI_P90") |

- with / without (median): **$ratio_med** — target ≤ $TARGET: $verdict; mean: $ratio_mean
EOF
