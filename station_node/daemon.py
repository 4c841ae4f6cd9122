"""``station-node daemon``: sync on an interval and on demand (SIGUSR1),
backing off while the hub is unreachable, does not answer, fails, or this PC's
disk is full or failing — for as long as that lasts. The loop only schedules
``sync_with_retry`` (:meth:`Daemon.sync_session`; with ``--web`` the page's
runner wraps it, so that the page's 同步 button wakes this loop rather than racing
it: :meth:`Daemon.wake`); it stops on SIGTERM/SIGINT (exit 0), and on a permanent
error only (a revoked or rejected certificate, a hub of another county, a
protocol the hub does not speak: exit ``EXIT_PERMANENT``), which no retry can
mend. Anything else that escapes is a crash (exit 1, systemd restarts it)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Callable

import tenacity

from station_node.session import DEFAULT_TIMEOUT_S, sync_with_retry
from sync.engine.defaults import DAEMON_INTERVAL_S, DAEMON_MAX_BACKOFF_S
from sync.engine.errors import VetsyncError
from sync.engine.replicate import Progress, SyncReport
from sync.store.rows import DatabaseError, disk_fault
from sync.store.station import Store

log = logging.getLogger("station_node.daemon")

__all__ = ["Daemon", "EXIT_PERMANENT"]

#: the daemon's exit status for a problem a person must mend (the systemd unit does not restart on it)
EXIT_PERMANENT = 3


class Daemon:
    def __init__(self, home: Path, store: Store, *, interval: float = DAEMON_INTERVAL_S, max_backoff: float = DAEMON_MAX_BACKOFF_S,
                 timeout: float = DEFAULT_TIMEOUT_S, report: Callable[[str], None] = print,
                 session: Callable[[], SyncReport] | None = None):
        """``session``: what one round runs (default :meth:`sync_session`; ``daemon --web``: the page's runner)."""
        self.home, self.store, self.timeout = home, store, timeout
        self.session = session or self.sync_session
        self.interval, self.max_backoff = interval, max_backoff
        self.report = report
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()
        self._backoff = tenacity.wait_random_exponential(multiplier=max(1.0, interval / 10), max=max_backoff)

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        signal.signal(signal.SIGINT, lambda *_: self.stop())
        if hasattr(signal, "SIGUSR1"):
            signal.signal(signal.SIGUSR1, lambda *_: self.wake_event.set())

    def sync_session(self, progress: Progress | None = None) -> SyncReport:
        """One session, one attempt (the loop's backoff is the retry)."""
        return sync_with_retry(self.home, self.store, attempts=1, timeout=self.timeout, progress=progress,
                               on_renew=lambda rn: self.report(rn.line()))

    def wake(self) -> None:
        """Sync now (SIGUSR1, the page's 同步 button); a session running finishes first."""
        self.wake_event.set()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake_event.set()

    def run(self) -> int:
        failures = 0
        while not self.stop_event.is_set():
            try:
                r = self.session()
                failures = 0
                self.report(f"已同步：上传 {r.pushed}，下载 {r.pulled}，移出 {r.evicted}，被拒 {r.rejected}，冲突 {r.conflicts}")
                wait = self.interval
            except VetsyncError as exc:
                if not exc.retryable:
                    self.report(f"错误：{exc}；后台同步停止，须人工处理")
                    return EXIT_PERMANENT
                failures += 1
                wait = self._backoff(_State(failures))
                self.report(f"同步失败（第 {failures} 次），{wait:.0f} 秒后重试：{exc}")
            except DatabaseError as exc:  # this PC's disk: full or failing; nothing half written, room may come
                kind = disk_fault(exc)
                if kind is None:
                    raise
                failures += 1
                wait = self._backoff(_State(failures))
                what = "本机磁盘空间不足" if kind == "full" else "本机磁盘读写出错"
                self.report(f"同步失败（第 {failures} 次），{wait:.0f} 秒后重试：{what}，本批未保存（已有数据完好）")
            self.wake_event.wait(wait)
            self.wake_event.clear()
        return 0


class _State:
    """The part of tenacity's RetryCallState that its wait strategies read."""

    def __init__(self, attempt_number: int):
        self.attempt_number = attempt_number
