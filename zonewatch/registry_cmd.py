"""`zonewatch registry check FILE`: name every problem in a registry file before it is loaded.

Exit 0 with a one-line summary on stdout (warnings on stderr), or 1 with every error on stderr,
one per line as `FILE: path: message`, so the clerk fixes the whole file in one pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from schemas.registry import Registry
from schemas.registry_check import RegistryIssue, check_registry_file, registry_digest

__all__ = ["format_issue", "run_check", "summarize"]


def run_check(path: str | Path, stdout: TextIO, stderr: TextIO) -> int:
    """Check one registry file; the exit status is 1 when it has any error."""
    registry, issues = check_registry_file(path)
    for issue in issues:
        print(format_issue(path, issue), file=stderr)
    warnings = sum(issue.severity == "warning" for issue in issues)
    if registry is None:
        errors = len(issues) - warnings
        print(f"{path}: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}; "
              "the registry cannot be loaded", file=stderr)
        return 1
    print(summarize(registry, warnings), file=stdout)
    return 0


def format_issue(source: str | Path, issue: RegistryIssue) -> str:
    """`FILE: path: message (line N)`; warnings say so, a file-level issue has no path."""
    parts = [str(source)]
    if issue.path:
        parts.append(issue.path)
    if issue.severity == "warning":
        parts.append("warning")
    text = ": ".join([*parts, issue.message])
    return f"{text} (line {issue.line})" if issue.line and issue.path else text


def summarize(registry: Registry, warnings: int = 0) -> str:
    """One line: what the registry holds, and its digest to compare with a running worker's."""
    counts = ", ".join([
        _plural(len(registry.zones), "zone"),
        _plural(len(registry.enterprises), "enterprise"),
        _plural(len(registry.points), "point"),
        _plural(len(registry.platforms), "platform"),
    ])
    tail = f", {_plural(warnings, 'warning')}" if warnings else ""
    return f"ok: {counts}{tail} (digest {registry_digest(registry)[:12]})"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
