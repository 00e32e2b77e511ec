"""Which format a byte string is, judged from its content (never from a file name).

XML is recognised by its root element (after comments, processing instructions and a
DOCTYPE), JSON by its structure, and everything else that is text is a pasted page.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

from .common import wide_bom

_SNIFF_BYTES = 65536

_PROLOG_RE = re.compile(
    r"\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]*\[.*?\])?[^>]*>)*", re.DOTALL | re.IGNORECASE
)
_ROOT_RE = re.compile(r"<([A-Za-z_][\w:.\-]*)")
_OLD_ARXIV_TITLE_RE = re.compile(r"\(arXiv:\S+ \[[^\]]+\]")


@dataclass
class Sniffed:
    """The detected format plus what detection already decoded (so parsing does not repeat it)."""

    format: str | None
    reason: str = ""  # why format is None, as a message
    json_value: Any = None
    json_ok: bool = False


def _decode_head(data: bytes) -> tuple[str, bool]:
    """The first bytes as text good enough to look at markup, and whether the input is a
    UTF-16/32 encoding (where NUL bytes are normal)."""
    head = data[:_SNIFF_BYTES]
    marked = wide_bom(head)
    if marked:
        bom, codec = marked
        return head[len(bom) :].decode(codec, errors="ignore"), True
    for prefix, codec in (
        (b"\x00\x00\x00<", "utf-32-be"),
        (b"<\x00\x00\x00", "utf-32-le"),
        (b"\x00<", "utf-16-be"),
        (b"<\x00", "utf-16-le"),
    ):
        if head.startswith(prefix):
            return head.decode(codec, errors="ignore"), True
    head = head.removeprefix(codecs.BOM_UTF8)
    # latin-1 maps every byte: enough to find ASCII markup in any ASCII-compatible encoding.
    return head.decode("latin-1"), False


def looks_binary(data: bytes) -> bool:
    """NUL bytes, or mostly control characters / undecodable bytes."""
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    text = sample.decode("utf-8", errors="replace")
    if not text:
        return False
    bad = sum(
        1
        for ch in text
        if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r\f\v\x1b") or ch == "\x7f"
    )
    return bad / len(text) > 0.10


def _xml_format(text: str) -> Sniffed:
    prolog = _PROLOG_RE.match(text)  # always matches (every part is optional)
    body = text[prolog.end() if prolog else 0 :]
    match = _ROOT_RE.match(body)
    if not match:
        return Sniffed(None, "XML without a root element (empty feed document)")
    root = match.group(1).lower()
    local = root.rsplit(":", 1)[-1]
    lower = text.lower()
    if local == "html":
        return Sniffed(None, "an HTML page, not a feed")
    if local == "feed":
        if "opensearch" in lower and "arxiv.org" in lower:
            return Sniffed("arxiv-api")
        if "xmlns:arxiv" in lower or "rss.arxiv.org" in lower:
            return Sniffed("arxiv-rss")
        return Sniffed("atom")
    if local in ("rss", "channel"):
        if "arxiv:announce_type" in lower or "rss.arxiv.org" in lower:
            return Sniffed("arxiv-rss")
        return Sniffed("rss")
    if local == "rdf":
        if _OLD_ARXIV_TITLE_RE.search(text) or 'rdf:about="http://arxiv.org/' in lower:
            return Sniffed("arxiv-rdf")
        return Sniffed("rss")
    return Sniffed(None, f"XML with root element <{match.group(1)}>, not a feed")


def _json_format(value: Any) -> Sniffed:
    if isinstance(value, list):
        objects = [item for item in value if isinstance(item, dict)]
        if any(isinstance(item.get("paper"), dict) for item in objects):
            return Sniffed("huggingface", json_value=value, json_ok=True)
        if any("paperId" in item for item in objects) or (
            objects and value and any(item is None for item in value)
        ):
            return Sniffed("semantic-scholar", json_value=value, json_ok=True)
        return Sniffed("json", json_value=value, json_ok=True)
    if isinstance(value, dict):
        from .jsonfeed import is_json_feed

        if is_json_feed(value):
            return Sniffed("jsonfeed", json_value=value, json_ok=True)
        data = value.get("data")
        if isinstance(data, list) and (
            {"total", "offset", "next", "token"} & value.keys()
            or any(isinstance(item, dict) and "paperId" in item for item in data)
        ):
            return Sniffed("semantic-scholar", json_value=value, json_ok=True)
        if isinstance(value.get("paper"), dict):
            return Sniffed("huggingface", json_value=[value], json_ok=True)
        return Sniffed("jsonl", json_value=value, json_ok=True)
    return Sniffed(None, "JSON that is neither an object nor a list of objects")


LARGE_JSON = 1024 * 1024  # a JSON array larger than this is read item by item


def _first_items(data: bytes, count: int = 50) -> list[Any] | None:
    """The first items of a JSON array, decoded one at a time (None when they are not
    valid JSON: the full reader then reports where)."""
    text = data[: 4 * 1024 * 1024].decode("utf-8-sig", errors="ignore")
    decoder = json.JSONDecoder()
    index = text.index("[") + 1
    items: list[Any] = []
    while len(items) < count:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text) or text[index] == "]":
            break
        try:
            item, index = decoder.raw_decode(text, index)
        except (ValueError, RecursionError):
            return items or None
        items.append(item)
    return items


def _blank(data: bytes) -> bool:
    """Only whitespace (without copying a large input)."""
    head = data[:_SNIFF_BYTES]
    if head.strip():
        return False
    return len(data) <= len(head) or not bytes(data).strip()


def _large_jsonl(data: bytes) -> bool:
    """A large input whose first line is a whole JSON object with more lines after it is
    JSON Lines (never decoded whole just to learn that it is not one document)."""
    end = data.find(b"\n")
    if end < 0 or not data[end : end + _SNIFF_BYTES].strip():
        return False
    try:
        return isinstance(json.loads(data[:end].decode("utf-8-sig")), dict)
    except (ValueError, RecursionError):
        return False


def sniff(data: bytes) -> Sniffed:
    if _blank(data):
        return Sniffed(None, "empty input")
    head, wide = _decode_head(data)
    stripped = head.lstrip()
    if stripped.startswith("<"):
        return _xml_format(stripped)
    if not wide and looks_binary(data):
        return Sniffed(None, "binary data, not a feed, JSON or text")
    if stripped.startswith("[") and len(data) > LARGE_JSON:
        # Never build a large array whole just to name its format: judge its first items.
        head_items = _first_items(data)
        if head_items is not None:
            sniffed = _json_format(head_items)
            if sniffed.format == "json":
                return Sniffed("json-stream")
            return Sniffed(sniffed.format)
    if stripped.startswith("{") and len(data) > LARGE_JSON and _large_jsonl(data):
        return Sniffed("jsonl")
    if stripped.startswith(("{", "[")):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            try:
                return _json_format(json.loads(text))
            except (ValueError, RecursionError):
                pass
        if stripped.startswith("{"):
            return Sniffed("jsonl")
        second = stripped[1:].lstrip()[:1]
        if second in ("{", '"', "]", "["):
            return Sniffed("json")  # broken JSON: the JSON reader reports where
    return Sniffed("pasted")


def detect_format(data: bytes) -> str | None:
    """The format name of `data`, or None when it is not something we can read."""
    return sniff(data).format
