"""What `feeds add` accepts, and OPML import/export (as newsboat and rss2email use).

A feed is an http(s) URL, an existing file (stored as an absolute path, so that cron's
working directory does not matter), or an arXiv shortcut: `cs.LG` or `arxiv:cs.LG+cs.CL`
for arXiv's RSS feed of those categories.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from adapt_triage.text import collapse_whitespace

ARXIV_RSS = "https://rss.arxiv.org/rss/"

# arXiv's archives; a category is ARCHIVE or ARCHIVE.SUBJECT (cs.LG, math.OC, hep-th).
ARXIV_ARCHIVES = (
    "astro-ph",
    "cond-mat",
    "cs",
    "econ",
    "eess",
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math",
    "math-ph",
    "nlin",
    "nucl-ex",
    "nucl-th",
    "physics",
    "q-bio",
    "q-fin",
    "quant-ph",
    "stat",
)
_CATEGORY_RE = re.compile(
    r"^(?:" + "|".join(re.escape(a) for a in ARXIV_ARCHIVES) + r")(?:\.[A-Za-z][A-Za-z-]*)?$"
)
_URL_RE = re.compile(r"^https?://\S+$", re.IGNORECASE)
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


class FeedSpecError(ValueError):
    """`feeds add` was given something that is not a feed; the message says what works."""


def is_arxiv_category(text: str) -> bool:
    return bool(_CATEGORY_RE.match(text))


def resolve_feed(text: str, *, cwd: Path | None = None) -> str:
    """The URL or absolute path to subscribe to for what the user typed."""
    spec = (text or "").strip()
    if not spec:
        raise FeedSpecError("a feed needs a URL, a file or an arXiv category")
    if _URL_RE.match(spec):
        return spec
    if _SCHEME_RE.match(spec):
        raise FeedSpecError(f"{spec!r}: only http and https URLs can be subscribed")
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    if path.is_file():
        return str(path.resolve())
    cats = spec[len("arxiv:") :] if spec.lower().startswith("arxiv:") else spec
    parts = [c.strip() for c in cats.split("+")]
    if parts and all(is_arxiv_category(c) for c in parts):
        return ARXIV_RSS + "+".join(parts)
    if path.is_dir():
        raise FeedSpecError(f"{spec!r} is a directory, not a feed file")
    raise FeedSpecError(
        f"{spec!r} is not an http(s) URL, an existing file or an arXiv category "
        "(cs.LG, or arxiv:cs.LG+cs.CL for several)"
    )


@dataclass
class OpmlFeed:
    url: str
    name: str | None = None


def parse_opml(content: bytes, *, source: str = "OPML") -> list[OpmlFeed]:
    """The feeds (`outline` elements with an `xmlUrl`, nested folders too) of an OPML file."""
    if b"<!ENTITY" in content or b"<!DOCTYPE" in content:
        raise ValueError(f"{source}: OPML with a DOCTYPE or entities is not read")
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise ValueError(f"{source}: not well-formed XML ({exc})") from None
    if root.tag != "opml":
        raise ValueError(f"{source}: not an OPML document (root element <{root.tag}>)")
    feeds: list[OpmlFeed] = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url:
            continue
        name = (outline.get("title") or outline.get("text") or "").strip() or None
        if name == url:
            name = None  # exported without a name
        feeds.append(OpmlFeed(url, name))
    return feeds


def to_opml(feeds: Sequence[OpmlFeed], *, title: str = "adapt-triage feeds") -> str:
    """OPML 2.0 with one `outline type="rss"` per feed (names and URLs escaped)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_text(title)}</title></head>",
        "  <body>",
    ]
    for feed in feeds:
        name = feed.name or feed.url
        lines.append(
            f'    <outline type="rss" text={quoteattr(_xml_line(name))} '
            f"title={quoteattr(_xml_line(name))} xmlUrl={quoteattr(_xml_line(feed.url))}/>"
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


_XML_BAD_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_line(text: str) -> str:
    """Characters XML 1.0 cannot carry, dropped; newlines folded (attributes are one line)."""
    return collapse_whitespace(_XML_BAD_RE.sub("", text))


def _text(text: str) -> str:
    return quoteattr(_xml_line(text))[1:-1]


@dataclass
class ImportResult:
    """What `import_feeds` did: feeds added, already subscribed (kept), refused (a line
    each)."""

    added: int = 0
    kept: int = 0
    errors: list[str] = field(default_factory=list)


def import_feeds(store: Any, feeds: Sequence[OpmlFeed]) -> ImportResult:
    """Subscribe `store` to each feed not yet subscribed; a name already taken is dropped
    (the feed is still added); a feed the store refuses is an error line, the others go on."""
    from adapt_triage.store import FeedNameError, StoreError

    result = ImportResult()
    known = {f.url for f in store.list_feeds()}
    for feed in feeds:
        try:
            url = resolve_feed(feed.url)
            if url in known:
                result.kept += 1
                continue
            try:
                store.add_feed(url, feed.name)
            except FeedNameError:
                store.add_feed(url)
        except (FeedSpecError, StoreError) as exc:
            result.errors.append(str(exc))
            continue
        known.add(url)
        result.added += 1
    return result
