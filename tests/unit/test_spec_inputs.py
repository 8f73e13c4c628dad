"""A spec's several named inputs (``inputs:``, issue 20 §1): loaded, read with ``from:``,
analysed (shapes, memory of every input, receptive field), overridden by ``--input NAME=SHAPE``
and named in the outputs; bad ones are one located line, exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import ROOT
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.cost.dataflow import layouts
from convcost.cost.memory import model_memory
from convcost.cost.receptive import receptive_fields
from convcost.net.analysis import analyze
from convcost.spec.inputs import parse_inputs
from convcost.spec.loader import Spec, load_spec

SIAMESE = ROOT / "specs" / "examples" / "siamese.yaml"

TWO = """\
name: two
inputs:
  image: {shape: [1, 3, 32, 32]}
  depth: {shape: [1, 1, 32, 32]}
layers:
  - {kind: conv, name: rgb, out_channels: 8, kernel_size: 3}
  - {kind: conv, name: d, from: depth, out_channels: 8, kernel_size: 3}
  - {kind: add, name: fuse, from: [rgb, d]}
"""


def test_the_siamese_example_reads_both_images() -> None:
    analysis = analyze(load_spec(SIAMESE))
    # stems: 16·3·3·3 = 432 params (shared: counted once), 16·32·32·27 = 442,368 MACs each;
    # fuse: 32·32·9 = 9,216 params, 32·16·16·288 = 2,359,296 MACs; head: 32·10 + 10 = 330, 320
    assert analysis.totals.params == 432 + 9_216 + 330
    assert analysis.totals.macs == 2 * 442_368 + 2_359_296 + 320
    assert [(i.name, i.shape, i.layout) for i in analysis.inputs] == [
        ("left", (1, 3, 64, 64), "NCHW"), ("right", (1, 3, 64, 64), "NCHW")]
    memory = model_memory(analysis.root)
    assert memory.input_bytes == 2 * 3 * 64 * 64 * 4  # both images, float32


def test_a_layer_reads_the_second_input_by_name() -> None:
    analysis = analyze(load_spec_text(TWO))
    by_name = {leaf.name: leaf for leaf in analysis.leaves()}
    assert by_name["d"].input_shape == (1, 1, 32, 32)  # the depth map, not the image
    assert by_name["d"].params == 8 * 1 * 9  # 72
    assert by_name["rgb"].params == 8 * 3 * 9  # 216
    assert model_memory(analysis.root).input_bytes == (3 + 1) * 32 * 32 * 4
    # the fused map's receptive field: the union of the two 3×3 windows, in pixels of either
    assert receptive_fields(analysis.root).output.size == (3, 3)
    assert set(layouts(analysis.root, ["NCHW", "NCHW"]).values()) == {"NCHW"}


def test_input_names_override_each_shape_and_resize_both() -> None:
    spec = load_spec_text(TWO)
    resized = analyze(spec.with_inputs(parse_inputs(["depth=1x1x16x16", "image=1x3x16x16"])))
    assert [i.shape for i in resized.inputs] == [(1, 3, 16, 16), (1, 1, 16, 16)]
    assert analyze(spec, resolution=64, batch=2).input_shapes == ((2, 3, 64, 64), (2, 1, 64, 64))


def load_spec_text(text: str, name: str = "two.yaml") -> Spec:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text)
        return load_spec(path)


ERRORS = [
    ("both forms", TWO.replace("name: two\n", "name: two\ninput: {shape: [1, 3, 8, 8]}\n"), 3,
     "inputs: give input: (one tensor) or inputs: (named tensors), not both"),
    ("unknown key", TWO.replace("depth: {shape:", "depth: {shap:"), 4,
     "inputs.depth.shap: unknown key (did you mean 'shape'?)"),
    ("bad name", TWO.replace("  depth:", "  2-depth:").replace("from: depth", "from: 2-depth"), 4,
     "inputs.2-depth: must be dotted words"),
    ("clash with a layer", TWO.replace("name: d,", "name: depth,").replace("from: [rgb, d]",
                                                                           "from: [rgb, depth]"),
     4, "inputs.depth: input 'depth' has the name of the layer at layers[1]"),
    ("unknown input", TWO.replace("from: depth", "from: deph"), 7,
     "layers[1].from: unknown layer 'deph' (did you mean 'depth'?)"),
    ("duplicate input", TWO.replace("  depth: {shape: [1, 1, 32, 32]}\n",
                                    "  depth: {shape: [1, 1, 32, 32]}\n  depth: {shape: [1, 1, 8, 8]}\n"),
     5, "duplicate key"),
    ("no input", TWO.replace("inputs:", "inptus:"), 2, "inptus: unknown key"),
]


@pytest.mark.parametrize(("case", "text", "line", "fragment"), ERRORS, ids=[c[0] for c in ERRORS])
def test_bad_inputs_are_one_located_line(case: str, text: str, line: int, fragment: str,
                                         runner: CliRunner, write_spec: Callable[[str], Path]) -> None:
    path = write_spec(text)
    result = runner.invoke(app, ["model", str(path), "--no-verify"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, lines
    assert lines[0].startswith(f"convcost: error: {path}:{line}: "), lines[0]
    assert fragment in lines[0], lines[0]


def test_an_unknown_input_name_on_the_command_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["model", str(SIAMESE), "--no-verify", "--input", "lfet=1x3x8x8"])
    assert result.exit_code == 2
    assert "the model has no input 'lfet' (its inputs: left, right)" in result.stderr


def test_the_outputs_name_every_input(runner: CliRunner) -> None:
    result = runner.invoke(app, ["model", str(SIAMESE), "--no-verify", "--format", "json",
                                 "--input", "left=1x3x32x32", "--input", "right=1x3x32x32"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inputs"] == [{"name": "left", "shape": [1, 3, 32, 32], "layout": "NCHW"},
                              {"name": "right", "shape": [1, 3, 32, 32], "layout": "NCHW"}]
    assert data["totals"]["macs"] == 2 * 16 * 16 * 16 * 27 + 32 * 8 * 8 * 288 + 320  # 811,328
    table = runner.invoke(app, ["model", str(SIAMESE), "--no-verify"])
    assert "siamese: inputs left 1×3×64×64, right 1×3×64×64" in table.stdout


def test_height_and_width_resize_every_image_input(runner: CliRunner) -> None:
    result = runner.invoke(app, ["model", str(SIAMESE), "--no-verify", "--height", "32"])
    assert result.exit_code == 0, result.output
    assert "siamese: inputs left 1×3×32×64, right 1×3×32×64" in result.stdout
