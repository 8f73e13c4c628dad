"""Presentation of ``layer --attention``: conv, separable conv and self-attention at one input."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from convcost.net.attention_compare import MAX_SIDE, AttentionComparison, BlockCost
from convcost.report.render import Column, Report, View, human, percent, shape
from convcost.report.rows import tidy_csv

BYTES = 4  # float32 activations


def formulas(cmp: AttentionComparison) -> dict[str, str]:
    """Each block's MACs as a formula with this input's numbers, and the crossover rule."""
    cfg = cmp.config
    c, o, k, s = cfg.in_channels, cfg.out_channels, cfg.kernel, cfg.kv_stride
    down = f" + 2·N·C·Lk·9 (k, v dw 3×3 stride {s})" if s > 1 else ""
    return {
        "standard": "N·H·W·C·Cout·K²",
        "separable": "N·H·W·C·(K² + Cout)",
        "attention": "N·H·W·C·(C + Cout) (q, out) + 2·N·Lk·C² (k, v) + 2·N·H·W·Lk·C "
                     f"(q·kᵀ, a·v){down}; Lk = ⌈H/s⌉·⌈W/s⌉",
        "crossover": f"attention > standard when H·W > s²·(Cout·K² − 3C − Cout)/2 = "
                     f"{s * s}·({o}·{k * k} − {3 * c} − {o})/2 = "
                     f"{Fraction(s * s * (o * k * k - 3 * c - o), 2)}"
                     + ("" if s == 1 else " (≈: the ⌈H/s⌉ and downsampling terms aside)"),
    }


def _side(side: int | None) -> str:
    return f"> {MAX_SIDE}" if side is None else f"{side}×{side}"


def attention_report(cmp: AttentionComparison) -> Report:
    cfg, rows = cmp.config, cmp.rows
    std = rows["standard"].macs
    title = (f"conv vs self-attention {cfg.in_channels}→{cfg.out_channels}, k {cfg.kernel}×"
             f"{cfg.kernel}, input {shape(cfg.input_shape)}, {cfg.heads} heads, kv stride "
             f"{cfg.kv_stride}")
    columns = [
        Column("block", lambda r: r[0], justify="left"),
        Column("output C×H×W", lambda r: r[1].output_shape[1:], shape),
        Column("params", lambda r: r[1].params, human),
        Column("MACs", lambda r: r[1].macs, human),
        Column("MACs vs standard", lambda r: Fraction(r[1].macs, std), percent),
        Column("activations (B)", lambda r: BYTES * r[1].activations, human),
    ]
    f = formulas(cmp)
    notes = [f"tokens H·W = {cmp.tokens}, keys Lk = {cmp.key_tokens}"]
    notes += [f"{name}: MACs = {f[name]}" for name in ("standard", "separable", "attention")]
    notes += [f"activations (B) = every tensor the block writes, once, at {BYTES} B/element: "
              "attention's N·heads·H·W·Lk scores grow as the square of the tokens",
              f"crossover: {f['crossover']}",
              f"at H = W, attention costs more MACs than the standard conv from "
              f"{_side(cmp.crossover['standard'])}, than the separable conv from "
              f"{_side(cmp.crossover['separable'])}"]
    return Report(title, columns, list(rows.items()), notes)


def _row(name: str, block: BlockCost) -> dict[str, Any]:
    c, h, w = block.output_shape[1:]
    return {"name": name, "out_c": c, "out_h": h, "out_w": w, "params": block.params,
            "macs": block.macs, "flops": 2 * block.macs,
            "activation_bytes": BYTES * block.activations}


def attention_json(cmp: AttentionComparison) -> dict[str, Any]:
    cfg = cmp.config
    return {"config": {"in_channels": cfg.in_channels, "out_channels": cfg.out_channels,
                       "kernel": cfg.kernel, "input_shape": list(cfg.input_shape),
                       "heads": cfg.heads, "kv_stride": cfg.kv_stride, "tokens": cmp.tokens,
                       "key_tokens": cmp.key_tokens},
            "blocks": [_row(name, block) for name, block in cmp.rows.items()],
            "crossover": dict(cmp.crossover), "formulas": formulas(cmp)}


def attention_csv(cmp: AttentionComparison) -> str:
    rows = [{**_row(name, block), "crossover_side": cmp.crossover.get(name)}
            for name, block in cmp.rows.items()]
    return tidy_csv(rows, list(rows[0]), {})


def attention_output(cmp: AttentionComparison) -> View:
    """What ``convcost layer --attention`` prints."""
    return View("layer_attention", lambda: [attention_report(cmp)], lambda: attention_json(cmp),
                csv=lambda: attention_csv(cmp))
