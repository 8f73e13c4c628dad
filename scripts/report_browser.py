"""Open a convcost report in headless Chromium: Debian's /usr/bin/chromium, driven by Playwright.

Playwright's own browser download is never used (it is not reachable here); the project's
install step (`make test`) installs Debian's `chromium` package instead. The browser test
(tests/cli/test_report_browser.py) and the screenshot script (scripts/report_screenshot.py)
both start the browser through :func:`browser_page`.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


def unavailable() -> str | None:
    """Why the browser cannot run here (None when it can). Playwright is found, not imported:
    the test module calls this at collection, in every pytest worker (an import is ~0.2 s of
    CPU each, for a test the fast loop skips)."""
    try:
        found = importlib.util.find_spec("playwright.sync_api") is not None
    except ImportError:
        found = False
    if not found:
        return "needs the playwright package (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return (f"needs Debian's chromium at {CHROMIUM}: `make test` installs it as root "
                "(apt-get install -y chromium); apt was not available here")
    return None


@contextmanager
def browser_page(width: int = 1400, height: int = 900) -> Iterator[Any]:
    """A fresh page in a fresh profile (a temporary user-data dir, removed afterwards)."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="convcost-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=ARGS,
                viewport={"width": width, "height": height})
            try:
                yield context.pages[0] if context.pages else context.new_page()
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
