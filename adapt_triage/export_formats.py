"""Exports for reference managers: BibTeX (through bibtexparser) and RIS (through rispy).

Each stored paper becomes one entry with its title, authors, year, abstract, URL, DOI, the
arXiv eprint fields (`archivePrefix`, `eprint`, `primaryClass`; RIS: `DB`, `AN`, `N1`) and
its labels (the user's when set, else the model's) as keywords. Every value is untrusted
text made safe for its format: one line, no control characters, and for BibTeX balanced
braces and LaTeX's special characters `&`, `%`, `#` escaped, so a hostile title can never
end an entry or start another.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from adapt_triage.render import sanitize

if TYPE_CHECKING:
    from adapt_triage.stored import StoredPaper

_HTTP_RE = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
_YEAR_RE = re.compile(r"^(\d{4})")
_NEW_ARXIV_RE = re.compile(r"^(\d{2})(\d{2})\.\d{4,5}$")
_OLD_ARXIV_RE = re.compile(r"/(\d{2})\d{5}$")
_LATEX_SPECIAL_RE = re.compile(r"(?<!\\)([&%#])")
_KEY_WORD_RE = re.compile(r"[a-z0-9]+")
_STOPWORDS = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards"}


def paper_url(row: StoredPaper) -> str | None:
    """The paper's http(s) URL: its own, else the arXiv abstract page, else the DOI resolver.
    A URL with another scheme (javascript:, file:) is never used."""
    url = sanitize(row.url or "")
    if _HTTP_RE.match(url):
        return url
    if row.arxiv_id:
        return f"https://arxiv.org/abs/{row.arxiv_id}"
    if row.doi:
        return f"https://doi.org/{row.doi}"
    return None


def paper_year(row: StoredPaper) -> str | None:
    """The year published, else the year in a new- or old-style arXiv id, else None."""
    match = _YEAR_RE.match(str(row.published or ""))
    if match:
        return match.group(1)
    arxiv_id = str(row.arxiv_id or "")
    match = _NEW_ARXIV_RE.match(arxiv_id) or _OLD_ARXIV_RE.search(arxiv_id)
    if match:
        yy = int(match.group(1))
        return str(2000 + yy if yy < 91 else 1900 + yy)
    return None


def primary_class(row: StoredPaper) -> str | None:
    categories = row.categories or []
    return sanitize(categories[0]) or None if categories else None


def _bib_text(value: Any) -> str:
    """A BibTeX field value: one line, braces balanced (else dropped), specials escaped,
    no trailing backslash that could swallow the closing brace."""
    text = sanitize(value)
    depth = 0
    for ch in text:
        depth += 1 if ch == "{" else -1 if ch == "}" else 0
        if depth < 0:
            break
    if depth != 0 or "\\{" in text or "\\}" in text:
        text = text.replace("{", "").replace("}", "")
    text = _LATEX_SPECIAL_RE.sub(r"\\\1", text)
    return text.rstrip("\\").strip()


def _bib_name(name: str) -> str:
    """An author for the `and`-separated list: a name that itself contains " and " is
    protected with braces so it stays one author."""
    text = _bib_text(name)
    return "{" + text + "}" if re.search(r"\sand\s", text, re.IGNORECASE) else text


def _ascii_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return _KEY_WORD_RE.findall(folded)


def citation_key(row: StoredPaper) -> str:
    """`lastnameYEARfirstword`, e.g. `lovelace2025singular` (ASCII; parts that are missing
    are left out, `paper` when nothing is left)."""
    authors = row.authors or []
    last = _ascii_words(authors[0].split()[-1]) if authors and authors[0].split() else []
    words = [w for w in _ascii_words(row.title or "") if w not in _STOPWORDS]
    key = "".join(last[:1]) + (paper_year(row) or "") + "".join(words[:1])
    return key or "paper"


def _unique(key: str, used: set[str]) -> str:
    candidate, n = key, 0
    while candidate in used:
        n += 1
        suffix, m = "", n
        while m:
            m, r = divmod(m - 1, 26)
            suffix = chr(ord("a") + r) + suffix
        candidate = key + suffix
    used.add(candidate)
    return candidate


def bibtex_fields(row: StoredPaper) -> list[tuple[str, str]]:
    """The (field, value) pairs of one paper's @misc entry, in a stable order."""
    out: list[tuple[str, str]] = [("title", _bib_text(row.title))]
    authors = [_bib_name(a) for a in row.authors or [] if sanitize(a)]
    if authors:
        out.append(("author", " and ".join(authors)))
    year = paper_year(row)
    if year:
        out.append(("year", year))
    if row.arxiv_id:
        out.append(("archivePrefix", "arXiv"))
        out.append(("eprint", _bib_text(row.arxiv_id)))
        pclass = primary_class(row)
        if pclass:
            out.append(("primaryClass", _bib_text(pclass)))
    if row.doi:
        out.append(("doi", _bib_text(row.doi)))
    url = paper_url(row)
    if url:
        out.append(("url", _bib_text(url)))
    if row.abstract:
        out.append(("abstract", _bib_text(row.abstract)))
    labels = [sanitize(label) for label in row.labels or []]
    if labels:
        out.append(("keywords", _bib_text(", ".join(labels))))
    out.append(("note", _bib_text(f"adapt-triage id {row.id}")))
    return out


