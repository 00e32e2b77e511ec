"""A small HTTP server on 127.0.0.1 with fault modes, for the fault tests (not a test module).

Every connection is served by its own thread from raw socket writes, so a fault can be
exactly what a broken or hostile server does on the wire. Paths:

    /ok/NAME          200 with the body registered under NAME (`server.bodies[NAME]`)
    /trickle          200 headers, then one body byte every 0.1 s, never ending
    /trickle-headers  the status line, then one header byte every 0.1 s, never ending
    /silent           reads the request and never answers
    /reset            reads the request and resets the connection (RST)
    /truncated        promises 5000 bytes, sends 100, closes
    /flaky/STATUS/N/NAME   STATUS (429 or 503, Retry-After: 0) for the first N requests,
                      then 200 with body NAME
    /loop             302 to itself
    /login            200 text/html: a login page where a feed was expected
    /gzip-bomb        gzip-encoded body that inflates to 30 MB of zeros
    /oversized        3 MB without Content-Length
    /oversized-declared  Content-Length: 1000000000 (and a short body)
    /not-modified     304 whatever the request sent

    with FaultServer() as server:
        server.bodies["feed"] = b"..."
        url = server.url("/ok/feed")
"""

from __future__ import annotations

import socket
import struct
import threading
import zlib
from collections import Counter
from types import TracebackType

_BOMB: bytes | None = None


def gzip_bomb() -> bytes:
    """30 MB of zeros, gzip-compressed (about 30 KB), built once."""
    global _BOMB
    if _BOMB is None:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = bytes(1024 * 1024)
        parts = [packer.compress(block) for _ in range(30)]
        parts.append(packer.flush())
        _BOMB = b"".join(parts)
    return _BOMB


class FaultServer:
    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._listener.close()

    # -- the wire

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request and len(request) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            with self._lock:
                self.requests.append(request)
            path = request.split(b" ", 2)[1].decode("latin-1")
            if path.startswith("http://"):  # asked as a proxy: serve the path the same way
                path = "/" + path.split("/", 3)[3]
            with self._lock:
                self.hits[path] += 1
                hit = self.hits[path]
            self._respond(conn, path, hit)
        except OSError:
            pass
        finally:
            conn.close()

    def _send(self, conn: socket.socket, status: str, headers: dict[str, str], body: bytes):
        head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        conn.sendall(head.encode("latin-1") + b"Connection: close\r\n\r\n" + body)

    def _ok(self, conn: socket.socket, body: bytes, content_type: str = "application/x-ndjson"):
        headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
        self._send(conn, "200 OK", headers, body)

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        """Send `data` then one byte every 0.1 s until the client or the server goes away."""
        conn.sendall(data)
        while not self._stop.wait(0.1):
            conn.sendall(b" ")

    def _respond(self, conn: socket.socket, path: str, hit: int) -> None:
        parts = path.strip("/").split("/")
        mode = parts[0]
        if mode == "ok":
            self._ok(conn, self.bodies[parts[1]])
        elif mode == "trickle":
            self._drip(
                conn,
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                b"Content-Length: 1000000\r\n\r\n",
            )
        elif mode == "trickle-headers":
            self._drip(conn, b"HTTP/1.1 200 OK\r\nX-Slow: ")
        elif mode == "silent":
            self._stop.wait(30)
        elif mode == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode == "truncated":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                b"Content-Length: 5000\r\n\r\n" + b'{"title": "cut' + b" " * 86
            )
        elif mode == "flaky":
            status, failures, name = parts[1], int(parts[2]), parts[3]
            if hit <= failures:
                reason = "Too Many Requests" if status == "429" else "Service Unavailable"
                self._send(
                    conn,
                    f"{status} {reason}",
                    {"Retry-After": "0", "Content-Length": "0"},
                    b"",
                )
            else:
                self._ok(conn, self.bodies[name])
        elif mode == "loop":
            self._send(conn, "302 Found", {"Location": "/loop", "Content-Length": "0"}, b"")
        elif mode == "login":
            page = (
                b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
                b"<form action='/login' method='post'><input name='user'>"
                b"<input type='password' name='pw'></form></body></html>"
            )
            self._ok(conn, page, "text/html; charset=utf-8")
        elif mode == "gzip-bomb":
            bomb = gzip_bomb()
            self._send(
                conn,
                "200 OK",
                {
                    "Content-Type": "application/x-ndjson",
                    "Content-Encoding": "gzip",
                    "Content-Length": str(len(bomb)),
                },
                bomb,
            )
        elif mode == "oversized":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
            )
            block = b"x" * 65536
            for _ in range(48):  # 3 MB, then the connection closes
                conn.sendall(block)
        elif mode == "oversized-declared":
            self._send(conn, "200 OK", {"Content-Length": "1000000000"}, b"{}" * 10)
        elif mode == "not-modified":
            self._send(conn, "304 Not Modified", {}, b"")
        else:
            self._send(conn, "404 Not Found", {"Content-Length": "0"}, b"")
