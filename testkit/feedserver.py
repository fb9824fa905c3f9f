"""A real HTTP server on 127.0.0.1 for fetch tests and benchmarks.

Routes are plain functions from a request to a `Response`; helpers set up the cases a feed fetcher must
survive: conditional GET, status codes, redirects and loops, slow and dripping responses, huge and
gzip-bomb bodies (generated in chunks, never held in memory), Retry-After. The server records the headers of
every request and the peak number of requests in flight per path prefix ("/a/x" and "/a/y" share "/a").

    with FeedServer() as server:
        server.feed("/f.xml", make_rss("Example", 3))
        fetch_all([FetchRequest(server.url("/f.xml"))])

`feed_server` is the same thing as a pytest fixture. Threads are daemons and every wait watches a stop flag,
so shutdown is prompt even with a drip in progress.
"""

from __future__ import annotations

import threading
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

RSS_TYPE = "application/rss+xml; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Bytes, or a function returning an iterable of chunks (streamed, chunked unless Content-Length is set).
    body: bytes | Callable[[], Iterable[bytes]] = b""
    delay: float = 0.0  # before the status line
    chunk_delay: float = 0.0  # between body chunks


Route = Callable[[Request], Response]


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: dict[str, list[dict[str, str]]] = defaultdict(list)
        self._active: dict[str, int] = defaultdict(int)
        self._peak: dict[str, int] = defaultdict(int)
        self._connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FeedServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.feed_server = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="feedserver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    # --- observations ----------------------------------------------------------------------------------

    def requests_for(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return list(self.requests.get(path, []))

    def max_concurrent(self, prefix: str) -> int:
        with self._lock:
            return self._peak.get(prefix, 0)

    def connections(self) -> int:
        """TCP connections accepted so far (a kept-alive connection serves several requests)."""
        with self._lock:
            return self._connections

    # --- routes ----------------------------------------------------------------------------------------

    def route(self, path: str, handler: Route) -> None:
        self.routes[path] = handler

    def feed(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = RSS_TYPE,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Static bytes with optional validators; a matching conditional request gets 304."""
        base = {"Content-Type": content_type, **(headers or {})}
        if etag:
            base["ETag"] = etag
        if last_modified:
            base["Last-Modified"] = last_modified

        def handler(request: Request) -> Response:
            if etag and request.headers.get("if-none-match") == etag:
                return Response(304, {"ETag": etag}, delay=delay)
            if last_modified and not etag and request.headers.get("if-modified-since") == last_modified:
                return Response(304, {"Last-Modified": last_modified}, delay=delay)
            return Response(200, dict(base), body, delay=delay)

        self.route(path, handler)

    def status(
        self, path: str, code: int, *, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        self.route(path, lambda _request: Response(code, dict(headers or {}), body))

    def redirect(self, path: str, location: str, code: int = 301) -> None:
        self.status(path, code, headers={"Location": location})

    def slow(self, path: str, delay: float, body: bytes = b"<rss/>") -> None:
        """Nothing at all (not even the status line) for `delay` seconds."""
        self.route(path, lambda _request: Response(200, {"Content-Type": RSS_TYPE}, body, delay=delay))

    def drip(self, path: str, size: int = 10_000, interval: float = 1.0) -> None:
        """Headers at once, then one byte every `interval` seconds: each read is quick, the whole is not."""
        headers = {"Content-Type": RSS_TYPE, "Content-Length": str(size)}
        self.route(
            path,
            lambda _request: Response(
                200, headers, lambda: (b"x" for _ in range(size)), chunk_delay=interval
            ),
        )

    def huge(self, path: str, size: int, *, chunk: int = 64 * 1024, content_length: bool = False) -> None:
        """`size` bytes generated on the fly; chunked unless `content_length`."""
        headers = {"Content-Type": RSS_TYPE}
        if content_length:
            headers["Content-Length"] = str(size)
        self.route(path, lambda _request: Response(200, dict(headers), lambda: _repeat(size, chunk)))

    def gzip_bomb(self, path: str, size: int) -> None:
        """Content-Encoding: gzip whose body inflates to `size` bytes (a few KB per MiB on the wire)."""
        headers = {"Content-Type": RSS_TYPE, "Content-Encoding": "gzip"}
        self.route(path, lambda _request: Response(200, dict(headers), lambda: _gzip_zeros(size)))

    # --- handler side ----------------------------------------------------------------------------------

    def _enter(self, request: Request) -> str:
        prefix = "/" + request.path.lstrip("/").split("/", 1)[0]
        with self._lock:
            self.requests[request.path].append(request.headers)
            self._active[prefix] += 1
            self._peak[prefix] = max(self._peak[prefix], self._active[prefix])
        return prefix

    def _leave(self, prefix: str) -> None:
        with self._lock:
            self._active[prefix] -= 1

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the server stops first; True when it is stopping."""
        return self._stop.wait(seconds) if seconds > 0 else self._stop.is_set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512  # a benchmark opens dozens of connections at once
    feed_server: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-response is what half of these routes provoke


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real feed servers do
    timeout = 30  # idle keep-alive connections must not pin threads forever
    # Headers and body go out in separate writes; with Nagle on, each response waits ~40 ms for an ACK.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        owner = self.server.feed_server
        with owner._lock:
            owner._connections += 1

    def do_GET(self) -> None:
        owner = self.server.feed_server
        path = self.path.split("?", 1)[0]
        request = Request("GET", path, {name.lower(): value for name, value in self.headers.items()})
        prefix = owner._enter(request)
        try:
            route = owner.routes.get(path)
            response = (
                route(request) if route else Response(404, {"Content-Type": "text/plain"}, b"not found")
            )
            self._send(owner, response)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        finally:
            owner._leave(prefix)

    def _send(self, owner: FeedServer, response: Response) -> None:
        if owner._wait(response.delay):
            self.close_connection = True
            return
        self.send_response(response.status)
        headers = {name.lower(): (name, value) for name, value in response.headers.items()}
        if "date" not in headers:
            self.send_header("Date", formatdate(usegmt=True))
        for name, value in headers.values():
            self.send_header(name, value)
        if isinstance(response.body, bytes):
            if "content-length" not in headers:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            return
        chunked = "content-length" not in headers
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in response.body():
            if owner._wait(response.chunk_delay):
                self.close_connection = True
                return
            if not chunk:
                continue
            self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            self.wfile.flush()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


def _repeat(size: int, chunk: int) -> Iterator[bytes]:
    block = b"<!-- padding -->" * (chunk // 16 + 1)
    sent = 0
    while sent < size:
        piece = block[: min(chunk, size - sent)]
        sent += len(piece)
        yield piece


def _gzip_zeros(size: int) -> Iterator[bytes]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\x00" * (1 << 20)
    left = size
    while left > 0:
        out = compressor.compress(block[: min(left, len(block))])
        left -= min(left, len(block))
        if out:
            yield out
    yield compressor.flush()


def make_rss(
    title: str, items: int, *, feed_id: str = "feed", link_base: str = "https://example.com"
) -> bytes:
    """A valid RSS 2.0 document with `items` distinct dated items, for tests and benchmarks."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>{link_base}/</link><description>test feed</description>",
    ]
    for n in range(items):
        day = 1 + n % 28
        parts.append(
            f"<item><title>{escape(title)} item {n}</title>"
            f"<link>{link_base}/{feed_id}/{n}</link><guid>{feed_id}-{n}</guid>"
            f"<pubDate>{day:02d} Nov 2024 {n % 24:02d}:{n % 60:02d}:00 +0000</pubDate>"
            f"<description>&lt;p&gt;Paragraph {n} of {escape(title)}: a report on events.&lt;/p&gt;</description>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


try:
    import pytest
except ImportError:  # benchmarks can use FeedServer without pytest installed
    pytest = None

if pytest is not None:

    @pytest.fixture
    def feed_server() -> Iterator[FeedServer]:
        with FeedServer() as server:
            yield server
