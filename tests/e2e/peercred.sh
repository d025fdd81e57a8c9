#!/bin/bash
# Only root (sshd, sudo) may ask vigild for decisions. The PAM socket is
# mode 0600, and even when an admin loosens it the agent checks the peer's
# uid with SO_PEERCRED and refuses anyone but root.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_enter_ns "$@"

tap_plan 9

NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
# The system python (not a root-only pyenv shim) so uid 65534 can run it.
PY=/usr/bin/python3
WIRE=""

setup() {
    e2e_setup_system
    standard_rules | write_config "$T/vigil.toml"
    # wire.py must be readable by uid 65534 wherever the source tree lives.
    WIRE=$T/wire.py
    install -m 0755 "$E2E_LIB_DIR/wire.py" "$WIRE"
    [ -x "$PY" ] || { fail "$PY is missing"; return 1; }
    agent_start "$T/vigil.toml"
}
tap_case "setup: vigild starts in a private mount namespace" setup ||
    e2e_abort "vigild did not start"

socket_mode() {
    local st
    st=$(stat -c '%F %U %a' "$PAM_SOCK")
    [ "$st" = "socket root 600" ] || { fail "PAM socket is '$st', want 'socket root 600'"; return 1; }
}
tap_case "the PAM socket is a root-owned socket with mode 0600" socket_mode

root_answered() {
    ROOT_REPLY=$("$PY" "$WIRE" "$PAM_SOCK" user=vgl-alice service=sshd rhost=127.0.0.1 tty=ssh 2>&1)
    local rc=$?
    expect_rc "wire.py as root" 0 "$rc" "$ROOT_REPLY" || { note_logs; return 1; }
    expect_contains "reply to root" "$ROOT_REPLY" "outcome=allow"
}
tap_case "control: root's Decide frame for vgl-alice/sshd is answered 'allow'" root_answered

nobody_cannot_connect() {
    local out rc
    out=$($NOBODY "$PY" "$WIRE" "$PAM_SOCK" user=vgl-alice service=sshd rhost=127.0.0.1 2>&1)
    rc=$?
    expect_rc "wire.py as uid 65534 on a 0600 socket" 2 "$rc" "$out" || return 1
    expect_contains "connect error" "$out" "EACCES"
}
tap_case "uid 65534 cannot connect to the 0600 socket (EACCES)" nobody_cannot_connect

nobody_refused_by_agent() {
    chmod 666 "$PAM_SOCK" || { fail "chmod 666 $PAM_SOCK failed"; return 1; }
    local before out rc
    before=$(wc -l <"$AGENT_LOG")
    out=$($NOBODY "$PY" "$WIRE" "$PAM_SOCK" user=vgl-alice service=sshd rhost=127.0.0.1 2>&1)
    rc=$?
    chmod 600 "$PAM_SOCK"
    case $rc in
        2) fail "uid 65534 could not even connect after chmod 666 ($out): the test proves nothing"; return 1 ;;
        3) ;;                                          # closed without an answer
        0) expect_not_contains "reply to uid 65534" "$out" "outcome=allow" || return 1
           expect_not_contains "reply to uid 65534" "$out" "outcome=deny" || return 1 ;;
        *) fail "unexpected client result (rc $rc)"; note_text "output" "$out"; return 1 ;;
    esac
    echo "# uid 65534 got: $out"
    # The refusal is logged with the peer's uid.
    if ! wait_for 3 sh -c "tail -n +$((before + 1)) '$AGENT_LOG' | grep -qw 65534"; then
        fail "vigild's log does not name uid 65534 after refusing it"
        note "vigild log" "$AGENT_LOG" 15
        return 1
    fi
    tail -n +$((before + 1)) "$AGENT_LOG" | grep -w 65534 | head -n 3 | tap_diag
}
tap_case "after chmod 666, uid 65534 connects but vigild refuses it (SO_PEERCRED) and logs the uid" \
    nobody_refused_by_agent

