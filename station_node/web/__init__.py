"""The station's web page (``station-node web``): the clerk's whole day in a
browser, on 127.0.0.1, in Simplified Chinese.

:func:`create_app` builds it from the common frame (:mod:`vetsync_web.app`:
security, login, layout) and one blueprint per part of the work
(:data:`PAGES`). The pages call the same functions as the CLI
(:mod:`station_node.records`, ``roster``, ``corrections``, :mod:`veterans.resolve`,
:mod:`veterans.report`); none holds SQL. Every request runs as the person logged
in (:func:`station_node.operator.acting`), who is recorded as 经办人 on what it writes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g

from station_node import home as home_mod
from station_node import operator
from sync.store.station import Store
from vetsync_web import accounts as accounts_mod
from vetsync_web import places
from vetsync_web.app import allowed_hosts, is_loopback, make_app

__all__ = ["create_app", "PAGES", "NAV", "StationPage", "page", "store"]

#: The blueprints of the page, in the order of the top bar (module → its ``bp``).
PAGES = (
    "station_node.web.home",
    "station_node.web.veterans",
    "station_node.web.visits",
    "station_node.web.petitions",
    "station_node.web.conflicts",
    "station_node.web.roster",
    "station_node.web.report",
)

NAV = [
    ("home.index", "首页"),
    ("veterans.index", "退役军人"),
    ("visits.index", "走访慰问"),
    ("petitions.index", "信访"),
    ("conflicts.index", "冲突"),
    ("roster.index", "导入导出"),
    ("report.index", "报表"),
]


@dataclass
class StationPage:
    """What every request of the page shares: the home, the one open store (its
    writes take the store's lock; the page's threads share it), and state the
    page parts keep (the sync in progress)."""

    home: Path
    store: Store
    state: dict[str, Any] = field(default_factory=dict)


def page() -> StationPage:
    return current_app.extensions["station"]


def store() -> Store:
    return page().store


def create_app(home: str | Path, *, host: str = "127.0.0.1", port: int = 8470, store: Store | None = None,
               accounts: accounts_mod.Accounts | None = None) -> Flask:
    """The page for the station in ``home`` served at host:port (the ``Host`` it answers)."""
    home = Path(home)
    accounts = accounts or accounts_mod.Accounts(home)
    store = store or home_mod.open_store(home)
    code = store.meta("station") or ""
    app = make_app(name="station_node.web", title=f"退役军人服务站 {code}", home=home, cookie_name="vetsync_station",
                   hosts=allowed_hosts(host, port), accounts=accounts, nav=NAV, loopback=is_loopback(host))
    app.template_folder = str(Path(__file__).parent / "templates")
    app.extensions["station"] = StationPage(home, store)
    places.install(app, lambda: app.extensions["station"].store)  # place names in the templates
    for module in PAGES:
        app.register_blueprint(importlib.import_module(module).bp)

    @app.before_request
    def act_as_user():
        operator.set_current(g.get("user"))

    @app.teardown_request
    def stop_acting(exc):
        operator.set_current(None)

    return app
