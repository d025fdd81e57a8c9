#!/bin/bash
# bench/run.sh BUILD_DIR — what pam_vigil.so costs sshd and sudo per request,
# with local rules and with a remote PDP (Cerbos).
#
# A benchmark, not a test: it prints numbers and the targets beside them and
# fails only when it cannot measure (a stack that does not return
# PAM_SUCCESS, an agent or PDP that does not start or cannot be installed).
#
#   bench/local.sh  pam_permit, pam_unix, pam_vigil with local rules; vigild's
#                   memory; the module's and the engine's share
#   bench/posture.sh  a decision with 10 signals vs none; vigild's idle CPU
#                   with collectors on
#   bench/pdp.sh    pam_vigil → vigild → Cerbos against a keep-alive libcurl
#                   floor (bench/pdp_floor.cc) and pam_exec + curl
#                   (bench/pam_exec_cerbos.sh); the positive cache;
#                   throughput at 1, 8, 64 clients; vigild's memory under
#                   load; whether vigild reuses its connections to Cerbos
#   bench/nss.sh    what libnss_vigil.so.2 adds to getpwnam/getgrnam
#   bench/sudo.sh   wall time of `sudo -n true` with and without vigil_sudo.so
#   bench/ssh.sh    wall time of `ssh 127.0.0.1 true` with and without
#                   pam_vigil.so in sshd's stack (its own namespace)
#   bench/plot.sh   the run's latency distributions as build/bench/latency.png
#
# As root the whole run happens in a private mount, network and pid
# namespace (unshare): the bench user for the PDP rows is bind-mounted into
# /etc/passwd and /etc/group there only, Cerbos listens on the namespace's own
# loopback so the kernel's TCP counters count only the bench's connections,
# and nothing the bench started outlives it. Without root (or namespaces)
# only the local rows are measured.
#
# Results go to stdout and are appended to BUILD_DIR/bench/results.md. About
# a minute on two cores.
# Environment: VIGIL_BENCH_CALLS (default 5000), VIGIL_BENCH_WARMUP (500) for
# the local rows; for the PDP rows VIGIL_BENCH_PDP_CALLS (2000 per path) and
# VIGIL_BENCH_PDP_WARMUP (200), VIGIL_BENCH_EXEC_CALLS (300) and
# VIGIL_BENCH_EXEC_WARMUP (12) for pam_exec, VIGIL_BENCH_ROUNDS (4: the
# paths run interleaved, each round a share of the calls),
# VIGIL_BENCH_TP_TOTAL (3072 cycles per concurrency level);
# VIGIL_BENCH_NO_PDP=1 skips the PDP rows.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$BENCH_DIR/.." && pwd)
CALLS=${VIGIL_BENCH_CALLS:-5000}
WARMUP=${VIGIL_BENCH_WARMUP:-500}

HARNESS=$BUILD/tests/tools/pam_harness
MOD=$BUILD/pam_module/pam_vigil.so
VIGILD=$BUILD/agent/vigild
FAKE=$BUILD/tests/tools/fake_agent
FLOOR_BIN=$BUILD/bench/pdp_floor
for f in "$HARNESS" "$VIGILD"; do
    [ -x "$f" ] || { echo "bench: $f missing; build first (make)" >&2; exit 1; }
done
[ -f "$MOD" ] || { echo "bench: $MOD missing; build first (make)" >&2; exit 1; }

# ------------------------------------------------ outside the namespace ----

if [ -z "${VIGIL_BENCH_IN_NS:-}" ]; then
    PDP_SKIP=${VIGIL_BENCH_NO_PDP:+VIGIL_BENCH_NO_PDP is set}
    if [ -z "$PDP_SKIP" ] && [ "$(id -u)" -ne 0 ]; then
        PDP_SKIP="not root (the PDP rows need a private mount namespace for their test user)"
    fi
    if [ -z "$PDP_SKIP" ]; then
        for tool in unshare ip ss python3 g++ install; do
            command -v "$tool" >/dev/null 2>&1 || PDP_SKIP="${PDP_SKIP:+$PDP_SKIP; }$tool not found"
        done
    fi
    if [ -z "$PDP_SKIP" ] &&
        ! unshare --mount --net --pid --fork --mount-proc --propagation private true 2>/dev/null; then
        PDP_SKIP="cannot create mount/network/pid namespaces (unshare failed)"
    fi
    if [ -z "$PDP_SKIP" ]; then
        # Needs the npm registry, which the namespace's network cannot reach.
        if ! CERBOS_BIN=$("$SRCDIR/tests/pdp/install.sh"); then
            echo "bench: installing Cerbos failed (tests/pdp/install.sh); cannot measure the PDP rows" >&2
            exit 1
        fi
        mkdir -p "$BUILD/bench"
        if [ ! -x "$FLOOR_BIN" ] || [ "$BENCH_DIR/pdp_floor.cc" -nt "$FLOOR_BIN" ]; then
            g++ -O2 -std=c++20 -Wall -Wextra -o "$FLOOR_BIN" "$BENCH_DIR/pdp_floor.cc" -lcurl || {
                echo "bench: cannot compile bench/pdp_floor.cc (needs g++ and libcurl4-openssl-dev)" >&2
                exit 1
            }
        fi
        VIGIL_BENCH_HOST_MNTNS=$(readlink /proc/self/ns/mnt)
        export CERBOS_BIN VIGIL_BENCH_HOST_MNTNS
        export VIGIL_BENCH_IN_NS=1
        # --kill-child: if unshare is killed, the bench gets SIGTERM and
        # cleans up; once it (the namespace's init) exits, the kernel ends
        # everything left in the namespace (Cerbos, vigild, clients).
        exec unshare --mount --net --pid --fork --kill-child=SIGTERM --mount-proc \
            --propagation private bash "${BASH_SOURCE[0]}" "$BUILD"
    fi
    export VIGIL_BENCH_PDP_SKIP=$PDP_SKIP
