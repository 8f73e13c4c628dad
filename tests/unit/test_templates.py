"""User-defined blocks (``blocks:``) and ``sequential``: a template-based spec costs exactly what
the same network written out by hand costs; errors name the use site and the template line."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from helpers import ROOT, SPECS, SQUEEZENET_BLOCKS, SQUEEZENET_BY_HAND, examples
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.errors import SpecError
from convcost.net.analysis import Analysis, analyze, separable_pairs
from convcost.spec import template_bound, templates
from convcost.spec.loader import load_spec, locate, parse_spec

Leaf = tuple[str, str, tuple[int, ...], tuple[int, ...], int, int]


def leaves(analysis: Analysis, names: bool = True) -> list[Leaf]:
    """Every leaf as (name, kind, input shape, output shape, params, MACs)."""
    return [(n.name if names else "", n.label, n.input_shape, n.output_shape, n.params, n.macs)
            for n in analysis.leaves()]


def spec(text: str) -> Any:
    return parse_spec(yaml.safe_load(text))


V1_BLOCKS = """\
name: mobilenet_v1
input: {channels: 3, resolution: 224}
blocks:
  separable:             # MobileNet V1's depthwise separable layer, as dsconv expands it
    args: [out]
    defaults: {stride: 1}
    layers:
      - {kind: dwconv, name: dw, stride: "${stride}", bn: true, act: relu}
      - {kind: pwconv, name: pw, out_channels: "${out}", bn: true, act: relu}
layers:
  - {kind: conv, name: stem, out_channels: 32, kernel_size: 3, stride: 2, bn: true, act: relu}
  - {kind: separable, name: stage1.0, out: 64}
  - {kind: separable, name: stage2, out: 128, stride: 2, repeat: 2}
  - {kind: separable, name: stage3, out: 256, stride: 2, repeat: 2}
  - {kind: separable, name: stage4, out: 512, stride: 2, repeat: 6}
  - {kind: separable, name: stage5, out: 1024, stride: 2, repeat: 2}
  - {kind: pool, name: avgpool, op: avg, global: true}
  - {kind: flatten, name: flatten}
  - {kind: linear, name: fc, out_features: 1000, bias: true}
"""


@pytest.mark.parametrize(("alpha", "resolution"), [(1.0, 224), (0.75, 192), (0.5, 160),
                                                   (0.25, 128)])
def test_mobilenet_v1_from_a_block_equals_the_shipped_spec(alpha: float, resolution: int) -> None:
    """Same leaves, names, shapes and figures as specs/mobilenet_v1.yaml (dsconv), at every α:
    the block's out_channels are scaled like literal ones."""
    shipped = analyze(load_spec(SPECS / "mobilenet_v1.yaml"), alpha=alpha, resolution=resolution)
    blocks = analyze(spec(V1_BLOCKS), alpha=alpha,
                     resolution=resolution)
    assert leaves(blocks) == leaves(shipped)
    assert (blocks.root.params, blocks.root.macs) == (shipped.root.params, shipped.root.macs)
    assert len(separable_pairs(blocks)) == len(separable_pairs(shipped)) == 13
    if alpha == 1.0:
        # the paper's figures (the shipped spec's header): 4,231,976 params, 568,740,352 MACs
        assert (blocks.root.params, blocks.root.macs) == (4_231_976, 568_740_352)
    # the use site names the block and its kind
    stage2 = next(n for n in blocks.root.children if n.name == "stage2.0")
    assert (stage2.label, [c.name for c in stage2.children]) == ("separable",
                                                                ["stage2.0.dw", "stage2.0.pw"])


def test_repeat_of_a_block_keeps_stride_on_the_first_copy_only() -> None:
    data = spec(V1_BLOCKS)
    stage4 = [n for n in analyze(data).root.children if n.name.startswith("stage4.")]
    # 28×28 → stride 2 on copy 0 → 14×14, then five copies at stride 1 keep 14×14
    assert [n.output_shape[2] for n in stage4] == [14] * 6
    assert [n.children[0].children[0].op.stride for n in stage4] == [(2, 2)] + [(1, 1)] * 5


