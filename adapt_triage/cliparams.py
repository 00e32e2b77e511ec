"""Command-line values coerced without pydantic, where the answer is plain.

typer (0.29) coerces every parameter of the command being run through a pydantic
`TypeAdapter`, so the first command-line value a process converts imports pydantic and
builds adapters: 50-100 ms of every command's start (300 ms on a loaded machine), more
than `list` or `digest` spend on their SQL at a million papers. Most values need no such
machinery: a string given as a string, digits for a count within its bounds, a choice
spelled as one of its values, a list of strings, a path. `install` gives each typer
parameter of a command tree a runtime coercion that answers those cases itself, with
exactly the value typer would produce, and hands anything else (a bad number, an unknown
choice, a value outside its range) to typer's own coercion, so every error message stays
typer's. If typer's internals are not the expected ones, nothing is installed and typer
coerces as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

try:
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
except ImportError:  # another typer: keep its own coercion
    RuntimeParam = None  # type: ignore[assignment,misc]

__all__ = ["install"]

_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_UNSURE = object()  # the plain rules do not answer: typer's coercion does


def _in_range(number: float, info: Any) -> bool:
    low, high = info.min, info.max
    return (low is None or number >= low) and (high is None or number <= high)


def _number(value: Any, annotation: Any, info: Any) -> Any:
    if info.clamp or not isinstance(value, str):
        return _UNSURE
    if annotation is int and _DIGITS.fullmatch(value):
        number: float = int(value)
    elif annotation is float and _DECIMAL.fullmatch(value):
        number = float(value)
    else:
        return _UNSURE
    return number if _in_range(number, info) else _UNSURE


def plain_value(value: Any, annotation: Any, info: Any, param: Any = None, ctx: Any = None) -> Any:
    """The value typer's coercion gives for `value`, when it is plain; else `_UNSURE`."""
    if info.parser is not None:
        return _UNSURE
    if annotation is str:
        return value if isinstance(value, str) else _UNSURE
    if annotation in (int, float):
        return _number(value, annotation, info)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        if isinstance(value, annotation):
            return value
        try:
            return coerce_cli_choice(
                value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx
            )
        except Exception:  # noqa: BLE001 - typer's coercion words the error
            return _UNSURE
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return list(value)
        return _UNSURE
    if annotation is Path and routes_to_path(annotation, info) and isinstance(value, str):
        # What typer's path adapter does, minus pydantic's str -> Path (the same Path).
        path_type = info.path_type or annotation
        return coerce_cli_path(Path(value), info, path_type=path_type, param=param, ctx=ctx)
    return _UNSURE


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class PlainRuntimeParam(RuntimeParam):
        """typer's RuntimeParam: plain values here, the rest through typer's own."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            plain = plain_value(value, self.annotation, self.parameter_info, param, ctx)
            if plain is not _UNSURE:
                return plain
            typer_own = build_runtime_param(param.type_descriptor)
            return typer_own._coerce_value(value, param=param, ctx=ctx)


def install(command: Any, ctx: Any) -> None:
    """Give every typer parameter of `command` and its subcommands, their `--help` among
    them, the plain coercion (once; parameters that open files keep typer's). `ctx` is the
    root context (its help option names are the ones the subcommands inherit). Nothing is
    installed when typer's objects are not shaped as expected."""
    if RuntimeParam is None or getattr(command, "_plain_coercion", False):
        return
    command._plain_coercion = True
    try:
        plain = list(_plain_params(command, ctx))
    except (AttributeError, TypeError, ValueError):  # another typer: keep its own coercion
        return
    for param, runtime in plain:
        param._runtime_param = runtime


def _plain_params(command: Any, ctx: Any) -> Iterator[tuple[Any, Any]]:
    stack = [command]
    while stack:
        current = stack.pop()
        stack.extend(getattr(current, "commands", {}).values())
        # A command's --help is made (and kept) on first use from its context's names; a
        # command that sets names of its own is left to make it itself.
        own_names = "help_option_names" in (getattr(current, "context_settings", None) or {})
        help_option = None
        if hasattr(current, "get_help_option") and (current is command or not own_names):
            help_option = current.get_help_option(ctx)
        for param in [*getattr(current, "params", ()), help_option]:
            descriptor = getattr(param, "type_descriptor", None)
            if descriptor is None or getattr(param, "_runtime_param", _UNSURE) is not None:
                continue
            if descriptor.file_annotation is not None:
                continue
            runtime = PlainRuntimeParam(
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
            )
            yield param, runtime
