"""Remove page furniture that a copy-paste or a text dump of a web page drags into an article body.

Everything here works on lines of already-sanitised text and is deliberately conservative: a rule removes a
line only when the line is furniture on its own (an "- Advertisement -" marker, a newsletter prompt), and the
trailing link-list rule cuts only when *everything* after a section heading such as "Latest" or "You may also
like" looks like a list of other headlines and teasers. Prose after such a heading is kept, because a wrongly
cut article is worse than a few leftover teaser lines. Trailing footers (copyright lines, "Add Comment") are
trimmed from the end only.
"""

from __future__ import annotations

import re

_AD_MARKER = re.compile(
    r"^[\W_]*(?:advertisement|advertising|advert|sponsored(?: content)?|ad|ads|promoted(?: content)?)[\W_]*$",
    re.IGNORECASE,
)

# Newsletter and sign-up prompts; matched only on short lines so a sentence that mentions a newsletter stays.
_PROMPT = re.compile(
    r"""^[\W_]*(?:
        (?:subscribe|sign\s+up)\s+(?:to|for)\s+(?:our|the|my|this)\b.*
      | (?:subscribe|sign\s+up)(?:\s+(?:now|here|today))?
      | get\s+(?:our|the)\s+(?:\w+\s+)?newsletter\b.*
      | (?:join|follow)\s+us\s+on\b.*
      | (?:continue\s+reading|read\s+the\s+full\s+(?:article|story))\b.*
      | (?:share\s+(?:this|on)\b.*|share)
      | click\s+here\s+to\b.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_MAX_PROMPT_CHARS = 80

# Headings that introduce a list of links to other articles.
_LINK_LIST_HEADING = re.compile(
    r"""^[#\s\W_]*(?:
        latest(?:\s+(?:news|stories|articles|posts|updates|headlines))?
      | don[’']?t\s+miss(?:\s+(?:this|these|out))?
      | related(?:\s+(?:news|stories|articles|posts|content|coverage|reading|topics|links))?
      | read\s+(?:more|next|also)(?:\s+(?:on|about|from)\b.*)?
      | also\s+read | see\s+also | further\s+reading | what\s+to\s+read\s+next | up\s+next
      | more\s+(?:from|on|in|about)\b.* | more\s+(?:news|stories|articles|headlines|to\s+read)
      | (?:you\s+)?(?:may|might)\s+also\s+(?:like|be\s+interested\s+in|enjoy)
      | trending(?:\s+(?:now|news|stories|today))?
      | most\s+(?:read|popular|viewed|shared|commented)(?:\s+(?:news|stories|articles|today|this\s+week))?
      | (?:recommended|suggested)(?:\s+(?:for\s+you|articles|stories|reading|news))?
      | popular(?:\s+(?:now|posts|stories|articles|news))?
      | top\s+(?:stories|news|headlines) | editor[’']?s\s+picks? | in\s+case\s+you\s+missed\s+it
    )[\s:.\W_]*$""",
    re.IGNORECASE | re.VERBOSE,
)
_MAX_HEADING_CHARS = 60

# A teaser is a cut-off first sentence ("... in the early hours of..."); a headline is short and unpunctuated.
_MAX_TEASER_CHARS = 400
_MAX_HEADLINE_CHARS = 140
_SENTENCE_END = re.compile(r"[.!?;:\"”’)]\s*$")
_ELLIPSIS_END = re.compile(r"(?:\.\.\.|…)\s*$")
# Share of non-heading lines after a link-list heading that must look like headlines or teasers.
_MIN_LIST_SHARE = 0.9

_FOOTER = re.compile(
    r"""^[\W_]*(?:
        (?:add|leave|post|write|view|show|read)\s+(?:a\s+|all\s+|the\s+)?comments?(?:\s*\(\d+\))?
      | \d*\s*comments?
      | (?:print|email|tweet)(?:\s+this)?(?:\s+(?:article|story|page))?
      | back\s+to\s+top
      | tags?:.*
      | all\s+rights\s+reserved\.?
    )[\W_]*$""",
    re.IGNORECASE | re.VERBOSE,
)
_COPYRIGHT = re.compile(r"^\s*(?:copyright\b|©|\(c\)\s)", re.IGNORECASE)
_MAX_FOOTER_CHARS = 160


def is_furniture_line(line: str) -> bool:
    """True for a line that is page furniture wherever it appears (ad markers, sign-up prompts)."""
    text = line.strip()
    if not text:
        return False
    if _AD_MARKER.match(text):
        return True
    return len(text) <= _MAX_PROMPT_CHARS and bool(_PROMPT.match(text))


def is_link_list_heading(line: str) -> bool:
    """True for a short heading such as "Latest", "Don't miss" or "You may also like"."""
    text = line.strip()
    return 0 < len(text) <= _MAX_HEADING_CHARS and bool(_LINK_LIST_HEADING.match(text))


def _looks_like_teaser(line: str) -> bool:
    if len(line) > _MAX_TEASER_CHARS:
        return False
    if _ELLIPSIS_END.search(line):
        return True
    return len(line) <= _MAX_HEADLINE_CHARS and not _SENTENCE_END.search(line)


def _tail_is_link_list(lines: list[str]) -> bool:
    items = [line for line in lines if line and not is_link_list_heading(line)]
    if not items:
        return True
    teasers = sum(1 for line in items if _looks_like_teaser(line))
    return teasers >= _MIN_LIST_SHARE * len(items)


def _is_footer(line: str) -> bool:
    if len(line) > _MAX_FOOTER_CHARS:
        return False
    return bool(_COPYRIGHT.match(line) or _FOOTER.match(line))


def strip_boilerplate(lines: list[str]) -> list[str]:
    """The article's lines without furniture, trailing link lists and trailing footers.

    `lines` are stripped lines of sanitised text (blank lines are ""). The first non-blank line is never
    treated as a link-list heading, so an article cannot be cut to nothing.
    """
    kept = [line for line in lines if not is_furniture_line(line)]

    first_content = next((i for i, line in enumerate(kept) if line), len(kept))
    for index in range(first_content + 1, len(kept)):
        if is_link_list_heading(kept[index]) and _tail_is_link_list(kept[index + 1 :]):
            kept = kept[:index]
            break

    while kept and (not kept[-1] or _is_footer(kept[-1])):
        kept.pop()
    while kept and not kept[0]:
        kept.pop(0)
    return kept
