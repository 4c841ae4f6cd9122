"""Row numbers (序号): every list the station prints numbers its rows, and the
next command takes the number instead of a 36-character id.

The numbers of the last list of each table (veterans, visits, petitions) are
kept in the station home, ``last-lists.json`` (0600, written whole through a
temporary file): for each table the ids printed and the number of the first
(``--offset 50`` numbers from 51). A number names the record that had it
when it was printed: a later write does not renumber it, only the next list
of that table does. ``veteran show`` numbers its visits and petitions, which
become the last lists of those tables.

The web page (and any caller that shows its own links) needs none of this:
:func:`station_node.records.find_veteran` and friends take ``numbers=None``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Sequence

from sync.engine.errors import ValidationError
from veterans.labels import table_label

__all__ = ["FILE", "LastLists", "LIST_COMMANDS"]

FILE = "last-lists.json"

#: The command that numbers each table's rows (named in the messages).
LIST_COMMANDS = {"veterans": "veteran list", "visits": "visit list", "petitions": "petition list"}


class LastLists:
    """The row numbers kept in one station home."""

    def __init__(self, home: str | os.PathLike):
        self.path = Path(home) / FILE

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def remember(self, table: str, ids: Sequence[str], first: int = 1) -> None:
        """The ids just printed as numbers ``first``, ``first + 1`` …; the table's earlier list is forgotten."""
        data = self._read()
        data[table] = {"first": int(first), "ids": list(ids), "at_ms": int(time.time() * 1000)}
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False)
        os.replace(tmp, self.path)

    def id_of(self, table: str, number: int) -> str:
        """The id printed as ``number`` in the last list of ``table``, or ValidationError."""
        what = table_label(table)
        command = LIST_COMMANDS.get(table, "list")
        entry = self._read().get(table)
        if not entry or not entry.get("ids"):
            raise ValidationError(f"还没有列出过{what}，序号 {number} 无从查起",
                                  hint=f"先运行 station-node {command}，再用列出的序号")
        first, ids = int(entry.get("first", 1)), entry["ids"]
        if not first <= number < first + len(ids):
            raise ValidationError(f"序号 {number} 不在上次列出的{what}中（上次列出第 {first}–{first + len(ids) - 1} 条）",
                                  hint=f"先运行 station-node {command}，再用列出的序号")
        return ids[number - first]
