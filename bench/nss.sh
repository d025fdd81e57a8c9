# shellcheck shell=bash
# bench/nss.sh — sourced by bench/run.sh: what libnss_vigil.so.2 adds to a
# lookup on the host. A name nobody has walks every source on the nsswitch
# line, so it pays the module's whole cost (open, check and parse the grant
# table) on every getpwnam and getgrnam: bench/nss_lookup times such lookups
# with "passwd/group: files" and with "files vigil", the table holding
# NSS_BENCH_ROWS live grants. Each configuration runs in its own private
# mount namespace (unshare), where the system library directory and /var/lib
# are overlays over a tmpfs: the host's nsswitch.conf and libraries are never
# written. Needs root.
# Target (issue 6): ≤ 2 µs added per lookup of an unknown name.

NSS_CALLS=${VIGIL_BENCH_NSS_CALLS:-20000}
NSS_BENCH_ROWS=${VIGIL_BENCH_NSS_ROWS:-50}
NSS_TARGET_US=2
NSS_LOOKUP=$BUILD/bench/nss_lookup
NSS_MODULE=$BUILD/nss/libnss_vigil.so.2

# A table with NSS_BENCH_ROWS groups, each with one member, live for a day.
nss_table() {
    local until=$(($(date +%s) + 86400)) i
    printf 'vigil-grants v1\n'
    for i in $(seq 1 "$NSS_BENCH_ROWS"); do printf 'group\tbench-g%d\t%d\t0\n' "$i" $((64500 + i)); done
    for i in $(seq 1 "$NSS_BENCH_ROWS"); do printf 'member\tbench-g%d\tbench-u%d\t%d\tg-bench%d\n' "$i" "$i" "$until" "$i"; done
}

# nss_run SOURCES OUT: nss_lookup with "passwd: SOURCES" and "group: SOURCES".
nss_run() {
    local sources=$1 out=$2
    unshare --mount --propagation private bash "$BENCH_DIR/nss_in_ns.sh" \
        "$T" "$NSS_MODULE" "$sources" "$NSS_LOOKUP" "$NSS_CALLS" >"$out"
}

nss_measure() {
    NSS_SKIP=""
    [ "$(id -u)" -eq 0 ] || NSS_SKIP="not root (needs a private mount namespace)"
    [ -x "$NSS_LOOKUP" ] && [ -f "$NSS_MODULE" ] || NSS_SKIP="${NSS_SKIP:+$NSS_SKIP; }bench/nss_lookup or the module is not built"
    [ -n "$NSS_SKIP" ] && return 0
    nss_table >"$T/nss-table"
    # Interleaved rounds, so drift on the machine hits both alike.
    local r
    for r in 1 2 3; do
        nss_run "files" "$T/nss-files-$r" || exit 1
        nss_run "files vigil" "$T/nss-vigil-$r" || exit 1
    done
}

# nss_median PREFIX DB: the median over the rounds' medians, in µs.
nss_median() {
    awk -v db="$2" '$1 == db { print $2 }' "$T/$1"-* | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] / 1000 }'
}
nss_p99() {
    awk -v db="$2" '$1 == db { print $3 }' "$T/$1"-* | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] / 1000 }'
}

nss_report() {
    echo
    echo "## NSS lookups (libnss_vigil.so.2)"
    echo
    if [ -n "${NSS_SKIP:-}" ]; then
        echo "Skipped: $NSS_SKIP."
        return 0
    fi
    local pf gf pv gv
    pf=$(nss_median nss-files passwd) gf=$(nss_median nss-files group)
    pv=$(nss_median nss-vigil passwd) gv=$(nss_median nss-vigil group)
    cat <<EOF
getpwnam_r / getgrnam_r of names nobody has, $NSS_CALLS each per round, 3
interleaved rounds (median of the rounds' medians); grant table of
$NSS_BENCH_ROWS groups and $NSS_BENCH_ROWS members.

| nsswitch | getpwnam median µs | p99 µs | getgrnam median µs | p99 µs |
|---|---:|---:|---:|---:|
| files | $pf | $(nss_p99 nss-files passwd) | $gf | $(nss_p99 nss-files group) |
| files vigil | $pv | $(nss_p99 nss-vigil passwd) | $gv | $(nss_p99 nss-vigil group) |

- added by vigil, getpwnam: **$(awk -v a="$pv" -v b="$pf" 'BEGIN {printf "%.2f", a - b}') µs** ($(ratio "$pv" "$pf")×) — target ≤ $NSS_TARGET_US µs: $(within "$(awk -v a="$pv" -v b="$pf" 'BEGIN {print a - b}')" $NSS_TARGET_US)
- added by vigil, getgrnam: **$(awk -v a="$gv" -v b="$gf" 'BEGIN {printf "%.2f", a - b}') µs** ($(ratio "$gv" "$gf")×) — target ≤ $NSS_TARGET_US µs: $(within "$(awk -v a="$gv" -v b="$gf" 'BEGIN {print a - b}')" $NSS_TARGET_US)
EOF
}
