"""Tiny HTTP servers on loopback for tests that need real sockets: dripping, redirecting, counting hits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Respond = Callable[[BaseHTTPRequestHandler], None]


class LocalServer:
    """Answers every request on 127.0.0.1 with `respond(handler)` and records each request's path."""

    def __init__(self, respond: Respond) -> None:
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                server.hits.append(self.path)
                try:
                    respond(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, which is what several tests want

            do_GET = do_POST = do_HEAD = _any

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def answer(
    status: int, body: bytes = b"", *, content_type: str = "application/json", **headers: str
) -> Respond:
    """A plain answer with a Content-Length."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def redirect_to(location: str, status: int = 302) -> Respond:
    return answer(status, b"", content_type="text/plain", Location=location)


def drip_headers(every: float = 0.2, seconds: float = 30) -> Respond:
    """A status line, then one byte of an endless header every `every` seconds: never a complete answer."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        handler.wfile.flush()
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            time.sleep(every)
            handler.wfile.write(b"a")
            handler.wfile.flush()

    return respond


def drip_body(
    body: bytes, *, chunk: int = 1, every: float = 0.2, content_type: str = "application/json"
) -> Respond:
    """Complete headers at once, then the body `chunk` bytes at a time, one piece every `every` seconds."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type.encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
        )
        handler.wfile.flush()
        for start in range(0, len(body), chunk):
            time.sleep(every)
            handler.wfile.write(body[start : start + chunk])
            handler.wfile.flush()

    return respond


def endless_body(piece: bytes = b"x" * 65536, *, content_type: str = "application/json") -> Respond:
    """Headers without a Content-Length, then a body that never ends (until the client hangs up)."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type.encode() + b"\r\nConnection: close\r\n\r\n"
        )
        for _ in range(10_000):
            handler.wfile.write(piece)
        handler.wfile.flush()

    return respond
