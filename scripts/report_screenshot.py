"""Write docs/report.png: a screenshot of a real `convcost report` page, taken in headless
Chromium with the browser test's set-up (scripts/report_browser.py).

    python scripts/report_screenshot.py [SPEC] [PNG]      # default: mobilenet_v2, docs/report.png
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_browser import browser_page, unavailable

ROOT = Path(__file__).resolve().parent.parent


def main(spec: str = "mobilenet_v2", png: str = str(ROOT / "docs" / "report.png")) -> int:
    reason = unavailable()
    if reason:
        print(f"report_screenshot: {reason}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "report.html"
        subprocess.run([sys.executable, "-m", "convcost", "report", spec, "-o", str(page_file)],
                       check=True, cwd=ROOT)
        with browser_page(1400, 1050) as page:
            page.goto(page_file.as_uri())
            page.wait_for_selector("body[data-ready]")
            page.locator("#graph .node").nth(8).click()  # a layer selected: its details show
            page.screenshot(path=png)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
