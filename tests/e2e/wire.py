#!/usr/bin/python3
"""A tiny client for vigild's PAM socket, written from wire/protocol.h.

The e2e tests use it to speak to the agent as an arbitrary process (for
example as uid 65534) without going through PAM:

    wire.py SOCKET user=vgl-alice service=sshd rhost=127.0.0.1 [--kind account]

Prints one line and exits with:
    0  "reply outcome=<o> reason=<r> error=<e>" (the agent answered)
    2  "connect-error <errno name>"             (connect(2) failed)
    3  "closed"                                 (agent closed without a reply)
    4  "garbled <why>"                          (the reply is not a valid frame)
    5  "timeout"                                (no reply within --timeout)
Standard library only; must run as an unprivileged user.
"""
import errno
import os
import socket
import struct
import sys

MAGIC = 0x56474C31
VERSION = 1
HEADER = struct.Struct(">IHHI")
KINDS = {"account": 0x01, "auth": 0x02, "open_session": 0x03,
         "close_session": 0x04, "admin_decide": 0x41, "admin_ping": 0x42}
TAGS = {"phase": 1, "user": 2, "service": 3, "rhost": 4, "tty": 5, "ruser": 6,
        "pid": 7, "ppid": 8, "ssh_auth_info": 9, "command": 10,
        "xdg_session_id": 11, "request_id": 12, "json": 13, "argv_truncated": 17}
ANSWER = {32: "outcome", 33: "reason", 34: "session_max", 35: "error"}


def build(kind, fields):
    payload = b""
    for name, value in fields:
        data = value.encode()
        payload += struct.pack(">HH", TAGS[name], len(data)) + data
    return HEADER.pack(MAGIC, VERSION, KINDS[kind], len(payload)) + payload


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return buf
        buf += chunk
    return buf


def main(argv):
    kind, timeout, fields, sock_path = "account", 5.0, [], None
    args = iter(argv)
    for a in args:
        if a == "--kind":
            kind = next(args)
        elif a == "--timeout":
            timeout = float(next(args))
        elif "=" in a:
            k, v = a.split("=", 1)
            fields.append((k, v))
        else:
            sock_path = a
    if sock_path is None:
        print("usage: wire.py SOCKET key=value... [--kind K] [--timeout S]")
        return 64
    if not any(k == "phase" for k, _ in fields):
        fields.insert(0, ("phase", "account"))
    if not any(k == "pid" for k, _ in fields):
        fields.append(("pid", str(os.getpid())))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
    except OSError as e:
        print("connect-error", errno.errorcode.get(e.errno, str(e.errno)))
        return 2
    try:
        s.sendall(build(kind, fields))
        head = recv_exact(s, HEADER.size)
    except socket.timeout:
        print("timeout")
        return 5
    except OSError as e:
        # A peer that closes on us while we write or read: refused.
        print("closed", errno.errorcode.get(e.errno, str(e.errno)))
        return 3
    if not head:
        print("closed")
        return 3
    if len(head) < HEADER.size:
        print("garbled short header")
        return 4
    magic, version, rkind, length = HEADER.unpack(head)
    if magic != MAGIC or version != VERSION:
        print("garbled bad magic/version")
        return 4
    payload = recv_exact(s, length)
    if len(payload) != length:
        print("garbled short payload")
        return 4
    out, pos = {}, 0
    while pos < length:
        if length - pos < 4:
            print("garbled field header")
            return 4
        tag, n = struct.unpack(">HH", payload[pos:pos + 4])
        out[ANSWER.get(tag, "tag%d" % tag)] = payload[pos + 4:pos + 4 + n].decode(errors="replace")
        pos += 4 + n
    print("reply kind=0x%02x outcome=%s reason=%s error=%s" % (
        rkind, out.get("outcome", ""), out.get("reason", ""), out.get("error", "")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
