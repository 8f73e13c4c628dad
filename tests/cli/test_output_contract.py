"""The machine-readable output contract: JSON against its schema, tidy CSV, -o, --summary, --input."""

from __future__ import annotations

import csv
import functools
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import every_spec
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.report.output_schema import output_schema
from convcost.report.rows import BASE, MEMORY, RF, ROOFLINE, TRAINING, rf_flat

V2 = "mobilenet_v2"
SPECS = sorted((Path(__file__).resolve().parents[2] / "specs").glob("*.yaml"))
LAYER = ["layer", "--cin", "8", "--cout", "16", "--hw", "10"]
# every command that prints JSON without torch, with the flags that add figures
JSON_RUNS = {
    "model": ["model", V2, "--no-verify"],
    "model depth": ["model", V2, "--no-verify", "--depth", "1"],
    "model summary": ["model", V2, "--no-verify", "--summary"],
    "model flags": ["model", V2, "--no-verify", "--memory", "--training", "--roofline", "t4",
                    "--convention", "thop", "--flops"],
    "layer": LAYER,
    "layer flags": [*LAYER, "--memory", "--training", "--roofline", "a100", "--convention", "ptflops"],
    "conventions": ["conventions", V2],
    "check": ["check", "specs/", "--baseline", "convcost-baseline.json"],
    "check budgets": ["check", "mobilenet_v1", "--convention", "fvcore"],
    "sweep": ["sweep", V2, "--alpha", "1,0.5"],
    "sweep roofline": ["sweep", V2, "--alpha", "1,0.5", "--roofline", "t4"],
    "fit": ["fit", "mobilenet_v1", "--max-macs", "300M", "--alpha", "0.5,1", "--resolution", "128,224"],
    "list": ["list"],
    "diff": ["diff", V2, "tests/cli/data/mobilenet_v2_wide.yaml", "--fail-on-growth", "20%"],
    "diff all": ["diff", "mobilenet_v1", V2, "--all"],
}


def _run(argv: list[str]) -> str:
    result = CliRunner().invoke(app, argv, env={"GITHUB_ACTIONS": ""})
    assert result.exit_code == 0, result.output
    return result.stdout


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    """The output schema's validator, built once (``jsonschema.validate`` re-checks the schema
    against its meta-schema on every call: seconds each); the schema is checked once below."""
    return jsonschema.Draft202012Validator(output_schema())


def _validate(data: dict[str, Any]) -> None:
    _validator().validate(data)


def _json(argv: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_run([*argv, "--format", "json"]))
    return data


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])


@pytest.mark.parametrize("name", JSON_RUNS)
def test_json_validates_against_the_output_schema(name: str) -> None:
    data = _json(JSON_RUNS[name])
    _validate(data)
    assert data["schema_version"] == 1 and data["command"] == JSON_RUNS[name][0]


@pytest.mark.parametrize("spec", every_spec([path.stem for path in SPECS]))
def test_every_shipped_spec_meets_the_output_schema(spec: str) -> None:
    """Each shipped spec (the goldens hold three): its JSON, memory and training included, and
    its conventions JSON meet the output schema; the JSON's totals are the layers' sums."""
    data = _json(["model", f"specs/{spec}.yaml", "--no-verify", "--memory", "--training"])
    _validate(data)
    totals = data["totals"]
    assert data["model"] == spec and totals["flops"] == 2 * totals["macs"]
    assert data["memory"] is not None and data["training"] is not None
    assert sum(layer["macs"] for layer in data["layers"]) == totals["macs"]
    conventions = _json(["conventions", f"specs/{spec}.yaml"])
    _validate(conventions)
    assert conventions["conventions"][0]["total"] == totals["macs"]  # paper first


@pytest.mark.slow  # every spec through the CSV, table and Markdown renderers: make test
@pytest.mark.parametrize("spec", [path.stem for path in SPECS])
def test_every_shipped_spec_in_every_format(spec: str) -> None:
    """Each shipped spec's CSV has one row per leaf, as the JSON, summing to its totals; the
    table and the Markdown print its exact totals."""
    argv = ["model", f"specs/{spec}.yaml", "--no-verify", "--memory", "--training"]
    data = _json(argv)
    totals = data["totals"]
    _, rows, _ = _csv(argv)
    assert [row["name"] for row in rows] == [layer["name"] for layer in data["layers"]]
    assert sum(int(row["macs"]) for row in rows) == totals["macs"]
    assert sum(int(row["params"]) for row in rows) == totals["params"]
    table = _run([*argv, "--format", "table"])
    assert f"{totals['params']:,}" in table and f"{totals['macs']:,}" in table
    markdown = _run([*argv, "--format", "markdown"])
    assert f"| params | {totals['params']} |" in markdown and f"| MACs | {totals['macs']} |" in markdown


