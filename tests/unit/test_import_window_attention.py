"""timm's Swin V2-CR window attention, as torch.fx hands it over (q, k, v from an unbind whose
tuple no op reads), read whole by its class as one ``cosine_window_attention``: the pure back
end on a hand-built IR graph, its spec loaded and analysed. No torch."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_import_emit import SOURCE, Builder, _analysed

from convcost.runtime.importer.convert import to_spec
from convcost.runtime.importer.ir import IRNode, Shape, frozen


def _reshape(g: Builder, name: str, x: str, shape: Shape) -> str:
    g.nodes.append(IRNode(name, "reshape", "attn", (x,), shape, attrs=frozen({"shape": shape})))
    return name


def _attention(g: Builder) -> None:
    """One 4×4 window of 16 tokens, C = 8, 1 head, a 2 → 16 → 1 meta MLP over 16² pairs."""
    a = "attn"
    qkv = g.op("qkv", "linear", f"{a}.qkv", ("x",), (1, 16, 24), 216, in_features=8,
               out_features=24, bias=True)
    view = _reshape(g, "view", qkv, (1, 16, 3, 1, 8))
    perm = g.op("permute", "transpose", a, (view,), (3, 1, 1, 16, 8), dims=(2, 0, 3, 1, 4),
                permute=True)
    g.op("unbind", "unbind", a, (perm,), (1, 1, 16, 8), dim=0, shapes=((1, 1, 16, 8),) * 3)
    q, k, v = (g.op(f"getitem_{i}", "unbind", a, (perm,), (1, 1, 16, 8), dim=0, index=i)
               for i in range(3))
    nq, nk = (g.op(f"normalize_{t}", "opaque", a, (t,), (1, 1, 16, 8), target="F.normalize")
              for t in (q, k))
    kt = g.op("transpose", "transpose", a, (nk,), (1, 1, 8, 16), dims=(-2, -1))
    scores = g.op("matmul", "matmul", a, (nq, kt), (1, 1, 16, 16), other=(1, 1, 8, 16), fn="operator")
    scale = g.op("exp", "opaque", a, (g.op("clamp", "opaque", a, (), (1, 1, 1, 1), 1),),
                 (1, 1, 1, 1), target="Tensor.exp")
    scaled = g.op("mul", "mul", a, (scores, scale), (1, 1, 16, 16))
    fc1 = g.op("fc1", "linear", f"{a}.meta_mlp.fc1", (), (256, 16), 48, in_features=2,
               out_features=16, bias=True)
    fc2 = g.op("fc2", "linear", f"{a}.meta_mlp.fc2", (g.act(f"{a}.meta_mlp.act", fc1),),
               (256, 1), 17, in_features=16, out_features=1, bias=True)
    pairs = g.op("t", "transpose", a, (fc2,), (1, 256), dims=(1, 0))
    bias = _reshape(g, "unsqueeze", _reshape(g, "reshape", pairs, (1, 16, 16)), (1, 1, 16, 16))
    weights = g.op("softmax", "softmax", a, (g.op("add", "add", a, (scaled, bias), (1, 1, 16, 16)),),
                   (1, 1, 16, 16), dim=-1, form="method")
    out = g.op("matmul_1", "matmul", a, (weights, v), (1, 1, 16, 8), other=(1, 1, 16, 8), fn="operator")
    out = _reshape(g, "reshape_1", g.op("transpose_1", "transpose", a, (out,), (1, 16, 1, 8),
                                        dims=(1, 2)), (1, 16, 8))
    g.op("proj", "linear", f"{a}.proj", (out,), (1, 16, 8), 72, in_features=8, out_features=8,
         bias=True)


@pytest.mark.parametrize(("cls", "whole"), [("WindowMultiHeadAttention", True),
                                            ("WindowAttention", False)])
def test_timm_swin_v2_cr_attention_is_one_layer(cls: str, whole: bool) -> None:
    """By its class, the module is one layer; as swin_transformer_v2's class (whose MLP reads a
    coordinate table, not 16² pairs) it is not that kind: its ops are placed one by one, and
    what no kind says (the normalisation, the logit scale) stays opaque."""
    g = Builder((1, 16, 8))
    _attention(g)
    imported = to_spec(replace(g.graph(), classes=(("attn", cls),)), SOURCE)
    assert (imported.spec["layers"][0]["kind"] == "cosine_window_attention") is whole
    assert bool(imported.emitted.opaque) is not whole
    analysis = _analysed(imported)
    # params: qkv 8·24 + 24 = 216, logit scale 1, MLP 2·16 + 16 + 16 + 1 = 65, proj 72: 354
    assert analysis.totals.params == 354
    if whole:
        assert imported.spec["layers"] == [{"kind": "cosine_window_attention", "name": "attn",
                                            "heads": 1, "window": 4, "hidden": 16,
                                            "variant": "swinv2_cr"}]
        # T = 16: 4·16·8² + 2·16·16·8 + 16²·(2·16 + 16·1) = 4,096 + 4,096 + 12,288
        assert analysis.totals.macs == 20_480
