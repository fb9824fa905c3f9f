"""Fetch many feeds over HTTP at once, politely and within hard limits.

One shared httpx.AsyncClient (HTTP/1.1 keep-alive), a global and a per-host bound on concurrent requests,
conditional GET, and limits httpx does not have: a total deadline per feed (a server dripping one byte per
second defeats per-read timeouts, encode/httpx#1450) and a cap on the *decoded* body size. We decompress
ourselves from the raw stream with zlib's `max_length`, so a gzip bomb never inflates more than the cap in
memory (httpx's own decoder inflates each 64 KiB network chunk in full, up to ~64 MiB at once).

Politeness: at most `per_host` requests to one host at once, and successive requests to one host start at
least `host_gap` seconds apart. By default the gap is 0.2 s for every host except loopback ones (localhost,
127.0.0.0/8, ::1): spacing protects someone else's server, and a local server (a test, a benchmark with a
thousand feeds on 127.0.0.1) gains nothing from it. An explicit `host_gap` applies to every host.

A run deadline bounds the whole call: when it passes, requests in flight are cancelled and every feed not
yet finished gets the error "not fetched: run deadline reached", so a run always ends.

Every per-feed problem becomes a one-line `FetchResult.error`; `fetch_feeds` does not raise for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import sys
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus

from feeds.limits import FetchLimits
from feeds.sanitize import strip_controls
from newswatch import __version__

# httpx's package imports its own command-line client (httpx._main, and with it click, rich and pygments)
# whenever those three are installed, as sqlite-utils and textual make sure here: ~40-60 ms of CPU, a tenth
# of a warm pass of 300 feeds, for a client newswatch never runs (upstream: encode/httpx#3547, and the lazy
# import the pydantic/httpx2 fork merged). A None entry is Python's way of marking a module unavailable, so
# httpx takes the path it has for an install without its "cli" extra. No effect once httpx is imported.
sys.modules.setdefault("httpx._main", None)  # type: ignore[call-overload]

import httpx  # noqa: E402

log = logging.getLogger(__name__)

USER_AGENT = f"newswatch/{__version__} (+https://github.com/newswatch)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_READ_CHUNK = 64 * 1024
# A body we do not need (a 304's, a redirect's note) up to this size is read so that its connection can
# serve the next request: httpcore closes a connection whose response was not read to the end, so a warm
# pass of 304s opened a new connection (and, on a threaded server, a thread) per feed. A longer one is
# not worth reading: its connection is closed.
_DRAIN_LIMIT = 64 * 1024
RUN_DEADLINE_ERROR = "not fetched: run deadline reached"
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass
class FetchRequest:
    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FetchResult:
    url: str  # as requested: the caller's key
    status: int | None
    body: bytes | None  # decoded (decompressed) bytes; None on error or 304
    etag: str | None
    last_modified: str | None
    final_url: str  # after redirects; resolve relative links against this
    # Set when the redirect chain started with 301/308 hops and the fetch succeeded: the URL to store.
    permanent_redirect_url: str | None
    not_modified: bool
    error: str | None
    retry_after_seconds: float | None
    max_age_seconds: float | None
    elapsed: float  # seconds spent on this feed's requests, excluding time queued for a slot
    # The response's Content-Type, for parse_feed(response_headers={"content-type": ...}).
    content_type: str | None = None
    # True when the run deadline stopped this feed: not the feed's fault, so no backoff.
    run_deadline_reached: bool = False


class BodyBacklog:
    """Bytes of fetched bodies their caller has not finished with (parsed and stored), and a bound on them.

    A local or fast server answers faster than feeds are parsed, so without a bound a pass held every body of
    its feeds at once: 120 feeds of 2.6 MB took an ingest to 381 MB of RSS. The fetcher waits for `room`
    before each feed's request; the caller counts a body in (`add`, from any thread) when it gets one and out
    (`done`, from any thread) when it has finished with it. Requests already running still finish, so the
    bytes held stay below `limit` plus what the requests in flight bring (at most `concurrency` bodies).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    async def room(self) -> None:
        """Return once the bytes held are below the limit (on the fetcher's event loop)."""
        while True:
            with self._lock:
                if self.held < self.limit:
                    return
                loop = asyncio.get_running_loop()
                freed: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, freed))
            await freed

    def add(self, size: int) -> None:
        with self._lock:
            self.held += size

    def done(self, size: int) -> None:
        with self._lock:
            self.held -= size
        self._wake()

    def lift(self) -> None:
        """No bound from now on (the caller stopped taking bodies: the fetcher must not wait for it)."""
        with self._lock:
            self.limit = sys.maxsize
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            if self.held >= self.limit:
                return
            waiters, self._waiters = self._waiters, []
        for loop, freed in waiters:
            with contextlib.suppress(RuntimeError):  # its loop has closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, freed)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _FeedError(Exception):
    """A per-feed failure with its one-line message."""


