"""Checks a registry file and names every problem in it, so a clerk can fix the file in one pass.

Coverage is "reporting ÷ registered": a wrong registry is a wrong figure. Pydantic checks each
field; this module turns its errors into paths such as `points[12].interval_s` and plain English,
and adds the checks across entries (duplicates, unknown references) that no single model can see.
Cross-entry checks read the raw data, so an entry with one bad field still counts as existing.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, NamedTuple

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from schemas.registry import Enterprise, MaintenanceWindow, Platform, Point, Registry, Zone

__all__ = [
    "RegistryError", "RegistryIssue", "check_registry", "check_registry_file",
    "check_registry_text", "format_loc", "load_registry", "registry_digest",
]

IssueSeverity = Literal["error", "warning"]

SECTIONS: dict[str, type[BaseModel]] = {
    "zones": Zone, "enterprises": Enterprise, "points": Point, "platforms": Platform,
    "maintenance": MaintenanceWindow,
}
_SINGULAR = {"zones": "zone", "enterprises": "enterprise", "points": "point",
             "platforms": "platform", "maintenance": "maintenance window"}


class RegistryIssue(NamedTuple):
    """One problem, named by its place in the file: `points[12].interval_s`. Warnings don't fail."""

    path: str
    message: str
    severity: IssueSeverity = "error"
    line: int | None = None
    """1-based line in the YAML text, when the issue was found in a text."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class RegistryError(ValueError):
    """The registry cannot be used; `issues` names every error (and warning) found in it."""

    def __init__(self, issues: list[RegistryIssue], source: str = "registry") -> None:
        self.issues = issues
        self.source = source
        errors = [str(i) for i in issues if i.severity == "error"]
        super().__init__(f"{source}: {len(errors)} error(s):\n" + "\n".join(errors))


# -- public entry points ---------------------------------------------------------------------

def check_registry(data: object) -> list[RegistryIssue]:
    """Every problem in already-parsed registry data: field errors, then cross-entry checks."""
    return _check(data)[1]


def check_registry_text(text: str) -> tuple[Registry | None, list[RegistryIssue]]:
    """Parse YAML text and check it; the registry is None when there is any error."""
    try:
        data, node = _parse_yaml(text)
    except yaml.YAMLError as exc:
        return None, [_syntax_issue(exc, text)]
    lines, issues = _line_map(node)
    registry, found = _check(data)
    issues = sorted((_locate(i, lines) for i in issues + found), key=lambda i: i.line or 0)
    return (None if _has_errors(issues) else registry), issues


def check_registry_file(path: str | Path) -> tuple[Registry | None, list[RegistryIssue]]:
    """Read and check a registry file; an unreadable file is an issue, not an exception."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [RegistryIssue("", f"is not UTF-8 text (byte {exc.start}); save it as UTF-8")]
    except OSError as exc:
        return None, [RegistryIssue("", f"cannot read the file: {exc.strerror or exc}")]
    return check_registry_text(text)


def load_registry(path: str | Path) -> Registry:
    """The checked registry, or RegistryError naming every problem; warnings don't stop it."""
    registry, issues = check_registry_file(path)
    if registry is None:
        raise RegistryError(issues, str(path))
    return registry