def test_schema_command_prints_the_output_schema() -> None:
    printed = json.loads(_run(["schema", "output"]))
    assert printed == output_schema()
    jsonschema.Draft202012Validator.check_schema(printed)
    spec = json.loads(_run(["schema"]))  # the default stays the spec format's schema
    assert "layers" in spec["properties"]


@pytest.mark.parametrize(("argv", "title"), [
    (["schema", "--output"], "convcost --format json"),  # the spelling: --output alone
    (["schema", "output"], "convcost --format json"),
    (["schema", "--output", "-h"], None),  # an option after it: still bare (help wins)
    (["schema"], "convcost network spec"),
    (["schema", "spec"], "convcost network spec"),
])
def test_schema_spellings(argv: list[str], title: str | None) -> None:
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    if title is None:
        assert "--output alone (no FILE) is `schema output`" in text
    else:
        assert json.loads(text)["title"].startswith(title)


@pytest.mark.parametrize(("argv", "title"), [
    (["schema", "--output", "FILE"], "convcost network spec"),  # --output FILE: as everywhere
    (["schema", "-o", "FILE"], "convcost network spec"),
    (["schema", "output", "--output", "FILE"], "convcost --format json"),
    (["schema", "--output", "-o", "FILE"], "convcost --format json"),
    (["schema", "--output=FILE"], "convcost network spec"),
])
def test_schema_output_with_a_file_writes_it(argv: list[str], title: str, tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    assert _run([str(target) if word == "FILE" else word.replace("FILE", str(target))
                 for word in argv]) == ""
    assert json.loads(target.read_text(encoding="utf-8"))["title"].startswith(title)


@pytest.mark.parametrize("argv", [["schema", "spec", "--output"], ["schema", "--output", "--output"]])
def test_schema_bare_output_and_another_which_is_one_error_line(argv: list[str]) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("convcost: error: --output: alone (no FILE) it picks the output schema: "
                             "give `schema output` or `schema --output`, not both; to write a file, "
                             "--output FILE\n")


def test_schema_rejects_a_missing_key() -> None:
    data = _json(JSON_RUNS["model"])
    del data["verify"]  # absent instead of null: not the contract
    with pytest.raises(jsonschema.ValidationError):
        _validate(data)


@pytest.mark.parametrize("command", ["model", "layer"])
def test_same_keys_on_every_run(command: str) -> None:
    plain, flagged = _json(JSON_RUNS[command]), _json(JSON_RUNS[f"{command} flags"])
    assert list(plain) == list(flagged)
    rows = "layers" if command == "model" else "variants"
    assert list(plain[rows][0]) == list(flagged[rows][0])
    assert plain["memory"] is None and plain["training"] is None  # not computed: null
    assert flagged["memory"] is not None and flagged["training"] is not None


def test_layers_are_always_the_leaves() -> None:
    full, cut = _json(JSON_RUNS["model"]), _json(JSON_RUNS["model depth"])
    assert full["layers"] == cut["layers"]
    assert len(full["layers"]) == 153  # mobilenet_v2's leaves, --depth or not
    assert {b["depth"] for b in cut["blocks"]} == {1}
    # depth-1 blocks plus top-level leaves partition the model: 300,774,272 MACs
    top = cut["blocks"] + [r for r in cut["layers"] if r["depth"] == 1]
    assert sum(r["macs"] for r in top) == 300_774_272


def _csv(argv: list[str]) -> tuple[list[str], list[dict[str, str]], str]:
    text = _run([*argv, "--format", "csv"])
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows, text


def _number(text: str) -> Any:
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


CSV_CASES = {
    "plain": ([], []),
    "memory": (["--memory"], [*MEMORY]),
    "training": (["--training"], [*TRAINING]),
    "convention": (["--convention", "thop"], ["thop_macs"]),
    "rf": (["--rf"], [*RF]),
    "all": (["--memory", "--roofline", "t4", "--training", "--convention", "fvcore", "--flops", "--rf"],
            ["fvcore_flops", *MEMORY, *ROOFLINE, *TRAINING, *RF]),
}


@pytest.mark.parametrize("case", CSV_CASES)
def test_model_csv_is_tidy_and_reads_back_as_the_json(case: str) -> None:
    flags, added = CSV_CASES[case]
    argv = ["model", V2, "--no-verify", *flags]
    header, rows, text = _csv(argv)
    # base columns first, the flags' columns appended: --memory never drops macs, nor --training params
    assert header == [*BASE, *added]
    assert all(column.isascii() for column in header)
    layers = _json(argv)["layers"]
    # one header, one row per leaf, no summary row, no blank line
    assert len(text.splitlines()) == 1 + len(layers) == 1 + 153
    assert "" not in text.splitlines()
    for row, layer in zip(rows, layers, strict=True):
        layer = {**layer, **rf_flat(layer["receptive_field"])}  # rf_size_h … from the field
        for column in header:
            key = "count" if column.endswith(("_macs", "_flops")) and column not in layer else column
            cell = row[column]  # out_shape: 32x112x112 (1280 after a flatten) for [32, 112, 112]
            value = [int(n) for n in cell.split("x")] if column == "out_shape" else _number(cell)
            assert value == layer[key], (row["name"], column)


def test_csv_has_no_torch_only_column() -> None:
    # the cross-check is in the JSON (`verify`); the CSV header is fixed whatever is installed
    header, _, _ = _csv(["model", V2, "--no-verify"])
    assert header == list(BASE)
    assert not any("torch" in column for column in header)


@pytest.mark.parametrize(("argv", "rows"), [
    (["conventions", V2], 6),  # paper, fvcore, thop, ptflops, torchinfo, torch
    (["sweep", V2, "--alpha", "1,0.5", "--resolution", "224,160"], 4),  # 2 α × 2 resolutions
    # every spec budgets params and macs; mobilenet_v1 also activations and max_layer_share
    (["check", "specs/"], len(SPECS) * 2 + 2),
    (["list"], len(SPECS)),  # the shipped specs
    ([*LAYER, "--memory"], 4),  # the four variants
])
def test_every_csv_is_one_tidy_table(argv: list[str], rows: int) -> None:
    header, parsed, text = _csv(argv)
    assert len(parsed) == rows and len(text.splitlines()) == rows + 1
    assert all(column.isascii() and column == column.lower() for column in header)


def test_conventions_csv_reads_back_as_the_json() -> None:
    _, rows, _ = _csv(["conventions", V2])
    data = _json(["conventions", V2])["conventions"]
    for row, entry in zip(rows, data, strict=True):
        assert {k: _number(v) for k, v in row.items()} == {k: entry[k] for k in row}
    # MobileNet V2: 300,774,272 paper MACs; thop 327,552,896 (README table: 327.55 M)
    assert (rows[0]["total"], rows[2]["name"]) == ("300774272", "thop")


# every command writes through cli/emit.py's emit(items, output): the fast loop proves it on
# model's table and JSON, a layer table and the schema; make test on each other command and
# format too (check and list analyse every shipped spec twice: ~0.7 s of CPU each)
@pytest.mark.parametrize(("argv", "fmt"), [
    (["model", V2, "--no-verify"], "table"), (["model", V2, "--no-verify"], "json"),
    (LAYER, "table"), (["schema", "output"], None),
    *(pytest.param(argv, fmt, marks=pytest.mark.slow) for argv, fmt in [
        (["model", V2, "--no-verify"], "csv"), (["model", V2, "--no-verify"], "markdown"),
        (["conventions", V2], "csv"), (["sweep", V2], "json"), (["check", "specs/"], "table"),
        (["list"], "markdown")]),
])
def test_output_file_holds_what_stdout_would(argv: list[str], fmt: str | None, tmp_path: Path) -> None:
    args = [*argv, *(["--format", fmt] if fmt else [])]
    target = tmp_path / "out.txt"
    written = CliRunner().invoke(app, [*args, "-o", str(target)], env={"GITHUB_ACTIONS": ""})
    assert written.exit_code == 0, written.output
    assert written.stdout == ""
    assert target.read_text(encoding="utf-8") == _run(args)


def test_output_to_a_directory_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["list", "--output", str(tmp_path / "no" / "such.txt")])
    assert result.exit_code == 2
    assert result.stderr.startswith("convcost: error: --output: cannot write ")
    assert result.stderr.count("\n") == 1


