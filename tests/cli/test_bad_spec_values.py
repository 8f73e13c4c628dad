"""Bad spec values of every class, through every command that reads a spec.

Each case is one line on stderr, naming file:line: field, exit 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import one_line_error
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.net.analysis import analyze
from convcost.spec.loader import load_spec

GOOD = """\
name: tiny
input: {channels: 3, resolution: 16}
budget: {params: 10M, macs: 1G}
layers:
  - {kind: conv, name: stem, out_channels: 8, stride: 2, bn: true, act: relu}
  - {kind: inverted_residual, name: blocks, expand_ratio: 2, out_channels: 8, repeat: 2,
     se: {reduction: 4}}
  - {kind: pool, name: pool, op: avg, global: true}
  - {kind: flatten, name: flat}
  - {kind: linear, name: fc, out_features: 10}
"""

# Every command that reads a spec; `{}` is the spec's path. bench and verify refuse bad
# specs before importing torch.
COMMANDS = [
    ["model", "{}", "--no-verify"], ["model", "{}", "--format", "json", "--no-verify"],
    ["conventions", "{}"], ["sweep", "{}"], ["check", "{}"], ["verify", "{}"], ["bench", "{}"],
]

# (case, spec text, fragment of the one error line: file:line: field: message)
CASES = [
    ("duplicate key in a layer", GOOD.replace("out_channels: 8, stride: 2",
                                              "out_channels: 8, out_channels: 16, stride: 2"),
     ":5: layers[0].out_channels: duplicate key (first at line 5)"),
    ("second budget", GOOD + "budget: {params: 1G, macs: 100G}\n",
     ":11: budget: duplicate key (first at line 3)"),
    ("duplicate in budget", GOOD.replace("macs: 1G}", "macs: 1G, macs: 5G}"),
     ":3: budget.macs: duplicate key"),
    ("YAML 1.1 octal", GOOD.replace("out_features: 10", "out_features: 0064"),
     ":10: layers[4].out_features: '0064' is octal in YAML 1.1 (= 52)"),
    ("YAML 1.1 base 60", GOOD.replace("out_features: 10", "out_features: 1:04"),
     ":10: layers[4].out_features: '1:04' is a base-60 number"),
    ("too many digits", GOOD.replace("out_features: 10", "out_features: " + "9" * 401),
     ":10: layers[4].out_features: integer of 401 digits"),
    ("too large", GOOD.replace("out_features: 10", "out_features: 10000000000"),
     ":10: layers[4].out_features: must be at most 1,000,000,000"),
    ("float overflow", GOOD.replace("expand_ratio: 2", "expand_ratio: 1e308"),
     ":6: layers[1].expand_ratio: must be a finite number of at most 1e+09"),
    ("not finite", GOOD.replace("expand_ratio: 2", "expand_ratio: .inf"),
     ":6: layers[1].expand_ratio: must be a finite number"),
    ("name ends in a newline", GOOD.replace("name: fc,", 'name: "fc\\n",'),
     ":10: layers[4].name: must be dotted words"),
    ("reserved name forward", GOOD.replace("name: fc,", "name: forward,"),
     ":10: layers[4].name: 'forward' is reserved"),
    ("reserved name training", GOOD.replace("name: flat}", "name: head.training}"),
     ":9: layers[3].name: 'training' is reserved"),
    ("reserved name groups", GOOD.replace("name: pool,", "name: groups,"),
     ":8: layers[2].name: 'groups' is reserved"),
    ("underscore name", GOOD.replace("name: pool,", "name: _modules,"),
     ":8: layers[2].name: must be dotted words"),
    ("malformed budget", GOOD.replace("macs: 1G}", "macs: 600Q}"),
     ":3: budget.macs: must be an integer or a count like 4.3M"),
    ("budget count too large", GOOD.replace("macs: 1G}", "macs: 99999999999999999999G}"),
     ":3: budget.macs: must be an integer or a count like 4.3M"),
    ("real name clash", GOOD.replace("name: pool,", "name: blocks.1.x,"),
     ":8: layers[2].name: name 'blocks.1.x' clashes with the layer at layers[1]"),
    ("repeat past the leaf limit", GOOD.replace("repeat: 2", "repeat: 100000"),
     ":6: layers[1].repeat: the network would have more than 300,000 layers"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:3:2]))
@pytest.mark.parametrize(("case", "text", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_spec_is_one_line(runner: CliRunner, write_spec: Callable[[str], Path],
                              command: list[str], case: str, text: str, fragment: str) -> None:
    path = write_spec(text)
    result = runner.invoke(app, [arg.format(path) for arg in command])
    line = one_line_error(result, 2, fragment)
    assert line.startswith(f"convcost: error: {path}:"), line


def test_repeat_names_do_not_clash_with_a_following_layer(write_spec: Callable[[str], Path]) -> None:
    """``blocks`` ×2 makes blocks.0 and blocks.1: a later blocks.2 is free (issue 10.5)."""
    text = GOOD.replace("name: blocks,", "name: blocks.0,").replace(
        "  - {kind: pool,", "  - {kind: pwconv, name: blocks.0.2, out_channels: 8}\n  - {kind: pool,")
    names = [leaf.name for leaf in analyze(load_spec(write_spec(text))).leaves()]
    assert "blocks.0.1.project.conv" in names and "blocks.0.2" in names


@pytest.mark.slow
def test_repeat_allows_100k_leaves(write_spec: Callable[[str], Path]) -> None:
    """100,000 leaves: 20,000 repeats of conv + BN + act plus the head (well inside the limit)."""
    text = GOOD.replace("repeat: 2", "repeat: 1").replace(
        "  - {kind: pool,", "  - {kind: conv, name: body, out_channels: 8, bn: true, act: relu,"
        " repeat: 33300}\n  - {kind: pool,").replace("resolution: 16", "resolution: 2")
    result = analyze(load_spec(write_spec(text)))
    # stem 3 + block (expand 3, dw 3, SE 6, project 2, add 1 = 15) + 3 × 33,300 + 3 = 99,921
    assert len(result.leaves()) == 3 + 15 + 3 * 33_300 + 3


def test_alias_bomb_is_refused_quickly(write_spec: Callable[[str], Path], runner: CliRunner) -> None:
    """Nine levels of ten aliases: 10⁹ values once expanded, refused from the node tree."""
    levels = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    bomb = "bombs:\n" + "\n".join(f"  {x}" for x in levels) + "\n"
    path = write_spec(GOOD + bomb)  # an unknown key, but the bomb is refused first
    one_line_error(runner.invoke(app, ["model", str(path), "--no-verify"]), 2,
                   "expands to more than 2,000,000 values")
    kernel = GOOD.replace("stride: 2, bn", "kernel_size: *a9, stride: 2, bn")
    path = write_spec(kernel.replace("layers:\n", "anchors:\n" + "\n".join(
        f"  - {x[x.index('&'):]}" for x in levels) + "\nlayers:\n"))
    # 10^9 values inside kernel_size: "anchors" is an unknown key, but the kernel is read first
    line = one_line_error(runner.invoke(app, ["model", str(path), "--no-verify"]), 2)
    assert len(line) < 300, len(line)
