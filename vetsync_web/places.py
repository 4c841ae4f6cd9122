"""Place names in the pages of both web apps (issue 14 §2): the templates' ``place(code)``
(``某某村（440902001001）``, or the bare code when the county's area list does not name
it) and ``place_or_code(code)`` (the name alone, for a table's narrow column; the code
stays in the cell's ``title``).

The names are read once per request from the app's store (``sync.store.areas``: the
station's own subtree as pulled, or the county's at the hub), under the store's lock:
the page's threads share one store.
"""

from __future__ import annotations

from typing import Callable

from flask import Flask, g

from sync.store.areas import area_names
from veterans import places

__all__ = ["install"]


def install(app: Flask, store: Callable[[], object]) -> None:
    """Give ``app``'s templates ``place`` and ``place_or_code``; ``store()``: the app's open store."""

    def names() -> dict[str, str]:
        if "_area_names" not in g:
            st = store()
            lock = getattr(st, "lock", None)
            if lock is None:
                g._area_names = area_names(st)
            else:
                with lock:
                    g._area_names = area_names(st)
        return g._area_names

    @app.context_processor
    def place_names():
        return {"place": lambda code: places.place(code, names()),
                "place_or_code": lambda code: places.place_or_code(code, names())}
