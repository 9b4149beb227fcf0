"""A local stand-in for LibreTranslate and DeepL (stdlib http.server on 127.0.0.1, in a
thread). It speaks both APIs' translate calls, records every request, and can be told to
fail, so the engines are tested against real HTTP without the network."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TranslationStub:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_status: int | None = None  # answer every call with this status
        self.fail_body = '{"error": "stub failure"}'
        self.delay = 0.0
        self.raw_body: bytes | None = None  # answer with these bytes instead
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                stub.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": body}
                )
                if stub.delay:
                    time.sleep(stub.delay)
                if stub.fail_status:
                    return self._answer(stub.fail_status, stub.fail_body.encode())
                if stub.raw_body is not None:
                    return self._answer(200, stub.raw_body)
                if self.path.rstrip("/").endswith("/v2/translate"):  # DeepL
                    target = body.get("target_lang", "")
                    texts = body.get("text") or []
                    out = {
                        "translations": [
                            {"detected_source_language": body.get("source_lang", "EN"),
                             "text": f"<{target}> {t}"}
                            for t in texts
                        ]
                    }  # fmt: skip
                    return self._answer(200, json.dumps(out).encode())
                if self.path.rstrip("/").endswith("/translate"):  # LibreTranslate
                    out = {"translatedText": f"<{body.get('target')}> {body.get('q')}"}
                    return self._answer(200, json.dumps(out).encode())
                return self._answer(404, b'{"error": "not found"}')

            def _answer(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # a client that timed out and left: expected in the timeout tests

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> TranslationStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
