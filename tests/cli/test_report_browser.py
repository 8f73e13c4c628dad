"""`convcost report` in a real browser: headless Chromium (Debian's, /usr/bin/chromium) driven by
Playwright's Python API, started as scripts/report_browser.py says. Skipped, with the reason,
where either is missing; `make test` installs both (as root) and runs it (``--run-slow``)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT
from typer.testing import CliRunner

from convcost.cli.app import app

sys.path.insert(0, str(ROOT / "scripts"))
from report_browser import browser_page, unavailable

REASON = unavailable()
pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(REASON is not None, reason=REASON or "")]

SPEC = "efficientnet_v2_s"  # the size case: hundreds of layers, branches (SE gates, adds)
HOSTILE = 'evil</script><script>alert("x")</script><!--'


def _convcost(*args: str) -> str:
    """Run convcost in-process (no interpreter start per call): its stdout."""
    done = CliRunner().invoke(app, list(args))
    assert done.exit_code == 0, done.output
    return done.stdout


LAYER_NAMES = ['</script><script>alert(1)</script>', '<img src=x onerror=alert(2)>', "a&amp;b\"c'd",
               '<!--', ']]><svg onload=alert(3)>']


def _hostile_layers_page() -> str:
    """mobilenet_v1's page with its layers renamed to markup (the view is the defence: a spec's
    names are validated, an imported model's sanitised, but the page must not rely on it)."""
    from dataclasses import replace

    from convcost.cost.roofline import resolve
    from convcost.net.analysis import analyze
    from convcost.report.html_data import report_data
    from convcost.report.html_page import html_page
    from convcost.spec.loader import load_spec

    data = report_data(analyze(load_spec(ROOT / "specs" / "mobilenet_v1.yaml")),
                       resolve("t4", None, None, "float32"))
    layers = tuple(replace(layer, name=f"{LAYER_NAMES[i % len(LAYER_NAMES)]}{i}")
                   for i, layer in enumerate(data.layers))
    return html_page(replace(data, layers=layers))


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("report")
    hostile = out / "hostile.yaml"
    hostile.write_text((ROOT / "specs" / "mobilenet_v1.yaml").read_text(encoding="utf-8")
                       .replace("name: mobilenet_v1", f"name: '{HOSTILE}'", 1), encoding="utf-8")
    wide = out / "wide.yaml"
    wide.write_text((ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8")
                    .replace("name: layer3, out_channels: 256", "name: layer3, out_channels: 320"),
                    encoding="utf-8")
    _convcost("report", SPEC, "-o", str(out / "big.html"))
    _convcost("report", str(hostile), "-o", str(out / "hostile.html"))
    (out / "names.html").write_text(_hostile_layers_page(), encoding="utf-8")
    _convcost("report", str(wide), "--against", "resnet18", "-o", str(out / "diff.html"))
    _convcost("report", "mobilenet_v2", "--against", "mobilenet_v1", "-o", str(out / "far.html"))
    return {"big": out / "big.html", "hostile": out / "hostile.html", "names": out / "names.html",
            "diff": out / "diff.html",
            "far": out / "far.html", "wide": wide}


@pytest.fixture(scope="module")
def layers() -> list[dict[str, Any]]:
    """The layers of SPEC as `convcost model -f json` lists them: what the page must show."""
    rows: list[dict[str, Any]] = json.loads(_convcost("model", SPEC, "--no-verify", "-f", "json"))["layers"]
    return rows


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with browser_page() as page:
        yield page


class Watch:
    """What a page did while it loaded: requests, console errors, uncaught errors, dialogs."""

    def __init__(self, page: Any) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        self.requests.append(route.request.url)
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            route.abort()


def _open(page: Any, path: Path) -> tuple[Watch, float]:
    page.unroute("**/*")
    watch = Watch(page)
    start = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready]")
    return watch, time.perf_counter() - start


