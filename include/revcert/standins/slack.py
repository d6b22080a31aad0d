"""A Slack incoming-webhook receiver on loopback, for tests and demos.

It answers like Slack (`200 ok`) and keeps every message it receives, so a test
can read exactly what on-call would have seen.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

WEBHOOK_PATH = "/services/T00000000/B00000000/standin"


class SlackWebhookReceiver:
    """Records webhook posts; optionally appends each one to a JSON Lines file."""

    def __init__(self, port: int = 0, record_file: Path | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.record_file = record_file
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{WEBHOOK_PATH}"

    def airflow_connection(self) -> str:
        """The receiver as an Airflow Slack incoming-webhook connection (JSON form)."""
        return json.dumps({"conn_type": "slackwebhook", "password": self.url})

    @property
    def texts(self) -> list[str]:
        with self._lock:
            return [m.get("text", "") for m in self.messages]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != WEBHOOK_PATH:
                    self.send_response(404)
                    self.end_headers()
                    self.wfile.write(b"no_service")
                    return
                message = json.loads(body or b"{}")
                with receiver._lock:
                    receiver.messages.append(message)
                    if receiver.record_file:
                        with receiver.record_file.open("a", encoding="utf-8") as handle:
                            handle.write(json.dumps(message) + "\n")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

        return Handler

    def start(self) -> SlackWebhookReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="slack-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SlackWebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
