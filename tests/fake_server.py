"""A tiny OpenAI-compatible HTTP server for plumbing tests of models/openai_server.py.

It streams scripted replies as server-sent events over chunked HTTP/1.1 (as uvicorn does),
one piece per event, and records every request body. Knobs on the instance script the
failures a real server shows: refused fields, error statuses, stalls, a connection cut
mid-answer, no usage data, no logprobs.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], list[tuple[str, float, dict[str, float]]]]


def pieces(text: str, logprob: float = -0.01) -> list[tuple[str, float, dict[str, float]]]:
    """Word-sized tokens (" articles"), each with its log-probability and no alternatives."""
    words = text.split(" ")
    tokens = [words[0]] + [" " + w for w in words[1:]]
    return [(t, logprob, {}) for t in tokens if t]


class FakeServer:
    def __init__(self) -> None:
        self.models: list[dict[str, Any]] = [{"id": "tiny", "object": "model"}]
        self.reply: Reply = lambda body: pieces("The bridge costs 40 million euros [1].")
        self.requests: list[dict[str, Any]] = []
        self.refuse: tuple[str, ...] = ()  # request fields answered with a 400 naming them
        self.status: tuple[int, dict[str, Any]] | None = None  # answer every completion with this
        self.usage = True  # send usage data when stream_options.include_usage asks for it
        self.logprobs = True  # send logprobs when asked
        self.stall_s = 0.0  # wait this long before the first piece
        self.cut_after: int | None = None  # close the connection after this many pieces
        self.finish = True  # send a finish_reason
        self.delay_s = 0.0  # between pieces
        self._lock = threading.Lock()
        self._httpd = _Quiet(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def completions(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if "messages" in r]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _json(self, status: int, payload: object) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/v1/models":
                    self._json(200, {"object": "list", "data": fake.models})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["_authorization"] = self.headers.get("Authorization")
                with fake._lock:
                    fake.requests.append(body)
                if self.path != "/v1/chat/completions":
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                refused = [f for f in fake.refuse if f in body]
                if refused:
                    self._json(400, {"error": {"message": f"Unrecognized request argument supplied: {refused[0]}"}})
                    return
                if fake.status is not None:
                    self._json(*fake.status)
                    return
                self._stream(body)

            def _event(self, payload: object) -> None:
                data = f"data: {json.dumps(payload) if not isinstance(payload, str) else payload}\n\n".encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _stream(self, body: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                time.sleep(fake.stall_s)
                tokens = fake.reply(body)[: body.get("max_tokens") or None]
                top = body.get("top_logprobs") or 0
                chunk: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "tiny"}
                try:
                    self._event(chunk | {"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
                    for i, (token, logprob, alternatives) in enumerate(tokens):
                        if fake.cut_after is not None and i == fake.cut_after:
                            self.wfile.flush()
                            self.connection.shutdown(2)  # no last chunk: the body is incomplete
                            return
                        logprobs = None
                        if body.get("logprobs") and fake.logprobs:
                            listed = sorted({token: logprob, **alternatives}.items(), key=lambda kv: -kv[1])[:top]
                            logprobs = {
                                "content": [
                                    {"token": token, "logprob": logprob, "bytes": None,
                                     "top_logprobs": [{"token": t, "logprob": lp, "bytes": None} for t, lp in listed]}
                                ]
                            }  # fmt: skip
                        choice = {"index": 0, "delta": {"content": token}, "logprobs": logprobs}
                        self._event(chunk | {"choices": [choice]})
                        time.sleep(fake.delay_s)
                    if fake.finish:
                        self._event(chunk | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    if fake.usage and (body.get("stream_options") or {}).get("include_usage"):
                        usage = {
                            "prompt_tokens": 123,
                            "completion_tokens": len(tokens),
                            "total_tokens": 123 + len(tokens),
                        }
                        self._event(chunk | {"choices": [], "usage": usage})
                    self._event("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client closed the stream (a stop button)

        return Handler


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up (a timeout, a stop button) is what the tests script
