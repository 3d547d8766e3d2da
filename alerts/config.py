"""Alert delivery settings (environment) and the routes file (ZW_ROUTES_FILE), both checked once
at start: a routes file with a mistake stops the worker with every problem named by its line.

See `deploy/routes.example.yaml` for the file, documented.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.channels import AlertmanagerConfig, ChannelConfig
from alerts.channels.base import DEFAULT_TIMEOUT_S
from alerts.exceptions import RoutesError
from schemas import AlertKind, Audience, Severity
from schemas.registry_check import (
    RegistryIssue,
    _line_map,
    _locate,
    _parse_yaml,
    _syntax_issue,
    format_loc,
)

__all__ = [
    "AlertSettings", "EscalationRule", "FlapPolicy", "Match", "RepeatRule", "RouteRule",
    "Routes", "RoutesFile", "default_routes", "load_routes", "routes_from_settings",
]


class AlertSettings(BaseSettings):
    """Where the routes are and how hard to try a delivery."""

    model_config = SettingsConfigDict(env_prefix="ZW_", frozen=True, extra="ignore")

    routes_file: Path | None = None
    alertmanager_url: HttpUrl | None = None
    """Unset: no Alertmanager."""
    delivery_timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    """Per attempt, for channels that do not set their own `timeout_s`."""
    delivery_attempts: int = Field(default=6, ge=1)
    delivery_budget_s: float = Field(default=120.0, gt=0)
    """A delivery gives up (dead letter) after this many attempts or seconds, first reached."""
    delivery_backoff_s: float = Field(default=1.0, gt=0)
    delivery_backoff_max_s: float = Field(default=30.0, gt=0)
    alert_tick_s: float = Field(default=30.0, gt=0)
    """How often open alerts are looked at again for repeats, escalations, refreshes and the
    end of a hold: an escalation or a released alert goes out at most this late."""

    @field_validator("alertmanager_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, v: object) -> object:
        return None if v == "" else v


def _listify(v: object) -> object:
    """`zone: a` and `zone: [a, b]` both read as a list."""
    return [v] if isinstance(v, str) else v


Many = BeforeValidator(_listify)
_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Match(BaseModel):
    """All given fields must hold; each lists alternatives. Empty: matches every alert."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audience: Annotated[list[Audience], Many] = Field(default_factory=list)
    """Matches when the alert's audience includes any of these."""
    zone: Annotated[list[str], Many] = Field(default_factory=list)
    kind: Annotated[list[AlertKind], Many] = Field(default_factory=list)
    severity: Annotated[list[Severity], Many] = Field(default_factory=list)
    min_severity: Severity | None = None
    escalated: bool | None = None
    """true: only for escalations (a duty group paged when nobody acted); false: never."""

    def at_least(self, severity: Severity) -> bool:
        return self.min_severity is None or _RANK[severity] >= _RANK[self.min_severity]


class RouteRule(BaseModel):
    """Like an Alertmanager route: the first that matches wins, unless it says `continue`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    match: Match = Field(default_factory=Match)
    channels: list[str] = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue")


class EscalationRule(BaseModel):
    """An open alert not acknowledged `after_minutes` after opening goes to `to` as well."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: Match = Field(default_factory=Match)
    after_minutes: float = Field(gt=0)
    to: Audience


class RepeatRule(BaseModel):
    """An open, unacknowledged alert is sent again every `every_minutes` to where it went."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: Match = Field(default_factory=lambda: Match(severity=[Severity.CRITICAL]))
    every_minutes: float = Field(gt=0)


class FlapPolicy(BaseModel):
    """A subject opened more than `max_opens` times in `window_minutes` is flapping: one notice,
    then its new alerts are held until it has not opened for `window_minutes`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_opens: int = Field(default=3, ge=1)
    window_minutes: float = Field(default=30.0, gt=0)


ChannelName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]


class RoutesFile(BaseModel):
    """The whole routes file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: dict[ChannelName, ChannelConfig] = Field(default_factory=dict)
    routes: list[RouteRule] = Field(default_factory=list)
    default: list[str] = Field(default_factory=list)
    """Channels for alerts no route matches."""
    escalations: list[EscalationRule] = Field(default_factory=list)
    repeat: list[RepeatRule] = Field(default_factory=list)
    flapping: FlapPolicy = Field(default_factory=FlapPolicy)


Routes = RoutesFile
"""What `load_routes` returns: the checked file, secrets resolved, defaults filled in."""


def load_routes(path: str | Path, *, alertmanager_url: str | None = None,
                timeout_s: float = DEFAULT_TIMEOUT_S,
                env: Mapping[str, str] | None = None) -> Routes:
    """The checked routes, or `RoutesError` listing every problem as `file:line: path: what`.
    `env` resolves `env:NAME` secrets; None: this process's environment."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise RoutesError(str(path), [f"{path}: cannot read the file ({e})"]) from None
    routes, issues = _check_text(text, dict(os.environ if env is None else env),
                                 alertmanager_url, timeout_s)
    if routes is None or issues:
        lines = [f"{path}:{i.line or 1}: {i}" for i in sorted(issues, key=lambda i: i.line or 0)]
        raise RoutesError(str(path), lines)
    return routes


