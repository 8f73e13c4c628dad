"""Every bound hostile input meets, in one place. Pure constants and two tiny checks."""

from __future__ import annotations

import math
import reprlib

#: Largest file convcost reads (spec, budgets file, baseline): 16 MiB.
MAX_FILE_BYTES = 16 * 2**20
#: A latency-model file (``calibrate -o``, a few KB): its bytes and YAML values (aliases
#: expanded), so a million-element list is refused before it is built.
MAX_LATENCY_FILE_BYTES = 2**20
MAX_LATENCY_NODES = 50_000
#: YAML nodes after alias expansion (an alias bomb expands exponentially).
MAX_YAML_NODES = 2_000_000
#: YAML nesting depth.
MAX_YAML_DEPTH = 64
#: Digits of an integer literal in a spec (Python refuses to parse > 4300 anyway).
MAX_INT_DIGITS = 19
#: Any integer in a spec or on the command line (channels, sizes, repeat, batch, ...).
MAX_INT = 10**9
#: Counts (params, MACs) in budgets and baselines.
MAX_COUNT = 10**18
#: Any real number (α, ρ, expand_ratio, --tolerance, --peak-gflops, ...): finite and below this.
MAX_FLOAT = 1e9
#: Leaves of the expanded network, checked before it is expanded (100k comfortably fit).
MAX_LEAVES = 300_000
#: Values of block bodies copied when blocks are expanded (every copy of every value), checked
#: before expanding, and characters of a string a block takes or builds (``name: ${a}${b}``).
MAX_EXPANDED_VALUES = 4_000_000
MAX_TEXT_CHARS = 1_000
#: A ``${...}`` expression in a block: its characters, its nesting, and the magnitude of every
#: value computed on the way (the result is then checked as any spec value is).
MAX_EXPR_CHARS = 200
MAX_EXPR_DEPTH = 32
MAX_EXPR_VALUE = 10**12
#: User-defined blocks in one spec, and the nesting of blocks and groups (``sequential``).
MAX_BLOCKS = 256
MAX_NESTING = 32
#: Items of a list of integers (a split's sizes) and names in one ``from:``.
MAX_LIST_ITEMS = 1024
#: Points of a ``sweep`` grid (α values × resolutions).
MAX_SWEEP_POINTS = 10_000
#: Designs of a ``fit`` grid (α values × resolutions × stage depths).
MAX_FIT_POINTS = 200_000
#: The largest value quoted in an error message, in characters.
QUOTE_CHARS = 60

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 2, 3, 3, 3
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = QUOTE_CHARS, QUOTE_CHARS, QUOTE_CHARS


def quote(value: object) -> str:
    """A short repr of any value: bounded in length and in the work done to make it."""
    if isinstance(value, int) and value.bit_length() > 4 * QUOTE_CHARS:
        return f"an integer of {value.bit_length()} bits"  # repr itself would be slow or refused
    text = _REPR.repr(value)
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 3] + "..."


def finite_below(value: float, limit: float = MAX_FLOAT) -> bool:
    """A finite number of magnitude ≤ ``limit``."""
    return math.isfinite(value) and abs(value) <= limit
