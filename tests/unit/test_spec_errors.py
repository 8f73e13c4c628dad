"""Bad specs: one line on stderr naming file, line and field path; exit 2; never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.errors import SpecError
from convcost.net.analysis import analyze
from convcost.spec.loader import load_spec

GOOD = """\
name: tiny
input: {channels: 3, resolution: 32}
layers:
  - {kind: conv, out_channels: 8, stride: 2, bn: true, act: relu}
  - {kind: dsconv, out_channels: 16}
  - {kind: pool, op: avg, global: true}
  - {kind: flatten}
  - {kind: linear, out_features: 10}
"""

# (case, yaml text, expected line, expected "path: message" fragment)
CASES = [
    ("yaml syntax", "name: x\ninput: {resolution: 32\nlayers: []\n", 3, "YAML syntax error"),
    ("unknown kind", GOOD.replace("kind: dsconv", "kind: dsconvv"), 5,
     "layers[1].kind: unknown kind 'dsconvv' (did you mean 'dsconv'?); valid kinds: conv"),
    ("unknown key", GOOD.replace("stride: 2", "strdie: 2"), 4,
     "layers[0].strdie: unknown key (did you mean 'stride'?)"),
    ("missing field", GOOD.replace("out_features: 10", "bias: true"), 8,
     "layers[4].out_features: missing required field"),
    ("zero stride", GOOD.replace("stride: 2", "stride: 0"), 4,
     "layers[0].stride: must be a positive integer, got 0"),
    ("bool for int", GOOD.replace("out_channels: 8", "out_channels: true"), 4,
     "layers[0].out_channels: must be an integer, got true"),
    ("bad activation", GOOD.replace("act: relu", "act: rleu"), 4,
     "layers[0].act: must be one of relu, relu6, hardswish, hardsigmoid, sigmoid, silu, gelu, "
     "leaky_relu, prelu, elu, tanh, mish, hardtanh, got 'rleu'"),
    ("channel mismatch", GOOD.replace("{kind: dsconv,", "{kind: dsconv, in_channels: 9,"), 5,
     "layers[1].in_channels: must match the previous layer's 8 output channels, got 9"),
    ("shrinks below 1", GOOD.replace("resolution: 32", "resolution: 1").replace(
        "{kind: pool, op: avg, global: true}", "{kind: pool, op: max, kernel_size: 3}"), 6,
     "layers[2]: layers.2: pool kernel 3 is larger than the padded input 1"),
    ("groups", GOOD.replace("out_channels: 8, stride: 2", "out_channels: 8, groups: 3"), 4,
     "layers[0]: layers.0.conv: groups 3 must divide in_channels 3 and out_channels 8"),
    ("alpha", GOOD.replace("name: tiny", "name: tiny\nwidth_multiplier: 0"), 2,
     "width_multiplier: must be > 0, got 0"),
    ("empty spec", "", None, "the spec is empty"),
    ("comment only", "# nothing here\n", None, "the spec is empty"),
    ("not a mapping", "- 1\n- 2\n", 1, "must be a mapping, got list"),
    ("no layers", "input: {resolution: 8}\nlayers: []\n", 2, "layers: must list at least one layer"),
    ("duplicate name", GOOD.replace("{kind: flatten}", "{kind: flatten, name: layers.0}"), 7,
     "layers[3].name: name 'layers.0' clashes with the layer at layers[0]"),
    ("linear on 4-D", GOOD.replace("  - {kind: flatten}\n", ""), 7,
     "linear needs a flat [N, F] input"),
    ("se unknown key", GOOD.replace(
        "{kind: dsconv, out_channels: 16}",
        "{kind: inverted_residual, out_channels: 16, expand_ratio: 4,\n     se: {reduce: 4}}"), 6,
     "layers[1].se.reduce: unknown key (did you mean 'reduction'?)"),
]


@pytest.mark.parametrize(("case", "text", "line", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_spec_is_one_located_line(
    case: str, text: str, line: int | None, fragment: str, runner: CliRunner,
    write_spec: Callable[[str], Path],
) -> None:
    path = write_spec(text)
    result = runner.invoke(app, ["model", str(path), "--no-verify"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    where = f"{path}:{line}: " if line else f"{path}: "
    assert lines[0].startswith(f"convcost: error: {where}"), lines[0]
    assert fragment in lines[0]


def test_error_from_analysis_is_located(write_spec: Callable[[str], Path]) -> None:
    path = write_spec(GOOD.replace("{kind: dsconv,", "{kind: dsconv, in_channels: 9,"))
    with pytest.raises(SpecError) as info:
        analyze(load_spec(path))
    # located lazily: file and path from the analysis, line from the YAML text
    from convcost.spec.loader import locate

    err = locate(info.value)
    assert (err.file, err.line, err.path) == (str(path), 5, "layers[1].in_channels")


def test_alpha_option_must_be_positive(runner: CliRunner, write_spec: Callable[[str], Path]) -> None:
    result = runner.invoke(app, ["model", str(write_spec(GOOD)), "--alpha", "0", "--no-verify"])
    assert result.exit_code == 2
    assert "α (width multiplier) must be > 0, got 0" in result.stderr


def test_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["model", str(tmp_path / "nope.yaml"), "--no-verify"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"convcost: error: {tmp_path / 'nope.yaml'}: cannot read spec: No such file or directory"
    )


def test_python_object_tags_are_refused(runner: CliRunner, write_spec: Callable[[str], Path]) -> None:
    """Only the safe loader is used: a Python object tag is a YAML error, never executed."""
    path = write_spec("name: !!python/object/apply:os.system ['echo pwned']\n")
    result = runner.invoke(app, ["model", str(path), "--no-verify"])
    assert result.exit_code == 2
    assert "pwned" not in result.output
    assert f"{path}:1: YAML syntax error: could not determine a constructor" in result.stderr


@pytest.mark.parametrize("option", [["--alpha", "nan"], ["--alpha", "inf"], ["--rho", "nan"],
                                    ["--rho", "-1"], ["--batch", "0"], ["--resolution", "0"]])
def test_bad_overrides_are_one_line(option: list[str], runner: CliRunner,
                                    write_spec: Callable[[str], Path]) -> None:
    result = runner.invoke(app, ["model", str(write_spec(GOOD)), "--no-verify", *option])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
