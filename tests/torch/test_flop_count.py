"""runtime/flop_count.py: FlopCounterMode's counts without importing torch._dynamo, and torch
left as it was found. Each case runs in a fresh interpreter (dynamo must not be imported yet)."""

from __future__ import annotations

import json
import sys

from tests.helpers import run

# Counts every zoo spec on the meta device (BatchNorm, hardtanh, ... decompose there and call
# functions torch wraps in _disable_dynamo), once through convcost's counter and once through
# the plain FlopCounterMode (which imports torch._dynamo), in that order.
SCRIPT = """
import json, sys
import torch
from torch.utils.flop_counter import FlopCounterMode
from convcost import analyze, load_spec
from convcost.runtime.build import build
from convcost.runtime.flop_count import flop_counter

def count(spec, counter):
    analysis = analyze(load_spec(spec))
    with torch.device("meta"):
        model = build(analysis).eval()
    with torch.no_grad(), counter() as c:
        model(torch.zeros(analysis.input_shape, device="meta"))
    return c.get_total_flops()

from convcost.runtime.verify import verify
checked = verify(analyze(load_spec("mobilenet_v2"), resolution=64))  # the real cross-check
lazy = sorted(m for m in ("torch._dynamo", "sympy") if m in sys.modules)  # before the meta device
specs = sys.argv[1:]
ours = [count(s, flop_counter) for s in specs]
dynamo_after_ours = "torch._dynamo" in sys.modules
theirs = [count(s, lambda: FlopCounterMode(display=False)) for s in specs]
import torch._dynamo
print(json.dumps({"checked": checked.ok, "lazy": lazy, "ours": ours, "theirs": theirs,
                  "dynamo_after_ours": dynamo_after_ours,
                  "real_dynamo": hasattr(torch._dynamo, "optimize")}))
"""


def test_counts_equal_flop_counter_mode_without_importing_dynamo() -> None:
    specs = ["mobilenet_v2", "resnet18", "shufflenet_v2_x1_0", "efficientnet_b0", "convnext_tiny"]
    done = run([sys.executable, "-c", SCRIPT, *specs])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["checked"] is True
    assert result["lazy"] == []  # the cross-check imports neither torch._dynamo nor sympy
    assert result["ours"] == result["theirs"]
    assert result["ours"][0] == 2 * 300_774_272  # mobilenet_v2: paper MACs 300,774,272 × 2
    assert result["dynamo_after_ours"] is False  # the counter did not import torch._dynamo
    assert result["real_dynamo"] is True  # and left no stand-in behind
