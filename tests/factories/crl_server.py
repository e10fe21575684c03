"""A local HTTP server that serves CRLs, started by the test that needs one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CrlServer:
    """Serves ``files`` (path → bytes) on 127.0.0.1, answers ``redirects`` (path → Location)
    with a 302, and any other path with a 404. Records the paths asked for."""

    def __init__(
        self, server: ThreadingHTTPServer, files: dict[str, bytes], redirects: dict[str, str]
    ) -> None:
        self.files = files
        self.redirects = redirects
        self.requests: list[str] = []
        self._server = server

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"


@contextmanager
def crl_server() -> Iterator[CrlServer]:
    """A running :class:`CrlServer`, stopped when the block ends."""
    files: dict[str, bytes] = {}
    redirects: dict[str, str] = {}
    holder: list[CrlServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            holder[0].requests.append(self.path)
            if self.path in redirects:
                self.send_response(302)
                self.send_header("Location", redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(CrlServer(server, files, redirects))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
