#!/bin/bash
# The README's first command on a fresh Debian 12 server, as a new user
# would run it: a bare bookworm root (minbase, systemd as PID 1; no make, no
# git) booted with systemd-nspawn; the README's own line for make and git;
# a git clone of the source tree; then `make demo`, which must install
# everything it needs from the mirror, build, and end with every step
# behaving as narrated.
#
# The machine shares the host's network (it fetches from the mirror, as the
# server would); the demo's sshd listens on a free port of 127.0.0.1. The
# packages apt downloads are kept in the cache (apt-archives/) for the next
# run; what is installed is not: every run starts from the bare root.
#
# Not part of `make test`: it downloads what a bare machine lacks (387
# packages, 250 MB) and builds vigil from scratch, 7 to 10 minutes on two
# cores. `make fresh-demo` runs it.
set -u
. "$(dirname "$0")/lib.sh"

host_plan 5
host_prepare bare

host_run_dir
ARCHIVES=$HOST_CACHE/apt-archives
mkdir -p "$ARCHIVES"
# shellcheck disable=SC2034 # read by machine_boot
M_NETWORK=host
# A console, as a server has: the demo's systemd --user manager sends its
# units' output to /dev/console, which --console=pipe (machine.sh's default,
# for the boot log) does not create.
# shellcheck disable=SC2034 # read by machine_boot
M_NSPAWN_ARGS=(--bind="$ARCHIVES:/var/cache/apt/archives" --console=passive)
machine_copy "$HOST_BASE" "$RUN/root" || host_abort "cannot copy the root"
# The tree as `make deb` sees it (tracked files and new ones not ignored),
# where a user's clone would come from.
mkdir -p "$RUN/root/root/src"
git -C "$SRCDIR" ls-files -co --exclude-standard -z | (cd "$SRCDIR" && tar --null --ignore-failed-read -T - -cf -) |
    tar -xf - -C "$RUN/root/root/src" || host_abort "cannot copy the source tree"
machine_boot "$RUN/root" "$RUN/console.log" || host_abort "the bare root did not boot"

# The README's line, read from the README as shipped (it wraps).
readme_line() {
    tr '\n' ' ' <"$SRCDIR/README.md" | tr -s ' ' | grep -o '`apt-get update && apt-get install -y git make`' | tr -d '`'
}

bare_machine() {
    run systemctl is-system-running || [ "$OUT" = degraded ] || fail "systemd is not running: $OUT"
    local tool
    for tool in make git g++ meson; do
        ! m sh -c "command -v $tool" >/dev/null || fail "a bare root has $tool"
    done
}

readme_gets_tools() {
    local line
    line=$(readme_line)
    [ -n "$line" ] || { fail "the README no longer says how to get make and git"; return 1; }
    run sh -c "$line" || fail "$line failed"
    m sh -c 'command -v make && command -v git' >/dev/null || fail "no make or git after: $line"
}

clone_tree() {
    run sh -ec 'cd /root/src && git init -q && git add -A &&
        git -c user.name=vigil -c user.email=vigil@localhost commit -qm tree &&
        git clone -q /root/src /root/vigil' || fail "git clone failed"
}

DEMO_LOG=$RUN/root/root/demo.log
make_demo() {
    local rc=0 t0 t1
    t0=$(date +%s)
    # As a service of the machine's systemd, as an admin's login shell would
    # be in a session scope: nsenter alone leaves the process in the host's
    # cgroup, where the demo's systemd --user manager cannot make its own.
    # Delegate: that manager's cgroup goes below the demo's.
    m systemd-run --quiet --wait --pipe --collect -p Delegate=yes -p WorkingDirectory=/root/vigil \
        -p Environment=HOME=/root make demo >"$DEMO_LOG" 2>&1 </dev/null || rc=$?
    t1=$(date +%s)
    note_text "make demo (exit $rc)" "$(cat "$DEMO_LOG")"
    echo "# measured: make demo on the bare root took $((t1 - t0)) s (exit $rc)"
    [ "$rc" -eq 0 ] || fail "make demo exited $rc"
    grep -qE '^All [0-9]+ steps behaved as narrated\.' "$DEMO_LOG" || fail "the demo did not say every step behaved"
}

user_build_no_werror() {
    run sh -c 'cd /root/vigil && meson configure build | grep -E "^ *werror "' || true
    case $OUT in
        *false*) ;;
        *) fail "the demo's build has warnings as errors: $OUT" ;;
    esac
}

case_ "a bare Debian 12 root boots, without make, git or a compiler" bare_machine
case_ "the README's line installs make and git" readme_gets_tools
case_ "git clone of the source tree" clone_tree
case_ "make demo installs what it needs, builds and every step behaves as narrated" make_demo
case_ "the demo's build (a user's) has no warnings as errors" user_build_no_werror
exit "$TAP_FAILED"
