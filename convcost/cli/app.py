"""The command line: thin typer commands. Errors become one stderr line and an exit code here."""

import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from convcost.cli import analysis_commands, info_commands, report_command, torch_commands
from convcost.cli import options as opts
from convcost.cli.calibrate_command import calibrate_command
from convcost.cli.check_command import check
from convcost.cli.diff_command import diff as diff_command
from convcost.cli.fit_command import fit_command


class _Group(TyperGroup):
    """Turns every error into one line on stderr and a named exit code (convcost.exit_codes)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        from convcost.cli.numbers import bound_numbers
        from convcost.cli.targets import guard_outputs
        from convcost.cli.terminal import ascii_fallback, run_main

        bound_numbers(self)
        guard_outputs(self)  # -o FILE checked before the work: writable, none of the inputs
        ascii_fallback(sys.stdout)
        ascii_fallback(sys.stderr)
        sys.exit(run_main(lambda: super(_Group, self).main(
            args, prog_name or "convcost", complete_var, standalone_mode=False, **extra)))


app = typer.Typer(
    cls=_Group,
    help="Exact FLOPs, MACs and parameters of conv nets, from a YAML spec, verified against torch.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
app.command("report")(opts.strict_option(report_command.report))


def _version(value: bool) -> None:
    if value:
        from convcost import __version__

        typer.echo(f"convcost {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """convcost: FLOPs, MACs and parameters of conv nets."""


app.command()(analysis_commands.layer)
app.command()(analysis_commands.model)
app.command("verify")(analysis_commands.verify_command)
app.command("conventions")(analysis_commands.conventions_command)
app.command(cls=info_commands.SchemaCommand)(info_commands.schema)
app.command("list")(info_commands.list_command)
app.command()(opts.strict_option(check))
app.command("diff")(opts.strict_option(diff_command))
app.command()(analysis_commands.sweep)
app.command()(torch_commands.bench)
app.command()(torch_commands.profile)
app.command("import")(torch_commands.import_command)
app.command("fit")(opts.strict_option(fit_command))
app.command("calibrate")(opts.strict_option(calibrate_command))


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
