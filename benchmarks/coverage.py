"""Real-model coverage: ``convcost model SOURCE -f json`` (with the cross-check) on public models.

The corpus: every torchvision classification, segmentation, video, optical-flow (two named
images, ``--input image1=… --input image2=…``) and detection model; one
model of every timm architecture family (``timm.list_models()`` grouped by module; the smallest
by name) plus the timm models named in issue 19; and the hand-written models of
``tests/models/yolo.py`` and ``tests/torch/import_models.py``. Weights are never downloaded.

The reference, in its own process: params = ``sum(p.numel())``, MACs = FlopCounterMode FLOPs / 2
on a zeros input in eval mode (timm: the model's default input size). Both processes build the
model with convcost's loader, whose weights come from torch's generator seeded with 0: a
detector whose NMS keeps boxes by their values (fasterrcnn_resnet50_fpn) runs the same in both.
Each ``convcost model`` run gets the same input and runs in a subprocess with a timeout and an
address-space bound.
Each model is recorded as

- ``exact``: exit 0, params and MACs equal to the reference, nothing flagged incomplete;
- ``incomplete``: flagged incomplete (JSON completeness or a lower-bound line on stderr);
- ``false-alarm``: exact figures, but the cross-check failed (exit 1);
- ``wrong``: figures differ from the reference and nothing says so;
- ``error``: any other exit (2, 3, timeout, no JSON);
- ``skipped``: the reference itself cannot run the model (listed with its reason).

It prints a summary table (``--markdown`` for the README) and writes the JSON after every model,
so an interrupted run resumes with ``--resume``. Runs are niced; ``--jobs`` runs several at once.

    nice -n 10 python benchmarks/coverage.py [--json coverage.json] [--resume] [--jobs 1]
        [--only timm:resnet18,torchvision:vgg11] [--again] [--family timm/resnet,torchvision-video]
        [--timeout 600] [--memory-gb 8] [--list] [--markdown] [--report]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATUSES = ("exact", "incomplete", "false-alarm", "wrong", "error", "skipped")
GROUPS = ("hand-written", "torchvision-classification", "timm", "torchvision-segmentation",
          "torchvision-video", "torchvision-optical-flow", "torchvision-detection")  # cheap groups first
FLOW_INPUTS = ("image1", "image2")  # RAFT's forward(image1, image2): two images of one shape
TIMM_EXTRA = (  # models named in issue 19 beyond each family's smallest
    "vit_tiny_patch16_224", "cspdarknet53", "cspresnet50", "efficientnet_b0", "tinynet_a", "mixnet_m",
    "semnasnet_100", "fbnetv3_b", "mobilenetv3_large_100", "ghostnet_100", "rexnet_100", "dpn68",
    "res2net50_26w_4s", "skresnet18", "resnest14d", "ecaresnet26t", "convnextv2_atto", "repvit_m1",
    "tf_efficientnet_b0", "edgenext_xx_small", "swin_tiny_patch4_window7_224", "mobilevitv2_050",
)
HAND = (("tests/models/yolo.py:YoloC3", (1, 3, 256, 256)), ("tests/models/yolo.py:YoloC2f", (1, 3, 256, 256)),
        ("tests/models/yolo.py:Slicing", (1, 3, 64, 64)),
        ("tests/torch/import_models.py:Functional", (1, 3, 32, 32)),
        ("tests/torch/import_models.py:Shared", (1, 3, 32, 32)))
VIDEO_224 = ("mvit_v1_b", "mvit_v2_s", "s3d", "swin3d_t", "swin3d_s", "swin3d_b")
LOWER_BOUND = ("lower bound", "not counted", "uncounted", "incomplete")


@dataclass(frozen=True)
class Entry:
    """One corpus model: its source, its group and family, and the input the reference chooses."""

    source: str
    group: str
    family: str
    input: tuple[int, ...] | None = None  # None: the model's default (timm) or 1×3×224×224


@dataclass
class Result:
    source: str
    group: str
    family: str
    status: str
    exit: int | str | None = None
    seconds: float = 0.0
    input: list[int] | None = None
    params: int | None = None
    macs: int | None = None
    ref_params: int | None = None
    ref_macs: int | None = None
    opaque: int = 0
    reason: str = ""


# ---------------------------------------------------------------- the corpus


def _import_zoos() -> tuple[Any, Any]:
    sys.path.insert(0, str(ROOT))
    from convcost.runtime.importer.resolve import import_torchvision

    torchvision = import_torchvision()
    import timm

    return torchvision, timm


def _size_rank(name: str) -> tuple[Any, ...]:
    """Smaller-looking names first: size words, then the sum of the digits, then length."""
    import re

    sizes = ("atto", "femto", "pico", "nano", "xxtiny", "xxs", "xx_small", "xxsmall", "ti", "tiny", "xtiny",
             "xs", "x_small", "mini", "small", "s0", "b0", "t0", "m0", "s1", "s", "t", "b1", "m1", "18", "26",
             "34", "050", "100")
    avoid = re.compile(r"(^test_|_dist|distilled|_enc$|_merge$|clip|siglip|_cls$|dagger|_in22k|_384|_448|"
                       r"_512|_336|_320|_288|_256|_gn$|_ols|_rms)")
    tokens = re.split(r"[_\-]", name)
    rank = next((i for i, s in enumerate(sizes) if s in tokens or (len(s) > 3 and s in name)), len(sizes))
    return (bool(avoid.search(name)), rank, sum(int(d) for d in re.findall(r"\d+", name)), len(name), name)


def _timm_entries(timm: Any) -> list[Entry]:
    entries: dict[str, Entry] = {}
    module_of = {}
    for module in timm.list_modules():
        names = timm.list_models(module=module)
        module_of.update(dict.fromkeys(names, module))
        pick = min(names, key=_size_rank)
        entries[pick] = Entry(f"timm:{pick}", "timm", f"timm/{module}")
    for name in TIMM_EXTRA:
        if name in module_of and name not in entries:
            entries[name] = Entry(f"timm:{name}", "timm", f"timm/{module_of[name]}")
    return sorted(entries.values(), key=lambda e: e.family)


def _torchvision_entries(torchvision: Any) -> tuple[list[Entry], list[Result]]:
    models = torchvision.models
    kinds = {"classification": models, "segmentation": models.segmentation, "video": models.video,
             "optical-flow": models.optical_flow, "detection": models.detection}
    entries, seen = [], set()
    for kind, module in kinds.items():
        for name in models.list_models(module=module):
            seen.add(name)
            shape: tuple[int, ...] | None = None
            if kind == "video":
                side = 224 if name in VIDEO_224 else 112
                shape = (1, 3, 16, side, side)
            if kind == "optical-flow":
                shape = (1, 3, 128, 128)  # each image (RAFT's sizes: multiples of 8)
            entries.append(Entry(f"torchvision:{name}", f"torchvision-{kind}", f"torchvision-{kind}", shape))
    left = [Result(f"torchvision:{n}", "excluded", "torchvision-other", "skipped",
                   reason="not a classification, segmentation, video, optical-flow or detection model "
                          "(issue 19 §5)")
            for n in models.list_models() if n not in seen]
    return entries, left


def corpus() -> tuple[list[Entry], list[Result]]:
    """Every model to run, cheap groups first, and the models left out with their reason."""
    torchvision, timm = _import_zoos()
    tv, left = _torchvision_entries(torchvision)
    hand = [Entry(source, "hand-written", "hand-written", shape) for source, shape in HAND]
    everything = hand + tv + _timm_entries(timm)
    return sorted(everything, key=lambda e: GROUPS.index(e.group)), left


# ---------------------------------------------------------------- the reference (a child process)


def _load(source: str) -> Any:
    sys.path.insert(0, str(ROOT))
    from convcost.frontend.source import parse_source
    from convcost.runtime.importer.resolve import load_module

    return load_module(parse_source(source))


def _default_input(model: Any, source: str) -> tuple[int, ...]:
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None) or {}
    if source.startswith("timm:") and "input_size" in cfg:
        return (1, *cfg["input_size"])
    if type(model).__module__.startswith("torchvision.models.video"):
        return (1, 3, 16, 112, 112)  # 16 frames of 112×112, torchvision's video recipe
    return (1, 3, 224, 224)


def reference(source: str, shape: tuple[int, ...] | None) -> dict[str, Any]:
    """``{input, params, macs}`` of ``source``: sum(p.numel()) and FlopCounterMode FLOPs / 2,
    on the math attention path (issue 20 §3); a detector's NMS runs in plain torch when
    torchvision's C++ ops are missing (as convcost's recorder runs it)."""
    import contextlib

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.runtime.flop_count import math_attention
    from convcost.runtime.importer.record_ops import nms_available

    torch.set_num_threads(1)
    model = _load(source)
    shape = shape or _default_input(model, source)
    x = torch.zeros(shape)
    counter = FlopCounterMode(display=False)
    detection = source.startswith("torchvision:") and _is_detection(model)
    nms = nms_available() if detection else contextlib.nullcontext()
    inputs = [x] * len(FLOW_INPUTS) if _is_flow(model) else [x]
    try:
        with torch.no_grad(), math_attention(), nms, counter:
            model([x[0]]) if detection else model(*inputs)
    except AssertionError:  # FlopCounterMode's module tracker needs autograd on some models (cait)
        counter = FlopCounterMode(display=False)
        with math_attention(), nms_available() if detection else contextlib.nullcontext(), counter:
            model([x[0]]) if detection else model(x)
    params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    return {"input": list(shape), "params": params, "macs": counter.get_total_flops() // 2}


def _is_detection(model: Any) -> bool:
    return type(model).__module__.startswith("torchvision.models.detection")


def _is_flow(model: Any) -> bool:
    return type(model).__module__.startswith("torchvision.models.optical_flow")


# ---------------------------------------------------------------- running one model


def _bounded(memory_gb: float) -> Callable[[], None]:
    def limit() -> None:
        os.nice(10)
        size = int(memory_gb * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    return limit


def _run(args: Sequence[str], timeout: float, memory_gb: float) -> tuple[int | str, str, str, float]:
    """(exit code or 'timeout', stdout, stderr, seconds) of a bounded child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          cwd=ROOT, preexec_fn=_bounded(memory_gb), start_new_session=True) as child:
        try:
            out, err = child.communicate(timeout=timeout)
            code: int | str = child.returncode
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, 9)
            out, err = child.communicate()
            code = "timeout"
    return code, out, err, round(time.perf_counter() - start, 1)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _shape_arg(shape: Sequence[int]) -> str:
    return "x".join(str(n) for n in shape)