def fetch_all(
    requests: Iterable[FetchRequest],
    limits: FetchLimits | None = None,
    *,
    on_result: Callable[[FetchResult], None] | None = None,
    hold: Callable[[str], str | None] | None = None,
    backlog: BodyBacklog | None = None,
) -> list[FetchResult]:
    """Synchronous `fetch_feeds`, for callers without an event loop (the CLI, cron)."""
    return asyncio.run(fetch_feeds(requests, limits, on_result=on_result, hold=hold, backlog=backlog))


async def fetch_feeds(
    requests: Iterable[FetchRequest],
    limits: FetchLimits | None = None,
    *,
    on_result: Callable[[FetchResult], None] | None = None,
    hold: Callable[[str], str | None] | None = None,
    backlog: BodyBacklog | None = None,
) -> list[FetchResult]:
    """Fetch every request; results come back in request order, and to `on_result` as each finishes.

    `hold(host)`, asked when a request's turn for its host comes, may return why that host must not be
    asked now (it answered Retry-After to an earlier request): the request then fails with that reason.

    With a `backlog`, no feed's request starts while the caller holds more body bytes than it allows.

    `on_result` runs on the event loop: keep it quick (hand parsing to a pool). If it raises, the error
    is logged and fetching goes on.
    """
    limits = limits or FetchLimits()
    items = list(requests)
    if not items:
        return []
    timeout = httpx.Timeout(
        connect=limits.connect_timeout,
        read=limits.read_timeout,
        write=limits.read_timeout,
        pool=limits.connect_timeout,
    )
    headers = {"User-Agent": USER_AGENT, "Accept": limits.accept, "Accept-Encoding": "gzip, deflate"}
    slots = asyncio.Semaphore(max(limits.concurrency, 1))
    host_slots: dict[str, asyncio.Semaphore] = {}

    def host_slot(host: str) -> asyncio.Semaphore:
        if host not in host_slots:
            host_slots[host] = asyncio.Semaphore(max(limits.per_host, 1))
        return host_slots[host]

    results: list[FetchResult | None] = [None] * len(items)
    async with httpx.AsyncClient(
        headers=headers,
        timeout=timeout,
        transport=_Connections(keep_idle=max(limits.concurrency, 1)),
        follow_redirects=False,
        trust_env=False,
        event_hooks={"response": [_check_redirect]},
    ) as client:
        fetcher = _Fetcher(client, limits, slots, host_slot)
        fetcher.hold = hold
        fetcher.backlog = backlog

        def deliver(index: int, result: FetchResult) -> None:
            results[index] = result
            if on_result is not None:
                try:
                    on_result(result)
                except Exception:
                    log.exception("on_result failed for %s", result.url)

        async def run(index: int, request: FetchRequest) -> None:
            deliver(index, await fetcher.fetch(request))

        tasks = [asyncio.ensure_future(run(i, request)) for i, request in enumerate(items)]
        if limits.run_deadline is None:
            await asyncio.gather(*tasks)
        else:
            _done, pending = await asyncio.wait(tasks, timeout=max(limits.run_deadline, 0.0))
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
            for index, request in enumerate(items):
                if results[index] is None:
                    deliver(index, _unfinished(request))
    return [result for result in results if result is not None]