def to_bibtex(rows: Iterable[StoredPaper]) -> str:
    """A BibTeX file with one @misc entry per paper, written by bibtexparser."""
    import bibtexparser
    from bibtexparser.model import Entry, Field

    library = bibtexparser.Library()
    used: set[str] = set()
    for row in rows:
        key = _unique(citation_key(row), used)
        library.add(Entry("misc", key, [Field(k, v) for k, v in bibtex_fields(row)]))
    if not library.entries:
        return ""
    return bibtexparser.write_string(library)


def _ris_name(name: str) -> str:
    """`Last, First` from `First Last` (a single-word name stays as it is)."""
    parts = sanitize(name).split()
    if len(parts) < 2 or "," in name:
        return " ".join(parts)
    return f"{parts[-1]}, {' '.join(parts[:-1])}"


def ris_entry(row: StoredPaper) -> dict[str, Any]:
    """One paper as a rispy entry (tag names as rispy's keys)."""
    entry: dict[str, Any] = {
        "type_of_reference": "UNPB" if row.arxiv_id else "GEN",
        "title": sanitize(row.title),
    }
    authors = [_ris_name(a) for a in row.authors or [] if sanitize(a)]
    if authors:
        entry["authors"] = authors
    year = paper_year(row)
    if year:
        entry["year"] = year
    published = str(row.published or "")
    if re.match(r"^\d{4}-\d{2}-\d{2}", published):
        entry["date"] = published[:10].replace("-", "/")
    if row.abstract:
        entry["abstract"] = sanitize(row.abstract)
    labels = [sanitize(label) for label in row.labels or []]
    if labels:
        entry["keywords"] = labels
    url = paper_url(row)
    if url:
        entry["urls"] = [url]
    if row.doi:
        entry["doi"] = sanitize(row.doi)
    notes = []
    if row.arxiv_id:
        arxiv_id = sanitize(row.arxiv_id)
        entry["name_of_database"] = "arXiv"
        entry["accession_number"] = f"arXiv:{arxiv_id}"
        pclass = primary_class(row)
        notes.append(f"arXiv:{arxiv_id}" + (f" [{pclass}]" if pclass else ""))
    notes.append(f"adapt-triage id {sanitize(row.id)}")
    entry["notes"] = notes
    entry["id"] = sanitize(row.id)
    return entry


def to_ris(rows: Iterable[StoredPaper]) -> str:
    """An RIS file with one record per paper, written by rispy."""
    import rispy

    class _Writer(rispy.RisWriter):
        """rispy's writer without its `1.` counter line before each record, which reference
        managers do not expect."""

        def set_header(self, count: int) -> str:
            return ""

    entries = [ris_entry(row) for row in rows]
    return rispy.dumps(entries, implementation=_Writer) if entries else ""
