"""Mistakes a user makes on the first day (issue 19 §4), each answered in one line that says
what to do, exit 2, no traceback, the user's files intact. torch is blocked: none of these needs
it, and a model source on a core-only install asks for the install command, never exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SPECS, blocked_env
from tests.hostile import assert_one_line, run_bounded, snapshot

NET = "from torch import nn\n\nclass Net(nn.Module):\n    pass\n\nclass Helper:\n    pass\n"

# (argv, fragment of the one stderr line)
CASES = [
    (["model", "net.py"], "net.py is Python code: name the model in it, e.g. net.py:Net "
                          "(classes in it: Net, Helper)"),
    (["model", "net:Net", "--no-verify"], "for the file ./net.py write net.py:Net"),
    (["model", "model.pt", "--no-verify"], "model.pt looks like a checkpoint"),
    (["check", "model.pt"], "model.pt looks like a checkpoint"),
    (["model", "weights", "--no-verify"], "weights is a binary file, not a YAML spec"),
    (["model", "mobilenet_v2", "--no-verify", "--latency-model", str(SPECS / "mobilenet_v2.yaml")],
     "a network spec, not a latency model"),
    (["model", "net.py:Net"], "importing a file model needs torch: pip install 'convcost[torch]'"),
    (["import", "torchvision:resnet18"], "needs torch: pip install 'convcost[torch]'"),
    (["check", "timm:resnet18"], "needs torch: pip install 'convcost[torch]'"),
]


@pytest.mark.parametrize(("argv", "fragment"), [  # a subprocess each: three in the fast loop
    *CASES[:3], *(pytest.param(*case, marks=pytest.mark.slow) for case in CASES[3:])],
    ids=lambda v: str(v)[:40])
def test_first_day_mistake_is_one_line(tmp_path: Path, argv: list[str], fragment: str) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "net.py").write_text(NET)
    (folder / "model.pt").write_bytes(b"PK\x03\x04" + bytes(range(256)))  # a zip, as torch.save writes
    (folder / "weights").write_bytes(b"\x08\x07\x12\x00" * 64)
    before = snapshot(folder)
    ran = run_bounded(argv, folder, blocked_env(tmp_path), timeout=60)
    line = assert_one_line(ran, 2, fragment)
    assert " line " not in line
    assert ran.rss < 500 * 2**20  # torch is never imported: well under 500 MiB
    assert snapshot(folder) == before