class _Connections(httpx.AsyncBaseTransport):
    """Keep-alive connections, each its own one-connection httpx transport, reused per origin.

    httpx's own pool (httpcore's) walks every connection it holds on each request and each response
    closed, polls the socket of every idle one, and for each idle one counts them all again: with 32
    kept-alive connections that bookkeeping cost more than the requests themselves (300 local 304s at
    concurrency 32: 0.58 s of CPU, against 0.15 s here). A one-connection pool has none of that. Our
    semaphores bound the connections in use (`concurrency`, `per_host`); at most `keep_idle` idle ones
    are kept, the least recently used closed first, so a pass over a thousand hosts does not hold a
    thousand sockets.
    """

    def __init__(self, *, keep_idle: int) -> None:
        self.keep_idle = keep_idle
        self.idle: OrderedDict[tuple[bytes, bytes, int | None], list[httpx.AsyncHTTPTransport]] = (
            OrderedDict()
        )
        self.idle_count = 0
        self.everyone: set[httpx.AsyncHTTPTransport] = set()
        self.tls: ssl.SSLContext | None = None
        self.no_tls: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        transport = self._take(origin)
        try:
            response = await transport.handle_async_request(request)
        except BaseException:
            await self._give_back(origin, transport)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_GiveBack(response.stream, lambda: self._give_back(origin, transport)),
            extensions=response.extensions,
        )

    def _take(self, origin: tuple[bytes, bytes, int | None]) -> httpx.AsyncHTTPTransport:
        if waiting := self.idle.get(origin):
            self.idle_count -= 1
            transport = waiting.pop()
            if not waiting:
                del self.idle[origin]
            return transport
        transport = httpx.AsyncHTTPTransport(
            verify=self._context(origin[0] == b"https"),
            trust_env=False,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self.everyone.add(transport)
        return transport

    def _context(self, tls: bool) -> ssl.SSLContext:
        """One TLS context for every connection, made (loading the CA bundle, ~15 ms) only when an https
        URL comes up. A plain-http transport never starts TLS (no proxies: trust_env is off) but wants a
        context: it gets one that trusts no certificate, so that it could verify nothing if it ever did."""
        if tls:
            if self.tls is None:
                self.tls = httpx.create_ssl_context(trust_env=False)
            return self.tls
        if self.no_tls is None:
            self.no_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return self.no_tls

    async def _give_back(
        self, origin: tuple[bytes, bytes, int | None], transport: httpx.AsyncHTTPTransport
    ) -> None:
        self.idle.setdefault(origin, []).append(transport)
        self.idle.move_to_end(origin)
        self.idle_count += 1
        while self.idle_count > self.keep_idle:
            oldest, waiting = next(iter(self.idle.items()))
            evicted = waiting.pop(0)
            if not waiting:
                del self.idle[oldest]
            self.idle_count -= 1
            self.everyone.discard(evicted)
            await evicted.aclose()

    async def aclose(self) -> None:
        everyone, self.everyone = self.everyone, set()
        self.idle.clear()
        self.idle_count = 0
        for transport in everyone:
            await transport.aclose()


class _GiveBack(httpx.AsyncByteStream):
    """A response body that returns its connection to `_Connections` once closed."""

    def __init__(self, stream: httpx.AsyncByteStream, give_back: Callable[[], Awaitable[None]]) -> None:
        self.stream = stream
        self.give_back: Callable[[], Awaitable[None]] | None = give_back

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self.stream:
            yield part

    async def aclose(self) -> None:
        try:
            await self.stream.aclose()
        finally:
            if self.give_back is not None:
                give_back, self.give_back = self.give_back, None
                await give_back()


def _fresh_result(request: FetchRequest) -> FetchResult:
    """A result that has heard nothing from the server yet: the request's validators carried over."""
    return FetchResult(
        url=request.url,
        status=None,
        body=None,
        etag=request.etag,
        last_modified=request.last_modified,
        final_url=request.url,
        permanent_redirect_url=None,
        not_modified=False,
        error=None,
        retry_after_seconds=None,
        max_age_seconds=None,
        elapsed=0.0,
    )


def _unfinished(request: FetchRequest) -> FetchResult:
    """The result for a feed the run deadline stopped (queued or in flight)."""
    result = _fresh_result(request)
    result.error = RUN_DEADLINE_ERROR
    result.run_deadline_reached = True
    return result


class _Fetcher:
    def __init__(
        self,
        client: httpx.AsyncClient,
        limits: FetchLimits,
        slots: asyncio.Semaphore,
        host_slot: Callable[[str], asyncio.Semaphore],
    ) -> None:
        self.client = client
        self.limits = limits
        self.slots = slots
        self.host_slot = host_slot
        self.hold: Callable[[str], str | None] | None = None
        self.backlog: BodyBacklog | None = None
        self.next_start: dict[str, float] = {}  # per host: the earliest start of its next request

    async def fetch(self, request: FetchRequest) -> FetchResult:
        result = _fresh_result(request)
        try:
            await self._follow(request, result)
        except _FeedError as error:
            result.error = str(error)
        except Exception as error:  # never let one feed's surprise stop the others
            result.error = _one_line(f"unexpected error: {type(error).__name__}: {error}")
        if result.error:
            result.body = None
            result.permanent_redirect_url = None
        return result

    async def _follow(self, request: FetchRequest, result: FetchResult) -> None:
        url = _check_url(request.url)
        visited = {str(url)}
        permanent_chain = True
        for _hop in range(self.limits.max_redirects + 1):
            result.final_url = str(url)
            location = await self._one_hop(url, request, result)
            if location is None:
                return
            target = _check_url(_join(url, location), redirected=True)
            if permanent_chain and result.status in _PERMANENT:
                result.permanent_redirect_url = str(target)
            else:
                permanent_chain = False
            if str(target) in visited:
                raise _FeedError(f"redirect loop at {target}")
            visited.add(str(target))
            url = target
        raise _FeedError(f"too many redirects (more than {self.limits.max_redirects})")

    async def _one_hop(self, url: httpx.URL, request: FetchRequest, result: FetchResult) -> str | None:
        """One request; returns the Location to follow, or None when the response is final."""
        headers = {}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        # Queueing for a slot is not the server's fault, so the deadline clock starts inside.
        async with self.host_slot(url.host):
            await self._space(url.host)
            if self.hold is not None and (reason := self.hold(url.host)):
                raise _FeedError(reason)
            async with self.slots:
                # Checked as the request would start, not before it queues for a slot: by then every
                # feed's request has queued, and none has brought a body yet.
                if self.backlog is not None:
                    await self.backlog.room()
                return await self._timed_hop(url, headers, result)

    async def _space(self, host: str) -> None:
        """Wait until `host_gap` has passed since the previous request to `host` started.

        The next start time is reserved before sleeping (no await in between), so concurrent waiters for
        one host queue up `gap` apart instead of all waking at once.
        """
        gap = self.limits.gap_for(host)
        if gap <= 0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self.next_start.get(host, now))
        self.next_start[host] = start + gap
        if start > now:
            await asyncio.sleep(start - now)

    async def _timed_hop(self, url: httpx.URL, headers: dict[str, str], result: FetchResult) -> str | None:
        remaining = self.limits.deadline - result.elapsed
        started = time.monotonic()
        try:
            async with asyncio.timeout(max(remaining, 0.001)):
                return await self._exchange(url, headers, result)
        except TimeoutError:
            raise _FeedError(f"timed out after {_seconds(self.limits.deadline)}") from None
        except httpx.HTTPError as error:
            raise _FeedError(_describe_httpx_error(error, url, self.limits)) from None
        except httpx.InvalidURL as error:  # e.g. a Location header httpx cannot parse
            raise _FeedError(_one_line(f"invalid URL from {url.host}: {error}")) from None
        finally:
            result.elapsed += time.monotonic() - started

    async def _exchange(self, url: httpx.URL, headers: dict[str, str], result: FetchResult) -> str | None:
        async with self.client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            result.status = status
            if status in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise _FeedError(f"HTTP {status} redirect without a Location header")
                await _drain(response)
                return location
            result.max_age_seconds = _max_age(response.headers.get("cache-control"))
            if status in (429, 503):
                result.retry_after_seconds = _retry_after(response.headers.get("retry-after"))
            if status == 304:
                result.not_modified = True
                # A 304 may omit the validators; the ones we sent are still the right ones.
                result.etag = response.headers.get("etag") or result.etag
                result.last_modified = response.headers.get("last-modified") or result.last_modified
                await _drain(response)
                return None
            if not 200 <= status < 300:
                raise _FeedError(f"HTTP {status} {_reason(response)}".rstrip())
            result.etag = response.headers.get("etag")
            result.last_modified = response.headers.get("last-modified")
            result.content_type = response.headers.get("content-type")
            result.body = await self._read_body(response)
            return None

    async def _read_body(self, response: httpx.Response) -> bytes:
        cap = self.limits.max_body_bytes
        too_big = f"body exceeds {_size(cap)} limit"
        declared = response.headers.get("content-length", "")
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if declared.isdigit() and int(declared) > cap and encoding in ("", "identity"):
            raise _FeedError(too_big)
        decoder = _decoder(encoding)
        parts: list[bytes] = []
        size = 0
        async for raw in response.aiter_raw(_READ_CHUNK):
            for piece in decoder.feed(raw, cap - size + 1):
                size += len(piece)
                if size > cap:
                    raise _FeedError(too_big)
                parts.append(piece)
        for piece in decoder.flush(cap - size + 1):
            size += len(piece)
            if size > cap:
                raise _FeedError(too_big)
            parts.append(piece)
        return b"".join(parts)


