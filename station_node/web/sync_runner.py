"""The page's 同步: one sync session at a time over the page's one store, its
progress (rows pushed and pulled so far) and its result kept for the 首页 to
show while it runs and after.

:class:`SyncRunner` lives in ``page().state["sync"]`` (:func:`runner`).
:meth:`SyncRunner.start` is the button: it runs :meth:`SyncRunner.run` in a
thread of its own — or, when ``station-node daemon --web`` serves the page,
wakes the daemon's loop (:attr:`SyncRunner.waker`), whose sessions go through
:meth:`SyncRunner.run` as well, so that the button never races the loop: one
session at a time whoever starts it (a lock; a press while one runs shows the
one running). The session is ``station_node.session.sync_with_retry`` with one
attempt (the clerk sees a failure at once, in words, and may press again).

The last result is also kept in the store's ``_meta`` (``web_last_sync``: JSON
``{at_ms, ok, line, error}``), so that the 首页 shows it after a restart.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from station_node.session import DEFAULT_TIMEOUT_S, sync_with_retry
from sync.engine.errors import VetsyncError
from sync.engine.replicate import SyncReport
from sync.store.rows import DatabaseError, disk_fault
from sync.store.station import Store

__all__ = ["SyncRunner", "SyncState", "runner", "result_line", "LAST_SYNC_META", "last_result"]

#: the last session's result as the page shows it (JSON {at_ms, ok, line, error})
LAST_SYNC_META = "web_last_sync"


def result_line(report: SyncReport) -> str:
    """The line ``station-node sync`` prints at the end of a session."""
    return (f"同步完成：上传 {report.pushed} 条，下载 {report.pulled} 条，移出 {report.evicted} 条，"
            f"被拒 {report.rejected} 条，新冲突 {report.conflicts} 条（用时 {report.seconds:.2f} 秒）")


def error_words(exc: BaseException) -> str:
    """A failed session as one Chinese line."""
    if isinstance(exc, VetsyncError):
        return str(exc)
    if isinstance(exc, DatabaseError):
        kind = disk_fault(exc)
        if kind == "full":
            return "本机磁盘空间不足，本批未保存（已有数据完好）"
        if kind is not None:
            return "本机磁盘读写出错，本批未保存（已有数据完好）"
    return "同步出错，未完成（已保存的数据完好）；请重试，仍不行请联系县中心"


@dataclass
class SyncState:
    """What the page shows of the present or last session. ``status``: ``idle`` (none
    in this process), ``requested`` (the daemon's loop was woken and has not begun),
    ``running``, ``done``, ``failed``."""

    status: str = "idle"
    phase: str = ""
    pushed_rows: int = 0
    pulled_rows: int = 0
    push_total: int | None = None  # the unpushed changes when the session began (the bar's end)
    started_ms: int | None = None
    finished_ms: int | None = None
    line: str = ""
    error: str = ""
    rejections: list[dict] = field(default_factory=list)
    by: str | None = None  # who pressed the button (None: the daemon's schedule)

    @property
    def busy(self) -> bool:
        return self.status in ("requested", "running")

    def as_dict(self) -> dict:
        return asdict(self) | {"busy": self.busy}


class SyncRunner:
    """One session at a time over ``store``; progress and result in :attr:`state`."""

    def __init__(self, home: Path, store: Store, *, timeout: float = DEFAULT_TIMEOUT_S):
        self.home, self.store, self.timeout = Path(home), store, timeout
        self._session_lock = threading.Lock()  # held for the whole session
        self._lock = threading.Lock()  # guards state
        self._state = SyncState()
        self._thread: threading.Thread | None = None
        #: set by ``daemon --web``: wakes the daemon's loop instead of starting a thread
        self.waker: Callable[[], None] | None = None
        #: the session itself (tests and the daemon may replace it); called with progress=
        self.session: Callable[..., SyncReport] = self._sync

    # ------------------------------------------------------------------ reading

    def state(self) -> SyncState:
        with self._lock:
            return SyncState(**{**asdict(self._state), "rejections": list(self._state.rejections)})

    def _set(self, **changes) -> None:
        with self._lock:
            for k, v in changes.items():
                setattr(self._state, k, v)

    # ------------------------------------------------------------------ running

    def _sync(self, *, progress) -> SyncReport:
        return sync_with_retry(self.home, self.store, attempts=1, progress=progress, timeout=self.timeout)

    def _progress(self, phase: str, rows: int) -> None:
        with self._lock:
            self._state.phase = phase
            if phase == "push":
                self._state.pushed_rows += rows
            elif phase == "pull":
                self._state.pulled_rows += rows

    def run(self, *, by: str | None = None) -> SyncReport:
        """One session in this thread (the page's thread, or the daemon's loop), waiting for
        one already running to end first. Raises what the session raises, after recording it."""
        with self._session_lock:
            with self._lock:
                asked = self._state.by if self._state.status == "requested" else None
            try:
                push_total = self.store.pending_count()
            except Exception:  # only the bar's length
                push_total = None
            self._set(status="running", phase="connect", pushed_rows=0, pulled_rows=0, push_total=push_total,
                      line="", error="",
                      rejections=[], started_ms=_now_ms(), finished_ms=None,
                      by=by if by is not None else asked)
            try:
                report = self.session(progress=self._progress)
            except BaseException as exc:
                words = error_words(exc)
                self._set(status="failed", error=words, finished_ms=_now_ms())
                self._keep(ok=False, line="", error=words)
                raise
            line = result_line(report)
            self._set(status="done", line=line, rejections=list(report.rejections), finished_ms=_now_ms(),
                      pushed_rows=max(self._state.pushed_rows, report.pushed),
                      pulled_rows=max(self._state.pulled_rows, report.pulled))
            self._keep(ok=True, line=line, error="")
            return report

    def start(self, *, by: str | None = None) -> SyncState:
        """The 同步 button: begin a session unless one is running or asked for; the state."""
        with self._lock:
            if self._state.busy:
                return SyncState(**asdict(self._state))
            self._state = SyncState(status="requested", by=by, started_ms=_now_ms())
        if self.waker is not None:
            self.waker()
        else:
            self._thread = threading.Thread(target=self._in_thread, args=(by,), name="vetsync-web-sync", daemon=True)
            self._thread.start()
        return self.state()

    def _in_thread(self, by: str | None) -> None:
        try:
            self.run(by=by)
        except BaseException:  # recorded in the state; nothing else to tell in a thread
            pass

    def wait(self, timeout: float = 30.0) -> SyncState:
        """Until no session is running or asked for (tests; a clean stop)."""
        deadline = time.monotonic() + timeout
        while self.state().busy and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.state()

    def _keep(self, *, ok: bool, line: str, error: str) -> None:
        """The result in ``_meta`` for the 首页 after a restart (a failure to keep it fails nothing)."""
        try:
            with self.store.transaction(durable=False):
                self.store.set_meta(LAST_SYNC_META, json.dumps({"at_ms": _now_ms(), "ok": ok, "line": line,
                                                                "error": error}, ensure_ascii=False))
        except Exception:  # the disk may be the very problem; the state in memory still says it
            pass


def last_result(store: Store) -> dict | None:
    """The last session's result kept in ``_meta`` (by this page or the daemon serving it)."""
    text = store.meta(LAST_SYNC_META)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def runner(page) -> SyncRunner:
    """The page's runner (made on first use; ``daemon --web`` makes it first, with its waker)."""
    found = page.state.get("sync")
    if found is None:
        found = page.state.setdefault("sync", SyncRunner(page.home, page.store))
    return found


def _now_ms() -> int:
    return int(time.time() * 1000)