REPEATED_BLOCK_READ = """\
name: c3
input: {channels: 8, resolution: 4}
blocks:
  yolo_bottleneck:
    args: [c]
    layers:
      - {kind: pwconv, name: cv1, out_channels: '${c}'}
      - {kind: add, name: add, from: [input, cv1]}
layers:
  - {kind: pwconv, name: stem, out_channels: 4}
  - {kind: yolo_bottleneck, name: m, repeat: 2, c: 4}
  - {kind: pwconv, name: side, from: stem, out_channels: 4}
  - {kind: concat, name: cat, from: [m, side]}
outputs: [cat, m]
"""


def test_a_repeated_block_name_reads_its_last_copy() -> None:
    """The YOLO C3 case: ``from: m`` and ``outputs: [m]`` name a repeated template's last copy."""
    result = analyze(spec(REPEATED_BLOCK_READ))
    cat = next(n for n in result.root.children if n.name == "cat")
    # stem 8·4 = 32 MACs per pixel; m.0, m.1 and side 4·4 = 16 each; 4×4 pixels:
    # (32 + 3·16) · 16 = 1,280; concat of two 4-channel maps -> 8 channels
    assert cat.output_shape == (1, 8, 4, 4)
    assert result.root.macs == 1_280
    assert [n.name for n in result.root.children] == ["stem", "m.0", "m.1", "side", "cat"]
    assert result.root.outputs == ("cat", "m.1")


def test_a_block_equals_the_same_layers_written_out_by_hand() -> None:
    blocks = spec("""\
input: {channels: 3, resolution: 32}
blocks:
  vgg:
    args: [width]
    layers:
      - {kind: conv, name: conv1, out_channels: "${width}", act: relu}
      - {kind: conv, name: conv2, out_channels: "${width}", act: relu}
      - {kind: pool, name: pool, op: max, kernel_size: 2}
layers:
  - {kind: vgg, name: stage1, width: 16}
  - {kind: vgg, name: stage2, width: 32}
""")
    by_hand = spec("""\
input: {channels: 3, resolution: 32}
layers:
  - {kind: conv, out_channels: 16, act: relu}
  - {kind: conv, out_channels: 16, act: relu}
  - {kind: pool, op: max, kernel_size: 2}
  - {kind: conv, out_channels: 32, act: relu}
  - {kind: conv, out_channels: 32, act: relu}
  - {kind: pool, op: max, kernel_size: 2}
""")
    a, b = analyze(blocks), analyze(by_hand)
    assert leaves(a, names=False) == leaves(b, names=False)
    # stage1: conv 3→16: 3·16·9 = 432 params, 432·32·32 = 442,368 MACs; conv 16→16: 2,304 params,
    # 2,304·1,024 = 2,359,296 MACs; pool to 16×16. stage2: 16→32: 4,608 params, 4,608·256 =
    # 1,179,648 MACs; 32→32: 9,216 params, 9,216·256 = 2,359,296 MACs
    assert a.root.params == b.root.params == 432 + 2_304 + 4_608 + 9_216 == 16_560
    assert a.root.macs == b.root.macs == 442_368 + 2_359_296 + 1_179_648 + 2_359_296 == 6_340_608
    assert [(n.name, n.label) for n in a.root.children] == [("stage1", "vgg"), ("stage2", "vgg")]
    assert [n.name for n in a.root.children[1].children] == [
        "stage2.conv1", "stage2.conv2", "stage2.pool"]


SEQUENTIAL = """\
input: {channels: 8, resolution: 8}
layers:
  - kind: sequential
    name: group
    repeat: 3
    layers:
      - {kind: conv, out_channels: 8, kernel_size: 1, stride: 2}
      - {kind: act, fn: relu}
"""


