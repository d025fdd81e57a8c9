#!/bin/bash
# pam_module_under_harness: pam_vigil.so loaded into pam_harness (in-process,
# no sshd or sudo) against a real vigild on a temporary config, and against
# fake_agent for the peers vigild never is: hung, hanging up, lying on the
# wire. Prints TAP. Needs root (vigild refuses a config not owned by root)
# and nothing else from the host: the PAM files live in a temp dir that
# pam_harness reads with pam_start_confdir(), so /etc/pam.d is untouched.
#
#   pam_module_under_harness.sh HARNESS PAM_VIGIL VIGILD FAKE_AGENT PROBE
#
# In a build dir set up with -Db_sanitize=address,undefined every one of
# these binaries is sanitized, so the module runs under ASan/UBSan here; any
# sanitizer report fails the case it happened in. VIGIL_TEST_KEEP=1 keeps
# the temp dir.
set -u

if [ $# -ne 5 ]; then
    echo "usage: $0 HARNESS PAM_VIGIL VIGILD FAKE_AGENT PROBE" >&2
    exit 2
fi
# Meson passes paths relative to the build dir; PAM needs absolute ones.
HARNESS=$(realpath -- "$1") MOD=$(realpath -- "$2") VIGILD=$(realpath -- "$3")
FAKE=$(realpath -- "$4") PROBE=$(realpath -- "$5")

# PAM result codes as the harness reports them (10 + code).
RC_ACCT_DENY=16 # PAM_PERM_DENIED
RC_AUTH_DENY=17 # PAM_AUTH_ERR
TIMEOUT_MS=1000 # timeout= on the lines that talk to fake_agent

# Meson sets these for sanitized tests; keep its choice, else halt on the
# first report so it cannot scroll by unnoticed.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

# ---------------------------------------------------------------- TAP ----

# shellcheck source=../lib/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/tap.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP needs root: vigild accepts only a root-owned config"
    exit 0
fi
for f in "$HARNESS" "$VIGILD" "$FAKE"; do [ -x "$f" ] || tap_bail "$f is not executable"; done
for f in "$MOD" "$PROBE"; do [ -f "$f" ] || tap_bail "$f is missing"; done

# ------------------------------------------------------------ fixtures ----

umask 077
T=$(mktemp -d /tmp/vigil-harness.XXXXXX) || tap_bail "mktemp failed"
AGENT_PID=
FAKE_PID=
cleanup() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
    [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null
    wait 2>/dev/null
    if [ "${VIGIL_TEST_KEEP:-0}" = 1 ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

mkdir -p "$T/pam.d" "$T/state"
SOCK=$T/pam.sock
FAKE_SOCK=$T/fake.sock

cat >"$T/vigil.toml" <<EOF
[agent]
socket = "$SOCK"
admin_socket = "$T/admin.sock"
audit_log = "$T/audit.jsonl"
state_dir = "$T/state"

[pdp]
protocol = "local"

[[rule]]
name = "nobody is refused"
users = ["nobody"]
decision = "deny"
reason = "nobody may not use this host"

[[rule]]
name = "root may use the harness services"
services = ["vigil-test"]
users = ["root"]
decision = "allow"

[[rule]]
name = "root with a time limit"
services = ["vigil-limit"]
users = ["root"]
decision = "allow"
session_max = "1h30m"

[[rule]]
name = "daemon from the lab net"
services = ["vigil-test"]
users = ["daemon"]
from = ["10.0.0.0/8"]
decision = "allow"
EOF

VIGIL="$MOD socket=$SOCK timeout=3000"
FAKE_LINE="$MOD socket=$FAKE_SOCK timeout=$TIMEOUT_MS"
cat >"$T/pam.d/vigil-test" <<EOF
auth     required $VIGIL
auth     required pam_permit.so
account  required $VIGIL
account  optional $PROBE data=systemd.runtime_max_sec
session  required $VIGIL
EOF
cat >"$T/pam.d/vigil-limit" <<EOF
account  required $VIGIL
account  optional $PROBE data=systemd.runtime_max_sec
EOF
echo "account required $MOD socket=$T/absent.sock timeout=3000" >"$T/pam.d/vigil-down"
printf 'account required %s\naccount required pam_permit.so\n' \
    "$MOD socket=$T/absent.sock failmode=safe" >"$T/pam.d/vigil-down-safe"
echo "account required $FAKE_LINE" >"$T/pam.d/vigil-fake"
printf 'auth required %s\nauth required pam_permit.so\n' "$FAKE_LINE" >>"$T/pam.d/vigil-fake"
printf 'account required %s\naccount required pam_permit.so\n' \
    "$FAKE_LINE failmode=safe" >"$T/pam.d/vigil-fake-safe"

# h SERVICE USER [harness args...]: runs one harness; sets RC, OUT, MS.
h() {
    local svc=$1 user=$2 t0 t1
    shift 2
    t0=${EPOCHREALTIME/./}
    OUT=$("$HARNESS" --confdir "$T/pam.d" --service "$svc" --user "$user" "$@" 2>&1)
    RC=$?
    t1=${EPOCHREALTIME/./}
    MS=$(((t1 - t0) / 1000))
}

# expect DESC RC [grep -E pattern that OUT must contain]: judges the last h.
expect() {
    local desc=$1 want=$2 pat=${3:-}
    local why=()
    if grep -qE 'Sanitizer|runtime error:' <<<"$OUT"; then why+=("sanitizer report"); fi
    [ "$RC" -eq "$want" ] || why+=("exit status $RC, want $want")
    if [ -n "$pat" ] && ! grep -qE -- "$pat" <<<"$OUT"; then why+=("output lacks /$pat/"); fi
    if [ ${#why[@]} -eq 0 ]; then
        tap_ok "$desc"
    else
        tap_not_ok "$desc" "${why[@]}" "--- harness output (${MS} ms):" "$OUT"
    fi
}

wait_for_socket() {
    local path=$1 pid=$2 i
    for i in $(seq 200); do
        [ -S "$path" ] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

start_fake() {
    rm -f "$FAKE_SOCK"
    "$FAKE" --socket "$FAKE_SOCK" --mode "$1" --hold-ms 4000 2>>"$T/fake.log" &
    FAKE_PID=$!
    wait_for_socket "$FAKE_SOCK" "$FAKE_PID" || tap_bail "fake_agent ($1) did not start"
}

stop_fake() {
    kill "$FAKE_PID" 2>/dev/null
    wait "$FAKE_PID" 2>/dev/null
    FAKE_PID=
}

audit_lines() { if [ -f "$T/audit.jsonl" ]; then wc -l <"$T/audit.jsonl"; else echo 0; fi; }

# ----------------------------------------------------- the real agent ----

"$VIGILD" --config "$T/vigil.toml" 2>"$T/vigild.log" &
AGENT_PID=$!
if wait_for_socket "$SOCK" "$AGENT_PID"; then
    tap_ok "vigild starts on the temp config and listens"
else
    tap_not_ok "vigild starts on the temp config and listens" "$(tail -n 20 "$T/vigild.log")"
    tap_bail "no agent to test against"
fi

h vigil-test root --rhost 192.0.2.10 --tty ssh
expect "account: a rule allows root" 0 'probe: systemd.runtime_max_sec unset'

h vigil-test nobody --rhost 192.0.2.10 --tty ssh
expect "account: a deny rule refuses nobody and says why" $RC_ACCT_DENY \
    'error: vigil: nobody may not use this host'

h vigil-test daemon --tty /dev/pts/3 --ruser root
expect "account: no rule matches, so the default denies" $RC_ACCT_DENY \
    'error: vigil: no policy rule allows vigil-test for daemon'

h vigil-test daemon --rhost 10.1.2.3 --tty ssh
expect "account: a from= rule allows daemon from 10.0.0.0/8" 0

h vigil-test daemon --rhost 192.0.2.77 --tty ssh
expect "account: the same rule refuses daemon from outside 10.0.0.0/8" $RC_ACCT_DENY

h vigil-test vgl-no-such-user-$$ --rhost 10.1.2.3
expect "account: a user unknown to NSS is denied" $RC_ACCT_DENY

h vigil-limit root --tty ssh
expect "account: session_max reaches pam_systemd as systemd.runtime_max_sec" 0 \
    'probe: systemd.runtime_max_sec=5400$'

h vigil-test nobody --silent --tty /dev/pts/1 --ruser alice
expect "account under PAM_SILENT (as sudo calls it) still shows the deny reason" $RC_ACCT_DENY \
    'error: vigil: nobody may not use this host'

h vigil-test root --phase auth --tty ssh
expect "auth: allow leaves the verdict to the rest of the stack" 0

h vigil-test nobody --phase auth --tty ssh
expect "auth: deny fails the auth phase" $RC_AUTH_DENY 'vigil: nobody may not use this host'

h vigil-test root --phase all --tty ssh --rhost 10.9.9.9
expect "auth, account, open and close session all pass for an allowed request" 0

h vigil-test root --tty ssh --env "SSH_AUTH_INFO_0=publickey ssh-ed25519 $(head -c 15000 /dev/zero | tr '\0' 'A')"
expect "account: a 15 KB SSH_AUTH_INFO_0 fits one frame and is decided" 0

# (Not a long PAM_RHOST: libpam's own audit record then fails and turns the
# deny into PAM_SYSTEM_ERR before the module is even judged.)
h vigil-test root --tty ssh --env "SSH_AUTH_INFO_0=$(head -c 40000 /dev/zero | tr '\0' 'A')"
expect "account: facts too large for one frame deny without asking" $RC_ACCT_DENY \
    'vigil cannot check this request \(request facts too large for one frame\)'

before=$(audit_lines)
h vigil-test root --count 300 --check-fds --tty ssh
expect "300 full cycles: all allowed, no descriptor left open" 0
after=$(audit_lines)
if [ "$after" -ge $((before + 300)) ]; then
    tap_ok "every decision is in the audit trail ($before -> $after records)"
else
    tap_not_ok "every decision is in the audit trail" "audit.jsonl went from $before to $after lines after 300 decisions"
fi

pids=()
for i in 1 2 3 4; do
    "$HARNESS" --confdir "$T/pam.d" --service vigil-test --user root --count 100 --quiet \
        >"$T/par.$i" 2>&1 &
    pids+=($!)
done
bad=()
for i in 1 2 3 4; do
    wait "${pids[$((i - 1))]}" || bad+=("client $i: exit $?: $(tail -n 3 "$T/par.$i")")
done
if [ ${#bad[@]} -eq 0 ]; then tap_ok "4 concurrent clients x 100 requests are all allowed"; else
    tap_not_ok "4 concurrent clients x 100 requests are all allowed" "${bad[@]}"; fi

# ------------------------------------------------------ agent is down ----

h vigil-down root --tty ssh
expect "agent down, failmode=secure: denied, and the user is told why" $RC_ACCT_DENY \
    'vigil: access check unavailable'
h vigil-down-safe root --tty ssh
expect "agent down, failmode=safe: the module steps aside (PAM_IGNORE)" 0

# -------------------------------------------- a peer that lies or hangs ----

start_fake allow
h vigil-fake root
expect "fake_agent's well-formed allow is accepted (the fake frames are valid)" 0
stop_fake

start_fake deny
h vigil-fake root
expect "a deny reason is shown to the user" $RC_ACCT_DENY 'vigil: fake says no'
if grep -q $'\x1b' <<<"$OUT"; then
    tap_not_ok "terminal escapes in a deny reason never reach the user" "$(cat -v <<<"$OUT")"
else
    tap_ok "terminal escapes in a deny reason never reach the user"
fi
stop_fake

# An answer that is not a well-formed vigil frame is no silence: the module
# refuses it in every failmode. A peer that hangs up without a whole answer
# is an agent that did not answer: the failmode (secure here) decides.
for mode in unknown-outcome no-outcome bad-magic bad-version oversize short-header \
    short-payload bad-field wrong-kind no-answer-bit random close; do
    start_fake "$mode"
    h vigil-fake root
    case $mode in
        short-header | short-payload | close) told='access check unavailable' ;;
        *) told='vigil cannot check this request' ;;
    esac
    expect "peer answers $mode: denied at once (${MS} ms)" $RC_ACCT_DENY "$told"
    if [ "$RC" -eq $RC_ACCT_DENY ] && [ "$MS" -ge "$TIMEOUT_MS" ]; then
        tap_not_ok "peer answers $mode: no wait for the deadline" "took $MS ms"
    fi
    stop_fake
done

for mode in hang drip no-accept; do
    start_fake "$mode"
    h vigil-fake root
    expect "peer does $mode: denied at the ${TIMEOUT_MS} ms deadline" $RC_ACCT_DENY
    if [ "$MS" -lt $((TIMEOUT_MS * 9 / 10)) ] || [ "$MS" -gt $((TIMEOUT_MS + 1500)) ]; then
        tap_not_ok "peer does $mode: the deadline holds (took $MS ms)" \
            "want ${TIMEOUT_MS} ms give or take; a per-read deadline lets drip run ~4 s"
    else
        tap_ok "peer does $mode: the deadline holds (took $MS ms)"
    fi
    stop_fake
done

start_fake hang
h vigil-fake root --phase auth
expect "auth phase, peer hangs: denied at the deadline" $RC_AUTH_DENY
stop_fake

start_fake random
h vigil-fake-safe root
expect "peer sends garbage, failmode=safe: still denied (garbage is not silence)" $RC_ACCT_DENY \
    'vigil cannot check this request'
stop_fake
start_fake close
h vigil-fake-safe root
expect "peer hangs up without an answer, failmode=safe: the module steps aside" 0
stop_fake
start_fake random
h vigil-fake root --count 50 --check-fds
expect "50 garbage answers in a row: denied each time, no descriptor leaked" $RC_ACCT_DENY
stop_fake

# The agent's listen backlog is full (it stopped accepting): the module's
# connect() gets EAGAIN and must retry until its deadline, then deny.
# fake_agent listens with backlog 1, so two connections fill the queue; they
# stay queued after their clients give up at the deadline, so the third
# finds it full.
start_fake no-accept
blockers=()
for i in 1 2; do
    "$HARNESS" --confdir "$T/pam.d" --service vigil-fake --user root --quiet >/dev/null 2>&1 &
    blockers+=($!)
done
wait "${blockers[@]}" 2>/dev/null
h vigil-fake root
if [ "$RC" -eq $RC_ACCT_DENY ] && [ "$MS" -ge $((TIMEOUT_MS * 9 / 10)) ]; then
    tap_ok "full agent backlog: the module retries up to its deadline, then denies (took $MS ms)"
else
    tap_not_ok "full agent backlog: the module retries up to its deadline, then denies (took $MS ms, rc $RC)"
fi
stop_fake

# ------------------------------------------------- the agent goes away ----

kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
status=$?
AGENT_PID=
if [ $status -eq 0 ] && ! grep -qE 'Sanitizer|runtime error:' "$T/vigild.log"; then
    tap_ok "vigild stops cleanly on SIGTERM"
else
    tap_not_ok "vigild stops cleanly on SIGTERM" "exit status $status" "$(tail -n 30 "$T/vigild.log")"
fi

h vigil-test root --tty ssh
expect "agent gone (socket stale or removed), failmode=secure: denied" $RC_ACCT_DENY \
    'access check unavailable'

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