async def _drain(response: httpx.Response) -> None:
    """Read the rest of a response whose body we ignore, unless it is long (see _DRAIN_LIMIT)."""
    read = 0
    async for raw in response.aiter_raw(_READ_CHUNK):
        read += len(raw)
        if read > _DRAIN_LIMIT:
            return


class _Identity:
    def feed(self, data: bytes, limit: int) -> Iterable[bytes]:
        return (data,)

    def flush(self, limit: int) -> Iterable[bytes]:
        return ()


class _Inflate:
    """gzip/deflate that never produces more than `limit` bytes per call beyond what the caller allows.

    Output is pulled in bounded steps (zlib's max_length + unconsumed_tail), so memory stays near the
    body cap whatever the compression ratio.
    """

    def __init__(self, encoding: str) -> None:
        self.gzip = encoding in ("gzip", "x-gzip")
        self.raw_deflate = False
        self.started = False
        self.obj = zlib.decompressobj(self._wbits())

    def _wbits(self) -> int:
        if self.gzip:
            return 16 + zlib.MAX_WBITS
        return -zlib.MAX_WBITS if self.raw_deflate else zlib.MAX_WBITS

    def feed(self, data: bytes, limit: int) -> Iterable[bytes]:
        step = max(min(limit, 1024 * 1024), 1)
        while data:
            try:
                out = self.obj.decompress(data, step)
            except zlib.error as error:
                if not self.gzip and not self.started and not self.raw_deflate:
                    # "deflate" is often sent as a raw deflate stream without the zlib header.
                    self.raw_deflate = True
                    self.obj = zlib.decompressobj(self._wbits())
                    continue
                kind = "gzip" if self.gzip else "deflate"
                raise _FeedError(f"could not decompress {kind} body: {error}") from None
            self.started = True
            if out:
                yield out
                limit -= len(out)
                if limit <= 0:
                    return
            if self.obj.eof:
                rest = self.obj.unused_data
                if not rest.strip(b"\x00"):
                    return
                # Concatenated gzip members are one valid body.
                self.obj = zlib.decompressobj(self._wbits())
                data = rest
            else:
                data = self.obj.unconsumed_tail

    def flush(self, limit: int) -> Iterable[bytes]:
        out = self.obj.flush()
        return (out,) if out else ()


