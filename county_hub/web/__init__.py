"""The county's dashboard (``county-hub web``): the network's stations, the
county's conflict queue, the petitions overdue or due soon, and the county
report with charts. Every page needs a login (``county-hub user add``); logins,
failures and every change made here go to ``county-hub audit`` with the account.

:func:`create_app` builds it from the common frame (:mod:`vetsync_web.app`) and
one blueprint per part (:data:`PAGES`); the pages call the same functions as the
CLI (:mod:`county_hub.registry`, ``tokens``, :mod:`veterans.resolve`,
:mod:`veterans.report`); none holds SQL.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g

from county_hub import home as home_mod
from county_hub.registry import Registry
from sync.store.hub import HubStore
from vetsync_web import accounts as accounts_mod
from vetsync_web import places
from vetsync_web.app import allowed_hosts, is_loopback, make_app

__all__ = ["create_app", "PAGES", "NAV", "HubPage", "page", "audit"]

PAGES = (
    "county_hub.web.stations",
    "county_hub.web.conflicts",
    "county_hub.web.petitions",
    "county_hub.web.report",
)

NAV = [
    ("stations.index", "网点"),
    ("conflicts.index", "冲突"),
    ("petitions.index", "信访"),
    ("report.index", "报表"),
]


@dataclass
class HubPage:
    home: Path
    store: HubStore
    registry: Registry
    state: dict[str, Any] = field(default_factory=dict)


def page() -> HubPage:
    return current_app.extensions["hub"]


def audit(kind: str, detail: dict | None = None, *, station: str | None = None) -> None:
    """Write a change made on the dashboard to ``county-hub audit``, with the account that made it."""
    page().registry.audit(kind, station, user=g.get("user"), **(detail or {}))


def _account_acting() -> str | None:
    from flask import has_request_context

    return g.get("user") if has_request_context() else None


def create_app(home: str | Path, *, host: str = "127.0.0.1", port: int = 8480,
               accounts: accounts_mod.Accounts | None = None) -> Flask:
    home = Path(home)
    store, registry = home_mod.open_hub(home)
    accounts = accounts or accounts_mod.Accounts(home)
    county = store.meta("county") or ""
    name = store.meta("name") or f"{county} 退役军人服务中心"

    def login_audit(kind: str, who: str | None, detail: dict) -> None:
        registry.audit(f"web_{kind}", None, user=who, **detail)

    app = make_app(name="county_hub.web", title=name, home=home, cookie_name="vetsync_county",
                   hosts=allowed_hosts(host, port), accounts=accounts, nav=NAV, loopback=False,
                   audit=login_audit)
    app.template_folder = str(Path(__file__).parent / "templates")
    app.extensions["hub"] = HubPage(home, store, registry)
    places.install(app, lambda: app.extensions["hub"].store)  # place names in the templates
    store.operator = _account_acting  # the dashboard's writes (resolutions) record the account in the rows' history
    for module in PAGES:
        app.register_blueprint(importlib.import_module(module).bp)

    @app.route("/")
    def index():
        from flask import redirect, url_for

        return redirect(url_for("stations.index"))

    return app
