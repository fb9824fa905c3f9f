"""The XML reader feedparser's strict parser runs on: the standard library's expat reader, with character
data buffered.

Unbuffered, expat reports text in pieces, one per line and one per character reference, and feedparser
handles each piece in several Python calls: a summary of escaped HTML (`&lt;p&gt;…`) came in ~80 pieces.
Buffered, a run of text comes as one piece. feedparser joins the pieces of an element before it looks at
them, so the parse is the same; it cost ~11% of parsing a feed.

`xml.sax.make_parser` takes a list of reader modules and uses the first that imports; `feeds.parse` adds
this one after the installed readers feedparser prefers (libxml2's, where installed), ahead of the standard
library's.
"""

from __future__ import annotations

from xml.sax.expatreader import ExpatParser


class BufferedExpatParser(ExpatParser):
    def reset(self) -> None:
        super().reset()  # makes a new expat parser for each document
        self._parser.buffer_text = True


def create_parser(*args, **kwargs) -> BufferedExpatParser:
    """What `xml.sax.make_parser` calls on a reader module."""
    return BufferedExpatParser(*args, **kwargs)
