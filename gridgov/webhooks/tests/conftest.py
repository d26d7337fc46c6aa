import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from gridgov.cases.tests.conftest import report, world  # noqa: F401  (the case fixtures)


@pytest.fixture
def receiver():
    """A local HTTP receiver: it records every POST and answers with the next of `answers`
    (200 when they run out)."""
    seen, answers = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the stdlib's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(SimpleNamespace(headers=dict(self.headers), body=body, json=json.loads(body)))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}/hook", seen=seen, answers=answers)
    server.shutdown()
    server.server_close()