def run_entry(entry: Entry, timeout: float, memory_gb: float) -> Result:
    """Reference first (it picks the input), then ``convcost model SOURCE -f json --input …``."""
    result = Result(entry.source, entry.group, entry.family, "error")
    ref_args = [sys.executable, str(Path(__file__).resolve()), "--reference", entry.source]
    if entry.input:
        ref_args += ["--input", _shape_arg(entry.input)]
    code, out, err, _ = _run(ref_args, timeout, memory_gb)
    if code != 0:
        result.status, result.exit = "skipped", code
        result.reason = f"the reference cannot run it: {_last_line(err) or code}"
        return result
    ref = json.loads(out)
    result.input, result.ref_params, result.ref_macs = ref["input"], ref["params"], ref["macs"]
    shape = _shape_arg(ref["input"])
    flow = entry.group == "torchvision-optical-flow"
    inputs = [f"{name}={shape}" for name in FLOW_INPUTS] if flow else [shape]
    args = [sys.executable, "-m", "convcost", "model", entry.source, "-f", "json",
            *(arg for value in inputs for arg in ("--input", value))]
    result.exit, out, err, result.seconds = _run(args, timeout, memory_gb)
    return classify(result, out, err)


def _flagged(data: dict[str, Any], err: str) -> bool:
    """Whether the run says its figures are incomplete: the JSON's completeness when it has one
    (a stderr warning of an unused 0-MAC layer 'not counted' is not a lower bound), else stderr."""
    totals = data.get("totals") or {}
    if "complete" in totals:
        return totals["complete"] is False or bool(totals.get("uncounted"))
    return any(word in err.lower() for word in LOWER_BOUND)


