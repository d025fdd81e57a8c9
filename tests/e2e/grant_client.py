#!/usr/bin/python3
"""A client for vigild's grant socket, written from wire/protocol.h,
for the e2e tests: it sends GrantRequest frames as whoever runs it (the
kernel names the requester), far faster than one vigilctl per request.

    grant_client.py SOCKET JSON            one request; prints the answer's JSON
    grant_client.py SOCKET JSON --count N  N requests, one connection each;
                                           prints a JSON tally

The tally: "sent", "answered", "granted", "decided" (answers naming a
request_id: the rules or the PDP decided), "undecided" (refused before any
decision), "closed" (vigild closed without an answer: its connection cap),
and "reasons" (the undecided refusals by their first words). In JSON, the
string "%d" is replaced by the request's number. Standard library only.
"""
import json
import socket
import struct
import sys

MAGIC = 0x56474C31
VERSION = 1
HEADER = struct.Struct(">IHHI")
GRANT_REQUEST = 0x06
ANSWER_BIT = 0x80
TAG_JSON = 13


def frame(text):
    data = text.encode()
    payload = struct.pack(">HH", TAG_JSON, len(data)) + data
    return HEADER.pack(MAGIC, VERSION, GRANT_REQUEST, len(payload)) + payload


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return buf
        buf += chunk
    return buf


def ask(path, text):
    """The answer's JSON object, or None when vigild closed without one."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
        s.sendall(frame(text))
        head = recv_exact(s, HEADER.size)
        if len(head) < HEADER.size:
            return None
        magic, version, kind, length = HEADER.unpack(head)
        if magic != MAGIC or version != VERSION or kind != GRANT_REQUEST | ANSWER_BIT:
            raise SystemExit("garbled answer header")
        payload = recv_exact(s, length)
        pos = 0
        while pos + 4 <= len(payload):
            tag, n = struct.unpack(">HH", payload[pos:pos + 4])
            if tag == TAG_JSON:
                return json.loads(payload[pos + 4:pos + 4 + n])
            pos += 4 + n
        raise SystemExit("answer without JSON")
    except (ConnectionResetError, BrokenPipeError):
        return None
    finally:
        s.close()


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--count"):
        print(__doc__)
        return 64
    path, template = argv[0], argv[1]
    if len(argv) == 2:
        print(json.dumps(ask(path, template)))
        return 0
    tally = {"sent": 0, "answered": 0, "granted": 0, "decided": 0, "undecided": 0, "closed": 0,
             "reasons": {}}
    for i in range(int(argv[3])):
        answer = ask(path, template.replace("%d", str(i)))
        tally["sent"] += 1
        if answer is None:
            tally["closed"] += 1
            continue
        tally["answered"] += 1
        if answer.get("granted"):
            tally["granted"] += 1
        if "request_id" in answer:
            tally["decided"] += 1
        elif not answer.get("granted"):
            tally["undecided"] += 1
            why = " ".join(answer.get("reason", "").split()[:3])
            tally["reasons"][why] = tally["reasons"].get(why, 0) + 1
    print(json.dumps(tally))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