def registry_digest(registry: Registry) -> str:
    """Hex sha256 of the canonical JSON, so every process can say which version it holds.

    Canonical: defaults spelled out, mapping keys sorted, entries in file order (order may matter
    to readers such as the league table), so the same content always gives the same digest.
    """
    doc = registry.model_dump(mode="json")
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# -- YAML ------------------------------------------------------------------------------------

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when installed: the demo registry parses in 0.1 s instead of 2 s."""


def _parse_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """One pass that keeps the node tree (for line numbers) and the plain data."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def _syntax_issue(exc: yaml.YAMLError, text: str) -> RegistryIssue:
    """A YAML error with its line and column, which is all a clerk needs to find it."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    started = getattr(exc, "context_mark", None)
    if context and started and mark and started.line != mark.line:
        context += f" that started at line {started.line + 1}"
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    message = f"{where}not valid YAML: {problem}" + (f" ({context})" if context else "")
    lines = text.splitlines()
    if mark and mark.line < len(lines) and "\t" in lines[mark.line]:
        message += "; YAML indents with spaces, not tabs"
    return RegistryIssue("", message, line=mark.line + 1 if mark else None)


def _line_map(node: yaml.Node | None) -> tuple[dict[str, int], list[RegistryIssue]]:
    """Line of every path in the file, and keys given twice (YAML silently keeps the last)."""
    lines: dict[str, int] = {}
    issues: list[RegistryIssue] = []
    stack: list[tuple[yaml.Node, str]] = [(node, "")] if node is not None else []
    seen: set[int] = set()
    while stack:
        current, path = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for child_path, key_node, child in _children(current, path):
            line = key_node.start_mark.line + 1
            if child_path in lines and isinstance(current, yaml.MappingNode):
                issues.append(RegistryIssue(child_path, f"is given twice in the same entry (lines "
                                            f"{lines[child_path]} and {line}); keep only one"))
            lines.setdefault(child_path, line)
            stack.append((child, child_path))
    return lines, issues


def _children(node: yaml.Node, path: str) -> Iterator[tuple[str, yaml.Node, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            yield _join(path, key_node.value), key_node, value_node
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield _join(path, index), item, item


def _locate(issue: RegistryIssue, lines: dict[str, int]) -> RegistryIssue:
    """Attach the line of the path, or of its nearest parent (a missing field has no line)."""
    path = issue.path
    while path and path not in lines:
        parent = re.sub(r"(\.[^.\[]+|\[[^\]]*\]|\[\"[^\"]*\"\])$", "", path)
        path = parent if parent != path else ""
    return issue._replace(line=issue.line or lines.get(path))


# -- paths -----------------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _join(path: str, key: object) -> str:
    """`points` + 12 -> `points[12]`; + `interval_s` -> `points[12].interval_s`."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    text = str(key)
    if _PLAIN_KEY.match(text):
        return f"{path}.{text}" if path else text
    return f"{path}[{json.dumps(text, ensure_ascii=False)}]"


def format_loc(loc: Iterable[object]) -> str:
    """A pydantic `loc` tuple as a path in the file: ('points', 12, 'interval_s') -> ..."""
    path = ""
    for part in loc:
        path = _join(path, part)
    return path


# -- field errors (pydantic) -----------------------------------------------------------------

_SECONDS = "must be a positive whole number of seconds"
_BOOL = "must be true or false"
_RULES: dict[str, str] = {
    "id": "must be a plain id: lowercase ASCII letters, digits, '.', '_' or '-', "
          "starting with a letter or digit, at most 63 characters",
    "name": "must be a name (it cannot be empty)",
    "name_en": "must be text",
    "level": "must be national or provincial",
    "domain": "must be environment or safety",
    "kind": "must name the kind of point, e.g. wastewater, flue_gas, vocs, gas_detector or tank",
    "mn": "must be the HJ 212 device number (MN): up to 24 letters and digits",
    "zone": "must be the id of a zone",
    "enterprise": "must be the id of an enterprise",
    "interval_s": _SECONDS, "heartbeat_s": _SECONDS, "gap_threshold_s": _SECONDS,
    "key_polluter": _BOOL, "assessment_required": _BOOL, "required": _BOOL,
    "factors": "must be a list of one or more factor codes, e.g. [w01018, w21003]",
    "factors[]": "must be a factor code such as w01018",
    "limits": "must map factor codes to limits, e.g. {w01018: 50.0}",
    "limits[]": "must be a number",
    "detection_limits": "must map factor codes to detection limits, e.g. {w01018: 4.0}",
    "detection_limits[]": "must be a number",
    "point": "must be the id of a point",
    "start": "must be a date and time with its offset, e.g. 2026-12-01T08:00:00+08:00",
    "end": "must be a date and time with its offset, e.g. 2026-12-01T12:00:00+08:00",
    "kinds": "must be a list of alert kinds, e.g. [data_gap, invalid_data]",
    "kinds[]": "must be an alert kind such as data_gap",
    "reason": "must be text of at most 500 characters",
}


