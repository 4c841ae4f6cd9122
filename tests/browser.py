"""Browser tests' helpers: Debian's Chromium driven by Selenium through the
system's ChromeDriver (``/usr/bin/chromedriver``; Selenium is given both paths,
so it never downloads a browser or a driver), and the pages run as real
processes (``station-node web``, ``county-hub web``) read off their
``listening http://…`` line.

Without a browser the tests say so and skip; under ``CI=true`` they fail
(``.ci/run`` installs the browser)."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from vetsync_web.serve import parse_listening

BIN = Path(sys.executable).parent
SCREENSHOTS = Path(os.environ.get("VETSYNC_SCREENSHOTS", Path(tempfile.gettempdir()) / "vetsync-screenshots"))

#: As the machine's notes give them: without the background-networking flags Chromium
#: keeps trying Google's hosts, which a closed network refuses.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1366,768", "--lang=zh-CN")

MISSING = "浏览器测试未运行：本机没有 chromium 与 chromedriver（Debian: apt-get install chromium chromium-driver）"


def browser_paths() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def need_browser() -> tuple[str, str]:
    paths = browser_paths()
    if paths is None:
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING + "；CI 中不允许跳过", pytrace=False)
        pytest.skip(MISSING)
    return paths


def start_browser(tmp: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = need_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tmp / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(0)
    return driver


class WebProcess:
    """A page served by a real process; ``url`` once it listens. Stopped with SIGTERM."""

    def __init__(self, args: list[str], *, env: dict | None = None, timeout: float = 30):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + timeout
        self.url = None
        while time.monotonic() < deadline and self.url is None:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                self.url = parse_listening(line)
            if self.proc.poll() is not None and self.url is None:
                break
        if self.url is None:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise AssertionError(f"{args[:2]} did not start: {err[-2000:]}")

    def stop(self, timeout: float = 10) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def station_web(home: Path) -> WebProcess:
    return WebProcess([str(BIN / "station-node"), "web", "--listen", "127.0.0.1:0", "--home", str(home)])


def hub_web(home: Path) -> WebProcess:
    return WebProcess([str(BIN / "county-hub"), "web", "--listen", "127.0.0.1:0", "--home", str(home)])


def screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