nobody_harness() {
    # The same through the real module in a PAM stack (pam_harness runs the
    # stack in-process): root is allowed, uid 65534 gets PAM_PERM_DENIED.
    mkdir -p "$T/harness.d"
    printf 'account required %s socket=%s timeout=2000\n' "$PAM_VIGIL" "$PAM_SOCK" >"$T/harness.d/sshd"
    chmod -R a+rX "$T/harness.d"
    local out rc
    out=$("$PAM_HARNESS" --confdir "$T/harness.d" --service sshd --user vgl-alice \
        --rhost 127.0.0.1 --tty ssh --phase account --count 1 2>&1)
    rc=$?
    expect_rc "pam_harness as root (control)" 0 "$rc" "$out" || { note_logs; return 1; }
    chmod 666 "$PAM_SOCK"
    out=$($NOBODY "$PAM_HARNESS" --confdir "$T/harness.d" --service sshd --user vgl-alice \
        --rhost 127.0.0.1 --tty ssh --phase account --count 1 2>&1)
    rc=$?
    chmod 600 "$PAM_SOCK"
    # 16 = 10 + PAM_PERM_DENIED
    expect_rc "pam_harness as uid 65534" 16 "$rc" "$out" || { note_logs; return 1; }
    expect_contains "pam_harness output" "$out" "vigil: "
}
if [ -x "$PAM_HARNESS" ]; then
    tap_case "through pam_vigil.so (pam_harness): root is allowed, uid 65534 is denied" nobody_harness
else
    tap_skip "through pam_vigil.so (pam_harness): root is allowed, uid 65534 is denied" \
        "$PAM_HARNESS not built"
fi

admin_refused() {
    local out rc before
    [ "$(stat -c '%U %a' "$ADMIN_SOCK")" = "root 600" ] ||
        { fail "admin socket is $(stat -c '%U %a' "$ADMIN_SOCK"), want root 600"; return 1; }
    before=$(wc -l <"$AGENT_LOG")
    chmod 666 "$ADMIN_SOCK"
    out=$($NOBODY "$VIGILCTL" --socket "$ADMIN_SOCK" decide --user vgl-alice --service sshd \
        --rhost 127.0.0.1 2>&1)
    rc=$?
    chmod 600 "$ADMIN_SOCK"
    expect_nonzero "vigilctl decide as uid 65534" "$rc" "$out" || return 1
    expect_not_contains "vigilctl decide as uid 65534" "$out" "allow" || return 1
    wait_for 3 sh -c "tail -n +$((before + 1)) '$AGENT_LOG' | grep -qw 65534" ||
        { fail "vigild's log does not name uid 65534"; note_logs; return 1; }
}
tap_case "the admin socket is 0600 too, and refuses uid 65534 even when loosened" admin_refused

bad_frames() {
    # Root, but not speaking the protocol: each connection is closed, the
    # agent stays up. Bad magic, a header announcing a 1 MiB payload, a bad
    # version, a truncated frame followed by a hang-up. A frame that reads
    # well but asks for a kind vigild does not serve is a request it cannot
    # decide: it is answered with a deny (never an allow), not left to the
    # module's failmode.
    local out
    out=$("$PY" - "$PAM_SOCK" <<'EOF' 2>&1
import socket, struct, sys
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sys.argv[1])
    return s
for name, data, half in (
        ("bad magic", b"GET / HTTP/1.0\r\n\r\n", False),
        ("oversized", struct.pack(">IHHI", 0x56474C31, 1, 1, 1 << 20), False),
        ("bad version", struct.pack(">IHHI", 0x56474C31, 99, 1, 0), False),
        ("unknown kind", struct.pack(">IHHI", 0x56474C31, 1, 0x77, 0), False),
        ("truncated", struct.pack(">IHHI", 0x56474C31, 1, 1, 100) + b"\0\2\0\5ali", True)):
    want_deny = name == "unknown kind"
    s = conn()
    s.sendall(data)
    if half:
        s.shutdown(socket.SHUT_WR)
    try:
        r = s.recv(64)
    except socket.timeout:
        sys.exit("%s: the agent neither answered nor closed within 5 s" % name)
    except OSError as e:
        r = ("(%s)" % e.__class__.__name__).encode()
    if b"allow" in r or (b"deny" in r) != want_deny:
        sys.exit("%s: the agent answered %r" % (name, r))
    print("%s: %s" % (name, "denied" if want_deny else "closed" if r == b"" else repr(r[:40])))
EOF
    ) || { fail "$out"; note_logs; return 1; }
    printf '%s\n' "$out" | tap_diag
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died"; note_logs; return 1; }
}
tap_case "malformed frames from root are closed without an answer, an unknown kind denied; vigild stays up" \
    bad_frames

still_serving() {
    local out
    out=$("$PY" "$WIRE" "$PAM_SOCK" user=vgl-mallory service=sshd rhost=127.0.0.1 2>&1)
    expect_contains "reply to root after the refusals" "$out" "outcome=deny" || { note_logs; return 1; }
    expect_contains "reply to root after the refusals" "$out" "account suspended" || return 1
    kill -0 "$AGENT_PID" 2>/dev/null || { fail "vigild died"; note_logs; return 1; }
    agent_stop
}
tap_case "vigild keeps serving root after refusing others" still_serving
