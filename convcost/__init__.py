"""convcost: exact FLOPs, MACs and parameters of convolutional networks.

The public API imports no torch::

    spec = convcost.load_spec("specs/mobilenet_v1.yaml")
    result = convcost.analyze(spec, alpha=0.5, resolution=160)
    result.totals.macs

and, given a torch ``nn.Module`` (torch imported then), the same analysis and the spec text::

    result = convcost.analyze(model, input_shape=(1, 3, 224, 224))   # or analyze(model, (x,))
    text = convcost.import_spec(model, input_shape=(1, 3, 224, 224))

Names are imported on first use (PEP 562), so ``convcost layer`` does not pay for the
spec loader and YAML.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Analysis": "net.analysis", "Cost": "cost.value", "analyze": "api", "import_spec": "api",
    "IncompleteWarning": "api",
    "Comparison": "net.compare", "LayerConfig": "net.compare", "compare": "net.compare",
    "layer_cost": "net.compare",
    "ConvcostError": "errors", "SpecError": "errors",
    "LayerCost": "cost.value",
    "Spec": "spec.loader", "load_spec": "spec.loader",
}

if TYPE_CHECKING:
    from convcost.api import IncompleteWarning, analyze, import_spec
    from convcost.cost.value import Cost, LayerCost
    from convcost.errors import ConvcostError, SpecError
    from convcost.net.analysis import Analysis
    from convcost.net.compare import Comparison, LayerConfig, compare, layer_cost
    from convcost.spec.loader import Spec, load_spec


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'convcost' has no attribute {name!r}")


__all__ = [
    "Analysis", "Comparison", "ConvcostError", "Cost", "IncompleteWarning", "LayerConfig",
    "LayerCost", "Spec", "SpecError", "analyze", "compare", "import_spec", "layer_cost", "load_spec",
]
