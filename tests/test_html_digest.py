"""`digest --format html`: one self-contained file, rendered by a real headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from conftest import FIXTURES
from helpers import run

HOSTILE = (
    "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
    '</p><h2>injected heading</h2> Adapters & "quotes"'
)
ALLOWED_TAGS = {"html", "head", "meta", "title", "body", "h1", "h2", "p", "div", "span", "a"}


class Page(HTMLParser):
    """Tags, attributes and the visible text (body text outside script/style) of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.title = ""
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta",):
            self._stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data):
        if "title" in self._stack:
            self.title += data
        elif "body" in self._stack and not {"script", "style"} & set(self._stack):
            self.text.append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(
        "no headless Chromium on this machine (Debian: apt-get install chromium; "
        ".ci/run installs it when it can)"
    )


def digest_file(tmp_path):
    db = tmp_path / "t.db"
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text(
        json.dumps(
            {
                "title": HOSTILE,
                "abstract": "We insert bottleneck adapter modules into a frozen transformer "
                "and train only the adapters for each downstream task.",
                "authors": ["<b>Mallory</b>"],
                "url": "javascript:alert(1)",
            }
        )
        + "\n"
    )
    sources = [FIXTURES / "cli" / "arxiv_cs_lg_day1.xml", FIXTURES / "seed_page.txt", hostile]
    assert run(["ingest", "-q", *sources], db=db).exit_code == 0
    out = tmp_path / "digest.html"
    result = run(["digest", "--format", "html"], db=db)
    assert result.exit_code == 0
    out.write_text(result.stdout, encoding="utf-8")
    return out, result.stdout


def test_the_html_is_self_contained_and_escapes_every_field(tmp_path):
    _, text = digest_file(tmp_path)
    page = Page()
    page.feed(text)
    tags = {tag for tag, _ in page.tags}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    for _, attrs in page.tags:
        assert not {"src", "srcset", "background"} & set(attrs)
        assert not [name for name in attrs if name.startswith("on")]
        assert "url(" not in (attrs.get("style") or "") and "@import" not in (
            attrs.get("style") or ""
        )
    hrefs = [attrs["href"] for tag, attrs in page.tags if tag == "a"]
    assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs)
    assert "javascript:" not in " ".join(hrefs)
    assert HOSTILE.replace(" ", "") in page.visible.replace(" ", "")
    assert "<b>Mallory</b>" in page.visible
    assert "New papers" in page.visible and "also as:" in page.visible
    assert "new" in page.visible.split() and "score 1.00" in page.visible


def test_chromium_renders_the_digest_with_a_hostile_title_as_text(tmp_path):
    browser = chromium()
    path, _ = digest_file(tmp_path)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    flags += [f"--user-data-dir={tmp_path / 'profile'}", "--no-first-run"]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = Page()
    page.feed(dom.stdout)
    # The hostile markup stayed text: no element it tried to add, no script ran.
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS | {"tbody"}
    assert "pwned" not in page.title and page.title.startswith("adapt-triage: 73 papers")
    assert HOSTILE.replace(" ", "") in page.visible.replace(" ", "")
    visible = page.visible
    for expected in (
        "New papers",
        "lora (",
        "test-time-adaptation (",
        "Singular-Vector Initialisation for Low-Rank Adaptation",
        "Ada Lovelace, Alan Turing",
        "also as: Language Modelling Approaches to Adaptive Machine Translation",
        "score 1.00",
        "new",
    ):
        assert expected in visible, expected
    assert "injected heading" in visible  # as text inside the title, not as a heading
    assert all("injected" not in t for t in _heading_texts(dom.stdout))

    shot = tmp_path / "digest.png"
    result = subprocess.run(
        [browser, *flags, "--window-size=900,1400", f"--screenshot={shot}", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (900, 1400)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    white = sum(n for n, rgb in colours if rgb == (255, 255, 255))
    assert len(colours) > 20 and white < 900 * 1400 * 0.97  # text was drawn, not a blank page


def _heading_texts(html_text: str) -> list[str]:
    class Headings(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside = 0
            self.found: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag in ("h1", "h2"):
                self.inside += 1
                self.found.append("")

        def handle_endtag(self, tag):
            if tag in ("h1", "h2"):
                self.inside -= 1

        def handle_data(self, data):
            if self.inside:
                self.found[-1] += data

    parser = Headings()
    parser.feed(html_text)
    return parser.found
