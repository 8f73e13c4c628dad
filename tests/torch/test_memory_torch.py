"""Memory against torch: peak activations under a dispatch mode, BN folding on the built model."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import ALL_SPECS, kind_sample, materialised
from helpers import analysis_of as _analysis

from convcost.cost.memory import model_memory


def _torch_peak(model: Any, x: Any) -> int:
    """Peak live activation bytes of the aten ops torch runs (an independent liveness walk).

    Every op's tensor arguments and results are recorded by storage. A result on the storage
    of one of the op's inputs is a view; any other result is a new tensor. A tensor is live
    from the op that makes it (the input: from the start) to the last op that reads it.
    """
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    def storages(tree: Any) -> list[tuple[int, int]]:
        return [(t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
                for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]

    ops: list[tuple[list[tuple[int, int]], list[tuple[int, int]]]] = []

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            ops.append((storages((args, kwargs)), storages(out)))
            return out

    weights = {p.untyped_storage().data_ptr() for p in [*model.parameters(), *model.buffers()]}
    with torch.no_grad(), Record():
        model(x)
    current = {x.untyped_storage().data_ptr(): 0}  # data pointer -> tensor id
    size, first, last = {0: x.untyped_storage().nbytes()}, {0: 0}, {0: 0}
    for i, (inputs, outputs) in enumerate(ops):
        for ptr, _ in inputs:
            if ptr in current and ptr not in weights:
                last[current[ptr]] = i
        read = {ptr for ptr, _ in inputs}
        for ptr, nbytes in outputs:
            if ptr in weights or nbytes == 0:
                continue
            if ptr in read and ptr in current:  # a view of an input
                last[current[ptr]] = i
                continue
            current[ptr] = tid = len(size)
            size[tid], first[tid], last[tid] = nbytes, i, i
    return max(sum(size[t] for t in size if first[t] <= i <= last[t]) for i in range(len(ops)))


def _small(name: str) -> int:
    """A small input the spec takes: Inception v3's unpadded stem needs 75 (as torchvision); M5
    reads 4,000 audio samples; a ViT's position embedding holds 224's 196 patches."""
    return {"inception_v3": 75, "m5_audio": 4000, "vit_b_16": 224, "mobilevit_xxs": 256,
            "ssdlite320": 320, "efficientformer_l1": 224}.get(name, 64)


def _small_case(param: Any) -> tuple[str, int, int]:
    name = param if isinstance(param, str) else param.values[0]
    return name, _small(name), 1


@pytest.mark.torch  # needs torch: deselected by the fast loop
@pytest.mark.parametrize(("name", "resolution", "batch"), [
    ("mobilenet_v2", 224, 1),  # the acceptance case, at full size
    ("mobilenet_v2", 96, 2),
    # make test: the specs that together hold every layer kind; make test-all: every spec
    *(pytest.param(*_small_case(param), marks=() if isinstance(param, str) else param.marks)
      for param in kind_sample([n for n in ALL_SPECS if n != "swin_t"]) if param != "mobilenet_v2"),
    pytest.param("swin_t", 64, 1, marks=[pytest.mark.exhaustive, pytest.mark.xfail(strict=True, reason=(
        "a known gap: the memory model has no transient tensors inside a leaf, and a window "
        "attention's qkv and scores outlive its input"))]),
])
def test_peak_activations_match_torch(name: str, resolution: int, batch: int) -> None:
    import torch

    analysis = _analysis(name, resolution=resolution, batch=batch)
    model = materialised(analysis)  # liveness depends on shapes only: no random init
    x = torch.zeros(*analysis.input_shape)
    assert model_memory(analysis.root).peak_bytes == _torch_peak(model, x)


def _torch_folded_params(model: Any, x: Any) -> tuple[int, Any, Any]:
    """Params after folding every BN that reads a conv's output (found by forward hooks),
    with torch's fuse_conv_bn_eval; and the model's output before and after folding."""
    import torch
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    # each conv's output is kept alive with it: a freed tensor's id may be reused by a later
    # tensor (DenseNet's concat), which must not read as that conv's output
    produced: dict[int, tuple[nn.Module, Any]] = {}
    pairs: list[tuple[nn.Module, nn.Module]] = []

    def hook(module: nn.Module, args: Any, out: Any) -> None:
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) and id(args[0]) in produced:
            pairs.append((produced[id(args[0])][0], module))
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            produced[id(out)] = (module, out)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        before = model(x)
    for handle in handles:
        handle.remove()
    folded = {id(m) for pair in pairs for m in pair}
    params = sum(p.numel() for m in model.modules() if id(m) not in folded
                 for p in m.parameters(recurse=False))
    with torch.no_grad():
        for conv, bn in pairs:
            fused = fuse_conv_bn_eval(conv, bn)
            params += sum(p.numel() for p in fused.parameters())
            conv.weight, conv.bias = fused.weight, fused.bias
            bn.forward = lambda t: t  # type: ignore[method-assign]
        after = model(x)
    return params, before, after


@pytest.mark.torch  # needs torch: deselected by the fast loop
@pytest.mark.parametrize("name", kind_sample(ALL_SPECS))  # make test-all: every spec
def test_fused_bn_params_match_torch_folding(name: str) -> None:
    import torch

    from convcost.runtime.build import build

    analysis = _analysis(name, resolution=_small(name))
    with torch.device("meta"):  # params depend on shapes only: vgg16 needs no weights at all
        model = build(analysis).eval()
        params, _, _ = _torch_folded_params(model, torch.empty(*analysis.input_shape))
    fused = model_memory(analysis.root, fuse_bn=True)
    assert fused.params == params
    assert fused.macs == analysis.totals.macs  # paper convention: bias adds no MACs


@pytest.mark.torch  # needs torch: deselected by the fast loop
@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet18", "shufflenet_v2_x1_0"])
def test_bn_folding_keeps_the_output(name: str) -> None:
    import torch

    from convcost.runtime.build import build

    analysis = _analysis(name, resolution=64)
    torch.manual_seed(0)
    model = build(analysis).eval()
    for module in model.modules():  # non-trivial running statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    params, before, after = _torch_folded_params(model, torch.randn(*analysis.input_shape))
    assert params == model_memory(analysis.root, fuse_bn=True).params
    assert torch.allclose(before, after, rtol=1e-4, atol=1e-4)  # the folding is real


