"""A recording stub for capturing what a coding agent sends.

Usage: python recorder.py PORT DIR

Answers `HEAD /` (Claude Code's probe) with 200 and every POST with a 400
in Anthropic's error shape, which both Claude Code and Codex treat as final
(no retry), after writing the request to DIR/NNN.json as
{"method", "path", "headers", "body"}. The credential headers are kept: the
agents are given a placeholder key, never a real one. Prints `listening` once
it accepts connections. Used by tests/agents/run.sh with AGENTS_CAPTURE.
"""

import http.server
import json
import pathlib
import sys
import threading

PORT = int(sys.argv[1])
OUT = pathlib.Path(sys.argv[2])
OUT.mkdir(parents=True, exist_ok=True)
LOCK = threading.Lock()
COUNT = [0]
REFUSAL = b'{"type":"error","error":{"type":"invalid_request_error","message":"recorded by tests/agents/recorder.py"}}'


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self):
        self.send_response(404)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        with LOCK:
            COUNT[0] += 1
            name = OUT / f"{COUNT[0]:03d}.json"
        record = {"method": "POST", "path": self.path, "headers": dict(self.headers.items()), "body": parsed}
        name.write_text(json.dumps(record, ensure_ascii=False))
        self.send_response(400)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(REFUSAL)))
        self.end_headers()
        self.wfile.write(REFUSAL)


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("listening", flush=True)
server.serve_forever()
