"""``convcost import`` and model sources in the other commands, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.errors import MissingDependencyError
from convcost.runtime.importer.resolve import import_torchvision
from convcost.spec.loader import load_spec

MODELS = "tests/torch/import_models.py"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    try:
        import_torchvision()
    except MissingDependencyError as err:
        pytest.skip(str(err))
    return CliRunner()


def test_import_writes_a_readable_spec(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "mv2.yaml"
    result = runner.invoke(app, ["import", "torchvision:mobilenet_v2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "imported torchvision:mobilenet_v2 with torch.fx: 23 layers, 0 opaque" in result.stderr
    text = out.read_text()
    assert text.startswith("# Imported by convcost") and "input 1x3x224x224, read with torch.fx" in text
    assert "torch 2." in text.splitlines()[1] and "torchvision 0." in text.splitlines()[1]
    spec = load_spec(out)
    # 1 stem conv unit + 17 inverted residuals + head conv + pool, flatten, dropout, linear
    assert [layer.kind for layer in spec.layers].count("inverted_residual") == 17
    assert spec.layers[0].name == "features.0" and spec.layers[-1].name == "classifier.1"


def test_model_source_is_cross_checked_against_the_original(runner: CliRunner) -> None:
    result = runner.invoke(app, ["model", "torchvision:resnet18", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["params"] == 11_689_512 and data["totals"]["macs"] == 1_814_073_344
    assert data["verify"]["ok"] and data["verify"]["tools"].startswith("the original torchvision:resnet18")
    assert data["verify"]["totals"]["flop_counter_flops"] == 2 * 1_814_073_344


def test_strict_refuses_what_the_spec_cannot_express(runner: CliRunner) -> None:
    result = runner.invoke(app, ["import", f"{MODELS}:Inexpressible", "--input", "1x3x8x8", "--strict"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--strict" in lines[0] and "cumsum" in lines[0]


def test_a_flat_input_imports_with_its_shape(runner: CliRunner) -> None:
    result = runner.invoke(app, ["import", "torch.nn:Linear(in_features=3, out_features=2)",
                                 "--input", "1x3"])
    assert result.exit_code == 0, result.output
    assert "input: {shape: [1, 3]}" in result.stdout  # NC, by its rank


@pytest.mark.parametrize(("args", "message"), [
    (["model", "torchvision:resnet19", "--no-verify"], "did you mean resnet18"),
    (["import", f"{MODELS}:Net(__import__('os'))"], "give arguments as key=value only"),
    (["import", "torchvision:resnet18", "--input", "1x3"], "cannot trace it with torch.fx"),
    (["import", "torchvision:resnet18", "--tracer", "jit"], "'--tracer': 'jit' is not one of"),
    (["conventions", "missing.onnx"], "missing.onnx: no such file"),
])
def test_bad_sources_exit_2_on_one_line(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_opaque_layers_are_flagged_and_block_sweeps(runner: CliRunner) -> None:
    source = f"{MODELS}:Inexpressible"
    result = runner.invoke(app, ["import", source, "--input", "1x3x8x8"])
    assert result.exit_code == 0, result.output
    assert ("Inexpressible: totals are lower bounds: MACs of 1 opaque layer (torch.cumsum ×1) are "
            "not counted" in result.stderr)
    layer = "{kind: opaque, name: cumsum, op: torch.cumsum ×1, output_shape: [8, 6, 6], params: 0}"
    assert layer in result.stdout
    shown = runner.invoke(app, ["model", source, "--no-verify", "--format", "json"])
    layers = {layer["name"]: layer for layer in json.loads(shown.stdout)["layers"]}
    assert layers["cumsum"]["kind"] == "opaque" and layers["cumsum"]["macs"] == 0
    swept = runner.invoke(app, ["sweep", source])
    assert swept.exit_code == 2
    assert "did not recognise the channel structure of 1 layers (cumsum)" in swept.stderr


def test_open_format_leaves_are_recognised_and_agree_with_the_original(runner: CliRunner) -> None:
    source = f"{MODELS}:Decoder"
    imported = runner.invoke(app, ["import", source])
    kinds = [line.split(",")[0].split(": ")[1] for line in imported.stdout.splitlines() if "{kind:" in line]
    assert kinds == ["conv", "conv_transpose", "groupnorm", "act", "layer_scale", "upsample", "mean",
                     "linear"]
    assert "0 opaque" in imported.stderr
    result = runner.invoke(app, ["model", source, "--format", "json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["verify"]["ok"]
    # conv 16·3·9 + 16 = 448, transposed 16·8·4 + 8 = 520, GroupNorm 2·8 = 16, γ 8, head 8·4 + 4 = 36
    assert data["totals"]["params"] == 448 + 520 + 16 + 8 + 36 == 1028


def test_check_takes_a_model_source(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", "torchvision:resnet18", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    [model] = data["models"]
    assert (model["name"], model["spec"]) == ("resnet18", "torchvision:resnet18")
    figures = {m["metric"]: m["value"] for m in model["metrics"]}
    assert figures == {"params": 11_689_512, "macs": 1_814_073_344}


def test_unused_modules_are_named_and_their_params_counted(runner: CliRunner) -> None:
    # conv 3·4 + 4 = 16 params; the aux linear's 4·2 + 2 = 10 never run: an `unused` layer
    # holds them, so params are sum(p.numel()) = 26 (issue 19's definition), MACs the conv's only
    result = runner.invoke(app, ["model", f"{MODELS}:WithAux", "--input", "1x3x4x4", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["params"] == 16 + 10 and data["verify"]["ok"]
    assert data["verify"]["totals"]["params"] == 26 and data["totals"]["macs"] == 4 * 4 * 4 * 3
    assert "modules the forward pass never runs: aux (10 params)" in result.stderr
    imported = runner.invoke(app, ["import", f"{MODELS}:WithAux", "--input", "1x3x4x4"])
    assert "{kind: unused, name: aux, params: 10}" in imported.stdout


def test_an_opaque_layer_reads_every_input_so_nothing_is_dropped(runner: CliRunner) -> None:
    source = f"{MODELS}:Lerp"
    imported = runner.invoke(app, ["import", source, "--input", "1x3x16x16"])
    assert imported.exit_code == 0, imported.output
    opaque = [line for line in imported.stdout.splitlines() if "kind: opaque" in line]
    assert any("from: [a, b]" in line for line in opaque), opaque  # torch.lerp reads both convs
    result = runner.invoke(app, ["model", source, "--input", "1x3x16x16", "-f", "json"])
    data = json.loads(result.stdout)
    assert "not used by any output" not in result.stderr
    # convs a, b: 8·3·16 + 8 = 392 params and 16 positions · 384 = 6,144 MACs each; head
    # 8·10 + 10 = 90 params, 80 MACs: 874 params, 12,368 MACs (lerp's own work uncounted)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (2 * 392 + 90, 2 * 6_144 + 80)
    assert data["totals"]["complete"] is False and result.exit_code == 0, result.output
    assert data["totals"]["uncounted"] == {"torch.lerp": 1}
    assert "lower bounds" in result.stderr
    strict = runner.invoke(app, ["model", source, "--input", "1x3x16x16", "--strict"])
    assert strict.exit_code == 2 and "--strict: Lerp: figures would be lower bounds" in strict.stderr


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_indexed_qkv_pieces_are_unbinds_and_the_import_is_exact(tracer: str, runner: CliRunner,
                                                                  tmp_path: Path) -> None:
    # qkv[0], qkv[1], qkv[2] (fx: getitem; export: aten.select) and y[:, -1] are unbinds. 16
    # tokens: patch 16·3·16 + 16 = 784 params, 16·16·48 = 12,288 MACs; qkv 16·48 + 48 = 816,
    # 16·16·48 = 12,288; q·kᵀ and a·v 2·16·16·8 = 4,096 each; proj 16·16 + 16 = 272, 16·16·16 =
    # 4,096: 1,872 params and 36,864 MACs
    out = tmp_path / "qkv.yaml"
    imported = runner.invoke(app, ["import", f"{MODELS}:IndexedQKV", "--input", "1x3x16x16",
                                   "--tracer", tracer, "-o", str(out)])
    assert imported.exit_code == 0, imported.output
    kinds = [layer.kind for layer in load_spec(out).layers]
    assert kinds.count("unbind") == 4 and "opaque" not in kinds
    result = runner.invoke(app, ["model", str(out), "-f", "json"])
    data = json.loads(result.stdout)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (1_872, 36_864)
    checked = runner.invoke(app, ["model", f"{MODELS}:IndexedQKV", "--input", "1x3x16x16", "-f", "json"])
    assert checked.exit_code == 0 and json.loads(checked.stdout)["totals"]["complete"] is True


def test_a_table_gathered_by_index_keeps_its_params(runner: CliRunner) -> None:
    # table[index.view(-1)] reads the 7·7·2 = 98 params of a relative-position table: a param
    # of 98 params added to q·kᵀ. patch 8·3·16 + 8 = 392, qk 8·16 + 16 = 144: 634 =
    # sum(p.numel()); MACs patch 16·8·48 = 6,144, qk 16·128 = 2,048, q·kᵀ 2·16·16·4 = 2,048
    result = runner.invoke(app, ["model", f"{MODELS}:RelativeBias", "--input", "1x3x16x16", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (634, 6_144 + 2_048 + 2_048)
    assert data["totals"]["complete"] is True and data["verify"]["ok"]


def test_a_call_returning_a_tensor_and_a_number_keeps_the_graph(runner: CliRunner) -> None:
    # x, rank = with_rank(x) (MViT's _unsqueeze): the call was lost, and the layers before it
    # with it (mvit_v2_s: 10,965,520 of 34,537,744 params); tensor_split is a split of dim 2.
    # embed 4·3·4 + 4 = 52 params, pool 4·4 + 4 = 20: 72 = sum(p.numel()); with_rank opaque
    result = runner.invoke(app, ["model", f"{MODELS}:RankTuple", "--input", "1x3x8x8", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["params"] == 52 + 20 and data["verify"]["ok"]
    # MACs embed 16·4·12 = 768, pool 8·4·4 = 128: only with_rank itself is flagged
    assert data["totals"]["macs"] == 768 + 128
    assert [(name.split(".")[-1], n) for name, n in data["totals"]["uncounted"].items()] == [("with_rank", 1)]


def test_a_bias_cat_of_params_and_a_buffer_is_never_a_full_bias(runner: CliRunner) -> None:
    # F.linear(x, w, cat((q_bias, k_zeros, v_bias))): its bias holds 8 params, not 12 (an
    # internal error, exit 3, on swinv2_base_window12_192). embed 4·3·4 + 4 = 52, w 48, 8
    result = runner.invoke(app, ["model", f"{MODELS}:QkvBiasCat", "--input", "1x3x8x8", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["params"] == 52 + 48 + 8 and data["verify"]["ok"]
    # a linear without bias and an add of the 8 params: embed 16·3·4 = 768 + qkv 16·4·12 = 768
    assert data["totals"]["macs"] == 768 + 768 and data["totals"]["complete"]


def test_an_opaque_layer_after_a_permute_that_moved_the_batch_keeps_the_models_batch(
        runner: CliRunner) -> None:
    # t = [2, N, L, 8] after permute(2, 0, 1, 3); t.amax(0) is an opaque layer of batch N = 1,
    # not 2 (before: exit 3, the head counted twice). patch 8·3·16 + 8 = 392 params, 16 · 384 =
    # 6,144 MACs; qk 8·16 + 16 = 144, 16 · 128 = 2,048; head 8·10 + 10 = 90, 16 · 80 = 1,280
    result = runner.invoke(app, ["model", f"{MODELS}:BatchMoved", "--input", "1x3x16x16", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (392 + 144 + 90, 6_144 + 2_048 + 1_280)
    assert data["totals"]["complete"] is False and data["verify"]["ok"]


def test_a_query_scaled_by_a_number_and_an_unsqueeze_import_exactly(runner: CliRunner) -> None:
    # qkv[0] * scale is a scalar layer, unsqueeze(1) a reshape: nothing opaque. 16 tokens:
    # patch 784 params, 12,288 MACs; qkv 816, 12,288; q·kᵀ and a·v 2·16·16·8 = 4,096 each;
    # q 16·16 + 16 = 272, 1·16·16 = 256; cls·xᵀ and a·x 1·16·16 = 256 each: 1,872 params,
    # 12,288·2 + 4,096·2 + 256·3 = 33,536 MACs
    result = runner.invoke(app, ["model", f"{MODELS}:ScaledQuery", "--input", "1x3x16x16", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (1_872, 33_536)
    assert data["totals"]["complete"] is True and data["verify"]["ok"]
    assert [layer["kind"] for layer in data["layers"]].count("scalar") == 1


def test_forward_defaults_are_constants_not_inputs(runner: CliRunner, tmp_path: Path) -> None:
    # fx traces mask=None and causal=False as constants it guards (placeholders mask_1,
    # causal_1): the spec has one input, and the cross-check runs the model on it alone
    out = tmp_path / "defaults.yaml"
    imported = runner.invoke(app, ["import", f"{MODELS}:Defaults", "--input", "1x3x8x8", "--tracer", "fx",
                                   "-o", str(out)])
    assert imported.exit_code == 0, imported.output
    assert "inputs:" not in out.read_text()
    result = runner.invoke(app, ["model", f"{MODELS}:Defaults", "--input", "1x3x8x8", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["params"] == 8 * 27 + 8  # 224


def test_weight_standardised_convs_import_exactly(runner: CliRunner) -> None:
    # stem (gain): weight 8·3·9 = 216 + bias 8 + gain 8 = 232 params, 8·8·8 outputs · 27 = 13,824
    # MACs; conv (no gain): 8·8 + 8 = 72 params, 512 · 8 = 4,096 MACs; fvcore adds the batch norm
    # on each weight: 216·5 + 64·4 = 1,336, and the pool's 512: 19,768 (before: 2 opaque layers)
    imported = runner.invoke(app, ["import", f"{MODELS}:StdConvs", "--input", "1x3x16x16"])
    assert "{kind: std_conv, name: stem, out_channels: 8, kernel_size: 3, stride: 2, bias: true, " \
        "gain: true}" in imported.stdout
    result = runner.invoke(app, ["model", f"{MODELS}:StdConvs", "--input", "1x3x16x16", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (232 + 72, 13_824 + 4_096)
    assert data["totals"]["complete"] and data["verify"]["ok"]
    assert data["verify"]["totals"]["fvcore"] == 17_920 + 216 * 5 + 64 * 4 + 512
    # torch.export: reshape_as reads the weight again (a shared read), still one std_conv
    exported = runner.invoke(app, ["import", f"{MODELS}:StdConvs", "--input", "1x3x16x16",
                                   "--tracer", "export"])
    assert exported.stdout.count("kind: std_conv") == 2 and "opaque" not in exported.stdout





# (the MHA's arguments, params, MACs): embed 16·3·16 + 16 = 784 params, 2·16·16 tokens ·
# 3·16 = 24,576 MACs; in_proj 3·16·16 + 48 = 816, out_proj 16·16 + 16 = 272 params;
# add_bias_kv: bias_k and bias_v, 16 each (+32). MHA MACs on N=2, L=16, E=16 with K keys
# (16, + 1 for bias_kv, + 1 for zero_attn): 2·(3·16·16·16 (q, k, v) + 16·16·16 (out)
# + 2·16·K·16 (q·kᵀ, a·v)) = 32,768 + 1,024·K
@pytest.mark.parametrize(("args", "params", "macs"), [
    ("batch_first=False", 1_872, 24_576 + 32_768 + 1_024 * 16),
    ("bias_kv=True", 1_904, 24_576 + 32_768 + 1_024 * 17),
    ("zero_attn=True", 1_872, 24_576 + 32_768 + 1_024 * 17),
    ("batch_first=False, bias_kv=True, zero_attn=True", 1_904, 24_576 + 32_768 + 1_024 * 18)])
def test_an_mha_of_any_layout_and_extra_keys_imports_exactly(args: str, params: int, macs: int,
                                                             runner: CliRunner) -> None:
    """Sequence first, add_bias_kv, add_zero_attn: one multihead_attention layer, exact; the
    cross-check (FlopCounterMode on the math path, fvcore) agrees."""
    result = runner.invoke(app, ["model", f"{MODELS}:MHAVariant({args})", "--input", "2x3x16x16",
                                 "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (params, macs)
    assert data["totals"]["complete"] is True and data["verify"]["ok"], data["verify"]
    assert [layer["kind"] for layer in data["layers"]].count("multihead_attention") == 1


def test_a_functional_group_norm_imports_exactly(runner: CliRunner) -> None:
    # F.group_norm in timm's GroupNorm1 is a groupnorm (before: opaque). conv 8·3·9 + 8 = 224
    # params, 8·8·8 · 27 = 13,824 MACs; the norm's 2·8 = 16 params; fvcore: the norm 512·5
    result = runner.invoke(app, ["model", f"{MODELS}:FunctionalGroupNorm", "--input", "1x3x8x8",
                                 "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (224 + 16, 13_824)
    assert data["totals"]["complete"] is True and data["verify"]["ok"]
    assert data["verify"]["totals"]["fvcore"] == 13_824 + 512 * 5


def test_a_class_token_and_its_tokens_import_exactly(runner: CliRunner) -> None:
    # patch conv, flatten, transpose, an expanded class token (param) concatenated in front,
    # the head on token 0: nothing opaque since the token kinds (issue 20)
    result = runner.invoke(app, ["model", f"{MODELS}:Tokens", "--input", "1x3x16x16", "-f", "json"])
    data = json.loads(result.stdout)
    # patch 8·3·16 + 8 = 392 params, 16 · 384 = 6,144 MACs; class token 8; head 90 params, 80 MACs
    assert (data["totals"]["params"], data["totals"]["macs"]) == (392 + 8 + 90, 6_144 + 80)
    assert data["totals"]["complete"] is True and result.exit_code == 0, result.output


EXACT = [  # (model, input, params, MACs): small patterns that import with nothing opaque
    # ECA: y.expand_as(x) read by x * y is the mul's own broadcast. stem 16·3·9 + 16 = 448
    # params, 8·8·16 · 27 = 27,648 MACs; Conv1d 3 params, 16 · 3 = 48 MACs
    ("Eca", "1x3x8x8", 448 + 3, 27_648 + 48),
    # x.mean(dim=1) on [N, 16, 8] is a mean layer of dims [1]. patch 8·3·16 + 8 = 392 params,
    # 16·8·48 = 6,144 MACs; norm 16; head 8·10 + 10 = 90, 80 MACs; batch 2
    ("TokenMean", "2x3x16x16", 392 + 16 + 90, 2 * (6_144 + 80)),
    # x[:, :k] and x[:, k:], k = cls.shape[1] (a value fx traces): slices of dim 1. patch 392
    # params, 6,144 MACs; cls 8; fc_cls and fc 72 each, 1·64 and 16·64 MACs
    ("TracedSlice", "1x3x16x16", 392 + 8 + 144, 6_144 + 64 + 1_024),
    # torch.stack(paths, 1) and x.sum(1) are layers. paths 2 · (8·3·9 + 8) = 448 params,
    # 2 · 64·8·27 = 27,648 MACs; select 8·16 + 16 = 144 params, 128 MACs
    ("SelectiveKernel", "1x3x8x8", 448 + 144, 27_648 + 128),
    # F.pad(x, (0, 0, 0, pad_r, 0, pad_b)), both 0 on 8×8: no layer. conv 8·3·4 + 8 = 104
    # params, 64·96 = 6,144 MACs; fc 72 params, 64·64 = 4,096 MACs
    ("WholeWindows", "1x3x16x16", 104 + 72, 6_144 + 4_096),
    # a LayerNorm and a Linear module on a channels-last view output [1, 4, 4, 8], the spec's
    # layers [1, 8, 4, 4] read channels-last: the same tensor, no false alarm. stem 8·3·16 + 8
    # = 392 params, 16·8·48 = 6,144 MACs; norm 16; v 8·8 + 8 = 72 params, 16·64 = 1,024 MACs;
    # conv 4·8 + 4 = 36 params, 16·4·8 = 512 MACs
    ("ChannelsLastNorm", "1x3x16x16", 392 + 16 + 72 + 36, 6_144 + 1_024 + 512),
    # Swin's scores: the bias gathered from a 9×2 table (a param of 18 params), the mask a
    # buffer (a param of 0), the crop x[:, :H, :W, :] of the whole map (no layer). embed 8·3·16
    # + 8 = 392 params, 4·8·48 = 1,536 MACs; t·tᵀ 2 heads · 4·4·4 = 128 MACs
    ("WindowBias", "1x3x8x8", 392 + 18, 1_536 + 128),
    # x.chunk(2, dim=-1) on tokens: two slices of dim 2, a GLU's act and mul. patch 392
    # params, 6,144 MACs; fc1 8·16 + 16 = 144 params, 16·128 = 2,048 MACs; fc2 72, 16·64 = 1,024
    ("GluTokens", "1x3x16x16", 392 + 144 + 72, 6_144 + 2_048 + 1_024),
    # split on the last dim of [N, H, W, C], cat on it again: slices and a concat of dim 3.
    # stem 392 params, 6,144 MACs; fc1 144, 2,048 MACs; dwconv 4·9 + 4 = 40 params, 16·4·9 =
    # 576 MACs; fc2 72, 1,024 MACs
    ("GatedConvNhwc", "1x3x16x16", 392 + 144 + 40 + 72, 6_144 + 2_048 + 576 + 1_024),
    # nn.LSTM(8, 4, bidirectional) on 16 tokens, its states unread: an lstm layer. patch 392
    # params, 6,144 MACs; lstm 2·(4·4·(8 + 4) + 8·4) = 448 params, 16·2·4·4·12 = 6,144 MACs
    # (FlopCounterMode with oneDNN off); fc 72 params, 1,024 MACs
    ("LstmTokens", "1x3x16x16", 392 + 448 + 72, 6_144 + 6_144 + 1_024),
    # interpolate(pos) + window.tile(...), both params alone: one param of 16 + 16 params
    # added. embed 4·3·4 + 4 = 52 params, 16·4·12 = 768 MACs
    ("TiledPosition", "1x3x8x8", 52 + 32, 768),
    # MViT-V1's position: repeat_interleave, add_, a constant expand, cat of params alone, then
    # x.add_(pos) read as x later (before: a dead end, its 44 params dropped). embed 52 params,
    # 768 MACs; spatial 32 + temporal 8 + cls 4 + class token 4; fc 20 params, 17·16 = 272 MACs
    ("InPlacePosition", "1x3x8x8", 52 + 32 + 8 + 4 + 4 + 20, 768 + 272),
    # x + v(norm(x)) on that channels-last view (VOLO's blocks): an add of the two NCHW tensors,
    # and the permute back no layer; the same figures
    ("ChannelsLastAdd", "1x3x16x16", 392 + 16 + 72 + 36, 6_144 + 1_024 + 512),
    # nn.Unfold (k3 p1 s2 on 8×8: 16 windows of 4·9) and F.fold back to 8×8: unfold and fold
    # layers, free. stem 4·3·9 + 4 = 112 params, 64·4·27 = 6,912 MACs; head 8·4 + 8 = 40, 64·32
    ("UnfoldFold", "1x3x8x8", 112 + 40, 6_912 + 2_048),
    # a reflect pad and a fixed filter (a buffer) per channel: pad + blur layers; a pad of -inf
    # then a max pool: pad + pool. conv 8·27 + 8 = 224 params, 16·16·8·27 = 55,296 MACs; blur
    # (16 + 2 - 3) // 2 + 1 = 8: 8·8·8·9 = 4,608 MACs, no params; pool of 9×9: 0
    ("AntiAliased", "1x3x16x16", 224, 55_296 + 4_608),
    # x.max(1)[0] over the tokens: a max layer (the indices are never read). patch 8·3·16 + 8 =
    # 392 params, 16·8·48 = 6,144 MACs; fc 8·10 + 10 = 90 params, 16·80 = 1,280 MACs
    ("TokenMax", "1x3x16x16", 392 + 90, 6_144 + 1_280),
    # x.amax((2, 3)), x.sum((2, 3), keepdim=True), torch.amax(x, (-2, -1), keepdim=True): max and
    # sum layers of dims [2, 3], no MACs. conv 8·27 + 8 = 224 params, 64·8·27 = 13,824 MACs; fc
    # 24·10 + 10 = 250 params, 240 MACs
    ("GlobalReduce", "1x3x8x8", 224 + 250, 13_824 + 240),
    # ECA between a stem and a classifier, its views written with -1: stem 16·27 + 16 = 448
    # params, 27,648 MACs; Conv1d 3 params, 48 MACs; fc 170 params, 160 MACs
    ("EcaNet", "1x3x8x8", 448 + 3 + 170, 27_648 + 48 + 160),
    # F.linear(x, basis), a buffer, and x @ w_g, a [8, 1] parameter: each a param (the buffer's
    # of 0 params) merged by a matmul. patch 392 params, 6,144 MACs; basis 16·8·8 = 1,024 MACs;
    # w_g 8 params, 16·8 = 128 MACs
    ("WeightMatmul", "1x3x16x16", 392 + 8, 6_144 + 1_024 + 128),
    # CoaT's q[:, :, 1:, :] (a slice of dim 2) and F.pad(ev, (0, 0, 1, 0, 0, 0)) (a pad of the
    # last two dims), LowFormer's crop o[..., :H, :W] of a whole map (no layer). patch 8·3·16 + 8
    # = 392 params, 16·8·48 = 6,144 MACs; cls 8; dwconv 8·9 + 8 = 80, 16·8·9 = 1,152; up
    # (transposed, 4×4 kernel, 8 groups) 8·16 + 8 = 136 params, 2·2 inputs · 8 · 16 = 512 MACs
    ("ConvRelPos", "1x3x16x16", 392 + 8 + 80 + 136, 6_144 + 1_152 + 512),
    # gates of weights alone (sigmoid, softmax: no MACs) times tensors: params merged by mul
    # (alpha's 8 at its first read), stack(...).sum(0) of the heads one add. conv 4·27 + 4 = 112
    # params, 64·4·27 = 6,912 MACs; dw 40, 64·4·9 = 2,304; alpha 8, D 1, weights 2; heads
    # 2·(4·10 + 10) = 100 params, 2·40 MACs
    # traced by torch.export (a branch on the size): the autocast wrapper's ops read as any
    # other, x.float() no layer, v padded with ones (a pad of value one), out[..., :8] /
    # (out[..., 8:] + eps) a shift and a div. qkv 3·24 + 24 = 96 params, 64·24·3 = 4,608 MACs;
    # kᵀv 8·9·64 = 4,608; q (kᵀv) 64·9·8 = 4,608
    ("LinearAttention", "1x3x8x8", 96, 3 * 4_608),
    # buffers times, plus, minus and over a tensor: params of 0 merged by mul, add, sub, div;
    # + 128 a shift; x[:, :, [...]] a gather of 64. conv 4·3 + 4 = 16 params, 64·4·3 = 768 MACs
    ("FixedStats", "1x3x8x8", 16, 768),
    ("GatedBranches", "1x3x8x8", 112 + 40 + 8 + 1 + 2 + 100, 6_912 + 2_304 + 80),
    # ConViT's GPSA (torch.export: fx cannot trace its cache test): its relative positions,
    # computed from no input, a param of 0 params; the gate a param, 1 - sigmoid a scalar rsub,
    # the renormalisation a div. patch 392 params, 6,144 MACs; qk 8·16 = 128, 16·128 = 2,048;
    # v 64, 1,024; proj 72, 1,024; pos_proj 3·2 + 2 = 8 params, 16·16·6 = 1,536 MACs; gate 2;
    # q·kᵀ and a·v 2 heads · 16·16·4 = 2,048 each
    ("GatedPositionAttention", "1x3x16x16", 392 + 128 + 64 + 72 + 8 + 2,
     6_144 + 2_048 + 1_024 + 1_024 + 1_536 + 2 * 2_048),
]


def test_head_norms_are_what_fvcore_counts(runner: CliRunner) -> None:
    # a LayerNorm on [N, C] after a linear in a classifier head (inception_next's head.norm,
    # cpubone's head.pre_classifier.norm, efficientvit_b0's head.classifier.1: fvcore false
    # alarms once). On 1×3×16×16: stem 8·27 + 8 = 224 params, 8·8·8·27 = 13,824 MACs; fc1 144,
    # 128; norm 32; pre_classifier's linear 192, 192 and norm 24; fc2 130, 120. fvcore counts the
    # convs and linears (14,264) and each affine LayerNorm numel·5 (16·5 + 12·5 = 140), no
    # mean, GELU or Hardswish: 14,404
    import torch
    from fvcore.nn import FlopCountAnalysis

    from convcost.frontend.source import parse_source
    from convcost.runtime.importer.resolve import load_module

    result = runner.invoke(app, ["model", f"{MODELS}:HeadNorms", "--input", "1x3x16x16", "-f", "json",
                                 "--convention", "fvcore"])
    assert result.exit_code == 0, result.output  # the cross-check agrees: no false alarm
    data = json.loads(result.stdout)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (746, 14_264)
    assert data["totals"]["complete"] is True and data["verify"]["ok"]
    model = load_module(parse_source(f"{MODELS}:HeadNorms"))
    counted = FlopCountAnalysis(model, torch.zeros(1, 3, 16, 16)).unsupported_ops_warnings(False)
    assert data["convention"]["total"] == counted.total() == 14_404


@pytest.mark.parametrize(("model", "shape", "params", "macs"), EXACT)
def test_small_patterns_import_exactly(model: str, shape: str, params: int, macs: int,
                                       runner: CliRunner) -> None:
    result = runner.invoke(app, ["model", f"{MODELS}:{model}", "--input", shape, "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (params, macs)
    assert data["totals"]["complete"] is True and data["verify"]["ok"]


def test_an_imported_eca_gate_follows_the_width_multiplier(runner: CliRunner, tmp_path: Path) -> None:
    """The reshapes of an ECA gate write -1 where the model does and its one-channel Conv1d stays
    one channel: the imported spec at α 0.5 is the model built at half the width."""
    import torch
    from import_models import EcaNet
    from torch.utils.flop_counter import FlopCounterMode

    out = tmp_path / "eca.yaml"
    imported = runner.invoke(app, ["import", f"{MODELS}:EcaNet", "--input", "1x3x8x8", "-o", str(out)])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(app, ["model", str(out), "--alpha", "0.5", "-f", "json"])
    assert result.exit_code == 0, result.output
    half = EcaNet(width=8).eval()
    with FlopCounterMode(display=False) as counter:
        half(torch.zeros(1, 3, 8, 8))
    data = json.loads(result.stdout)
    # stem 8·27 + 8 = 224 params, 64·8·27 = 13,824 MACs; eca 3 params, 8·3 = 24 MACs; fc 8·10 + 10
    # = 90 params, 80 MACs: 317 params, 13,928 MACs (at α 1: 16 channels, 621 and 27,856)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (317, 13_928)
    assert (sum(p.numel() for p in half.parameters()), counter.get_total_flops() // 2) == (317, 13_928)
    assert data["verify"]["ok"]
