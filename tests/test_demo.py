"""`make demo` runs end to end: every station agrees with the hub at the end."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_and_all_stations_agree(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "demo.py")], capture_output=True, text=True, timeout=180,
        env={**os.environ, "VETSYNC_DEMO_HOME": str(tmp_path / "demo")}, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    agree = [line for line in proc.stdout.splitlines() if "与县中心一致" in line]
    assert len(agree) == 3
    assert "重复登记" in proc.stdout and "并发修改" in proc.stdout and "已解决" in proc.stdout
    assert "县中心已停止（退出码 0）" in proc.stdout
    assert (tmp_path / "demo" / "县级报表.xlsx").is_file()
