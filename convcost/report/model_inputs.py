"""What the ``model`` views say of the inputs and of each output's shape: the heading (every
named input), the output column (sizes of any rank, the axes when not the input's), the
``inputs`` JSON and the layouts of the rows. Pure: no torch."""

from __future__ import annotations

from typing import Any

from convcost.cost.dataflow import layouts
from convcost.cost.graph import Node
from convcost.cost.layout import default_layout
from convcost.net.analysis import Analysis
from convcost.report.render import Column, shape


def heading(analysis: Analysis) -> str:
    """``mobilenet_v1: input 1×3×224×224, α = 1``; named inputs each with its name
    (``siamese: inputs left 1×3×64×64, right 1×3×64×64, α = 1``)."""
    if analysis.named_inputs:
        names = ", ".join(f"{i.name} {shape(i.shape)}" for i in analysis.inputs)
        return f"{analysis.model}: input{'s' * (len(analysis.inputs) > 1)} {names}, α = {analysis.alpha:g}"
    return f"{analysis.model}: input {shape(analysis.input_shape)}, α = {analysis.alpha:g}"


def row_layouts(analysis: Analysis) -> dict[int, str]:
    """The layout of every node's output, by ``id`` (:func:`convcost.cost.dataflow.layouts`)."""
    return layouts(analysis.root, [i.layout for i in analysis.inputs])


def output_column(analysis: Analysis, node_of: Any) -> Column:
    """``output C×H×W``: each row's output sizes after the batch, of any rank, with its axes
    when they are neither the input's nor (for a channels-first input) channels-first: tokens
    after a ViT's patch embedding show ``196×768 LC``; a flattened ``1024`` stays plain."""
    read = row_layouts(analysis)
    first = analysis.layout == default_layout(len(analysis.layout))

    def output(node: Node) -> str:
        rank = len(node.output_shape)
        layout = read.get(id(node), default_layout(rank))
        plain = layout == analysis.layout or (first and layout == default_layout(rank))
        return shape(node.output_shape[1:]) + ("" if plain else f" {layout[1:]}")

    return Column(f"output {'×'.join(analysis.layout[1:])}", lambda row: output(node_of(row)))


def inputs_json(analysis: Analysis) -> list[dict[str, Any]]:
    """Every input: its name (``input`` unless named), shape and layout."""
    return [{"name": i.name, "shape": list(i.shape), "layout": i.layout} for i in analysis.inputs]
