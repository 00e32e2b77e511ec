"""Shared test helpers: run the real CLI in-process, serve feed bytes over a mock transport."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
from typer.testing import CliRunner

from adapt_triage import cli, fetch
from adapt_triage.fetch import Fetcher

Handler = Callable[[httpx.Request], httpx.Response]


def run(args: list[str], *, input: str | bytes | None = None, db: Path | None = None):
    """Invoke the CLI like a user would (stdout is not a terminal here)."""
    argv = (["--db", str(db)] if db is not None else []) + [str(a) for a in args]
    return CliRunner().invoke(cli.app, argv, input=input, catch_exceptions=False)


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def serve(monkeypatch, routes: Mapping[str, object] | Handler) -> list[httpx.Request]:
    """Make the CLI fetch through httpx.MockTransport. `routes` maps URL -> bytes, a Path,
    an int status or an httpx.Response; or is a handler function. Returns the request log."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if callable(routes):
            return routes(request)
        body = routes.get(str(request.url))
        if body is None:
            return httpx.Response(404)
        if isinstance(body, httpx.Response):
            return body
        if isinstance(body, int):
            return httpx.Response(body)
        if isinstance(body, Path):
            body = body.read_bytes()
        return httpx.Response(200, content=body)

    def make() -> Fetcher:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        return Fetcher(client=client, sleep=lambda _s: None, retries=1)

    monkeypatch.setattr(fetch, "make_fetcher", make)
    return seen
