"""The reference commands: schema, list."""

from pathlib import Path
from typing import Annotated

import click
import typer
from typer.core import TyperCommand

from convcost.cli import options as opts
from convcost.cli import parsing as parse
from convcost.cli.emit import emit
from convcost.cli.options import (
    Format,
    Output,
)


class SchemaCommand(TyperCommand):
    """``schema --output`` (no FILE) is ``schema output``: the issue's spelling, unambiguous."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, parse.bare_output(args))


def schema(
    which: Annotated[str, typer.Argument(
        click_type=opts.choice("spec", "output"),
        help="spec: the spec format (for editors); output: the JSON that --format json prints")
    ] = "spec",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", dir_okay=False, rich_help_panel=opts.OUTPUT,
        help="write to FILE instead of stdout; --output alone (no FILE) is `schema output`")] = None,
) -> None:
    """Print a JSON Schema: of the spec format, or (output, or --output) of every command's JSON."""
    import json

    if which == "output":
        from convcost.report.output_schema import output_schema

        data = output_schema()
    else:
        from convcost.spec.jsonschema import spec_schema

        data = spec_schema()
    emit([json.dumps(data, indent=2, ensure_ascii=False)], output)


def list_command(
    fmt: Format = "table", output: Output = None,
    sources: Annotated[bool, typer.Option(
        "--sources", help="list the readers of network arguments instead: what each takes "
                          "(spec file, built-in name, model source, ONNX) and the packages that read it")
    ] = False,
) -> None:
    """The built-in specs (usable by name wherever a spec goes), with params and MACs."""
    from convcost.report.render import render

    if sources:
        from convcost.frontend.registry import READERS
        from convcost.report.sources_view import sources_output

        emit(render(sources_output(READERS), fmt), output)
        return
    from convcost.net.builtins import entries
    from convcost.report.zoo_view import zoo_output

    emit(render(zoo_output(entries()), fmt), output)
