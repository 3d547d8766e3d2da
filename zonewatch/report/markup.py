"""Escaping by construction: text is escaped unless it is already `Html` built here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape


class Html(str):
    """Markup that is safe to insert as it is."""

    __slots__ = ()


Cell = Html | str | int | float | None


def h(value: Cell) -> Html:
    """`value` as markup: Html as it is, anything else escaped; None as an empty cell."""
    if isinstance(value, Html):
        return value
    return Html("" if value is None else escape(str(value), quote=True))


def tag(name: str, content: Cell = None, cls: str = "", **attrs: str) -> Html:
    attr = "".join(f' {k.rstrip("_")}="{escape(v, quote=True)}"' for k, v in attrs.items())
    klass = f' class="{escape(cls, quote=True)}"' if cls else ""
    return Html(f"<{name}{klass}{attr}>{h(content)}</{name}>")


def join(parts: Iterable[Cell], sep: str = "") -> Html:
    return Html(sep.join(h(p) for p in parts))


def bi(zh: str, en: str) -> Html:
    """Chinese first, English beside in a lighter, smaller face."""
    return join([zh, tag("span", en, "en")], " ")


def table(head: Sequence[Cell], rows: Iterable[Sequence[Cell]], cls: str = "",
          numeric: Iterable[int] = ()) -> Html:
    """A table whose header repeats on every printed page; `numeric` columns align right."""
    right = set(numeric)

    def row(cells: Sequence[Cell], cell: str) -> Html:
        return tag("tr", join(tag(cell, c, "num" if i in right else "")
                              for i, c in enumerate(cells)))
    body = join(row(r, "td") for r in rows)
    return tag("table", join([tag("thead", row(head, "th")), tag("tbody", body)]), cls)
