"""Parsers of command-line values: each bad value is a ConvcostError naming its flag (exit 2).

Free of typer and click, so the fast path of :mod:`convcost.cli.entry` can use them; the option
types that call them are in :mod:`convcost.cli.options`. Nothing here computes or reads files:
the commands call compute (:mod:`convcost.net`, :mod:`convcost.cost`) with what these return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from convcost.cost.value import Shape
from convcost.errors import ConvcostError
from convcost.limits import MAX_INT, finite_below, quote
from convcost.spec.inputs import parse_inputs
from convcost.spec.wiring import INPUT

if TYPE_CHECKING:
    from convcost.conventions.convention import Counting
    from convcost.net.compare import LayerConfig


def counting_option(name: str, flops: bool = False) -> Counting:
    """The ``Counting`` of ``--convention NAME [--flops]``; an unknown name exits 2."""
    from convcost.conventions.rules import counting

    try:
        return counting(name, flops)
    except ConvcostError as err:
        raise ConvcostError(f"--convention: {err}") from None


def parse_pair(flag: str, text: str, minimum: int = 1) -> tuple[int, int]:
    """``3`` -> (3, 3); ``3x5`` or ``3,5`` -> (3, 5); each at most MAX_INT."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        values = [int(p) for p in parts if len(p) <= 20 and p.isascii()]
    except ValueError:
        values = []
    if len(values) != len(parts):
        raise ConvcostError(f"{flag}: must be an integer or HxW, got {quote(text)}") from None
    if len(values) not in (1, 2) or min(values) < minimum or max(values) > MAX_INT:
        what = "positive" if minimum == 1 else f"≥ {minimum}"
        raise ConvcostError(f"{flag}: must be {what} and at most {MAX_INT:,} (an integer or HxW), "
                            f"got {quote(text)}")
    return (values[0], values[-1])


def layer_config(cin: int, cout: int, k: str, hw: int | None, h: int | None, w: int | None,
                  stride: str, padding: str, dilation: str, bias: bool, bn: bool, batch: int,
                  alpha: float, rho: float) -> LayerConfig:
    """The layer config of the `layer` / `bench` options, validated."""
    from convcost.net.compare import scaled_config

    for flag, value in (("--cin", cin), ("--cout", cout), ("--batch", batch)):
        if value < 1:
            raise ConvcostError(f"{flag}: must be a positive integer, got {value}")
    if hw is not None and (h is not None or w is not None):
        raise ConvcostError("--hw: give --hw or --h and --w, not both")
    height, width = (hw, hw) if hw is not None else (h, w)
    if height is None or width is None:
        raise ConvcostError("--hw: missing input size (give --hw, or --h and --w)")
    if min(height, width) < 1:
        raise ConvcostError(f"--hw: must be a positive integer, got {min(height, width)}")
    pad: Any = padding if padding in ("auto", "same") else parse_pair("--padding", padding, 0)
    return scaled_config(
        cin, cout, parse_pair("--k", k), height, width, alpha=alpha, rho=rho,
        stride=parse_pair("--stride", stride), padding=pad, dilation=parse_pair("--dilation", dilation),
        bias=bias, bn=bn, batch=batch,
    )


def parse_numbers(flag: str, text: str, kind: type[int] | type[float]) -> list[Any]:
    """``1,0.75,0.5`` -> [1.0, 0.75, 0.5]: finite, positive, bounded, comma-separated."""
    parts = [part for part in text.split(",") if part.strip()]
    try:
        values = [kind(part) for part in parts if len(part) <= 40]
    except ValueError:
        values = []
    if len(values) != len(parts) or len(values) > 1000:
        raise ConvcostError(f"{flag}: must be comma-separated numbers (at most 1000), "
                            f"got {quote(text)}") from None
    if not values or not all(finite_below(v, MAX_INT) and v > 0 for v in values):
        raise ConvcostError(f"{flag}: must be comma-separated numbers > 0 and at most "
                            f"{MAX_INT:,}, got {quote(text)}")
    return values


def traced_input(texts: Sequence[str] | str | None) -> Shape | None:
    """The shape a model source is traced on: its one ``--input`` (None: the model's own)."""
    inputs = parse_inputs(texts, unique=False)
    return inputs[0][1] if len(inputs) == 1 else None


def recorded_inputs(texts: Sequence[str] | str | None) -> tuple[tuple[str, Shape], ...]:
    """Named ``--input NAME=SHAPE``: a model source's forward inputs (several: it is recorded
    as it runs on them), an ONNX graph's inputs by name; () for one bare shape or none."""
    inputs = parse_inputs(texts, unique=False)  # a name given twice: the importer says so
    return inputs if len(inputs) > 1 or (inputs and inputs[0][0] != INPUT) else ()


def with_input(spec: Any, shape: Sequence[str] | str | None, height: int | None,
               width: int | None, resolution: int | None, batch: int | None) -> Any:
    """``spec`` with ``--input`` (one shape, or ``NAME=SHAPE`` each) or ``--height``/``--width``
    applied to its input(s)."""

    if not shape and height is None and width is None:
        return spec
    if resolution is not None:
        raise ConvcostError("--resolution: give --resolution, or --input / --height / --width")
    if shape:
        if height is not None or width is not None or batch is not None:
            raise ConvcostError("--input: give --input, or --height / --width / --batch")
        return spec.with_inputs(parse_inputs(shape))
    for flag, value in (("--height", height), ("--width", width)):
        if value is not None and value < 1:
            raise ConvcostError(f"{flag}: must be a positive integer, got {value}")
    if spec.input.layout != "NCHW":
        raise ConvcostError(f"--height/--width: the input is {spec.input.layout}; give --input")
    resized = [(name, (*inp.shape[:2], height or inp.shape[2], width or inp.shape[3]))
               for name, inp in spec.inputs if inp.layout == "NCHW"]  # every image input
    return spec.with_inputs(resized)


def bare_output(args: list[str]) -> list[str]:
    """``schema``'s arguments with a bare ``--output`` (last, or before another option) read as
    the WHICH argument ``output``: ``convcost schema --output`` prints the output schema, while
    ``--output FILE`` writes to FILE as on every command."""
    out = list(args)
    bare = [i for i, word in enumerate(out) if word == "--output"
            and (i + 1 == len(out) or out[i + 1].startswith("-"))]
    if "--" in out[:max(bare, default=0)]:
        return out  # after `--` every word is an argument
    for i in bare:
        out[i] = "output"
    words = [w for i, w in enumerate(out) if not w.startswith("-")
             and (i == 0 or out[i - 1] not in ("-o", "--output"))]
    if bare and len(words) > 1:
        raise ConvcostError("--output: alone (no FILE) it picks the output schema: give "
                            "`schema output` or `schema --output`, not both; to write a file, "
                            "--output FILE")
    return out
