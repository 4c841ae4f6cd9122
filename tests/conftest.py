"""Said at the end of every run: the browser tests that did not run (no
chromium here); ``CI=true`` fails them instead (tests/browser.py)."""

from __future__ import annotations

import os

# The commands under test decide their layout from the terminal: a test says the
# width it wants (COLUMNS in the command's env). pytest-xdist's workers inherit a
# COLUMNS/LINES of their own, which would lay out every other command's output.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from browser import MISSING

    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if MISSING in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} 个浏览器测试没有运行（本机没有 chromium 与 chromedriver）",
                                   red=True, bold=True)
