"""Table names as other systems spell them: one table answers to "12", "T12" and "Table 12".

Every integration in the field breaks on exact, case-sensitive table names, so sources and
reservation providers resolve what a vendor calls a table through this one map: the table's own
id, then each `aliases` entry of `[[tables]]`, compared without case and with runs of spaces,
dashes, dots and underscores folded to one space. A name that resolves to nothing is the caller's
counted rejection, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_FOLD = re.compile(r"[\s._-]+")


def fold(name: str) -> str:
    """The comparison form of a table name: "Table_12 " -> "table 12"."""
    return _FOLD.sub(" ", name).strip().casefold()


class TableNames:
    """name -> table id, from the ids and their aliases."""

    def __init__(self, ids: Iterable[str], aliases: Mapping[str, Iterable[str]] | None = None):
        self.ids = tuple(ids)
        self._map: dict[str, str] = {}
        for tid in self.ids:
            self._map[fold(tid)] = tid
        for tid, names in (aliases or {}).items():
            for name in names:
                self._map.setdefault(fold(name), tid)

    def resolve(self, name: str | None) -> str | None:
        """The table id `name` stands for, or None."""
        if name is None:
            return None
        if name in self.ids:
            return name
        return self._map.get(fold(str(name)))


def clashes(ids: Iterable[str], aliases: Mapping[str, Iterable[str]]) -> list[tuple[str, str, str]]:
    """(alias, table, other table) for every alias that also names a different table."""
    owner: dict[str, str] = {fold(tid): tid for tid in ids}
    out: list[tuple[str, str, str]] = []
    for tid, names in aliases.items():
        for name in names:
            key = fold(name)
            other = owner.get(key)
            if other is not None and other != tid:
                out.append((name, tid, other))
            else:
                owner[key] = tid
    return out
