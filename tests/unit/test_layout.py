"""Tensors of any rank: the spec's input shape and layout, the one --input parser, the
receptive field per spatial axis, and shape errors that name the layouts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.cost.layout import check_rank, default_layout, spatial_axes, with_spatial
from convcost.cost.receptive import defined, receptive_fields
from convcost.errors import ShapeError, SpecError
from convcost.net.analysis import analyze
from convcost.spec.inputs import parse_inputs, parse_named, parse_shape
from convcost.spec.loader import parse_spec


def _spec(input_: Any, *layers: dict[str, Any]) -> Any:
    return parse_spec({"input": input_, "layers": list(layers) or [{"kind": "bn"}]})


@pytest.mark.parametrize(("input_", "shape", "layout"), [
    ({"shape": [1, 3, 16, 112, 112], "layout": "NCDHW"}, (1, 3, 16, 112, 112), "NCDHW"),
    ({"shape": [1, 3, 16, 112, 112]}, (1, 3, 16, 112, 112), "NCDHW"),  # by rank
    ({"shape": [2, 1, 8000]}, (2, 1, 8000), "NCL"),
    ({"shape": [1, 196, 768], "layout": "NLC"}, (1, 196, 768), "NLC"),
    ({"shape": [1, 56, 56, 96], "layout": "NHWC"}, (1, 56, 56, 96), "NHWC"),
    ({"channels": 3, "resolution": 32}, (1, 3, 32, 32), "NCHW"),  # the image form, unchanged
])
def test_input_shape_and_layout(input_: dict[str, Any], shape: tuple[int, ...], layout: str) -> None:
    spec = _spec(input_)
    assert (spec.input.shape, spec.input.layout) == (shape, layout)


@pytest.mark.parametrize(("input_", "message"), [
    ({"shape": [1, 3, 224], "layout": "NCHW"},
     "input.layout: layout NCHW has 4 axes (N, C, H, W), but shape [1, 3, 224] has 3"),
    ({"shape": [1, 3, 8, 8], "channels": 3}, "input.channels: give shape, or channels and resolution"),
    ({"resolution": 8, "layout": "NLC"}, "input.layout: layout NLC needs shape: [...]"),
    ({"shape": [1, 3, 8, 8, 8, 8]}, "input.shape: must be a list of 2 to 5 positive integers"),
    ({"shape": [1], "layout": "NC"}, "input.shape: must be a list of 2 to 5"),
    ({"shape": [1, 8], "layout": "NCX"}, "input.layout: must be one of NC, NCL, NCHW"),
])
def test_bad_input_is_one_line_naming_the_field(input_: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as info:
        _spec(input_)
    assert str(info.value).startswith(message)


def test_resolution_resizes_the_image_axes_of_any_layout() -> None:
    video = _spec({"shape": [1, 3, 16, 112, 112]})
    assert analyze(video, resolution=56).input_shape == (1, 3, 16, 56, 56)  # D (frames) kept
    assert analyze(video, rho=0.5, batch=2).input_shape == (2, 3, 16, 56, 56)
    audio = _spec({"shape": [1, 1, 8000]})
    assert analyze(audio, resolution=4000).input_shape == (1, 1, 4000)  # L of a 1-D signal
    channels_last = _spec({"shape": [1, 56, 56, 96], "layout": "NHWC"}, {"kind": "identity"})
    assert analyze(channels_last, resolution=28).input_shape == (1, 28, 28, 96)
    tokens = _spec({"shape": [1, 196, 768], "layout": "NLC"}, {"kind": "identity"})
    with pytest.raises(SpecError, match=r"\[1, 196, 768\] \(NLC\): it has no spatial axes"):
        analyze(tokens, resolution=14)


def test_shape_errors_name_the_layouts() -> None:
    spec = _spec({"shape": [1, 3, 224]}, {"kind": "conv", "out_channels": 8})
    with pytest.raises(SpecError, match=r"conv needs a \[N, C, H, W\] input \(NCHW\), got "
                                        r"\[1, 3, 224\] \(NCL\)"):
        analyze(spec)
    with pytest.raises(ShapeError, match=r"needs a \[N, C, D, H, W\] input \(NCDHW\), got "
                                         r"\[1, 64, 56, 56\] \(NCHW\)"):
        check_rank((1, 64, 56, 56), "NCDHW", "conv3d")


def test_layout_helpers() -> None:
    assert [default_layout(r) for r in (2, 3, 4, 5)] == ["NC", "NCL", "NCHW", "NCDHW"]
    assert spatial_axes("NHWC") == (1, 2) and spatial_axes("NLC") == () and defined("NCL") == 1
    # NDHWC: D, H, W are axes 1..3; set H, W to 7 (D 4 kept)
    assert with_spatial((1, 4, 14, 14, 8), "NDHWC", (4, 7, 7)) == (1, 4, 7, 7, 8)


def test_receptive_field_per_spatial_axis() -> None:
    # a BN on a video is pointwise in space: 3 axes of RF 1
    spec = _spec({"shape": [1, 3, 16, 112, 112]})
    rf = receptive_fields(analyze(spec).root, 3).output
    assert rf.size == (1, 1, 1) and not rf.whole


@pytest.mark.parametrize(("text", "shape"), [
    ("1x3x224x224", (1, 3, 224, 224)), ("2×3×32×64", (2, 3, 32, 64)), ("1x512", (1, 512)),
    ("1x3x16x112x112", (1, 3, 16, 112, 112)), ("1,1,8000", (1, 1, 8000)),
    ([1, 3, 8, 8], (1, 3, 8, 8)), ((1, 3), (1, 3)),
])
def test_one_parser_of_input_shapes(text: Any, shape: tuple[int, ...]) -> None:
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["224", "1x3x0x4", "1x3xax4", "1x3x224x224x1x1", "1x3x99999999x2",
                                  [1, True], (1.5, 3), "", None])
def test_bad_shapes_have_one_message(text: Any) -> None:
    with pytest.raises(SpecError) as info:
        parse_shape(text, "budgets[0].input")
    assert str(info.value).startswith("budgets[0].input: expected a shape like 1x3x224x224 "
                                      "(2 to 5 sizes, batch first, each 1 to 65,536), got ")


def test_named_inputs() -> None:
    assert parse_named("image2=1x3x8x8") == ("image2", (1, 3, 8, 8))
    assert parse_named("1x3x8x8") == ("input", (1, 3, 8, 8))
    assert parse_inputs(["image=1x3x8x8", "image2=1x3x4x4"]) == (
        ("image", (1, 3, 8, 8)), ("image2", (1, 3, 4, 4)))
    with pytest.raises(SpecError, match="--input: several inputs must each be named"):
        parse_inputs(["1x3x8x8", "image2=1x3x4x4"])
    with pytest.raises(SpecError, match="--input: input 'a' is given twice"):
        parse_inputs(["a=1x3x8x8", "a=1x3x4x4"])
    with pytest.raises(SpecError, match="--input: must be dotted words"):
        parse_named("no good=1x3x8x8")


def test_input_flag_takes_any_rank(tmp_path: Path) -> None:
    path = tmp_path / "video.yaml"
    path.write_text(json.dumps({"input": {"shape": [1, 3, 16, 32, 32]}, "layers": [{"kind": "bn"}]}))
    result = CliRunner().invoke(app, ["model", str(path), "--no-verify", "-f", "json",
                                      "--input", "2x3x8x16x16"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["input"] == [2, 3, 8, 16, 16]
    assert data["receptive_field"]["size"] == [1, 1, 1]  # d, h, w
