"""Turn pydantic validation errors into one line a person can act on."""

from __future__ import annotations

from pydantic import ValidationError


def loc_path(loc: tuple[int | str, ...]) -> str:
    """`('points', 12, 'interval_s')` → `points[12].interval_s`; the message itself: `(root)`."""
    from schemas.registry_check import format_loc  # the one path formatter; lazy: no cycle

    return format_loc(loc) or "(root)"


def describe(err: ValidationError, *, limit: int = 3) -> str:
    """The first few errors as `path: message (got …)`, joined by `; `."""
    parts = []
    for e in err.errors(include_url=False)[:limit]:
        got = e.get("input")
        shown = f" (got {got!r:.40})" if e["type"] not in ("missing", "json_invalid") else ""
        parts.append(f"{loc_path(e['loc'])}: {e['msg']}{shown}")
    more = err.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
