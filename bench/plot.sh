# shellcheck shell=bash
# bench/plot.sh — sourced by bench/run.sh: one PNG of the latency
# distributions measured in this run (gnuplot, from Debian's gnuplot-nox).
#
#   bench_plot OUT.png TITLE LABEL FILE [LABEL FILE]...
#
# Each FILE holds one latency per line in nanoseconds (pam_harness
# --latency-out); each is drawn as a cumulative distribution against a
# logarithmic µs axis, so a median and a tail read off the same curve.
# Missing or empty files are left out; without gnuplot there is no plot.

bench_plot() {
    local out=$1 title=$2 plots="" i=0
    shift 2
    command -v gnuplot >/dev/null 2>&1 || { echo "bench: gnuplot not found; no latency plot" >&2; return 0; }
    while [ $# -ge 2 ]; do
        if [ -s "$2" ]; then
            # At most ~1000 points per curve: every k-th sorted value, and the last.
            sort -n "$2" | awk '{ v[NR] = $1 } END {
                k = int(NR / 1000) + 1
                for (i = 1; i <= NR; i++) if (i % k == 0 || i == 1 || i == NR) printf "%.3f %.6f\n", v[i] / 1000, i / NR
            }' >"$T/plot.$i.dat"
            plots+="${plots:+, }'$T/plot.$i.dat' using 1:2 with lines linewidth 2 title '$1'"
            i=$((i + 1))
        fi
        shift 2
    done
    [ -n "$plots" ] || return 0
    cat >"$T/plot.gp" <<EOF
set terminal pngcairo noenhanced size 1100,650 font 'sans,11'
set output '$out'
set title '$title'
set logscale x 10
set format x '%g'
set xlabel 'latency of one PAM cycle (µs, log scale)'
set ylabel 'fraction of calls at or below'
set yrange [0:1]
set key bottom right
set grid xtics mxtics ytics
plot $plots
EOF
    if gnuplot "$T/plot.gp" 2>"$T/plot.err"; then
        echo "bench: latency plot written to $out" >&2
    else
        echo "bench: gnuplot failed: $(head -n 3 "$T/plot.err")" >&2
    fi
}
