"""The config file: default options for `digest`, so a crontab line stays short.

`$ADAPT_TRIAGE_CONFIG`, else `config.toml` in the user config directory
(`adapt-triage path` prints it). Options given on the command line win over the file.

    [digest]
    hide = ["off-topic"]
    min-score = 0.3
    limit = 50
    announce = ["new", "cross"]
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_ENV = "ADAPT_TRIAGE_CONFIG"
DIGEST_KEYS = ("hide", "min-score", "limit", "announce")


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file and the problem."""


@dataclass
class DigestDefaults:
    hide: list[str] = field(default_factory=list)
    min_score: float | None = None
    limit: int | None = None
    announce: list[str] = field(default_factory=list)


@dataclass
class Config:
    path: Path
    exists: bool = False
    digest: DigestDefaults = field(default_factory=DigestDefaults)


def config_path() -> Path:
    """`$ADAPT_TRIAGE_CONFIG`, else `config.toml` in the user config directory."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_path

    return user_config_path("adapt-triage") / "config.toml"


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(exc)) from None


def _strings(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"digest.{key} must be a string or a list of strings")
    return list(value)


def load_config(path: Path | None = None) -> Config:
    """The config file's settings; a missing file is an empty config."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = _toml_loads(text)
        unknown = sorted(set(data) - {"digest"})
        if unknown:
            raise ConfigError(f"unknown section {', '.join(unknown)}; known: digest")
        section = data.get("digest", {})
        if not isinstance(section, dict):
            raise ConfigError("digest must be a table ([digest])")
        bad = sorted(set(section) - set(DIGEST_KEYS))
        if bad:
            known = ", ".join(DIGEST_KEYS)
            raise ConfigError(f"unknown digest key {', '.join(bad)}; known: {known}")
        digest = DigestDefaults(
            hide=_strings(section.get("hide", []), "hide"),
            announce=_strings(section.get("announce", []), "announce"),
        )
        if "min-score" in section:
            score = section["min-score"]
            number = isinstance(score, (int, float)) and not isinstance(score, bool)
            if not number or not 0 <= score <= 1:
                raise ConfigError("digest.min-score must be a number from 0 to 1")
            digest.min_score = float(score)
        if "limit" in section:
            limit = section["limit"]
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise ConfigError("digest.limit must be a whole number, 0 or more")
            digest.limit = limit
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return Config(path, True, digest)
