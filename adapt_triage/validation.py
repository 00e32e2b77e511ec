"""Checking the values users give to filter options, so that a typo is a usage error that
lists the valid values instead of an empty or unfiltered result.

Options that take several values accept comma lists and repeats alike:
`-c lora,tta -c prompt-tuning`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")


class InvalidValueError(ValueError):
    """A value an option does not accept; the message names the option and the valid ones."""


def split_values(values: Iterable[str] | None) -> list[str]:
    """Repeated options and comma lists as one list, blanks dropped, first occurrence kept."""
    out: list[str] = []
    for value in values or ():
        for part in str(value).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def check_values(
    values: Iterable[str] | None, valid: Sequence[str], option: str, noun: str = "value"
) -> list[str]:
    """The values split and checked against `valid`; InvalidValueError names the unknown
    ones (with the right spelling when only the case differs) and lists the valid ones."""
    wanted = split_values(values)
    unknown = [v for v in wanted if v not in valid]
    if unknown:
        folded = {v.lower(): v for v in valid}
        shown = ", ".join(
            repr(v) + (f" (did you mean {folded[v.lower()]!r}?)" if v.lower() in folded else "")
            for v in unknown
        )
        nouns = (
            noun
            if len(unknown) == 1
            else noun.removesuffix("y") + ("ies" if noun.endswith("y") else "s")
        )
        raise InvalidValueError(f"{option}: unknown {nouns} {shown}; valid: {', '.join(valid)}")
    return wanted


def check_categories(
    values: Iterable[str] | None, known: Sequence[str], option: str = "--category"
) -> list[str]:
    """Category slugs checked against the taxonomy and the user's own categories."""
    try:
        return check_values(values, known, option, "category")
    except InvalidValueError as exc:
        raise InvalidValueError(f"{exc} (add your own with `categories add SLUG`)") from None


def check_announce(values: Iterable[str] | None) -> list[str]:
    return check_values(values, ANNOUNCE_TYPES, "--announce", "announce type")
