"""The front-end registry: which reader reads each kind of network argument, and what it
gives (no torch: the import readers are only matched here; tests/torch/test_import_cli.py
imports through them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from convcost.errors import ConvcostError, SpecError
from convcost.frontend.network import Reader
from convcost.frontend.registry import READERS, input_files, open_network, reader_for, relative_to

ARGUMENTS = [
    # argument, reader, imports
    ("git:HEAD~1:specs/net.yaml", "git", False),
    ("model.onnx", "onnx", True),
    ("exported/model.onnx", "onnx", True),
    ("torchvision:resnet18", "zoo", True),
    ("timm:resnet18(num_classes=3)", "zoo", True),
    ("models/unet.py:UNet(classes=2)", "python", True),
    ("pkg.nets:build", "python", True),
    ("mobilenet_v2", "builtin", False),  # a shipped spec, no file of that name here
    ("mobilenet_v2.yaml", "builtin", False),
    ("specs/mobilenet_v2.yaml", "yaml", False),  # an existing file
    ("no/such/spec.yaml", "yaml", False),  # the YAML reader says it does not exist
    ("not_a_builtin", "yaml", False),
]


@pytest.mark.parametrize(("arg", "reader", "imports"), ARGUMENTS)
def test_each_argument_has_one_reader(arg: str, reader: str, imports: bool) -> None:
    found = reader_for(arg)
    assert (found.name, found.imports) == (reader, imports)
    assert next(r.name for r in READERS if r.matches(arg)) == reader  # the first that matches


def test_an_existing_file_is_a_spec_even_with_a_colon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.py:Net").write_text("name: x\n")
    assert reader_for("net.py:Net").name == "yaml"
    assert reader_for("other.py:Net").name == "python"


def test_the_readers_are_ordered_and_the_last_takes_anything() -> None:
    assert [r.name for r in READERS] == ["git", "onnx", "zoo", "python", "builtin", "yaml"]
    assert READERS[-1].matches("") and READERS[-1].matches("anything at all")
    assert all(isinstance(r, Reader) and r.syntax for r in READERS)


def test_readers_name_their_tools() -> None:
    tools = {r.name: r.tools for r in READERS}
    assert tools["zoo"] == ("torch", "torchvision", "timm") and tools["onnx"] == ("onnx",)
    versions = reader_for("specs/mobilenet_v2.yaml").versions()
    assert list(versions) == ["PyYAML"] and versions["PyYAML"][0].isdigit()


def test_a_spec_file_and_a_builtin_read_the_same_network() -> None:
    by_name, by_file = open_network("mobilenet_v2"), open_network("specs/mobilenet_v2.yaml")
    assert (by_name.reader, by_file.reader) == ("builtin", "yaml")
    assert by_name.text == by_file.text and by_name.spec().name == by_file.spec().name
    assert by_name.file.endswith("mobilenet_v2.yaml") and not by_name.imported
    assert by_name.session is None and by_name.notes == ()


@pytest.mark.parametrize(("arg", "message"), [
    ("no/such/spec.yaml", "cannot read"),
    ("not_a_builtin", "nor a built-in spec"),
    ("git:-x:a.yaml", "is not a git revision"),
])
def test_unreadable_arguments_are_one_line_errors(arg: str, message: str) -> None:
    with pytest.raises((ConvcostError, SpecError), match=message) as info:
        open_network(arg)
    assert "\n" not in str(info.value)


def test_a_python_file_without_a_class_is_a_hint(tmp_path: Path) -> None:
    net = tmp_path / "net.py"
    net.write_text("import torch\nclass Net(torch.nn.Module):\n    pass\n")
    with pytest.raises(ConvcostError, match=r"name the model in it, e\.g\. .*net\.py:Net"):
        open_network(str(net))


@pytest.mark.parametrize(("arg", "files"), [
    ("net.py:Net(width=2)", ("net.py", "net.py:Net(width=2)")),
    ("model.onnx", ("model.onnx",)),
    ("torchvision:resnet18", ("torchvision:resnet18",)),
    ("specs/mobilenet_v2.yaml", ("specs/mobilenet_v2.yaml",)),
    ("net.py:Net(", ("net.py:Net(",)),  # malformed: the command says so
])
def test_input_files(arg: str, files: tuple[str, ...]) -> None:
    assert input_files(arg) == files


@pytest.mark.parametrize(("arg", "written"), [
    ("net.py:Net", "/b/net.py:Net"),  # a file source: relative to the budgets file
    ("m.onnx", "/b/m.onnx"),
    ("torchvision:resnet18", "torchvision:resnet18"),
    ("git:HEAD:a.yaml", "git:HEAD:a.yaml"),
    ("pkg.nets:Net", "pkg.nets:Net"),
    ("mobilenet_v2", "mobilenet_v2"),  # a built-in, no file of that name in /b
    ("nets/a.yaml", "/b/nets/a.yaml"),
])
def test_relative_to_a_budgets_file(arg: str, written: str) -> None:
    assert relative_to(arg, Path("/b")) == written
