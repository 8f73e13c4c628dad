"""torch.export's autocast wrappers inlined. ``with torch.autocast(..., enabled=False):``
(EfficientViT's LiteMLA computes its linear attention in float32 so) is recorded as one
``wrap_with_autocast`` call of a sub-graph; its ops are the model's, read as any other (a cast
to the dtype a tensor has already, ``q.float()`` of a float, none).
torch is imported inside functions only.
"""

from __future__ import annotations

import operator
from typing import Any

WRAPPERS = frozenset({"wrap_with_autocast"})


def _same_dtype_cast(node: Any) -> bool:
    """``x.to(dtype)`` (``aten.to.dtype``) to the dtype ``x`` has: no op at all."""
    before = getattr(node.args[0], "meta", {}).get("val") if node.args else None
    after = node.meta.get("val")
    return str(node.target).startswith("aten.to.") and before is not None and after is not None \
        and before.dtype == after.dtype


def inline_wrappers(ep: Any) -> None:
    """Replace each autocast wrapper of ``ep``'s graph by the nodes of its sub-graph, in place;
    the tuple items read from the wrapper read the sub-graph's outputs."""
    gm = ep.graph_module
    graph = gm.graph
    for node in list(graph.nodes):
        if node.op != "call_function" or str(node.target) not in WRAPPERS:
            continue
        at = next(i for i, a in enumerate(node.args) if getattr(a, "op", "") == "get_attr")
        operands = iter(node.args[at + 1:])
        env: dict[Any, Any] = {}
        outputs: tuple[Any, ...] = ()
        with graph.inserting_before(node):
            for inner in getattr(gm, node.args[at].target).graph.nodes:
                if inner.op == "placeholder":
                    env[inner] = next(operands)
                elif inner.op == "output":
                    outputs = tuple(env[o] for o in inner.args[0])
                elif _same_dtype_cast(inner):  # q.float() of a float: q itself
                    env[inner] = env[inner.args[0]]
                else:
                    env[inner] = graph.node_copy(inner, env.__getitem__)
        for user in list(node.users):
            if user.target is operator.getitem:
                user.replace_all_uses_with(outputs[user.args[1]])
                graph.erase_node(user)
        if not node.users:
            graph.erase_node(node)
