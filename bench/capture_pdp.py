#!/usr/bin/env python3
"""capture_pdp.py UPSTREAM OUT_FILE PORT_FILE — a recording pass-through in
front of the PDP, so that bench/pdp.sh can give its floor client the exact
request body vigild sends for a real PAM request (not a hand-made one).

Listens on 127.0.0.1 (a free port, written to PORT_FILE once listening),
forwards every POST to UPSTREAM + path unchanged (body and Content-Type) and
answers with what the PDP answered. The first request's body is written to
OUT_FILE. Runs until killed.
"""
import http.server
import os
import sys
import urllib.error
import urllib.request

UPSTREAM, OUT, PORT_FILE = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
captured = False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global captured
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not captured:
            with open(OUT, "wb") as f:
                f.write(body)
            captured = True
        req = urllib.request.Request(UPSTREAM + self.path, data=body, method="POST",
                                     headers={"Content-Type": self.headers.get("Content-Type",
                                                                               "application/json")})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                status, answer, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, answer, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
# Renamed only once the socket listens: the caller waits for the file.
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
