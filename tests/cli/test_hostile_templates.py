"""Templates and the graph format, bounded before expansion (issue 24, first section).

Each hostile spec below ran until it was killed (or built a GiB string) before; now it is one
line and exit 2, in about a second, in a few tens of MiB. The table runs in-process in the fast
loop, and in a measured child process (wall time, the child's own peak RSS) under --run-slow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, measured, one_line_error

from convcost.errors import SpecError
from convcost.exit_codes import ExitCode
from convcost.spec.loader import load_spec
from convcost.spec.template_bound import _Bound
from convcost.spec.templates import instantiate, read_blocks
from convcost.spec.yamlsafe import load_yaml

HEAD = "input: {channels: 3, resolution: 8}\n"
SECONDS, RSS_MIB = 30.0, 400.0  # each takes ~1 s and ~20 MiB idle: generous for a loaded machine


def _one_block(body: str, repeat: str = "1000000000") -> str:
    return f"{HEAD}blocks:\n  b:\n    layers: {body}\nlayers:\n  - {{kind: b, repeat: {repeat}}}\n"


def _cube() -> str:
    """Blocks repeating blocks 1000 × 1000 × 1000: 10⁹ empty groups from 8 lines."""
    return (f"{HEAD}blocks:\n  a:\n    layers: [{{kind: sequential, layers: []}}]\n"
            "  b:\n    layers: [{kind: a, repeat: 1000}]\n"
            "  c:\n    layers: [{kind: b, repeat: 1000}]\n"
            "layers:\n  - {kind: c, repeat: 1000}\n")


def _aliases() -> str:
    """A list of 10⁶ values made by aliases (1000 × a 1000-value list) in a block body, the
    block repeated 1000 times: 10⁹ values to copy from a 6 KB file."""
    thousand = ", ".join(["0"] * 1000)
    refs = ", ".join(["*a"] * 1000)
    body = f"[{{kind: identity, name: x, junk: [&a [{thousand}], [{refs}]]}}]"
    return _one_block(body, "1000")


def _doubling(levels: int = 28) -> str:
    """Block i passes ``"${s}${s}"`` to block i-1: 10 · 2²⁸ characters (2.5 GiB) at the end."""
    lines = [HEAD.rstrip(), "blocks:", "  b0:", "    args: [s]",
             '    layers: [{kind: identity, name: "${s}"}]']
    for i in range(1, levels + 1):
        lines += [f"  b{i}:", "    args: [s]", f'    layers: [{{kind: b{i - 1}, s: "${{s}}${{s}}"}}]']
    return "\n".join([*lines, "layers:", f"  - {{kind: b{levels}, s: abcdefghij}}"]) + "\n"


def _arith(digit: str) -> str:
    return (f'{HEAD}blocks:\n  b:\n    args: [c]\n    layers:\n'
            f'      - {{kind: conv, out_channels: "${{c * {digit}}}", kernel_size: 1}}\n'
            "layers:\n  - {kind: b, c: 2}\n")


LAYERS = "the network would have more than 300,000 layers"
HOSTILE = {
    # case -> (spec text, a fragment of the one error line)
    "empty sequential body x 1e9": (_one_block("[{kind: sequential, layers: []}]"), LAYERS),
    "scalar 0 body x 1e9": (_one_block("[0]"), LAYERS),
    "one leaf x 1e9": (_one_block("[{kind: identity}]"), LAYERS),
    "blocks 1000 x 1000 x 1000": (_cube(), LAYERS),
    "group x 1e9, no block": (HEAD + "layers:\n  - {kind: sequential, repeat: 1000000000, "
                              "layers: [{kind: identity}]}\n", LAYERS),
    "repeat computed by ${n * n} inside a block": (
        f'{HEAD}blocks:\n  a:\n    layers: [{{kind: identity}}]\n  b:\n    args: [n]\n'
        '    layers: [{kind: a, repeat: "${n * n}"}]\nlayers:\n  - {kind: b, n: 1000, '
        'repeat: 1000}\n', LAYERS),
    "million-value alias list x 1000": (_aliases(), "more than 4,000,000 values"),
    "28 blocks doubling a string": (_doubling(), "longer than 1,000 characters"),
    "a 5000-character string argument": (
        f"{HEAD}blocks:\n  b:\n    args: [s]\n    layers: [{{kind: identity}}]\n"
        f"layers:\n  - {{kind: b, s: {'x' * 5000}}}\n", "at most 1,000 characters"),
    "Bengali digit in ${}": (_arith("৪"), "unexpected '৪' at column 5"),
    "fullwidth digit in ${}": (_arith("４"), "unexpected '４' at column 5"),
    "fullwidth digits in ${}": (_arith("１２"), "unexpected '１' at column 5"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_spec_is_refused_before_expansion(tmp_path: Path, case: str) -> None:
    text, fragment = HOSTILE[case]
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert path.read_text() == text


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_spec_in_a_child_is_quick_and_small(tmp_path: Path, case: str) -> None:
    text, fragment = HOSTILE[case]
    (tmp_path / "spec.yaml").write_text(text)
    run = measured(["model", "spec.yaml", "--no-verify"], cwd=tmp_path)
    one_line_error(run, ExitCode.BAD_INPUT, fragment)
    assert run.seconds < SECONDS and run.rss_mib < RSS_MIB, (run.seconds, run.rss_mib)
    assert (tmp_path / "spec.yaml").read_text() == text


def test_ascii_digits_in_an_expression_still_work(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(_arith("4"))
    conv = load_spec(path).layers[0].fields["layers"][0]
    assert conv.fields["out_channels"] == 8  # 2 * 4


def _unused(count: int) -> str:
    rows = [f"  - {{kind: conv, name: l{i}, out_channels: 8, kernel_size: 3}}" for i in range(count)]
    return (f"{HEAD}outputs: [a]\nlayers:\n  - {{kind: conv, name: a, out_channels: 8, "
            "kernel_size: 3}\n" + "\n".join(rows) + "\n")


@pytest.mark.slow
def test_2000_unused_layers_take_seconds_and_ten_warnings(tmp_path: Path) -> None:
    """``outputs: [a]`` then 2,000 unused layers: each warning was located by composing the
    whole YAML again (minutes); now once. Ten warnings, then one line counts the rest."""
    (tmp_path / "spec.yaml").write_text(_unused(2000))
    run = measured(["model", "spec.yaml", "--no-verify", "-f", "json"], cwd=tmp_path)
    assert run.returncode == ExitCode.OK, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 11 and "1,990 more layers not used" in lines[-1], lines[-2:]
    assert run.seconds < SECONDS and run.rss_mib < RSS_MIB, (run.seconds, run.rss_mib)
    # conv a only: 3·8·3·3 = 216 weights (no bias); 216 · 8·8 positions (padding auto) MACs
    assert json.loads(run.stdout)["totals"] == {"params": 216, "macs": 216 * 64, "flops": 432 * 64,
                                                "complete": True, "opaque_layers": 0, "uncounted": {}}


def test_unused_layers_are_all_warned_in_the_spec(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(_unused(300))
    spec = load_spec(path)
    assert [layer.name for layer in spec.layers] == ["a"]
    assert len(spec.warnings) == 300 and spec.warnings[-1].line == 304  # l299: line 5 + 299


@pytest.mark.parametrize("name", ["googlenet", "inception_v3", "squeezenet1_1"])
def test_the_bound_is_an_upper_bound_of_what_a_spec_expands_to(name: str) -> None:
    """Every layer the expansion produces (groups included) is counted by the bound."""
    data = load_yaml((ROOT / "specs" / f"{name}.yaml").read_text())
    blocks = read_blocks(data["blocks"])
    produced = instantiate(data["layers"], blocks)

    def count(items: list[Any]) -> int:
        return sum(1 + sum(count(item.data[key]) for key in ("layers", "shortcut", "branches")
                           if isinstance(item.data, dict) and isinstance(item.data.get(key), list))
                   for item in items)

    bound, _ = _Bound(blocks).layers(data["layers"], None, "layers", 0)
    assert count(produced) <= bound <= 2 * count(produced), (count(produced), bound)
