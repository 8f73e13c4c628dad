"""The issue-12 specs that equal a torchvision model: the table both test sets read."""

from __future__ import annotations

# (spec, torchvision builder, its keyword arguments, resolution (or the whole input shape),
# params, paper MACs):
# params = sum(p.numel()), MACs = FlopCounterMode FLOPs / 2 (on the math attention path), as
# measured on torchvision 0.28
TORCHVISION_SPECS: list[tuple[str, str, dict[str, object], int | tuple[int, ...], int, int]] = [
    ("regnet_y_400mf", "regnet_y_400mf", {}, 224, 4_344_144, 401_842_848),
    ("efficientnet_v2_s", "efficientnet_v2_s", {}, 224, 21_458_488, 2_849_895_872),
    ("squeezenet1_1", "squeezenet1_1", {}, 224, 1_235_496, 349_151_936),
    ("deeplabv3_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large",
     {"weights": None, "weights_backbone": None, "aux_loss": False}, 520, 11_025_477,
     10_436_350_688),
    ("densenet121", "densenet121", {}, 224, 7_978_856, 2_834_161_664),
    ("convnext_tiny", "convnext_tiny", {}, 224, 28_589_128, 4_455_531_264),
    ("googlenet", "googlenet", {"aux_logits": False, "init_weights": False}, 224,
     6_624_904, 1_498_376_192),
    ("inception_v3", "inception_v3", {"aux_logits": False, "init_weights": False}, 299,
     23_834_568, 5_713_216_096),
    ("r3d_18", "r3d_18", {}, (1, 3, 16, 112, 112), 33_371_472, 40_696_553_472),  # a video clip
    # MACs on the math attention path (math SDPA backend, MHA fast path off: runtime/flop_count)
    ("vit_b_16", "vit_b_16", {}, 224, 86_567_656, 17_563_828_224),
    ("swin_t", "swin_t", {}, 224, 28_288_354, 4_490_566_656),  # no SDPA: any path
]

# (spec, timm model name, input shape, params, paper MACs): params = sum(p.numel()), MACs =
# FlopCounterMode FLOPs / 2 on the math attention path, as measured on timm 1.0.31
TIMM_SPECS: list[tuple[str, str, tuple[int, ...], int, int]] = [
    ("mobilevit_xxs", "mobilevit_xxs", (1, 3, 256, 256), 1_272_024, 407_364_096),
    ("efficientformer_l1", "efficientformer_l1", (1, 3, 224, 224), 12_289_928, 1_291_284_736),
]

# (spec, torchvision detector, input shape, params, paper MACs): recorded as the model ran on
# zeros (issue 20 §5), post-processing a zero-MAC `recorded` layer; params = sum(p.numel()),
# MACs = FlopCounterMode FLOPs / 2 on that run, as measured on torchvision 0.28
DETECTOR_SPECS: list[tuple[str, str, tuple[int, ...], int, int]] = [
    ("ssdlite320", "ssdlite320_mobilenet_v3_large", (1, 3, 320, 320), 3_440_060, 583_171_904),
]