def test_sequential_repeat_copies_its_layers_unchanged() -> None:
    """A sequential has no stride of its own: every copy is the group as written."""
    result = analyze(spec(SEQUENTIAL))
    names = [n.name for _, n in result.root.walk()][1:]
    assert names == ["group.0", "group.0.0", "group.0.1", "group.1", "group.1.0", "group.1.1",
                     "group.2", "group.2.0", "group.2.1"]
    # 8×8 → 4×4 → 2×2 → 1×1: each copy's 1×1 conv keeps stride 2; 8·8 = 64 params each,
    # MACs 64·16 + 64·4 + 64·1 = 1,344
    assert [n.output_shape[2] for n in result.root.children] == [4, 2, 1]
    assert (result.root.params, result.root.macs) == (3 * 64, 1_344)


def test_nested_blocks_and_containers_prefix_every_name() -> None:
    result = analyze(spec("""\
input: {channels: 4, resolution: 4}
blocks:
  unit:
    args: [c]
    layers:
      - {kind: pwconv, name: pw, out_channels: "${c}"}
  pair:
    args: [c]
    layers:
      - {kind: unit, name: a, c: "${c * 2}"}
      - kind: sequential
        layers:
          - {kind: unit, c: "${c}"}
layers:
  - {kind: pair, name: p, c: 3}
"""))
    names = [(n.name, n.label, n.output_shape[1]) for _, n in result.root.walk()][1:]
    assert names == [("p", "pair", 3), ("p.a", "unit", 6), ("p.a.pw", "pwconv", 6),
                     ("p.1", "sequential", 3), ("p.1.0", "unit", 3), ("p.1.0.pw", "pwconv", 3)]
    # 4·6 = 24 params, then 6·3 = 18; MACs × 16 pixels
    assert (result.root.params, result.root.macs) == (24 + 18, (24 + 18) * 16)


def test_arguments_keep_their_type_and_interpolate_into_strings() -> None:
    result = analyze(spec("""\
input: {channels: 4, resolution: 8}
blocks:
  conv_act:
    args: [out, k]
    defaults: {act: relu6, bias: false, tag: x}
    layers:
      - {kind: conv, name: "conv_${tag}", out_channels: "${out}", kernel_size: "${k}",
         bias: "${bias}", act: "${act}"}
layers:
  - {kind: conv_act, name: a, out: 4, k: [1, 3], bias: true, tag: wide}
"""))
    conv = next(n for n in result.leaves() if n.label == "conv")
    assert result.root.children[0].children[0].name == "a.conv_wide"
    assert conv.op is not None and conv.op.kernel == (1, 3) and conv.op.bias
    # params 4·4·1·3 + 4 (bias) = 52; MACs 48·64 = 3,072
    assert (conv.params, conv.macs) == (52, 3_072)
    assert [leaf.label for leaf in result.leaves()] == ["conv", "relu6"]


def _fire_use(**args: Any) -> str:
    written = ", ".join(f"{k}: {v}" for k, v in args.items())
    return f"  - {{kind: fire, name: fire2, {written}}}\n"


FIRE = """\
input: {channels: 8, resolution: 8}
blocks:
  fire:
    args: [squeeze, expand]
    layers:
      - kind: conv
        name: squeeze
        out_channels: ${squeeze}
        kernel_size: 1
      - kind: conv
        name: expand
        out_channels: ${expand // 2}
layers:
  - {kind: conv, out_channels: 8}
"""


