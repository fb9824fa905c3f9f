"""How far a fetch may go: timeouts, size cap, concurrency, politeness. Plain data, no httpx.

`newswatch.config` builds one from `[fetch]` (the only defaults are the ones below), and `feeds.fetch`
obeys it; kept apart from `feeds.fetch` so that loading a config does not import httpx (cron's idle path).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

# Spacing between request starts to one (non-loopback) host when `host_gap` is not set.
DEFAULT_HOST_GAP = 0.2
# What a feed request asks for (article pages ask for HTML instead: feeds.fulltext).
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)


@dataclass
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 60.0  # total per feed, all redirects included
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 32
    per_host: int = 4
    # Seconds between the starts of successive requests to one host; None: DEFAULT_HOST_GAP except loopback.
    host_gap: float | None = None
    # Seconds for the whole call (all feeds of one pass); None: no limit. 300, as `[fetch] run_deadline`
    # documents: a cron pass every 15 minutes must end before the next one starts, whoever calls.
    run_deadline: float | None = 300.0
    # What the requests ask for: feeds by default; article pages ask for HTML (feeds.fulltext).
    accept: str = ACCEPT

    def gap_for(self, host: str) -> float:
        if self.host_gap is not None:
            return max(self.host_gap, 0.0)
        return 0.0 if is_loopback(host) else DEFAULT_HOST_GAP


def is_loopback(host: str) -> bool:
    """localhost, *.localhost, 127.0.0.0/8 or ::1 (a literal address or the names that always mean it)."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