fi

# --------------------------------------------------------- the bench ----

# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
# shellcheck source=bench/local.sh
. "$BENCH_DIR/local.sh"
# shellcheck source=bench/pdp.sh
. "$BENCH_DIR/pdp.sh"
# shellcheck source=bench/pdp_batch.sh
. "$BENCH_DIR/pdp_batch.sh"
# shellcheck source=bench/posture.sh
. "$BENCH_DIR/posture.sh"
# shellcheck source=bench/nss.sh
. "$BENCH_DIR/nss.sh"
# shellcheck source=bench/plot.sh
. "$BENCH_DIR/plot.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "bench: warning: not root; pam_unix then checks shadow through unix_chkpwd" >&2
fi

umask 077
T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
RESULTS=$BUILD/bench/results.md
CERBOS_DIR=
PDP_STAGE=
cleanup() {
    local rc=$? pid
    trap - EXIT
    for pid in $BENCH_PIDS; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$CERBOS_DIR" ]; then
        "$SRCDIR/tests/pdp/cerbos.sh" stop "$CERBOS_DIR" >/dev/null 2>&1 || true
    fi
    if declare -F sdu_stop >/dev/null; then sdu_stop >/dev/null 2>&1 || true; fi
    if [ -n "$PDP_STAGE" ] && [ "$rc" -ne 0 ]; then
        echo "bench: the PDP rows could not be measured (failed while: $PDP_STAGE)" >&2
        for f in "$T/uncached.log" "$T/cached.log" "$T/cerbos/cerbos.log"; do
            [ -s "$f" ] && { echo "--- $f:" >&2; tail -n 15 "$f" >&2; }
        done
        printf '\n## Remote PDP: not measured\n\nFailed while: %s (see the bench output).\n' \
            "$PDP_STAGE" >>"$RESULTS"
    fi
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${VIGIL_BENCH_IN_NS:-}" ]; then
    ip link set lo up
fi
mkdir -p "$BUILD/bench"
START_ALL=$SECONDS

local_measure
# Runs appended to one file are told apart by a rule.
[ -s "$RESULTS" ] && printf '\n---\n\n' >>"$RESULTS"
local_report | tee -a "$RESULTS"

posture_measure
posture_report | tee -a "$RESULTS"

if [ -n "${VIGIL_BENCH_PDP_SKIP:-}" ]; then
    printf '\n## Remote PDP: skipped\n\n%s.\n' "$VIGIL_BENCH_PDP_SKIP" | tee -a "$RESULTS"
else
    pdp_measure
    pdp_report | tee -a "$RESULTS"
fi

nss_measure
nss_report | tee -a "$RESULTS"

if [ "$(id -u)" -eq 0 ]; then
    bash "$BENCH_DIR/ssh.sh" "$BUILD" | tee -a "$RESULTS"
    bash "$BENCH_DIR/sudo.sh" "$BUILD" | tee -a "$RESULTS"
else
    printf '\n## ssh 127.0.0.1 true: skipped\n\nNot root (needs sshd and a private mount namespace).\n' | tee -a "$RESULTS"
    printf '\n## sudo -n true: skipped\n\nNot root (needs sudo and a private mount namespace).\n' | tee -a "$RESULTS"
fi

PLOT=$BUILD/bench/latency.png
bench_plot "$PLOT" "vigil: one PAM account cycle, in-process ($(date -u '+%Y-%m-%d'))" \
    "pam_permit" "$T/permit.ns" "pam_unix" "$T/unix.ns" "pam_vigil, local rules" "$T/vigil.ns" \
    "pam_vigil + Cerbos, cached" "$T/cached.ns" "pam_vigil + Cerbos, uncached" "$T/uncached.ns" \
    "libcurl keep-alive to Cerbos (floor)" "$T/floor.ns" "pam_exec + curl to Cerbos" "$T/exec.ns"
[ -s "$PLOT" ] && printf '\nLatency distributions of this run: `%s`.\n' "$PLOT" | tee -a "$RESULTS"
echo | tee -a "$RESULTS" >/dev/null
echo "Whole bench: $((SECONDS - START_ALL)) s." | tee -a "$RESULTS"
echo "bench: appended to $RESULTS" >&2