@pytest.mark.parametrize(("case", "text", "line", "message"), [
    ("value from args, bad in the template", FIRE + _fire_use(squeeze=0, expand=8), 15,
     "layers[1] → blocks.fire.layers[0].out_channels ({file}:8): must be a positive integer, got 0"),
    ("arithmetic yields 0", FIRE + _fire_use(squeeze=2, expand=1), 15,
     "layers[1] → blocks.fire.layers[1].out_channels ({file}:12): must be a positive integer, "
     "got 0"),
    ("missing argument", FIRE + _fire_use(squeeze=2), 15,
     "layers[1].expand: missing argument of block 'fire' (takes: squeeze, expand)"),
    ("unknown argument", FIRE + _fire_use(squeeze=2, expand=4, expnad=3), 15,
     "layers[1].expnad: unknown argument (did you mean 'expand'?); block 'fire' takes: "
     "squeeze, expand"),
    ("argument of a wrong type", FIRE + _fire_use(squeeze=2, expand="{a: 1}"), 15,
     "layers[1].expand: an argument must be a number, string, boolean, null or a list of at "
     "most 16 of those, got dict"),
    ("string in arithmetic", FIRE + _fire_use(squeeze=2, expand="wide"), 15,
     "layers[1] → blocks.fire.layers[1].out_channels ({file}:12): '${expand // 2}': expand is "
     "'wide', not an integer"),
    ("shape error inside", FIRE.replace("${expand // 2}", "8\n        kernel_size: 9\n"
                                        "        padding: 0") + _fire_use(squeeze=2, expand=4),
     17, "layers[1] → blocks.fire.layers[1] ({file}:10): fire2.expand: kernel 9"),
    ("unknown key inside", FIRE.replace("kernel_size: 1", "kernal_size: 1")
     + _fire_use(squeeze=2, expand=4), 15,
     "layers[1] → blocks.fire.layers[0].kernal_size ({file}:9): unknown key (did you mean "
     "'kernel_size'?)"),
    ("unknown name in an expression", FIRE.replace("${expand // 2}", "${expnd // 2}")
     + _fire_use(squeeze=2, expand=4), 12,
     "blocks.fire.layers[1].out_channels: '${expnd // 2}': unknown argument 'expnd' (did you "
     "mean 'expand'?); block 'fire' takes: squeeze, expand"),
    ("malformed expression", FIRE.replace("${expand // 2}", "${expand / 2}")
     + _fire_use(squeeze=2, expand=4), 12,
     "blocks.fire.layers[1].out_channels: '${expand / 2}': unexpected '/' at column 8 (use // "
     "for integer division)"),
    ("unclosed", FIRE.replace("${expand // 2}", "${expand // 2") + _fire_use(squeeze=2, expand=4),
     12, "blocks.fire.layers[1].out_channels: unclosed '${' in '${expand // 2'"),
    ("division by zero", FIRE.replace("${expand // 2}", "${expand // (squeeze - 2)}")
     + _fire_use(squeeze=2, expand=4), 15,
     "layers[1] → blocks.fire.layers[1].out_channels ({file}:12): '${expand // (squeeze - 2)}': "
     "division by zero"),
    ("mutual recursion", FIRE.replace("kind: conv\n        name: expand", "kind: other\n"
                                      "        name: expand").replace(
        "layers:\n  - {kind: conv", "  other:\n    layers:\n      - {kind: fire, squeeze: 1, "
        "expand: 2}\nlayers:\n  - {kind: conv"), 15,
     "blocks.other.layers[0].kind: block 'fire' uses itself through others: fire → other → fire"),
    ("unknown kind, a block suggested", FIRE + "  - {kind: fier, squeeze: 2, expand: 4}\n", 15,
     "layers[1].kind: unknown kind 'fier' (did you mean 'fire'?); valid kinds: conv"),
    ("direct recursion", FIRE.replace("kind: conv\n        name: expand", "kind: fire\n"
                                      "        name: expand"), 10,
     "blocks.fire.layers[1].kind: block 'fire' uses itself: fire → fire"),
    ("a block named as a built-in kind", FIRE.replace("  fire:", "  conv:"), 3,
     "blocks.conv: 'conv' is a built-in kind; give the block another name"),
    ("a reserved argument name", FIRE.replace("[squeeze, expand]", "[squeeze, repeat]"), 4,
     "blocks.fire.args[1]: 'repeat' is a layer key, not an argument name"),
    ("an argument declared twice", FIRE.replace("[squeeze, expand]", "[squeeze, expand]\n"
                                                "    defaults: {expand: 3}"), 5,
     "blocks.fire.defaults.expand: argument 'expand' is declared twice"),
    ("a bad block key", FIRE.replace("    args:", "    arg: []\n    args:"), 4,
     "blocks.fire.arg: unknown key (did you mean 'args'?); allowed: args, defaults, layers"),
])
def test_errors_name_the_use_site_and_the_template_line(
    case: str, text: str, line: int | None, message: str, write_spec: Callable[[str], Path]
) -> None:
    path = write_spec(text)
    with pytest.raises(SpecError) as info:
        analyze(load_spec(path))
    err = locate(info.value)
    shown = str(err)
    assert "\n" not in shown
    assert shown.startswith(f"{path}:{line}: "), shown
    assert shown.removeprefix(f"{path}:{line}: ").startswith(message.replace("{file}", str(path)))


