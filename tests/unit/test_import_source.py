"""Model source strings: parsed with ast, never evaluated; bad ones are one-line errors."""

from __future__ import annotations

import pytest

from convcost.errors import ConvcostError
from convcost.frontend.registry import imports
from convcost.frontend.source import parse_source

GOOD = [
    # text, kind, location, name, kwargs
    ("torchvision:resnet34", "torchvision", "torchvision", "resnet34", {}),
    ("timm:mobilenetv3_large_100", "timm", "timm", "mobilenetv3_large_100", {}),
    ("models/unet.py:UNet(classes=2)", "file", "models/unet.py", "UNet", {"classes": 2}),
    ("pkg.nets:build(width=0.5, dims=[1, 2], act='relu', bn=True, extra=None)", "module",
     "pkg.nets", "build", {"width": 0.5, "dims": [1, 2], "act": "relu", "bn": True, "extra": None}),
    ("pkg.nets:Zoo.small", "module", "pkg.nets", "Zoo.small", {}),
    ("exported/model.onnx", "onnx", "exported/model.onnx", "", {}),
    ("torchvision:resnet18(num_classes=-3)", "torchvision", "torchvision", "resnet18", {"num_classes": -3}),
]


@pytest.mark.parametrize(("text", "kind", "location", "name", "kwargs"), GOOD)
def test_sources_parse(text: str, kind: str, location: str, name: str, kwargs: dict[str, object]) -> None:
    source = parse_source(text)
    assert (source.kind, source.location, source.name, dict(source.kwargs)) == (kind, location, name, kwargs)
    assert source.is_torch == (kind != "onnx")
    assert imports(text)


BAD = [
    ("model.py:Net(__import__('os').system('x'))", "give arguments as key=value only"),
    ("model.py:Net(k=__import__('os'))", "k= must be a literal"),
    ("model.py:Net(k=1+open)", "k= must be a literal"),
    ("model.py:Net(**kw)", "give arguments as key=value only"),
    ("model.py:Net(", "cannot parse"),
    ("model.py:1bad", "cannot parse"),
    ("model.py:a[0]", "is not a name"),
    ("specs/mobilenet_v1.yaml", "expected FILE.py:NAME"),
    ("a b:Net", "expected FILE.py:NAME"),
    ("x" * 1001 + ":Net", "at most 1000"),
    ("model.py:Net\x1b", "control characters"),
    ("some/dir:Net", "neither a .py file nor a dotted module name"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_sources_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ConvcostError, match=message.replace("(", r"\(")) as info:
        parse_source(text)
    assert "\n" not in str(info.value)


def test_specs_are_not_sources() -> None:
    assert not imports("specs/mobilenet_v1.yaml")