def _check(data: object) -> tuple[Registry | None, list[RegistryIssue]]:
    """Field errors for every entry at once, then the cross-entry checks on the raw data."""
    try:
        registry: Registry | None = Registry.model_validate(data)
        issues: list[RegistryIssue] = []
    except ValidationError as exc:
        registry, issues = None, [_field_issue(err) for err in exc.errors()]
    issues += _cross_checks(data)
    return (None if _has_errors(issues) else registry), issues


def _field_issue(err: ErrorDetails) -> RegistryIssue:
    loc = tuple(err["loc"])
    if loc[-1:] == ("[key]",) or err["type"] == "invalid_key":
        key_loc = loc[:-1] if loc[-1:] == ("[key]",) else loc
        return RegistryIssue(format_loc(key_loc), "is a key that must be text; write it in quotes")
    return RegistryIssue(format_loc(loc), _field_message(err, loc))


def _field_message(err: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    """Plain English for one pydantic error, by where it is and what kind it is."""
    kind, section = err["type"], str(loc[0]) if loc else ""
    singular = _SINGULAR.get(section, "entry")
    if len(loc) == 0:
        return ("must be a mapping with the sections zones, enterprises, points and platforms "
                f"(got {_show(err['input'])})")
    if kind == "extra_forbidden":
        return _unknown_field(loc)
    if len(loc) == 1:
        return (f"must be a list of {section}, one entry per {singular} (write "
                f"`{section}: []` if there are none; got {_show(err['input'])})")
    if len(loc) == 2 and kind == "value_error":
        return err["msg"].removeprefix("Value error, ")
    if len(loc) == 2:
        return (f"each {singular} must be a mapping of fields such as "
                f"{{id: ..., ...}} (got {_show(err['input'])})")
    if kind == "missing":
        return f"is missing; every {singular} needs {loc[2]}"
    return _value_message(err, loc)


def _value_message(err: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    rule = _RULES.get(f"{loc[2]}[]" if len(loc) > 3 else str(loc[2]))
    value = err["input"]
    got = f"got {_show(value)}"
    if err["type"] == "string_type" and value is not None and not isinstance(value, list | dict):
        got += "; write it in quotes so it stays text"
    if rule is None:
        return f"{err['msg'][:1].lower()}{err['msg'][1:]} ({got})"
    return f"{rule} ({got})"


def _unknown_field(loc: tuple[int | str, ...]) -> str:
    """Name the unknown field and the likely intended one: typos are the common cause."""
    if len(loc) == 1:
        known, what = list(SECTIONS), "a section of the registry"
    else:
        section = str(loc[0])
        known, what = list(SECTIONS[section].model_fields), f"a known {_SINGULAR[section]} field"
    guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
    hint = f"did you mean {guess[0]}?" if guess else "expected one of " + ", ".join(known)
    return f"is not {what}; {hint}"


def _show(value: object) -> str:
    """A value as the clerk wrote it in YAML, not as Python prints it."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}" if value else "an empty list"
    if isinstance(value, str):
        return f"'{value[:40]}…'" if len(value) > 40 else f"'{value}'"
    return str(value)


# -- cross-entry checks ----------------------------------------------------------------------

Entries = list[tuple[int, dict[Any, Any]]]


def _cross_checks(data: object) -> list[RegistryIssue]:
    """Duplicates and dangling references, found even among entries that failed validation."""
    entries = {section: _entries(data, section) for section in SECTIONS}
    zones, enterprises = _ids(entries["zones"]), _ids(entries["enterprises"])
    issues = [i for section, items in entries.items() for i in _duplicates(section, items, "id")]
    issues += _duplicates("points", entries["points"], "mn")
    issues += _unknown_refs("enterprises", entries["enterprises"], "zone", zones)
    issues += _unknown_refs("points", entries["points"], "enterprise", enterprises)
    issues += _unknown_refs("platforms", entries["platforms"], "zone", zones)
    issues += _unknown_refs("maintenance", entries["maintenance"], "point",
                            _ids(entries["points"]))
    issues += _unknown_refs("maintenance", entries["maintenance"], "enterprise", enterprises)
    issues += _stray_limits(entries["points"])
    issues += _unwatched_polluters(entries["enterprises"], entries["points"])
    issues += _zones_without_platform(entries["zones"], entries["platforms"])
    return issues


def _entries(data: object, section: str) -> Entries:
    items = data.get(section) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    return [(index, item) for index, item in enumerate(items) if isinstance(item, dict)]


def _text(item: dict[Any, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) else None


def _ids(entries: Entries) -> set[str]:
    return {value for _, item in entries if (value := _text(item, "id")) is not None}


def _duplicates(section: str, entries: Entries, key: str) -> Iterator[RegistryIssue]:
    """Ids and MNs must be unique: a second one would silently shadow the first."""
    first: dict[str, int] = {}
    label = "MN" if key == "mn" else key
    for index, item in entries:
        value = _text(item, key)
        if value is None:
            continue
        if value in first:
            yield RegistryIssue(f"{section}[{index}].{key}", f"{label} '{value}' is already used "
                                f"by {section}[{first[value]}]; each {_SINGULAR[section]} "
                                f"needs its own {label}")
        else:
            first[value] = index


def _unknown_refs(section: str, entries: Entries, key: str, known: set[str]
                  ) -> Iterator[RegistryIssue]:
    """A reference to an id that no entry has: the reading or unit would belong nowhere."""
    for index, item in entries:
        value = _text(item, key)
        if value is None or value in known:
            continue
        guess = difflib.get_close_matches(value, sorted(known), n=1)
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
        yield RegistryIssue(f"{section}[{index}].{key}",
                            f"no {key} has the id '{value}'{hint}")


def _stray_limits(points: Entries) -> Iterator[RegistryIssue]:
    """A limit on a factor the point does not measure can never trigger: likely a typo."""
    for index, item in points:
        factors = item.get("factors")
        if not isinstance(factors, list):
            continue
        for key in ("limits", "detection_limits"):
            limits = item.get(key)
            if not isinstance(limits, dict):
                continue
            for code in limits:
                if code not in factors:
                    listed = ", ".join(str(f) for f in factors)
                    yield RegistryIssue(_join(f"points[{index}].{key}", code),
                                        f"is a limit for {code}, which is not among the point's "
                                        f"factors ({listed}); add it to factors or remove the "
                                        f"limit")


def _unwatched_polluters(enterprises: Entries, points: Entries) -> Iterator[RegistryIssue]:
    """A key polluter with no required environment point cannot be measured as covered."""
    watched = {_text(item, "enterprise") for _, item in points
               if item.get("domain") == "environment" and item.get("required", True) is not False}
    for index, item in enterprises:
        ident = _text(item, "id")
        if item.get("key_polluter") is True and ident is not None and ident not in watched:
            yield RegistryIssue(f"enterprises[{index}]", f"key polluter '{ident}' has no required "
                                "environment monitoring point, so its online monitoring cannot "
                                "be measured; add its points or set key_polluter: false",
                                "warning")


def _zones_without_platform(zones: Entries, platforms: Entries) -> Iterator[RegistryIssue]:
    """A zone with no platform has no platform rate to report."""
    served = {_text(item, "zone") for _, item in platforms}
    for index, item in zones:
        ident = _text(item, "id")
        if ident is not None and ident not in served:
            yield RegistryIssue(f"zones[{index}]", f"zone '{ident}' has no safety platform in "
                                "platforms, so its platform rate cannot be measured", "warning")


def _has_errors(issues: Iterable[RegistryIssue]) -> bool:
    return any(issue.severity == "error" for issue in issues)
