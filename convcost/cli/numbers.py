"""Every number on the command line is bounded: one mechanism for every command's options.

:func:`bound_numbers` swaps the type of each ``int`` / ``float`` option and argument for a
bounded one before click parses anything, so a new option is covered without a line of code:
integers up to :data:`~convcost.limits.MAX_INT`, real numbers finite and up to
:data:`~convcost.limits.MAX_FLOAT`. Meaning-specific checks (≥ 1, > 0) stay with the options.
"""

from __future__ import annotations

import math
from typing import Any

import click

from convcost.limits import MAX_FLOAT, MAX_INT, quote

_MAX_TEXT = 100  # characters of a number's text


class Bounded(click.ParamType):  # type: ignore[type-arg]
    """click's int or float type, refusing long texts, non-finite values and values past ``limit``."""

    def __init__(self, base: Any, limit: float, what: str) -> None:
        self.base, self.limit, self.what = base, limit, what
        self.name = base.name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and len(value) > _MAX_TEXT:
            self.fail(f"{quote(value)} has more than {_MAX_TEXT} characters", param, ctx)
        if isinstance(value, str) and not value.isascii():  # int("２２４") is 224 to Python
            self.fail(f"{quote(value)} is not a number in ASCII digits", param, ctx)
        number = self.base.convert(value, param, ctx)
        if not math.isfinite(number) or abs(number) > self.limit:
            self.fail(f"must be {self.what}, got {quote(value)}", param, ctx)
        return number


_BOUNDED: dict[type, Any] = {
    click.types.IntParamType: Bounded(click.INT, MAX_INT, f"at most {MAX_INT:,}"),
    click.types.FloatParamType: Bounded(click.FLOAT, MAX_FLOAT,
                                        f"a finite number of at most {MAX_FLOAT:g}"),
}


def bound_numbers(command: click.Command) -> None:
    """Give every int/float parameter of ``command`` (and its subcommands) a bounded type."""
    for param in command.params:
        bounded = _BOUNDED.get(type(param.type))
        if bounded is not None:
            param.type = bounded
    for sub in getattr(command, "commands", {}).values():
        bound_numbers(sub)