@pytest.mark.parametrize(("alpha", "divisor", "expected"), [
    (1.0, None, [30, 60, 10]),   # 30, 30·2 = 60, fc fixed at 10
    (0.5, None, [15, 30, 10]),   # int(30·0.5) = 15, int(60·0.5) = 30
    # _make_divisible(15, 8) = 16, _make_divisible(30, 8) = 32; a fixed width is rounded by the
    # divisor too (docs/spec-format.md): _make_divisible(10, 8) = 16
    (0.5, 8, [16, 32, 16]),
    (0.3, 8, [16, 24, 16]),      # 9 → 8 < 0.9·9 = 8.1 → 16; 18 → 16 < 16.2 → 24
])
def test_alpha_scales_template_channels_like_literal_ones(
    alpha: float, divisor: int | None, expected: list[int]
) -> None:
    text = f"""\
input: {{channels: 3, resolution: 8}}
{"divisor: " + str(divisor) if divisor else ""}
blocks:
  two:
    args: [c]
    layers:
      - {{kind: pwconv, name: a, out_channels: "${{c}}"}}
      - {{kind: pwconv, name: b, out_channels: "${{c * 2}}"}}
layers:
  - {{kind: two, c: 30}}
  - {{kind: pool, op: avg, global: true}}
  - {{kind: flatten}}
  - {{kind: linear, out_features: 10}}
"""
    result = analyze(spec(text), alpha=alpha)
    convs = [n.output_shape[1] for n in result.leaves() if n.label in ("pwconv", "linear")]
    assert convs == expected
    by_hand = text.replace('"${c}"', "30").replace('"${c * 2}"', "60")
    assert leaves(analyze(spec(by_hand), alpha=alpha), names=False) == leaves(result, names=False)


def _bomb(levels: int, fanout: int) -> str:
    """Block i uses block i+1 ``fanout`` times: fanout**levels layers from a few lines."""
    lines = ["input: {channels: 3, resolution: 8}", "blocks:"]
    for i in range(levels):
        lines += [f"  b{i}:", "    layers:"]
        lines += [f"      - {{kind: b{i + 1}}}"] * fanout
    lines += [f"  b{levels}:", "    layers:", "      - {kind: act, fn: relu}"]
    lines += ["layers:", "  - {kind: b0}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("text", "fragment"), [
    (_bomb(20, 4), "the network would have more than 2,000 layers"),           # 4**20 ≈ 10**12 layers
    (_bomb(40, 1), "layers nest deeper than 32 levels"),
    ("input: {resolution: 8}\nblocks:\n  b:\n    layers: " + "[" * 70 + "]" * 70
     + "\nlayers: [{kind: act, fn: relu}]\n", "nested deeper than 64 levels"),
    ("input: {resolution: 8}\nlayers:\n  - {kind: b, repeat: 1000000000}\nblocks:\n  b:\n"
     "    layers: [{kind: act, fn: relu}]\n", "the network would have more than 2,000 layers"),
])
def test_hostile_blocks_are_bounded(text: str, fragment: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templates, "MAX_LEAVES", 2_000)
    monkeypatch.setattr(template_bound, "MAX_LEAVES", 2_000)  # the bound before expanding
    with pytest.raises(SpecError) as info:
        spec(text)
    assert fragment in str(info.value)