def _decoder(encoding: str) -> _Identity | _Inflate:
    if encoding in ("", "identity"):
        return _Identity()
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _Inflate(encoding)
    raise _FeedError(f"unsupported Content-Encoding {encoding!r}")


def _refuse_other_schemes(location: str) -> None:
    """httpx cannot even parse "javascript:alert(1)" (an opaque path): say what the redirect was."""
    scheme = re.match(r"\s*([A-Za-z][A-Za-z0-9+.-]*):", location)
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        raise _FeedError(_one_line(f"redirect to {location.strip()[:200]}"))


async def _check_redirect(response: httpx.Response) -> None:
    """Response hook: runs before httpx parses a redirect's Location (and raises InvalidURL on it)."""
    if response.status_code in _REDIRECTS and (location := response.headers.get("location")):
        _refuse_other_schemes(location)


def _join(base: httpx.URL, location: str) -> httpx.URL:
    """Resolve a Location header against the URL that sent it."""
    location = location.strip()
    _refuse_other_schemes(location)
    try:
        return base.join(location)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise _FeedError(_one_line(f"invalid redirect Location {location[:200]!r}: {error}")) from None


def _check_url(url: str | httpx.URL, *, redirected: bool = False) -> httpx.URL:
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise _FeedError(_one_line(f"invalid URL {str(url)[:200]!r}: {error}")) from None
    if parsed.scheme not in ("http", "https"):
        where = "redirect to" if redirected else "not an http(s) URL:"
        raise _FeedError(_one_line(f"{where} {str(parsed)[:200]}"))
    if not parsed.host:
        raise _FeedError(_one_line(f"invalid URL {str(parsed)[:200]!r}: no host"))
    return parsed