def classify(result: Result, out: str, err: str) -> Result:
    """Sort one finished run into exact / incomplete / false-alarm / wrong / error."""
    try:
        data = json.loads(out) if result.exit in (0, 1) else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or "totals" not in data:
        result.status, result.reason = "error", _last_line(err) or f"exit {result.exit}, no JSON"
        return result
    result.params, result.macs = data["totals"]["params"], data["totals"]["macs"]
    result.opaque = sum(1 for layer in data.get("layers", []) if layer.get("kind") == "opaque")
    same = (result.params, result.macs) == (result.ref_params, result.ref_macs)
    if _flagged(data, err):
        result.status = "incomplete"
    elif not same:
        result.status = "wrong"
    else:
        result.status = "exact" if result.exit == 0 else "false-alarm"
    if result.status != "exact":
        result.reason = _reason(result, data, err)
    return result


def _reason(result: Result, data: dict[str, Any], err: str) -> str:
    parts = []
    if result.params != result.ref_params:
        parts.append(f"params {result.params:,} vs {result.ref_params:,}")
    if result.macs != result.ref_macs:
        parts.append(f"MACs {result.macs:,} vs {result.ref_macs:,}")
    if result.opaque:
        parts.append(f"{result.opaque} opaque layers")
    verify = data.get("verify") or {}
    if verify.get("mismatches"):
        parts.append(f"cross-check: {str(verify['mismatches'][0])[:160]}")
    elif result.exit not in (0, None) and err.strip():
        parts.append(_last_line(err))
    return "; ".join(parts)