def test_an_alias_bomb_in_a_block_is_refused_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Anchors make a 9-level, 10-way tree (10**9 values) from a few lines: walked with a budget."""
    lines = ["input: {resolution: 8}", "bomb:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    lines += ["blocks:", "  b:", "    layers:", "      - {kind: act, fn: *l8}",
              "layers: [{kind: act, fn: relu}]"]
    data = yaml.safe_load("\n".join(lines))
    del data["bomb"]
    monkeypatch.setattr(templates, "MAX_YAML_NODES", 10_000)  # the real limit takes seconds to reach
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    assert "blocks hold more than 10,000 values" in str(info.value)


# -- property: a random block, used at random, equals its hand-expanded form -----------------

@dataclass(frozen=True)
class Ex:
    """An expression over the block's arguments, with its value computed in Python."""

    text: str
    value: Callable[[dict[str, int]], int]


_ARG = st.sampled_from(["a", "c"]).map(lambda n: Ex(n, lambda env: env[n]))
_LIT = st.integers(0, 4).map(lambda k: Ex(str(k), lambda env: k))


def _op(op: str, left: Ex, right: Ex) -> Ex:
    if op == "//":  # a divisor ≥ 1
        return Ex(f"({left.text}) // (({right.text}) * ({right.text}) + 1)",
                  lambda env: left.value(env) // (right.value(env) ** 2 + 1))
    fn = {"+": int.__add__, "-": int.__sub__, "*": int.__mul__}[op]
    return Ex(f"({left.text}) {op} ({right.text})",
              lambda env: fn(left.value(env), right.value(env)))


_EXPR = st.recursive(st.one_of(_ARG, _LIT), lambda kids: st.builds(
    _op, st.sampled_from(["+", "-", "*", "//"]), kids, kids), max_leaves=4)
_CHANNELS = _EXPR.map(lambda e: Ex(f"({e.text}) * ({e.text}) + 2",
                                   lambda env: e.value(env) ** 2 + 2)  # ≥ 2: ≥ 1 at α = 0.5
                         ).filter(lambda e: len(e.text) <= 180)  # the loader caps an expression at 200
_K = Ex("k", lambda env: env["k"])
_STRIDE = Ex("stride", lambda env: env["stride"])

_BODY_LAYER = st.one_of(
    st.fixed_dictionaries({"kind": st.just("conv"), "out_channels": _CHANNELS,
                           "kernel_size": st.sampled_from([1, 3, _K]),
                           "stride": st.sampled_from([1, _STRIDE]), "bn": st.booleans(),
                           "act": st.sampled_from([None, "relu", "hardswish"])}),
    st.fixed_dictionaries({"kind": st.just("pwconv"), "out_channels": _CHANNELS,
                           "bias": st.booleans()}),
    st.fixed_dictionaries({"kind": st.just("dwconv"), "kernel_size": st.sampled_from([3, _K]),
                           "stride": st.sampled_from([1, _STRIDE]), "bn": st.booleans()}),
    st.fixed_dictionaries({"kind": st.just("inverted_residual"), "out_channels": _CHANNELS,
                           "expand_ratio": st.sampled_from([1, 4]),
                           "stride": st.sampled_from([1, _STRIDE])}),
    st.fixed_dictionaries({"kind": st.just("act"), "fn": st.sampled_from(["relu", "silu"])}),
)
_USE = st.fixed_dictionaries({"a": st.integers(1, 6), "c": st.integers(1, 6)},
                             optional={"k": st.sampled_from([1, 3]),
                                       "stride": st.sampled_from([1, 2]),
                                       "repeat": st.integers(2, 3)})


def _written(value: Any) -> Any:
    return f"${{{value.text}}}" if isinstance(value, Ex) else value


def _expanded(value: Any, env: dict[str, int]) -> Any:
    return value.value(env) if isinstance(value, Ex) else value


@settings(max_examples=examples(60), deadline=None)
@given(body=st.lists(_BODY_LAYER, min_size=1, max_size=4), uses=st.lists(_USE, min_size=1,
                                                                          max_size=3),
       alpha=st.sampled_from([1.0, 0.5, 1.3]), divisor=st.sampled_from([None, 8]))
def test_random_blocks_equal_their_hand_expanded_form(
    body: list[dict[str, Any]], uses: list[dict[str, int]], alpha: float, divisor: int | None
) -> None:
    named = [{**layer, "name": f"l{i}"} for i, layer in enumerate(body)]
    head = {"input": {"channels": 3, "resolution": 16}, "width_multiplier": alpha,
            **({"divisor": divisor} if divisor else {})}
    blocks = {"unit": {"args": ["a", "c"], "defaults": {"k": 3, "stride": 1},
                       "layers": [{key: _written(v) for key, v in layer.items()}
                                  for layer in named]}}
    templated = {**head, "blocks": blocks,
                 "layers": [{"kind": "unit", "name": f"u{i}", **use} for i, use in enumerate(uses)]}
    by_hand = {**head, "layers": []}
    for i, use in enumerate(uses):
        repeat = use.get("repeat", 1)
        for copy in range(repeat):
            env = {"k": 3, "stride": 1, **use}
            if copy:
                env["stride"] = 1  # repeat's stage rule
            by_hand["layers"].append({
                "kind": "sequential", "name": f"u{i}.{copy}" if repeat > 1 else f"u{i}",
                "layers": [{key: _expanded(v, env) for key, v in layer.items()} for layer in named],
            })
    expected, actual = analyze(parse_spec(by_hand)), analyze(parse_spec(templated))
    assert leaves(actual) == leaves(expected)
    assert (actual.root.params, actual.root.macs) == (expected.root.params, expected.root.macs)


SHIPPED_SCHEMA = json.loads((ROOT / "convcost" / "spec" / "spec.schema.json").read_text())


@pytest.mark.parametrize(("case", "text", "valid"), [
    ("mobilenet v1 from a block", V1_BLOCKS, True),
    ("sequential by hand", SEQUENTIAL, True),
    ("fire", FIRE + _fire_use(squeeze=2, expand=4), True),
    ("unknown block key", FIRE.replace("    args:", "    arg: []\n    args:"), False),
    ("block named as a kind", FIRE.replace("  fire:", "  conv:"), False),
    ("typo inside a used block", FIRE.replace("kernel_size: 1", "kernal_size: 1")
     + _fire_use(squeeze=2, expand=4), False),
    ("mapping as an argument", FIRE + _fire_use(squeeze=2, expand="{a: 1}"), False),
    ("empty sequential", SEQUENTIAL.replace("    layers:\n", "    layers: []\n").split(
        "      - {kind: conv")[0], False),
    ("expression outside a block", SEQUENTIAL.replace("out_channels: 8", 'out_channels: "${8}"'),
     False),
])
def test_schema_accepts_and_refuses_blocks_like_the_loader(case: str, text: str,
                                                           valid: bool) -> None:
    data = yaml.safe_load(text)
    errors = list(jsonschema.Draft202012Validator(SHIPPED_SCHEMA).iter_errors(data))
    assert (not errors) == valid, errors[:1]
    try:
        analyze(parse_spec(data))
        loads = True
    except SpecError:
        loads = False
    assert loads == valid


def test_cli_error_in_a_block_is_one_line_naming_both_places(
    runner: CliRunner, write_spec: Callable[[str], Path]
) -> None:
    path = write_spec(FIRE + _fire_use(squeeze=0, expand=8))
    result = runner.invoke(app, ["model", str(path), "--no-verify"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"convcost: error: {path}:15: layers[1] → blocks.fire.layers[0].out_channels "
        f"({path}:8): must be a positive integer, got 0"
    ]


def test_the_documented_example_and_its_error(write_spec: Callable[[str], Path]) -> None:
    doc = (ROOT / "docs" / "spec-format.md").read_text()
    section = doc.split("## User-defined blocks")[1]
    text = section.split("```yaml\n")[1].split("```")[0]
    result = analyze(spec(text))
    # stem 3→16 k3 s2 (32→16): 432 + BN 32 params, 432·256 MACs; se1.0: squeeze 16→8 k1
    # 128 + 16, 128·256; expand 8→64 k3 4,608 + 128, 4,608·256; se1.1: squeeze 64→8 512 + 16,
    # 512·256; expand as before; fc 64→10: 650 params, 640 MACs
    assert result.root.params == 464 + 144 + 4_736 + 528 + 4_736 + 650 == 11_258
    macs = 110_592 + 32_768 + 1_179_648 + 131_072 + 1_179_648 + 640
    assert result.root.macs == macs == 2_634_368
    shown = next(row.strip() for row in section.splitlines() if row.startswith("  net.yaml:"))
    path = write_spec(text.replace("squeeze: 8, expand: 32", "squeeze: 0, expand: 32"))
    with pytest.raises(SpecError) as info:
        analyze(load_spec(path))
    assert str(locate(info.value)).replace(str(path), "net.yaml") == shown


@pytest.mark.parametrize(("text", "line", "hinted"), [
    # `${` is YAML syntax inside {...}: the error says to quote it
    ("input: {resolution: 8}\nblocks:\n  b:\n    args: [c]\n    layers:\n"
     "      - {kind: conv, out_channels: ${c}}\nlayers:\n  - {kind: b, c: 3}\n", 6, True),
    ("input: {resolution: 8}\nblocks:\n  b:\n    args: [c]\n    layers:\n      - {kind: conv,\n"
     "         out_channels: ${c}}\nlayers:\n  - {kind: b, c: 3}\n", 7, True),
    ("input: {resolution: 8\nlayers: []\n", 2, False),                # no expression near
])
def test_an_unquoted_expression_in_flow_style_gets_a_hint(
    text: str, line: int, hinted: bool, runner: CliRunner, write_spec: Callable[[str], Path]
) -> None:
    path = write_spec(text)
    result = runner.invoke(app, ["model", str(path), "--no-verify"])
    assert result.exit_code == 2
    [shown] = result.stderr.splitlines()
    assert shown.startswith(f"convcost: error: {path}:{line}: YAML syntax error: ")
    assert shown.endswith('; inside {...} or [...], quote an expression: "${...}"') == hinted


# -- SqueezeNet's Fire module: a block holding a graph construct (parallel, concat) ----------

@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_squeezenet_fire_blocks_equal_the_network_written_out(alpha: float) -> None:
    blocks = analyze(spec(SQUEEZENET_BLOCKS), alpha=alpha)
    by_hand = analyze(spec(SQUEEZENET_BY_HAND), alpha=alpha)
    assert leaves(blocks) == leaves(by_hand)
    if alpha == 1.0:
        # torchvision squeezenet1_1(): sum(p.numel()) and FlopCounterMode FLOPs / 2 at 224
        # (issue 12's table); fire2 alone: squeeze 64·16 + 16 = 1,040, expands 16·64 + 64 =
        # 1,088 and 16·64·9 + 64 = 9,280 params
        assert (blocks.root.params, blocks.root.macs) == (1_235_496, 349_151_936)
        fire2 = next(n for n in blocks.root.children if n.name == "fire2")
        assert (fire2.label, fire2.params) == ("fire", 1_040 + 1_088 + 9_280)
        assert fire2.output_shape == (1, 128, 55, 55)  # concat of 64 + 64 channels