def _main_thread_ms(page: Any, path: Path) -> dict[str, float]:
    """Load ``path`` and return the renderer main thread's CPU time per kind (ms): thread
    ticks, so a busy machine (the tests run on 2 shared cores) does not inflate them."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready]")
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    cdp.detach()
    return {k: metrics[k] * 1000 for k in ("TaskDuration", "ScriptDuration", "LayoutDuration",
                                           "RecalcStyleDuration")}


def test_loads_with_no_errors_and_no_requests(browser: Any, pages: dict[str, Path],
                                              record_property: Any) -> None:
    watch, seconds = _open(browser, pages["big"])
    nav = browser.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
    load_ms = json.loads(nav)["loadEventEnd"]
    assert watch.errors == []
    assert watch.requests == [pages["big"].as_uri()]  # the page itself, nothing else
    cpu = _main_thread_ms(browser, pages["big"])  # a second load, measured
    record_property("load_ms", load_ms)
    record_property("main_thread_cpu_ms", cpu["TaskDuration"])
    print(f"\n{SPEC}: {pages['big'].stat().st_size:,} bytes, load event at {load_ms:.0f} ms, ready "
          f"after {seconds * 1000:.0f} ms (wall clock); main-thread CPU "
          + ", ".join(f"{k.removesuffix('Duration').lower()} {v:.0f} ms" for k, v in cpu.items()))
    assert pages["big"].stat().st_size < 2_000_000
    assert cpu["ScriptDuration"] > 0  # the figures are real (no bound on a time)


def test_one_node_per_layer(browser: Any, pages: dict[str, Path], layers: list[dict[str, Any]]) -> None:
    _open(browser, pages["big"])
    assert browser.locator("#graph .node").count() == len(layers) > 500
    assert browser.locator("#layers tbody tr").count() == len(layers)


def test_clicking_a_node_shows_its_row_and_macs(browser: Any, pages: dict[str, Path],
                                                layers: list[dict[str, Any]]) -> None:
    by_name = {row["name"]: row for row in layers}
    _open(browser, pages["big"])
    for i in (0, 37, 250):  # nodes in execution order
        node = browser.locator(f'#graph .node[data-i="{i}"]')
        node.scroll_into_view_if_needed()
        node.click()
        name = node.locator("title").text_content()
        details = browser.locator("#details").inner_text()
        assert f"MACs\n{by_name[name]['macs']:,} (" in details.replace("\t", "\n")
        row = browser.locator("#layers tbody tr.selected")
        assert row.count() == 1 and row.locator("td.name").inner_text() == name


def _column(page: Any, header: str) -> list[str]:
    index = page.locator("#layers thead th").all_inner_texts().index(header)
    return [t.replace(",", "") for t in page.locator(f"#layers tbody tr td:nth-child({index + 1})")
            .all_inner_texts()]


def test_the_table_sorts(browser: Any, pages: dict[str, Path]) -> None:
    _open(browser, pages["big"])
    before = [int(v) for v in _column(browser, "MACs")]
    browser.locator("#col-macs").click()  # largest first
    macs = [int(v) for v in _column(browser, "MACs")]
    assert macs == sorted(before, reverse=True) and macs != before
    assert browser.locator("#col-macs").get_attribute("aria-sort") == "descending"
    browser.locator("#col-macs").click()  # then smallest first
    assert [int(v) for v in _column(browser, "MACs")] == sorted(before)
    browser.locator("#col-name").click()
    names = _column(browser, "layer")
    assert names == sorted(names) and browser.locator("#col-name").get_attribute("aria-sort") == "ascending"


def test_the_metric_switch_resizes_nodes(browser: Any, pages: dict[str, Path]) -> None:
    _open(browser, pages["big"])
    widths = browser.locator("#graph .node rect").evaluate_all("r => r.map(e => e.getAttribute('width'))")
    browser.locator("#metric").select_option("params")
    after = browser.locator("#graph .node rect").evaluate_all("r => r.map(e => e.getAttribute('width'))")
    assert after != widths and len(after) == len(widths)


def test_a_hostile_name_is_text(browser: Any, pages: dict[str, Path]) -> None:
    watch, _ = _open(browser, pages["hostile"])
    assert browser.locator("h1").inner_text() == f"convcost report: {HOSTILE}"
    assert watch.dialogs == [] and watch.errors == []
    assert browser.locator("script").count() == 2


def test_hostile_layer_names_are_text(browser: Any, pages: dict[str, Path]) -> None:
    watch, _ = _open(browser, pages["names"])
    assert watch.dialogs == [] and watch.errors == [] and browser.locator("script").count() == 2
    assert browser.locator("img").count() == 0
    for i in range(len(LAYER_NAMES)):
        name = f"{LAYER_NAMES[i]}{i}"
        node = browser.locator(f'#graph .node[data-i="{i}"]')
        assert node.locator("title").text_content() == name
        node.click()
        assert browser.locator("#details .name").inner_text() == f"#{i + 1} {name}"
        assert browser.locator("#layers tbody tr.selected td.name").inner_text() == name


def _marked(page: Any, status: str) -> int:
    nodes = page.locator(f"#graph .node.{status}").count()
    assert page.locator(f"#layers tbody tr.{status}").count() == nodes  # the table agrees
    return nodes


@pytest.mark.parametrize(("page", "before", "after"), [
    ("diff", "resnet18", "wide"),  # layer3 widened 256 -> 320: changed layers, none added
    ("far", "mobilenet_v1", "mobilenet_v2"),  # added, changed and removed layers
])
def test_diff_mode_marks_what_convcost_diff_finds(browser: Any, pages: dict[str, Path], page: str,
                                                   before: str, after: str) -> None:
    source = {"wide": str(pages["wide"])}.get(after, after)
    counts = json.loads(_convcost("diff", before, source, "-f", "json"))["counts"]
    watch, _ = _open(browser, pages[page])
    assert watch.errors == []
    marks = {status: _marked(browser, status) for status in ("added", "changed", "renamed")}
    assert marks == {status: counts[status] for status in marks}
    assert marks["changed"] > 0
    removed = browser.locator("#removed").inner_text()
    assert (f"removed ({counts['removed']})" in removed) if counts["removed"] else removed == ""
