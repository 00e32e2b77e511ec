"""The `Paper` record that flows through every stage, and the normalisation helpers.

Stored text stays as received; the `*_key` helpers here produce cleaned forms used
only for matching (identity and duplicate detection).
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

# Also re-exported here for store.py (being rewritten); new code imports it from text.
from adapt_triage.text import collapse_whitespace

# New-style arXiv ids (0704.0001 onward) and old-style ids (hep-th/9901001, math.GT/0309136).
_NEW_ID = r"(?P<new>\d{4}\.\d{4,5})"
_OLD_ID = r"(?P<old>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})"
_VERSION = r"(?:v(?P<version>\d+))?"
ARXIV_ID_RE = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|arxiv:\s*|oai:arxiv\.org:|^)"
    rf"(?:{_NEW_ID}|{_OLD_ID}){_VERSION}(?![\d.])",
    re.IGNORECASE,
)
_BARE_ID_RE = re.compile(rf"^\s*(?:{_NEW_ID}|{_OLD_ID}){_VERSION}\s*$", re.IGNORECASE)
# The fixed JSON contract: every paper printed as JSON has at least these fields.
CONTRACT_FIELDS = (
    "id",
    "title",
    "abstract",
    "authors",
    "url",
    "published",
    "source",
    "labels",
    "scores",
    "duplicate_of",
)
DOI_RE = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)

_TAG_RE = re.compile(r"<[^>]{0,500}>")
_LATEX_CMD_RE = re.compile(r"\\[a-zA-Z]+\*?(?:\{([^{}]*)\})?")
# Letters and digits of every script (NFKC-folded, casefolded, with their combining marks)
# make up a title key.
_ASCII_WORD_RE = re.compile(r"[a-z0-9]+")
# A title key shorter than this (in characters, spaces not counted) names nothing specific
# enough to be an id ("Untitled", "论文", an emoji): the id then hashes the title and text.
MIN_KEY_CHARS = 4


@dataclass
class Paper:
    """One paper as read from a source, before and after classification."""

    title: str
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    url: str | None = None
    published: str | None = None  # ISO 8601 date or datetime, or None
    updated: str | None = None
    source: str = ""  # the URL, path or "-" it was read from
    arxiv_id: str | None = None  # without version
    version: int | None = None
    doi: str | None = None
    announce_type: str | None = None  # arXiv feeds: new, cross, replace, replace-cross
    categories: list[str] = field(default_factory=list)
    # An `id` given by the input itself (a JSON string or number), echoed as is by classify.
    input_id: str | int | None = None
    labels: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    duplicate_of: str | None = None

    @property
    def id(self) -> str:
        return stable_id(self)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["id"] = self.id
        return data


def parse_arxiv_id(text: str | None) -> tuple[str, int | None] | None:
    """Find an arXiv id in a URL, an `arXiv:` reference, an OAI id or a bare id.

    Returns (id without version, version or None), or None when there is none.
    """
    if not text:
        return None
    text = text.strip()
    match = _BARE_ID_RE.match(text) or ARXIV_ID_RE.search(text)
    if not match:
        return None
    arxiv_id = match.group("new") or match.group("old")
    version = match.group("version")
    return arxiv_id, int(version) if version else None


def normalize_doi(text: str | None) -> str | None:
    """Lower-cased DOI without a resolver prefix, or None."""
    if not text:
        return None
    match = DOI_RE.search(text)
    if not match:
        return None
    return match.group(1).rstrip(".,;)").lower()


# LaTeX commands whose name carries no meaning of its own (only their argument does).
_LATEX_LAYOUT = {
    "textbf",
    "textit",
    "emph",
    "mathrm",
    "mathbf",
    "mathcal",
    "mathbb",
    "text",
    "texttt",
    "textsc",
    "mathit",
    "operatorname",
    "left",
    "right",
    "cite",
    "ref",
}
# Greek letters by name, so that "$\\alpha$" and "α" match ("GREEK SMALL LETTER ETA WITH
# TONOS" is "eta").
_GREEK = {
    ch: " " + unicodedata.name(ch).split("LETTER ")[1].split()[0].lower() + " "
    for ch in map(chr, range(0x391, 0x3CA))
    if unicodedata.name(ch, "").startswith("GREEK") and "LETTER " in unicodedata.name(ch)
}


# A Greek letter standing alone ("α-LoRA", "β = 0.5") is a symbol and reads as its name; a
# Greek word stays Greek.
_GREEK_LETTERS = "\u0370-\u03ff\u1f00-\u1fff"
_GREEK_SYMBOL_RE = re.compile(rf"(?<![{_GREEK_LETTERS}])[\u0391-\u03c9](?![{_GREEK_LETTERS}])")


def _latex_replacement(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        return f" {match.group(1)} "
    name = match.group(0).lstrip("\\").rstrip("*")
    return " " if name in _LATEX_LAYOUT else f" {name} "


def clean_text(text: str | None) -> str:
    """Text for matching: HTML entities and tags, LaTeX commands and braces removed,
    Unicode folded to ASCII where possible, whitespace collapsed."""
    if not text:
        return ""
    text = html.unescape(text)
    text = _TAG_RE.sub(" ", text)
    text = _LATEX_CMD_RE.sub(_latex_replacement, text)
    text = text.replace("$", " ").replace("{", "").replace("}", "")
    if not text.isascii():
        text = _GREEK_SYMBOL_RE.sub(lambda m: _GREEK[m.group(0)], text)
    text = _fold_accents(text)
    return collapse_whitespace(text)


def _fold_accents(text: str) -> str:
    """Compatibility-decomposed text without the accents of ASCII letters ("é" -> "e"),
    recomposed: the marks of other scripts (Devanagari vowel signs, kana voicing, Cyrillic
    "й") are part of their letters and stay. ASCII text is its own decomposition."""
    if text.isascii():
        return text
    out: list[str] = []
    base_ascii = False
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            if not base_ascii:
                out.append(ch)
            continue
        base_ascii = ch.isascii()
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def title_key(title: str | None) -> str:
    """Letters and digits of the cleaned title in every script (NFKC, casefolded), single-
    spaced: equal for titles that differ only by case, punctuation, markup or LaTeX, and
    different for different titles in Chinese, Russian, Greek or Japanese alike. A `+` is
    kept as a word, since "MMRL++" and "MMRL" name different works."""
    text = unicodedata.normalize("NFKC", clean_text(title)).casefold().replace("+", " plus ")
    if text.isascii():
        return " ".join(_ASCII_WORD_RE.findall(text))
    chars = [ch if unicodedata.category(ch)[0] in "LNM" else " " for ch in text]
    return collapse_whitespace("".join(chars))


def _key_is_specific(key: str) -> bool:
    return len(key) - key.count(" ") >= MIN_KEY_CHARS


def stable_id(paper: Paper) -> str:
    """`arxiv:<id>` when an arXiv id is known, else `doi:<doi>`, else `title:<hash>` of the
    title key; a key too short to name a work (empty, "Untitled") hashes the title and the
    text instead, so that such papers are never folded together by their title."""
    if paper.arxiv_id:
        return f"arxiv:{paper.arxiv_id}"
    if paper.doi:
        return f"doi:{paper.doi}"
    key = title_key(paper.title)
    if not _key_is_specific(key):
        text = unicodedata.normalize("NFKC", f"{paper.title or ''}\n{paper.abstract or ''}")
        key = "\x00text\x00" + collapse_whitespace(text).casefold()
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
    return f"title:{digest}"


def text_variant_id(paper: Paper) -> str:
    """The id of a paper whose `title:` id is already taken by a different work with the
    same title: the title id plus a hash of the normalised abstract (any script)."""
    text = title_key(paper.abstract[:2000]) or collapse_whitespace(paper.abstract)
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{stable_id(paper)}-{digest}"