def _describe_httpx_error(error: httpx.HTTPError, url: httpx.URL, limits: FetchLimits) -> str:
    detail = str(error) or type(error).__name__
    host = url.host
    lowered = detail.lower()
    if isinstance(error, httpx.ConnectTimeout):
        return f"connect timed out after {_seconds(limits.connect_timeout)} ({host})"
    if isinstance(error, httpx.ReadTimeout):
        return f"read timed out after {_seconds(limits.read_timeout)} ({host})"
    if isinstance(error, httpx.PoolTimeout):
        return f"timed out waiting for a connection after {_seconds(limits.connect_timeout)}"
    if isinstance(error, httpx.TimeoutException):
        return f"timed out ({host}): {detail}"
    if isinstance(error, httpx.ConnectError):
        if any(
            marker in lowered
            for marker in ("name or service not known", "nodename nor servname", "name resolution",
                           "no address associated", "getaddrinfo failed")
        ):  # fmt: skip
            return f"DNS lookup failed for {host}"
        if "refused" in lowered or _caused_by(error, ConnectionRefusedError):
            return f"connection refused by {host}:{url.port or _default_port(url)}"
        if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
            return _one_line(f"TLS error with {host}: {detail}")
        return _one_line(f"connection to {host} failed: {detail}")
    if isinstance(error, httpx.RemoteProtocolError):
        return _one_line(f"protocol error from {host}: {detail}")
    if isinstance(error, httpx.DecodingError):
        return _one_line(f"could not decode body from {host}: {detail}")
    if isinstance(error, httpx.TooManyRedirects):
        return f"too many redirects (more than {limits.max_redirects})"
    return _one_line(f"{type(error).__name__} from {host}: {detail}")


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether `kind` is anywhere in the cause chain (anyio wraps per-address failures in a group)."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
    return False


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _reason(response: httpx.Response) -> str:
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return _one_line(response.reason_phrase or "")[:100]


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None when unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _max_age(cache_control: str | None) -> float | None:
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _size(limit: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= scale and limit % scale == 0:
            return f"{limit // scale} {unit}"
    if limit >= 1 << 20:
        return f"{limit / (1 << 20):.1f} MiB"
    return f"{limit} bytes"


def _one_line(text: str) -> str:
    # Error text quotes what a server sent (a Location, a reason phrase): stored and printed, so no escapes.
    return " ".join(strip_controls(text).split())[:500]