def test_summary_prints_totals_only() -> None:
    text = _run(["model", V2, "--no-verify", "--summary"])
    assert "3,504,872" in text and "300,774,272" in text  # params, MACs
    assert "stage" not in text and "layer class" not in text  # no per-layer or by-kind tables
    data = _json(["model", V2, "--no-verify", "--summary"])
    assert data["layers"] is None and data["totals"]["macs"] == 300_774_272
    _, rows, _ = _csv(["model", V2, "--no-verify", "--summary"])
    assert rows == [{"name": "mobilenet_v2", "inputs": "input=1x3x224x224", "params": "3504872",
                     "macs": "300774272", "flops": "601548544", "complete": "True", "uncounted": ""}]


# `--summary` on every command that prints totals; what it leaves out, what it keeps.
SUMMARIES = [
    # conv 8->16, k3, 10x10: standard 8*16*9*100 = 115,200 MACs; separable 8*9*100 + 8*16*100
    # = 7,200 + 12,800 = 20,000; the notes (theory, reduction) go, the four variant rows stay
    (LAYER, ["115200", "20000"], ["theory", "reduction"]),
    ([*LAYER, "--training"], ["345600"], ["grad-input = grad-weight"]),  # 3 * 115,200
    # mobilenet_v1 at α 1 and 0.5: 568,740,352 and 149,497,088 MACs; the α × resolution grid goes
    (["sweep", "mobilenet_v1", "--alpha", "1,0.5"], ["568740352", "149497088"],
     ["million mult-adds by"]),
    (["model", V2, "--no-verify"], ["300774272", "3504872"], ["stage", "layer class"]),
    # thop: 300,774,272 + 26,776,448 (the op classes it adds) = 327,550,720; the by-class gaps go
    (["conventions", V2], ["300774272", "327550720"], ["gap to paper by op class"]),
    (["check", "mobilenet_v1"], ["PASS (1 model, 0 over budget)"], ["| metric |"]),
]


