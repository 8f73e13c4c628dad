"""Output paths never lose the user's file (issue 24, "Output paths").

* An output path that is one of the command's inputs is refused before any work (exit 2, one
  line), compared as files: the same path spelled otherwise, or through a symlink.
* ``import -o`` onto an existing file needs ``--force``.
* Every ``-o`` is a temporary file renamed onto the target: a failed write leaves the old file,
  and concurrent writers leave one complete file.

Each refusal runs in a child process, measured: exit code, one stderr line without a
traceback, wall time and peak RSS (generous bounds: a loaded 2-core machine must not flake),
and the user's files byte for byte as before.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, measured, one_line_error
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.exit_codes import ExitCode

SPEC_TEXT = (ROOT / "specs" / "mobilenet_block.yaml").read_text()
SECONDS, RSS_MIB = 30.0, 400.0  # a refusal imports no torch: ~0.5 s and ~60 MiB idle


def _files(folder: Path) -> dict[str, str]:
    """Every file of ``folder`` and its subfolders (links as their target) with the digest of
    its bytes."""
    return {str(p.relative_to(folder)): (f"-> {os.readlink(p)}" if p.is_symlink()
                                         else hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_symlink() or p.is_file()}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A user's folder: a spec, a link to it, a budgets file, a model file and an ONNX file."""
    (tmp_path / "spec.yaml").write_text(SPEC_TEXT)
    (tmp_path / "link.yaml").symlink_to("spec.yaml")
    (tmp_path / "budgets.yaml").write_text("mobilenet_block: {params: 10M}\n")
    (tmp_path / "base.json").write_text('{"version": 1, "models": {}}\n')
    (tmp_path / "m.py").write_text("import torch\nNet = torch.nn.Identity\n")
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07not really onnx")
    (tmp_path / "hand.yaml").write_text("# my hand-written spec\n" + SPEC_TEXT)
    (tmp_path / "sub").mkdir()
    return tmp_path