def routes_from_settings(settings: AlertSettings, env: Mapping[str, str] | None = None) -> Routes:
    """The routes file when ZW_ROUTES_FILE is set, else `default_routes`."""
    url = None if settings.alertmanager_url is None else str(settings.alertmanager_url)
    if settings.routes_file is None:
        return default_routes(url)
    return load_routes(settings.routes_file, alertmanager_url=url,
                       timeout_s=settings.delivery_timeout_s, env=env)


def default_routes(alertmanager_url: str | None) -> Routes:
    """No routes file: every alert to Alertmanager when there is one (it routes on its own
    labels), else nowhere but Kafka and MQTT."""
    if alertmanager_url is None:
        return Routes()
    channel = AlertmanagerConfig(url=HttpUrl(alertmanager_url), timeout_s=DEFAULT_TIMEOUT_S)
    return Routes(channels={"alertmanager": channel}, default=["alertmanager"])


def _check_text(text: str, env: dict[str, str], alertmanager_url: str | None,
                timeout_s: float) -> tuple[Routes | None, list[RegistryIssue]]:
    try:
        data, node = _parse_yaml(text)
    except yaml.YAMLError as exc:
        return None, [_syntax_issue(exc, text)]
    lines, issues = _line_map(node)
    try:
        routes: Routes | None = Routes.model_validate(data, context={"env": env})
    except ValidationError as exc:
        routes = None
        issues += [RegistryIssue(_path(e["loc"]), _message(e)) for e in exc.errors()]
    if routes is not None:
        issues += list(_unknown_channels(routes))
        routes, missing = _fill_defaults(routes, alertmanager_url, timeout_s)
        issues += missing
    return routes, [_locate(i, lines) for i in issues]


_TAGS = {"webhook", "dingtalk", "wecom", "alertmanager"}


def _path(loc: tuple[int | str, ...]) -> str:
    """The place in the file; drops the union tag pydantic adds under `channels.NAME`."""
    parts = list(loc)
    if parts[:1] == ["channels"] and len(parts) > 2 and parts[2] in _TAGS:
        del parts[2]
    return format_loc(parts)


def _message(err: ErrorDetails) -> str:
    """Pydantic's message without its input: the input may be a secret."""
    if err["type"] == "missing":
        return "is missing"
    if err["type"] == "extra_forbidden" and tuple(err["loc"]) == ("maintenance",):
        return ("is not part of the routes file: declare maintenance windows in the registry "
                "(its `maintenance` section) or through POST /api/v1/maintenance")
    if err["type"] == "extra_forbidden":
        return "is not a known field here"
    if err["type"] == "union_tag_invalid" or err["type"] == "union_tag_not_found":
        return "needs a type: one of " + ", ".join(sorted(_TAGS))
    msg = err["msg"].removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:]


def _unknown_channels(routes: Routes) -> Iterator[RegistryIssue]:
    """A route to a channel that is not declared would drop its alerts silently."""
    known = sorted(routes.channels)
    named = [(f"routes[{i}].channels[{j}]", n) for i, r in enumerate(routes.routes)
             for j, n in enumerate(r.channels)]
    named += [(f"default[{j}]", n) for j, n in enumerate(routes.default)]
    for path, name in named:
        if name not in routes.channels:
            guess = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean '{guess[0]}'?" if guess else ""
            yield RegistryIssue(path, f"no channel is named '{name}'{hint}")


def _fill_defaults(routes: Routes, alertmanager_url: str | None, timeout_s: float
                   ) -> tuple[Routes, list[RegistryIssue]]:
    """Channel timeouts from the settings; Alertmanager's URL from ZW_ALERTMANAGER_URL."""
    channels: dict[str, Any] = {}
    issues: list[RegistryIssue] = []
    for name, config in routes.channels.items():
        update: dict[str, Any] = {"timeout_s": config.timeout_s or timeout_s}
        if isinstance(config, AlertmanagerConfig) and config.url is None:
            if alertmanager_url is None:
                issues.append(RegistryIssue(format_loc(["channels", name]), "is an Alertmanager "
                              "channel without url, and ZW_ALERTMANAGER_URL is not set"))
                continue
            update["url"] = HttpUrl(alertmanager_url)
        channels[name] = config.model_copy(update=update)
    return routes.model_copy(update={"channels": channels}), issues
