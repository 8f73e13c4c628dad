"""Separable pairs follow the data path: a depthwise conv pairs with the 1×1 conv reading its output.

Squeeze-excitation is a side branch that only gates that output, so its 1×1 convs never pair.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import every_spec

import convcost
from convcost.net.analysis import separable_pairs, standard_equivalent

SPECS = Path(__file__).resolve().parents[2] / "specs"
SHIPPED = sorted(p.stem for p in SPECS.glob("*.yaml"))


@pytest.mark.parametrize("spec", every_spec(SHIPPED))
def test_every_pair_in_every_shipped_spec_meets_theory(spec: str) -> None:
    pairs = separable_pairs(convcost.analyze(convcost.load_spec(SPECS / f"{spec}.yaml")))
    for pair in pairs:
        assert pair.macs_ratio == pair.theory, pair.depthwise.name
        assert ".se." not in pair.pointwise.name


# Written out from the architecture tables, independently of convcost. Each pair is a
# depthwise K×K on `hidden` channels plus a 1×1 projection hidden -> out at output size s;
# the standard conv replacing it (K×K, hidden -> out) has one BN of `out` channels, so per pair
#   Δparams = hidden·out·K² - hidden·K² - hidden·out - 2·hidden   (dw BN 2·hidden goes)
#   ΔMACs   = s²·(hidden·out·K² - hidden·K² - hidden·out)
# summed over the blocks of torchvision's configs (stem stride 2: s starts at 112, and a
# block of stride 2 halves it: s = (s - 1) // 2 + 1), added to the network's own totals.
# V3-Large (k, hidden, out, stride): (3,16,16,1) (3,64,24,2) (3,72,24,1) (5,72,40,2)
#   (5,120,40,1)×2 (3,240,80,2) (3,200,80,1) (3,184,80,1)×2 (3,480,112,1) (3,672,112,1)
#   (5,672,160,2) (5,960,160,1)×2: 15 pairs; 5,483,032 + 11,728,632 params,
#   216,589,760 + 1,115,384,256 MACs.
# V3-Small: (3,16,16,2) (3,72,24,2) (3,88,24,1) (5,96,40,2) (5,240,40,1)×2 (5,120,48,1)
#   (5,144,48,1) (5,288,96,2) (5,576,96,1)×2: 11 pairs; 2,542,856 + 4,144,120 params,
#   56,510,400 + 353,605,952 MACs.
# EfficientNet-B0 (expand t, k, stride, in, out, blocks): (1,3,1,32,16,1) (6,3,2,16,24,2)
#   (6,5,2,24,40,2) (6,3,2,40,80,3) (6,5,1,80,112,3) (6,5,2,112,192,4) (6,3,1,192,320,1),
#   hidden = t·(block input): 16 pairs; 5,288,548 + 27,860,736 params,
#   385,814,752 + 2,638,443,808 MACs.
# ConvNeXt-T: each block's 7×7 depthwise (bias) → LayerNorm → Linear dim -> 4·dim (bias) per
#   position is a pair; its standard conv is 7×7 dim -> 4·dim with bias, no BN: per pair
#   Δparams = 196·dim² + 4·dim - (50·dim + 4·dim² + 4·dim) = 192·dim² - 50·dim and
#   ΔMACs = s²·(192·dim² - 49·dim); (dim, s, blocks): (96,56,3) (192,28,3) (384,14,9) (768,7,3):
#   18 pairs; 28,589,128 + 620,753,472 params, 4,455,531,264 + 99,778,049,280 MACs.
STANDARD_EQUIVALENT = [
    ("convnext_tiny", 18, 649_342_600, 104_233_580_544),
    ("mobilenet_v3_large", 15, 17_211_664, 1_331_974_016),
    ("mobilenet_v3_small", 11, 6_686_976, 410_116_352),
    ("efficientnet_b0", 16, 33_149_284, 3_024_258_560),
    # MobileNet paper Table 4 "Conv MobileNet": 29.3 M params, 4866 M mult-adds
    ("mobilenet_v1", 13, 29_294_088, 4_867_293_184),
]


@pytest.mark.parametrize(("spec", "pairs", "params", "macs"), STANDARD_EQUIVALENT)
def test_standard_equivalent_totals(spec: str, pairs: int, params: int, macs: int) -> None:
    eq = standard_equivalent(convcost.analyze(convcost.load_spec(SPECS / f"{spec}.yaml")))
    assert (eq.pairs, eq.params, eq.macs) == (pairs, params, macs)


def test_se_block_pairs_dw_with_project() -> None:
    pairs = separable_pairs(convcost.analyze(convcost.load_spec(SPECS / "efficientnet_b0.yaml")))
    assert [(p.depthwise.name, p.pointwise.name) for p in pairs[:2]] == [
        ("features.1.0.dw.conv", "features.1.0.project.conv"),
        ("features.2.0.dw.conv", "features.2.0.project.conv"),
    ]