REFUSED = {
    # argv (run in the folder) -> a fragment of the one error line
    "model -o its spec": (["model", "spec.yaml", "--no-verify", "-o", "spec.yaml"], "is an input"),
    "model -o the spec, spelled otherwise": (
        ["model", "spec.yaml", "--no-verify", "-o", "sub/../spec.yaml"], "is an input"),
    "model -o a link to its spec": (["model", "spec.yaml", "--no-verify", "-o", "link.yaml"],
                                    "is an input"),
    "model of a link -o the spec": (["model", "link.yaml", "--no-verify", "-o", "spec.yaml"],
                                    "is an input"),
    "calibrate -o its spec": (["calibrate", "spec.yaml", "-o", "spec.yaml"], "is an input"),
    "calibrate -o a missing folder": (["calibrate", "spec.yaml", "-o", "missing/x.yaml"],
                                      "cannot write into 'missing'"),
    "check -o its budgets": (["check", "spec.yaml", "budgets.yaml", "-o", "budgets.yaml"],
                             "is an input"),
    "check -o its baseline": (["check", "spec.yaml", "--baseline", "base.json", "-o",
                               "base.json"], "is an input"),
    "sweep --plot its spec": (["sweep", "spec.yaml", "--plot", "spec.yaml"], "is an input"),
    "import -o its ONNX file": (["import", "m.onnx", "-o", "m.onnx"], "is an input"),
    "import -o its model file": (["import", "m.py:Net", "-o", "m.py"], "is an input"),
    "import -o an existing spec": (["import", "m.onnx", "-o", "hand.yaml"],
                                   "the file exists; give --force"),
    "diff -o its second spec": (["diff", "spec.yaml", "hand.yaml", "-o", "hand.yaml"],
                                "is an input"),
    "report -o its spec": (["report", "spec.yaml", "-o", "spec.yaml"], "is an input"),
    "report -o its --against": (["report", "spec.yaml", "--against", "hand.yaml", "-o",
                                 "hand.yaml"], "is an input"),
    "fit --plot its spec": (["fit", "spec.yaml", "--max-macs", "1M", "--plot", "spec.yaml"],
                            "is an input"),
    "calibrate --lut -o its search space": (["calibrate", "--lut", "spec.yaml", "-o",
                                             "spec.yaml"], "is an input"),
    "model -o a NUL byte": (["model", "spec.yaml", "--no-verify", "-o", "a\x00b"], "NUL byte"),
    "diff of a NUL byte": (["diff", "spec.yaml", "a\x00b", "-o", "x.txt"], "NUL byte"),
    "import of a NUL byte": (["import", "a\x00b.onnx", "-o", "x.yaml"], "NUL byte"),
    "model -o a folder": (["model", "spec.yaml", "--no-verify", "-o", "sub"], "directory"),
    "model -o a missing folder": (["model", "spec.yaml", "--no-verify", "-o", "no/x.json"],
                                  "cannot write into 'no'"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_an_output_that_would_lose_a_file_is_refused_first(
        folder: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    argv, fragment = REFUSED[case]
    before = _files(folder)
    monkeypatch.chdir(folder)
    one_line_error(CliRunner().invoke(app, argv), ExitCode.BAD_INPUT, fragment)
    assert _files(folder) == before  # nothing written, nothing replaced, no temporary file


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(c for c in REFUSED if "\x00" not in "".join(REFUSED[c][0])))
def test_refusals_in_a_child_are_quick_and_small(folder: Path, case: str) -> None:
    argv, fragment = REFUSED[case]
    before = _files(folder)
    run = measured(argv, cwd=folder)
    one_line_error(run, ExitCode.BAD_INPUT, fragment)
    assert run.seconds < SECONDS and run.rss_mib < RSS_MIB, (run.seconds, run.rss_mib)
    assert _files(folder) == before  # nothing written, nothing replaced, no temporary file


def test_an_output_that_is_no_input_is_written(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                              ) -> None:
    monkeypatch.chdir(folder)
    run = CliRunner().invoke(app, ["model", "spec.yaml", "--no-verify", "-f", "csv", "-o",
                                   "sub/out.csv"])
    assert (run.exit_code, run.stderr) == (0, "")
    assert (folder / "sub" / "out.csv").read_text().startswith("name,parent,kind")
    assert sorted(p.name for p in (folder / "sub").iterdir()) == ["out.csv"]


@pytest.mark.slow
def test_output_through_a_link_replaces_its_target_and_keeps_the_link(folder: Path) -> None:
    (folder / "out.csv").write_text("old\n")
    (folder / "out-link.csv").symlink_to("out.csv")
    run = measured(["model", "spec.yaml", "--no-verify", "-f", "csv", "-o", "out-link.csv"],
                   cwd=folder)
    assert run.returncode == 0, run.stderr
    assert (folder / "out-link.csv").is_symlink()
    assert (folder / "out.csv").read_text().startswith("name,parent,kind")


@pytest.mark.slow
def test_output_to_dev_stdout_streams_into_a_redirected_file(folder: Path) -> None:
    """``-o /dev/stdout`` with stdout redirected to a file: written in place, not renamed over
    the redirected file (which a rename through /proc/self/fd would replace)."""
    log = folder / "log.txt"
    with log.open("w") as fh:
        code = subprocess.run([sys.executable, "-m", "convcost", "model", "spec.yaml",
                               "--no-verify", "--summary", "-o", "/dev/stdout"],
                              cwd=folder, stdout=fh, stderr=subprocess.PIPE, timeout=60).returncode
    assert code == 0
    assert "4,231,976" not in log.read_text() and "total" in log.read_text()


@pytest.mark.parametrize("fail", ["midway", "at the rename"])
def test_a_failed_write_leaves_the_old_file(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                            fail: str) -> None:
    old = folder / "out.json"
    old.write_text('{"old": true}\n')

    def half(out: Any, text: str) -> None:
        out.write(text[: len(text) // 2])
        raise OSError(28, "No space left on device")

    def no_rename(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    if fail == "midway":
        monkeypatch.setattr("convcost.cli.emit._put", half)
    else:
        monkeypatch.setattr("convcost.outfile.os.replace", no_rename)
    result = CliRunner().invoke(app, ["model", str(folder / "spec.yaml"), "--no-verify",
                                      "-f", "json", "-o", str(old)])
    one_line_error(result, ExitCode.BAD_INPUT, "No space left on device")
    assert old.read_text() == '{"old": true}\n'
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_import_force_replaces_an_existing_file_only_when_given(folder: Path) -> None:
    """The refusal comes before the import; with --force the import itself runs (here it
    fails on the fake ONNX file, and the hand-written spec is still there)."""
    forced = measured(["import", "m.onnx", "-o", "hand.yaml", "--force"], cwd=folder)
    assert "give --force" not in forced.stderr
    assert (folder / "hand.yaml").read_text().startswith("# my hand-written spec")


@pytest.mark.slow
def test_concurrent_writers_leave_one_complete_file(folder: Path) -> None:
    """Two commands writing the same -o at once, five times: the file is always one of the
    two complete outputs, never a mixture, and no temporary file is left."""
    big = ["model", "mobilenet_v2", "--no-verify", "-f", "json"]
    small = ["model", "spec.yaml", "--no-verify", "-f", "csv"]
    expected = {measured([*argv, "-o", name], cwd=folder).returncode or
                (folder / name).read_text() for argv, name in [(big, "a.json"), (small, "b.csv")]}
    assert len(expected) == 2 and all(isinstance(text, str) for text in expected)
    for _ in range(5):
        procs = [subprocess.Popen([sys.executable, "-m", "convcost", *argv, "-o", "same.out"],
                                  cwd=folder, stderr=subprocess.PIPE) for argv in (big, small)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
        assert (folder / "same.out").read_text() in expected
        assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
