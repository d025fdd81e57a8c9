#!/bin/bash
# bench/ssh.sh BUILD_DIR — the wall time of `ssh 127.0.0.1 true` against a
# real sshd, with and without pam_vigil.so in its PAM stack (account and
# session phases, vigild deciding on local rules). Run by bench/run.sh;
# prints a Markdown section. Root: it runs in a private mount namespace
# (tests/e2e/lib.sh), where the test users and /etc/pam.d are overlays.
#
# The two stacks alternate call by call, so drift on the machine hits both
# alike; sshd reads /etc/pam.d/sshd afresh for every connection.
# Target (issue 8): median with vigil / median without ≤ 1.05.
# VIGIL_BENCH_SSH_ROUNDS (default 40) calls per stack, after 3 warm-up calls each.
set -u
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${VIGIL_E2E_HOST_MNTNS:-}" ]; then
    BUILD_DIR=${1:-${BUILD_DIR:-$SRCDIR/build}}
    case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
fi
export SRCDIR BUILD_DIR E2E_NO_TAP=1
. "$SRCDIR/tests/e2e/lib.sh"
e2e_enter_ns "$@"

ROUNDS=${VIGIL_BENCH_SSH_ROUNDS:-40}
TARGET=1.05

without_vigil() {
    write_pam sshd <<EOF
auth required pam_permit.so
account required pam_permit.so
session required pam_permit.so
EOF
}
with_vigil() {
    write_pam sshd <<EOF
auth required pam_permit.so
account required pam_permit.so
$(vigil_pam account timeout=3000)
session required pam_permit.so
$(vigil_pam session timeout=3000)
EOF
}

# one_call STACK FILE: one timed `ssh vgl-alice@127.0.0.1 true`, in µs.
one_call() {
    "$1"
    local t0 t1
    t0=$(date +%s%N)
    ssh_login vgl-alice true
    t1=$(date +%s%N)
    [ "$SSH_RC" -eq 0 ] || { echo "bench: ssh failed with $1: $SSH_OUT" >&2; note_logs; exit 1; }
    [ -n "${2:-}" ] && echo $(((t1 - t0) / 1000)) >>"$2"
}

e2e_setup_system
standard_rules | write_config "$T/vigil.toml"
agent_start "$T/vigil.toml" || { cat "$E2E_DIAG" >&2; exit 1; }
without_vigil
sshd_start || { cat "$E2E_DIAG" >&2; exit 1; }
echo "bench: ssh 127.0.0.1 true, $ROUNDS calls with and without pam_vigil, alternating ..." >&2
for _ in 1 2 3; do one_call without_vigil; one_call with_vigil; done
for _ in $(seq "$ROUNDS"); do
    one_call without_vigil "$T/without.us"
    one_call with_vigil "$T/with.us"
done
# Every call with vigil was decided (and its session registered) by vigild.
decided=$(grep -c '"phase":"account"' "$AUDIT_LOG")

read -r WO_MED WO_MEAN WO_P90 <<<"$(sort -n "$T/without.us" | awk '{v[NR] = $1; s += $1} END {printf "%d %d %d", v[int((NR + 1) / 2)], s / NR, v[int(NR * 0.9 + 0.999)]}')"
read -r WI_MED WI_MEAN WI_P90 <<<"$(sort -n "$T/with.us" | awk '{v[NR] = $1; s += $1} END {printf "%d %d %d", v[int((NR + 1) / 2)], s / NR, v[int(NR * 0.9 + 0.999)]}')"
ratio_med=$(awk -v a="$WI_MED" -v b="$WO_MED" 'BEGIN {printf "%.3f", a / b}')
ratio_mean=$(awk -v a="$WI_MEAN" -v b="$WO_MEAN" 'BEGIN {printf "%.3f", a / b}')
verdict=$(awk -v r="$ratio_med" -v t="$TARGET" 'BEGIN {print (r <= t ? "within target" : "OVER target")}')

cat <<EOF

## ssh 127.0.0.1 true, wall time

Real OpenSSH on loopback, public-key login of a test user, the command
\`true\`; timed around the ssh client (fork, key exchange, authentication,
PAM account and session phases, the command, teardown). The two PAM stacks
alternate call by call, $ROUNDS calls each after 3 warm-up calls; "with
vigil" adds \`pam_vigil.so\` to the account and session phases (vigild
deciding on local rules; $decided account decisions in its trail).

| sshd PAM stack | calls | median ms | mean ms | p90 ms |
|---|---:|---:|---:|---:|
| without vigil (pam_permit) | $ROUNDS | $(awk -v v="$WO_MED" 'BEGIN {printf "%.1f", v / 1000}') | $(awk -v v="$WO_MEAN" 'BEGIN {printf "%.1f", v / 1000}') | $(awk -v v="$WO_P90" 'BEGIN {printf "%.1f", v / 1000}') |
| with pam_vigil (account + session) | $ROUNDS | $(awk -v v="$WI_MED" 'BEGIN {printf "%.1f", v / 1000}') | $(awk -v v="$WI_MEAN" 'BEGIN {printf "%.1f", v / 1000}') | $(awk -v v="$WI_P90" 'BEGIN {printf "%.1f", v / 1000}') |

- with / without (median): **$ratio_med** — target ≤ $TARGET: $verdict; mean: $ratio_mean
EOF
