"""The digest as one self-contained HTML file, fit for mail clients.

Inline CSS only (a `style` attribute on each element, since many mail clients drop
`<style>` blocks), no script, no image, font or any other remote resource, and a Content
Security Policy that forbids them anyway. Every field that came from a feed is untrusted:
it is stripped of control characters and HTML-escaped, and only http(s) URLs become links.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from adapt_triage.render import sanitize, short_authors

if TYPE_CHECKING:
    from adapt_triage.stored import StoredPaper

_HTTP_RE = re.compile(r"^https?://[^\s\"'<>]+$", re.IGNORECASE)

_BODY = (
    "margin:0;padding:16px;background:#ffffff;color:#1a1a1a;"
    "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:15px;"
    "line-height:1.45;"
)
_H1 = "font-size:22px;margin:0 0 4px 0;"
_META = "color:#555555;font-size:13px;margin:0 0 16px 0;"
_H2 = (
    "font-size:17px;margin:24px 0 8px 0;padding:4px 8px;background:#eef2f7;"
    "border-left:4px solid #3b6ea5;"
)
_PAPER = "margin:0 0 14px 0;padding:0 0 10px 0;border-bottom:1px solid #e5e5e5;"
_TITLE = "font-weight:bold;margin:0 0 2px 0;"
_LINK = "color:#1f4f82;text-decoration:none;"
_INFO = "color:#444444;font-size:13px;margin:0;"
_BADGE = (
    "display:inline-block;padding:0 6px;margin-right:6px;border:1px solid #999999;"
    "border-radius:3px;font-size:12px;"
)
_ALSO = "color:#555555;font-size:13px;margin:2px 0 0 0;"
_NOTE = "color:#7a4b00;font-size:13px;margin:16px 0 0 0;padding:6px 8px;background:#fff6e0;"
_EMPTY = "font-style:italic;color:#555555;"


def esc(value: Any) -> str:
    """Untrusted text as HTML text: one line, control characters removed, escaped."""
    return html.escape(sanitize(value), quote=True)


def safe_url(value: Any) -> str | None:
    """An http(s) URL fit for an href (escaped), or None for anything else."""
    url = sanitize(value)
    return html.escape(url, quote=True) if _HTTP_RE.match(url) else None


def _link(text: Any, url: Any) -> str:
    href = safe_url(url)
    if href is None:
        return esc(text)
    return f'<a href="{href}" style="{_LINK}">{esc(text)}</a>'


def _paper_html(paper: StoredPaper, category: str) -> str:
    parts = [f'<div class="paper" style="{_PAPER}">']
    parts.append(f'<p class="title" style="{_TITLE}">{_link(paper.title, paper.url)}</p>')
    info = []
    if paper.announce_type:
        info.append(f'<span class="announce" style="{_BADGE}">{esc(paper.announce_type)}</span>')
    info.append(f'<span class="score">score {paper.score_for(category):.2f}</span>')
    if paper.authors:
        info.append(f'<span class="authors"> · {esc(short_authors(paper.authors, 4))}</span>')
    info.append(f'<span class="id" style="color:#777777;"> · {esc(paper.id)}</span>')
    parts.append(f'<p class="info" style="{_INFO}">{"".join(info)}</p>')
    others = [lab for lab in paper.labels if lab != category]
    if others:
        parts.append(
            f'<p class="labels" style="{_ALSO}">also labelled: {esc(", ".join(others))}</p>'
        )
    for dup in paper.duplicates:
        detail = esc(dup.id)
        if dup.dup_reason:
            detail += f", {esc(dup.dup_reason)}"
        parts.append(
            f'<p class="also-as" style="{_ALSO}">also as: '
            f"{_link(dup.title, dup.url)} ({detail})</p>"
        )
    parts.append("</div>")
    return "\n".join(parts)


def digest_html(digest: Any) -> str:
    """The whole digest as one HTML document (UTF-8)."""
    from adapt_triage.dates import local_text, plural

    window = esc(digest.window)
    title = f"adapt-triage: {plural(digest.count, 'paper')} {window}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        "</head>",
        f'<body style="{_BODY}">',
        f'<h1 style="{_H1}">{esc(digest.title)}</h1>',
        f'<p class="meta" style="{_META}">{plural(digest.count, "paper")}, grouped by primary '
        f"category · generated {esc(local_text(digest.generated_at))}</p>",
    ]
    if not digest.count:
        out.append(
            f'<p class="empty" style="{_EMPTY}">{esc(digest.empty_reason or "nothing new")}</p>'
        )
    for group in digest.groups:
        slug = re.sub(r"[^a-z0-9-]", "", group.category.lower())
        out.append(
            f'<h2 id="cat-{slug}" style="{_H2}">{esc(group.category)} ({len(group.papers)})</h2>'
        )
        out.extend(_paper_html(paper, group.category) for paper in group.papers)
    for note in digest.source_notes:
        out.append(f'<p class="note" style="{_NOTE}">{esc(note)}</p>')
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
