"""User strings (names, paths, messages) are data: never markup, never terminal or CI commands.

* :func:`clean` shows control characters as escapes (``\\n``, ``\\x1b``), so a name cannot
  start a new line (a GitHub ``::error`` workflow command at column 0) or move the cursor.
* :func:`markdown` escapes what Markdown would interpret, for tables and the step summary.
* :class:`Markup` marks the few notes whose rich markup convcost itself wrote.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Markdown: inline syntax anywhere; _ only where it could open or close emphasis.
_MARKDOWN = re.compile(r"[\\`*\[\]<>|~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


class Markup(str):
    """A note written by convcost in rich markup (``[bold]…[/]``); any other str is plain."""

    __slots__ = ()


def clean(text: str) -> str:
    """``text`` with every control character shown as an escape (one line, no terminal codes)."""
    return _CONTROL.sub(lambda m: _ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def markdown(text: str) -> str:
    """``text`` as literal Markdown: clean, with inline syntax backslash-escaped."""
    return _MARKDOWN.sub(lambda m: "\\" + m.group(), clean(text))
