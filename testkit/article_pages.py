"""Realistic article pages for full-text tests and `bench/fulltext.py`: the article between navigation, ads,
related links, comments, a newsletter box and a footer, in a few different layouts, as news sites write
them. `BOILERPLATE` lists every line a page carries besides its article; none may reach an extracted body.
"""

from __future__ import annotations

import random
from html import escape
from xml.sax.saxutils import escape as xml_escape

BOILERPLATE = [
    "Home",
    "World",
    "Subscribe now for 1 dollar a week",
    "ADVERTISEMENT: Buy the new SuperPhone today and save forty percent on accessories",
    "Related stories",
    "Ten cheap holiday islands you must visit this winter",
    "Celebrity chef opens a second restaurant downtown",
    "Comments",
    "First! This comment section is the best part of the site, honestly.",
    "I disagree with everything written here and will say so at length every single day.",
    "Sign up for our newsletter and never miss a deal from our partners again",
    "Copyright 2024 The Daily Example. All rights reserved.",
    "Most read",
    "Watch: a dog learns to surf in five easy lessons",
    "Share this article on social media",
]

_WORDS = str.split(
    "ministers council talks border troops ceasefire budget parliament election harbour flood drought "
    "minister envoy sanctions shipping exports tariffs court ruling appeal strike union wages energy grid "
    "pipeline reactor inspection summit delegation treaty protocol vote coalition province governor mayor "
    "railway bridge contract tender audit inquiry report witness police charges bail verdict hospital "
    "vaccine outbreak clinic researchers survey census farmers harvest prices inflation bank rates"
)


def paragraphs(seed: int, count: int = 6) -> list[str]:
    """Distinct, sentence-like paragraphs of an article (seeded: the same seed gives the same text)."""
    rng = random.Random(seed)
    out = []
    for p in range(count):
        sentences = []
        for _ in range(3):
            words = rng.sample(_WORDS, 11)
            number = rng.randint(2, 9000)
            sentences.append(
                f"{words[0].capitalize()} {' '.join(words[1:6])} {number} {' '.join(words[6:])}."
            )
        out.append(f"Article {seed} paragraph {p + 1}: " + " ".join(sentences))
    return out


def article_page(headline: str, body: list[str], *, layout: int = 0, weight_kb: int = 0) -> bytes:
    """One HTML page holding the article `body` (paragraphs) and every line of `BOILERPLATE`; `weight_kb`
    adds what real pages carry besides (inline scripts and styles, a long menu), about that many KiB."""
    h = escape(headline)
    article = "".join(f"<p>{escape(p)}</p>\n" for p in body)
    nav = (
        '<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>'
        '<li><a href="/subscribe">Subscribe now for 1 dollar a week</a></li></ul></nav></header>'
    )
    ad = (
        '<div class="ad-banner">ADVERTISEMENT: Buy the new SuperPhone today and save forty percent on '
        "accessories</div>"
    )
    related = (
        '<aside class="related"><h3>Related stories</h3><ul>'
        '<li><a href="/a">Ten cheap holiday islands you must visit this winter</a></li>'
        '<li><a href="/b">Celebrity chef opens a second restaurant downtown</a></li></ul></aside>'
    )
    most_read = (
        '<div class="most-read"><h4>Most read</h4><ol>'
        '<li><a href="/c">Watch: a dog learns to surf in five easy lessons</a></li></ol></div>'
    )
    comments = (
        '<section id="comments"><h2>Comments</h2>'
        '<div class="comment"><p>First! This comment section is the best part of the site, honestly.</p></div>'
        '<div class="comment"><p>I disagree with everything written here and will say so at length every '
        "single day.</p></div></section>"
    )
    share = '<div class="share"><a href="/share">Share this article on social media</a></div>'
    newsletter = '<div class="newsletter">Sign up for our newsletter and never miss a deal from our partners again</div>'
    footer = "<footer><p>Copyright 2024 The Daily Example. All rights reserved.</p></footer>"
    head = f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{h} | The Daily Example</title></head>'
    if weight_kb:
        script = "var tracker = {id: 12345, events: []};" * (weight_kb * 512 // 40)
        style = ".nav a { color: #333; padding: 4px; }\n" * (weight_kb * 256 // 40)
        menu = "".join(f'<li><a href="/section/{n}">Section {n}</a></li>' for n in range(weight_kb * 4))
        head = head.replace("</head>", f"<style>{style}</style><script>{script}</script></head>")
        nav = nav.replace("</ul></nav>", f"{menu}</ul></nav>")
    byline = '<p class="byline">By A. Reporter, 5 November 2024</p>'
    if layout % 3 == 0:
        page = (
            f"{head}<body>{nav}{ad}<main><article><h1>{h}</h1>{byline}\n{article}{related}</article></main>"
            f"{share}{comments}{newsletter}{most_read}{footer}</body></html>"
        )
    elif layout % 3 == 1:
        page = (
            f'{head}<body>{nav}<div class="layout"><div class="col-main"><div class="story">'
            f'<h1 class="headline">{h}</h1>{byline}<div class="story-body">\n{article}</div>{share}</div>'
            f'{comments}</div><div class="col-side">{ad}{most_read}{related}</div></div>{newsletter}{footer}'
            "</body></html>"
        )
    else:
        page = (
            f'{head}<body><div id="page">{nav}{most_read}<div id="content"><h1>{h}</h1>{byline}'
            f'<div class="entry-content" itemprop="articleBody">\n{article}</div>{ad}{related}</div>'
            f"{newsletter}{comments}{share}{footer}</div></body></html>"
        )
    return page.encode("utf-8")


def rss_with_links(title: str, items: list[tuple[str, str, str, str]]) -> bytes:
    """RSS whose items are (guid, headline, link, summary), dated one hour apart, the first the oldest."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>{xml_escape(title)}</title><link>http://127.0.0.1/</link><description>test</description>",
    ]
    for n, (guid, headline, link, summary) in enumerate(items):
        parts.append(
            f"<item><title>{xml_escape(headline)}</title><link>{xml_escape(link)}</link>"
            f"<guid>{xml_escape(guid)}</guid><pubDate>05 Nov 2024 {n % 24:02d}:00:00 +0000</pubDate>"
            f"<description>{xml_escape(summary)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")