@pytest.mark.parametrize(("argv", "kept", "gone"), SUMMARIES)
def test_summary_keeps_the_totals_in_tables(argv: list[str], kept: list[str], gone: list[str]) -> None:
    full = _run([*argv, "--format", "markdown"])
    short = _run([*argv, "--format", "markdown", "--summary"])
    assert all(text in short and text in full for text in kept), short
    assert all(text in full and text not in short for text in gone), short
    assert len(short) < len(full)


@pytest.mark.parametrize("argv", [LAYER, [*LAYER, "--memory", "--roofline", "t4"],
                                  ["sweep", "mobilenet_v1", "--alpha", "1,0.5"]])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_summary_of_totals_only_output_is_the_same_document(argv: list[str], fmt: str) -> None:
    """layer and sweep print totals only (a row per variant, per grid point): JSON and CSV
    under --summary are the same documents (docs/output.md)."""
    assert _run([*argv, "--format", fmt, "--summary"]) == _run([*argv, "--format", fmt])


@pytest.mark.parametrize("command", ["model", "layer", "conventions", "check", "sweep", "bench",
                                     "diff"])
def test_every_command_with_totals_takes_summary(command: str) -> None:
    result = CliRunner().invoke(app, [command, "-h"], env={"COLUMNS": "200"})
    assert "--summary" in result.stdout and "print the totals only" in result.stdout


@pytest.mark.parametrize(("flags", "shape", "macs"), [
    # standard_cnn: conv 3->32 k3 s2 then conv 32->64 k3 on (H/2)×(W/2):
    # (32*3*9 + 64*32*9) * (H/2)(W/2) = 19,296 * 160 * 120 = 370,483,200; batch 2 doubles it
    (["--input", "2x3x320x240"], [2, 3, 320, 240], 740_966_400),
    (["--height", "320", "--width", "240"], [1, 3, 320, 240], 370_483_200),
    (["--height", "320"], [1, 3, 320, 224], 19_296 * 160 * 112),  # width from the spec
    (["--width", "240", "--batch", "3"], [3, 3, 224, 240], 3 * 19_296 * 112 * 120),
])
def test_input_shape_overrides(flags: list[str], shape: list[int], macs: int) -> None:
    data = _json(["model", "standard_cnn", "--no-verify", *flags])
    assert data["input"] == shape and data["totals"]["macs"] == macs


@pytest.mark.parametrize(("flags", "message"), [
    (["--input", "1x3x224x224x1x1"], "--input: expected a shape like 1x3x224x224 (2 to 5 sizes, batch first, "
     "each 1 to 65,536), got '1x3x224x224x1x1'"),
    (["--input", "1x3x0x4"], "--input: expected a shape like 1x3x224x224"),
    (["--input", "1x3x8x8", "--batch", "2"], "--input: give --input, or --height / --width / --batch"),
    (["--height", "8", "--resolution", "8"], "--resolution: give --resolution, or --input"),
    (["--height", "0"], "--height: must be a positive integer, got 0"),
])
def test_bad_input_shape(flags: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["model", "standard_cnn", "--no-verify", *flags])
    assert result.exit_code == 2
    assert result.stderr == f"convcost: error: {message}" + result.stderr[len(message) + 17:]
    assert result.stderr.count("\n") == 1
