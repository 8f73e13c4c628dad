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


class BoundedInt(click.types.IntParamType):
    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and len(value) > _MAX_TEXT:
            self.fail(f"{quote(value)} has more than {_MAX_TEXT} characters", param, ctx)
        number = super().convert(value, param, ctx)
        if abs(number) > MAX_INT:
            self.fail(f"must be at most {MAX_INT:,}, got {quote(value)}", param, ctx)
        return number


class BoundedFloat(click.types.FloatParamType):
    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and len(value) > _MAX_TEXT:
            self.fail(f"{quote(value)} has more than {_MAX_TEXT} characters", param, ctx)
        number = super().convert(value, param, ctx)
        if not math.isfinite(number) or abs(number) > MAX_FLOAT:
            self.fail(f"must be a finite number of at most {MAX_FLOAT:g}, got {quote(value)}",
                      param, ctx)
        return number


_BOUNDED: dict[type, Any] = {click.types.IntParamType: BoundedInt(),
                                         click.types.FloatParamType: BoundedFloat()}


def bound_numbers(command: click.Command) -> None:
    """Give every int/float parameter of ``command`` (and its subcommands) a bounded type."""
    for param in command.params:
        bounded = _BOUNDED.get(type(param.type))
        if bounded is not None:
            param.type = bounded
    for sub in getattr(command, "commands", {}).values():
        bound_numbers(sub)