# ---------------------------------------------------------------- the summary


def summary(results: Iterable[Result]) -> list[list[str]]:
    """Rows: group, models, one count per status, exit 3s, median seconds; a total row last."""
    by_group: dict[str, list[Result]] = {}
    for result in results:
        by_group.setdefault(result.group, []).append(result)
    rows = []
    for group in [*GROUPS, "excluded"]:
        if group in by_group:
            rows.append(_row(group, by_group[group]))
    rows.append(_row("total", [r for rs in by_group.values() for r in rs]))
    return rows


def _row(name: str, results: list[Result]) -> list[str]:
    counts = Counter(r.status for r in results)
    times = sorted(r.seconds for r in results if r.seconds)
    median = f"{times[len(times) // 2]:.0f}" if times else "-"
    exit3 = sum(1 for r in results if r.exit == 3)
    return [name, str(len(results)), *(str(counts.get(s, 0)) for s in STATUSES), str(exit3), median]


HEADER = ["group", "models", *STATUSES, "exit 3", "median s"]


def render(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [HEADER, *rows])


def details(results: Iterable[Result], markdown: bool) -> str:
    """One line per model that is not exact: source, status, exit, reason."""
    bad = [r for r in results if r.status != "exact"]
    if markdown:
        return "\n".join(f"- `{r.source}`: {r.status} (exit {r.exit}) {r.reason}" for r in bad)
    return "\n".join(f"{r.source:55} {r.status:12} exit {r.exit!s:8} {r.reason}" for r in bad)


# ---------------------------------------------------------------- the run


def _write(path: Path, results: dict[str, Result], meta: dict[str, Any]) -> None:
    data = {**meta, "results": [asdict(r) for r in results.values()]}
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        json.dump(data, handle, indent=1)
    os.replace(handle.name, path)


def _selected(entries: list[Entry], only: str, family: str) -> list[Entry]:
    names = {n.strip() for n in only.split(",") if n.strip()}
    families = {f.strip() for f in family.split(",") if f.strip()}
    return [e for e in entries if (not names or e.source in names)
            and (not families or e.family in families or e.group in families)]


def _meta() -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT, check=False).stdout.strip()
    return {"commit": commit, "date": time.strftime("%Y-%m-%d", time.gmtime())}


def run_all(entries: list[Entry], left: list[Result], args: argparse.Namespace) -> dict[str, Result]:
    path = Path(args.json)
    results: dict[str, Result] = {}
    if args.resume and path.exists():
        results = {r["source"]: Result(**r) for r in json.loads(path.read_text())["results"]}
    results.update({r.source: r for r in left})
    todo = [e for e in entries if args.again or e.source not in results]
    meta = _meta()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = pool.map(lambda e: run_entry(e, args.timeout, args.memory_gb), todo)
        for done, result in enumerate(runs, 1):
            results[result.source] = result
            _write(path, results, meta)
            print(f"[{done}/{len(todo)}] {result.source}: {result.status} (exit {result.exit}, "
                  f"{result.seconds} s) {result.reason}"[:400], flush=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="coverage.json")
    parser.add_argument("--resume", action="store_true", help="keep the models the JSON already has")
    parser.add_argument("--again", action="store_true", help="with --resume: rerun the selected models")
    parser.add_argument("--only", default="", help="comma-separated sources")
    parser.add_argument("--family", default="", help="comma-separated groups or families (timm/resnet)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--memory-gb", type=float, default=8.0)
    parser.add_argument("--list", action="store_true", help="list the corpus and exit")
    parser.add_argument("--markdown", action="store_true", help="the summary as Markdown (README)")
    parser.add_argument("--report", action="store_true", help="summarise the JSON; run nothing")
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reference:
        shape = tuple(int(n) for n in args.input.split("x")) if args.input else None
        print(json.dumps(reference(args.reference, shape)))
        return 0
    if args.report:
        data = json.loads(Path(args.json).read_text())
        results = {r["source"]: Result(**r) for r in data["results"]}
        print(f"commit {data['commit']}, {data['date']}: {len(results)} models")
        print(render(summary(results.values()), args.markdown))
        print(details(results.values(), args.markdown))
        return 0
    entries, left = corpus()
    entries = _selected(entries, args.only, args.family)
    if args.list:
        print("\n".join(f"{e.group:28} {e.family:36} {e.source}" for e in entries))
        print("\n".join(f"left out: {r.source}: {r.reason}" for r in left))
        return 0
    results = run_all(entries, left if not (args.only or args.family) else [], args)
    print(render(summary(results.values()), args.markdown))
    print(details(results.values(), args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
