"""The onnxruntime kernel rules (:func:`convcost.net.kernels.detect` with ``"onnxruntime"``)
against onnxruntime's own optimised graph: each hand-built network is exported as the
``--backend onnxruntime`` timing exports it, optimised with every graph optimisation on, and
the nodes it really runs are compared, one for one, with the detected kernels: class, a fused
activation, a fused residual add.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import pytest

from convcost.cost.ops import Activation
from convcost.cost.ops.merge import Add
from convcost.net.analysis import analyze
from convcost.net.kernels import detect
from convcost.spec.loader import parse_spec

LAYOUT = frozenset({"ReorderInput", "ReorderOutput", "Flatten", "Reshape", "Identity"})  # no kernel
POOLS = frozenset({"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"})


def analysis(layers: list[dict[str, Any]], channels: int) -> Any:
    return analyze(parse_spec({"name": "t", "input": {"channels": channels, "resolution": 16},
                               "layers": layers}))


def ort_nodes(layers: list[dict[str, Any]], tmp: Path, channels: int = 16) -> list[tuple[str, bool, bool]]:
    """``(class, fused activation, fused add)`` of every node onnxruntime runs, in order."""
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    import torch

    from convcost.runtime.build import build

    a = analysis(layers, channels)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(build(a).eval(), (torch.randn(*a.input_shape),), buffer, dynamo=False)
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp / "optimised.onnx")
    options.log_severity_level = 3
    ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
    out: list[tuple[str, bool, bool]] = []
    for node in onnx.load(options.optimized_model_filepath).graph.node:
        attrs = {x.name: x for x in node.attribute}
        op = node.op_type
        if op in LAYOUT:
            continue
        if op == "Mul" and out and out[-1][0] == "HardSigmoid":  # hardswish, decomposed: one kernel
            out[-1] = ("elementwise", False, False)
            continue
        if op in ("Conv", "FusedConv"):
            cls = "dwconv" if attrs.get("group") is not None and attrs["group"].i > 1 else "conv"
            out.append((cls, "activation" in attrs, len(node.input) > 3))  # X, W, B, Sum
        elif op in ("Gemm", "FusedGemm"):
            out.append(("linear", "activation" in attrs, False))
        else:
            kind = "pool" if op in POOLS else "add" if op == "Add" else "HardSigmoid" if op == "HardSigmoid" \
                else "elementwise"
            out.append((kind, False, False))
    return [("elementwise" if c == "HardSigmoid" else c, act, add) for c, act, add in out]


def ours(layers: list[dict[str, Any]], channels: int = 16) -> list[tuple[str, bool, bool]]:
    a = analysis(layers, channels)
    return [(k.kernel_class, any(isinstance(g.op, Activation) for g in k.groups[1:]),
             k.kernel_class != "add" and any(isinstance(g.op, Add) for g in k.groups))
            for k in detect(a.root, "onnxruntime")]
CONV = {"kind": "conv", "out_channels": 16, "kernel_size": 3, "bn": True}
APART = [("conv", False, False), ("elementwise", False, False)]  # a conv, then its activation
CASES = [
    # (case, layers, what onnxruntime runs)
    ("conv+bn+relu: one conv, relu fused", [{**CONV, "act": "relu"}], [("conv", True, False)]),
    ("conv+bn+relu6: Clip fused", [{**CONV, "act": "relu6"}], [("conv", True, False)]),
    ("conv+bn+sigmoid: fused", [{**CONV, "act": "sigmoid"}], [("conv", True, False)]),
    ("conv+bn+hardswish: not fused", [{**CONV, "act": "hardswish"}], APART),
    ("conv+bn+silu: not fused", [{**CONV, "act": "silu"}], APART),
    ("conv+bn+gelu: not fused", [{**CONV, "act": "gelu"}], APART),
    ("dw+bn+relu", [{"kind": "dwconv", "bn": True, "act": "relu"}], [("dwconv", True, False)]),
    ("dw+bn+hardswish", [{"kind": "dwconv", "bn": True, "act": "hardswish"}],
     [("dwconv", False, False), ("elementwise", False, False)]),
    ("resnet block: the add and its relu fold into the second conv",
     [{**CONV, "name": "stem", "act": "relu"}, {**CONV, "name": "c1", "act": "relu"}, {**CONV, "name": "c2"},
      {"kind": "add", "name": "s", "from": ["stem", "c2"]}, {"kind": "act", "fn": "relu"}],
     [("conv", True, False), ("conv", True, False), ("conv", True, True)]),
    ("12 channels: no NCHWc conv, the add stays apart",
     [{**CONV, "name": "a", "out_channels": 12}, {"kind": "add", "from": ["a", "a"]}],
     [("conv", False, False), ("add", False, False)]),
    ("a lone add and its relu: two kernels",
     [{"kind": "add", "from": ["input", "input"]}, {"kind": "act", "fn": "relu"}],
     [("add", False, False), ("elementwise", False, False)]),
    ("max pool", [{"kind": "pool", "op": "max", "kernel_size": 3, "stride": 2}], [("pool", False, False)]),
    ("global pool, flatten, linear+relu: relu fused into the Gemm",
     [{"kind": "pool", "op": "avg", "global": True}, {"kind": "flatten"},
      {"kind": "linear", "out_features": 10}, {"kind": "act", "fn": "relu"}],
     [("pool", False, False), ("linear", True, False)]),
    ("linear+relu6: Clip not fused into a Gemm",
     [{"kind": "flatten"}, {"kind": "linear", "out_features": 10}, {"kind": "act", "fn": "relu6"}],
     [("linear", False, False), ("elementwise", False, False)]),
    ("a lone BN", [{"kind": "bn"}], [("elementwise", False, False)]),
]


@pytest.mark.parametrize(("case", "layers", "want"), CASES, ids=[c[0] for c in CASES])
def test_ort_runs_the_detected_kernels(case: str, layers: list[dict[str, Any]],
                                       want: list[tuple[str, bool, bool]], tmp_path: Path) -> None:
    assert ort_nodes(layers, tmp_path) == want
    assert ours(layers) == want
