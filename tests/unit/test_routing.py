"""Routing and the pure "what to send now": routes, dedup, escalation, repeats, maintenance
windows, flap damping, and the routes file's checks with their line numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.channels import Reason
from alerts.config import AlertSettings, Routes, load_routes, routes_from_settings
from alerts.exceptions import RoutesError
from alerts.lifecycle import Incident, Scope, acknowledge, open_alert, resolve
from alerts.notify_log import NotifyState
from alerts.routing import Delivery, channels_for, due, in_maintenance, route
from schemas import Alert, AlertKind, Audience, MaintenanceWindow, Severity, Summary

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # 16:00 in Nanjing
MIN = timedelta(minutes=1)

ROUTES = """\
channels:
  em-hook: {type: webhook, url: "http://127.0.0.1:9/em", secret: k}
  em-ding: {type: dingtalk, access_token: t, secret: SECx}
  eco-wecom: {type: wecom, key: env:ZW_TEST_WECOM_KEY}
  jn-hook: {type: webhook, url: "http://127.0.0.1:9/jn", secret: k}
  pk-hook: {type: webhook, url: "http://127.0.0.1:9/pk", secret: k}
  ops-am: {type: alertmanager, resend_minutes: 1}
routes:
  - match: {audience: emergency}
    channels: [em-hook]
    continue: true
  - match: {audience: emergency, escalated: true}
    channels: [em-ding]
    continue: true
  - match: {audience: ecology}
    channels: [eco-wecom]
    continue: true
  - match: {audience: zone, zone: jiangning-edz}
    channels: [jn-hook]
  - match: {audience: zone, zone: [pukou-edz]}
    channels: [pk-hook]
  - match: {audience: operator, min_severity: warning}
    channels: [ops-am]
default: [ops-am]
escalations:
  - {match: {audience: zone, severity: critical}, after_minutes: 15, to: emergency}
repeat:
  - {match: {severity: critical}, every_minutes: 30}
flapping: {max_opens: 3, window_minutes: 30}
"""

WINDOWS = [  # from the registry or the API: passed to `due`, not in the routes file
    MaintenanceWindow(point="jn-0002-gd1", start=T0, end=T0 + 120 * MIN),
    MaintenanceWindow(enterprise="jn-0003", start=T0 - 60 * MIN, end=T0 + 60 * MIN),
]


def _load(tmp_path: Path, text: str, **kw: object) -> Routes:
    path = tmp_path / "routes.yaml"
    path.write_text(text, encoding="utf-8")
    return load_routes(path, env={"ZW_TEST_WECOM_KEY": "wk"}, **kw)  # type: ignore[arg-type]


@pytest.fixture
def routes(tmp_path: Path) -> Routes:
    return _load(tmp_path, ROUTES, alertmanager_url="http://127.0.0.1:9093")


def _safety(point: str = "jn-0001-gd1", zone: str = "jiangning-edz", at: datetime = T0,
            kind: AlertKind = AlertKind.DATA_GAP) -> Alert:
    """A gas detector gone silent: critical, for emergency and zone."""
    inc = Incident(kind, point, zone, at - 5 * MIN, point[:7], point, scope=Scope.SAFETY_GAS)
    return open_alert(inc, Summary(zh="气体探测器数据中断", en="gas detector silent"), at)


def _env(point: str = "jn-0001-ww1", zone: str = "jiangning-edz") -> Alert:
    """A counted wastewater outlet gone silent: warning, for ecology and zone."""
    inc = Incident(AlertKind.DATA_GAP, point, zone, T0 - 5 * MIN, point[:7], point,
                   scope=Scope.ENV_COUNTED)
    return open_alert(inc, Summary(zh="废水排口数据中断", en="outlet silent"), T0)


def _sent(state: NotifyState, deliveries: list[Delivery], now: datetime) -> NotifyState:
    """What the Notifier does after sending: record each delivery."""
    log = state.log
    for d in deliveries:
        log = log.record(d.alert.id, d.what, d.channel, now.timestamp(), d.notice.reason.value)
    return replace(state, log=log)


def _step(alert: Alert, state: NotifyState, routes: Routes, now: datetime
          ) -> tuple[NotifyState, list[tuple[str, str, Reason]]]:
    state, out = due(alert, state, routes, now, WINDOWS)
    return _sent(state, out, now), [(d.channel, d.what, d.notice.reason) for d in out]


# -- routes ------------------------------------------------------------------------------------

def test_route_by_audience_and_zone_with_continue(routes: Routes) -> None:
    assert channels_for(_safety(), routes) == ["em-hook", "jn-hook"]
    assert channels_for(_env(), routes) == ["eco-wecom", "jn-hook"]
    assert channels_for(_env(zone="pukou-edz"), routes) == ["eco-wecom", "pk-hook"]
    assert [d.channel for d in route(_safety(zone="lishui-edz"), routes)] == ["em-hook"]


def test_first_match_stops_without_continue(routes: Routes) -> None:
    """jn-hook's route does not continue: the operator route after it is not reached."""
    alert = _safety().model_copy(update={"audience": [Audience.ZONE, Audience.OPERATOR]})
    assert channels_for(alert, routes) == ["jn-hook"]


def test_default_when_nothing_matches_and_min_severity(routes: Routes) -> None:
    ops = _safety().model_copy(update={"audience": [Audience.OPERATOR]})
    assert channels_for(ops, routes) == ["ops-am"]
    quiet = ops.model_copy(update={"severity": Severity.INFO})
    assert channels_for(quiet, routes) == ["ops-am"], "no route matched: default"
    nobody = ops.model_copy(update={"audience": []})
    assert channels_for(nobody, routes) == ["ops-am"]


def test_escalated_routes_only_for_escalations(routes: Routes) -> None:
    alert = _safety()
    assert "em-ding" not in channels_for(alert, routes)
    assert channels_for(alert, routes, escalated=True) == ["em-hook", "em-ding", "jn-hook"]


def test_route_deliveries_carry_alert_and_change_notice(routes: Routes) -> None:
    alert = _safety()
    (first, _) = route(alert, routes)
    assert first.alert is alert and first.notice.reason is Reason.CHANGE
    assert first.what == "open" and first.notice.at == alert.updated_at


# -- each change once --------------------------------------------------------------------------

def test_each_change_once_per_channel(routes: Routes) -> None:
    alert = _safety()
    state, sent = _step(alert, NotifyState(), routes, T0)
    assert sent == [("em-hook", "open", Reason.CHANGE), ("jn-hook", "open", Reason.CHANGE)]
    state, again = _step(alert, state, routes, T0 + MIN)
    assert again == [], "a replay or a timer tick sends nothing new"
    acked, _ = acknowledge(alert, "值班员", T0 + 2 * MIN)
    state, sent = _step(acked, state, routes, T0 + 2 * MIN)
    assert [s[:2] for s in sent] == [("em-hook", "acknowledged"), ("jn-hook", "acknowledged")]
    state, sent = _step(alert, state, routes, T0 + 3 * MIN)
    assert sent == [], "a replayed older status is worked from the newest"
    done, _ = resolve(acked, T0 + 4 * MIN)
    state, sent = _step(done, state, routes, T0 + 4 * MIN)
    assert [s[:2] for s in sent] == [("em-hook", "resolved"), ("jn-hook", "resolved")]


def test_resolve_of_an_alert_nobody_heard_of_is_not_sent(routes: Routes) -> None:
    done, _ = resolve(_safety(point="jn-0002-gd1"), T0 + MIN)
    assert due(done, NotifyState(), routes, T0 + MIN)[1] == []


# -- escalation and repeats --------------------------------------------------------------------

def test_escalation_after_15_minutes_then_follows_the_alert(routes: Routes) -> None:
    alert = _safety()
    state, _ = _step(alert, NotifyState(), routes, T0)
    state, sent = _step(alert, state, routes, T0 + 14 * MIN)
    assert sent == []
    state, sent = _step(alert, state, routes, T0 + 15 * MIN)
    assert sent == [("em-ding", "open", Reason.ESCALATION)]
    assert due(alert, state, routes, T0 + 15 * MIN)[1] == [], "escalated once"
    done, _ = resolve(alert, T0 + 20 * MIN)
    state, sent = _step(done, state, routes, T0 + 20 * MIN)
    assert {s[0] for s in sent} == {"em-hook", "jn-hook", "em-ding"}


def test_escalation_carries_target_audience(routes: Routes) -> None:
    alert = _safety()
    state, _ = _step(alert, NotifyState(), routes, T0)
    (d,) = due(alert, state, routes, T0 + 16 * MIN)[1]
    assert d.notice.escalated_to is Audience.EMERGENCY


def test_no_escalation_once_acknowledged(routes: Routes) -> None:
    alert = _safety()
    state, _ = _step(alert, NotifyState(), routes, T0)
    acked, _ = acknowledge(alert, "张三", T0 + 5 * MIN)
    state, _ = _step(acked, state, routes, T0 + 5 * MIN)
    assert _step(acked, state, routes, T0 + 60 * MIN)[1] == []


def test_repeat_every_30_minutes_while_open(routes: Routes) -> None:
    alert = _safety().model_copy(update={"audience": [Audience.EMERGENCY]})  # no escalation
    state, _ = _step(alert, NotifyState(), routes, T0)
    state, sent = _step(alert, state, routes, T0 + 29 * MIN)
    assert sent == []
    state, sent = _step(alert, state, routes, T0 + 30 * MIN)
    assert sent == [("em-hook", "open", Reason.REPEAT)]
    _, out = due(alert, state, routes, T0 + 60 * MIN)
    assert [(d.notice.reason, d.notice.seq) for d in out] == [(Reason.REPEAT, 2)]
    assert out[0].notice.key(alert) == f"{alert.id}/open/repeat/2"


def test_no_repeat_for_warnings(routes: Routes) -> None:
    alert = _env()
    state, _ = _step(alert, NotifyState(), routes, T0)
    assert _step(alert, state, routes, T0 + 5 * 60 * MIN)[1] == []


def test_alertmanager_refresh_while_live(routes: Routes) -> None:
    alert = _safety().model_copy(update={"audience": [Audience.OPERATOR]})
    state, sent = _step(alert, NotifyState(), routes, T0)
    assert sent == [("ops-am", "open", Reason.CHANGE)]
    state, sent = _step(alert, state, routes, T0 + MIN)
    assert sent == [("ops-am", "open", Reason.REFRESH)]
    done, _ = resolve(alert, T0 + 90 * MIN)
    state, sent = _step(done, state, routes, T0 + 90 * MIN)
    assert sent == [("ops-am", "resolved", Reason.CHANGE)]
    assert _step(done, state, routes, T0 + 99 * MIN)[1] == [], "no refresh once resolved"


# -- maintenance windows -----------------------------------------------------------------------

def test_in_maintenance_by_point_enterprise_kind_and_time() -> None:
    windows = WINDOWS
    gap = _safety(point="jn-0002-gd1")
    assert in_maintenance(gap, windows, T0 + MIN)
    assert not in_maintenance(gap, windows, T0 + 120 * MIN), "the window has ended"
    assert not in_maintenance(gap, windows, T0 - MIN), "not started yet"
    assert in_maintenance(_safety(point="jn-0003-gd1"), windows, T0)
    other_kind = _safety(point="jn-0002-gd1", kind=AlertKind.EXCEEDANCE)
    assert not in_maintenance(other_kind, windows, T0 + MIN)


def test_gap_held_in_window_and_sent_if_still_open_after(routes: Routes) -> None:
    gap = _safety(point="jn-0002-gd1")
    state, sent = _step(gap, NotifyState(), routes, T0 + MIN)
    assert sent == []
    state, sent = _step(gap, state, routes, T0 + 119 * MIN)
    assert sent == [], "no escalation or repeat while held"
    state, sent = _step(gap, state, routes, T0 + 120 * MIN)
    assert {s[0] for s in sent} == {"em-hook", "jn-hook"}
    state, sent = _step(gap, state, routes, T0 + 134 * MIN)
    assert sent == [], "escalation counts from when it was first sent, not from opening"
    assert _step(gap, state, routes, T0 + 135 * MIN)[1] == [("em-ding", "open",
                                                             Reason.ESCALATION)]


def test_gap_resolved_within_window_is_never_sent(routes: Routes) -> None:
    gap = _safety(point="jn-0002-gd1")
    state, _ = _step(gap, NotifyState(), routes, T0 + MIN)
    done, _ = resolve(gap, T0 + 30 * MIN)
    assert _step(done, state, routes, T0 + 30 * MIN)[1] == []


# -- flap damping ------------------------------------------------------------------------------

def _blink(state: NotifyState, routes: Routes, at: datetime, after: str | None = None
           ) -> tuple[NotifyState, Alert, list, list]:
    """One open (at `at`) and resolve (a minute later) of the same point."""
    inc = Incident(AlertKind.DATA_GAP, "jn-0001-gd1", "jiangning-edz", at - MIN, "jn-0001",
                   "jn-0001-gd1", scope=Scope.SAFETY_GAS)
    alert = open_alert(inc, Summary(zh="中断", en="gap"), at, after=after)
    state, opened = _step(alert, state, routes, at)
    done, _ = resolve(alert, at + MIN)
    state, closed = _step(done, state, routes, at + MIN)
    return state, alert, opened, closed


def test_flapping_subject_gets_one_notice_then_is_held(routes: Routes) -> None:
    state, last = NotifyState(), None
    for n in range(3):  # three blinks in 30 minutes: still fine
        state, alert, opened, closed = _blink(state, routes, T0 + 5 * n * MIN, last)
        assert [s[0] for s in opened] == ["em-hook", "jn-hook"]
        assert [s[1] for s in closed] == ["resolved", "resolved"]
        last = alert.id
    state, alert, opened, closed = _blink(state, routes, T0 + 15 * MIN, last)
    assert opened == [("em-hook", "flapping", Reason.FLAPPING),
                      ("jn-hook", "flapping", Reason.FLAPPING)]
    assert [s[1] for s in closed] == ["resolved", "resolved"], "told of it: told it ended"
    for n in range(4, 8):  # held: nothing at all
        state, alert, opened, closed = _blink(state, routes, T0 + 5 * n * MIN, alert.id)
        assert opened == closed == []


def test_flapping_ends_after_a_quiet_window_with_the_live_alert(routes: Routes) -> None:
    state, last = NotifyState(), None
    for n in range(4):
        state, alert, _, _ = _blink(state, routes, T0 + 5 * n * MIN, last)
        last = alert.id
    inc = Incident(AlertKind.DATA_GAP, "jn-0001-gd1", "jiangning-edz", T0, "jn-0001",
                   "jn-0001-gd1", scope=Scope.SAFETY_GAS)
    stuck = open_alert(inc, Summary(zh="中断", en="gap"), T0 + 20 * MIN, after=last)
    state, sent = _step(stuck, state, routes, T0 + 20 * MIN)
    assert sent == []
    state, sent = _step(stuck, state, routes, T0 + 49 * MIN)
    assert sent == [], "it opened 29 minutes ago: still in the window"
    state, sent = _step(stuck, state, routes, T0 + 50 * MIN)
    assert sent == [("em-hook", "open", Reason.CHANGE), ("jn-hook", "open", Reason.CHANGE)]


# -- the routes file ---------------------------------------------------------------------------

def _errors(tmp_path: Path, text: str, **kw: object) -> list[str]:
    with pytest.raises(RoutesError) as e:
        _load(tmp_path, text, **kw)
    return e.value.issues


def test_errors_name_the_line(tmp_path: Path) -> None:
    text = ROUTES.replace("channels: [jn-hook]", "channels: [jn-hok]").replace(
        "to: emergency}", "to: firemen}").replace("env:ZW_TEST_WECOM_KEY", "env:ZW_NOT_SET")
    issues = _errors(tmp_path, text, alertmanager_url="http://127.0.0.1:9093")
    path = tmp_path / "routes.yaml"
    assert f"{path}:4: channels.eco-wecom.key: names the environment variable ZW_NOT_SET, " \
           "which is not set" in issues
    assert any(i.startswith(f"{path}:26: escalations[0].to: ") for i in issues), issues
    assert len(issues) == 2, "the unknown channel is checked once the fields are valid"
    issues = _errors(tmp_path, ROUTES.replace("[jn-hook]", "[jn-hok]"),
                     alertmanager_url="http://127.0.0.1:9093")
    assert issues == [f"{path}:19: routes[3].channels[0]: no channel is named 'jn-hok'; "
                      "did you mean 'jn-hook'?"]


def test_error_messages_never_show_secrets(tmp_path: Path) -> None:
    text = ROUTES.replace('secret: k}', 'secret: ["hunter2-secret"]}', 1)
    issues = _errors(tmp_path, text, alertmanager_url="http://127.0.0.1:9093")
    assert issues and not any("hunter2" in i for i in issues)


def test_alertmanager_without_url_anywhere(tmp_path: Path) -> None:
    issues = _errors(tmp_path, ROUTES)
    assert issues == [f"{tmp_path / 'routes.yaml'}:7: channels.ops-am: is an Alertmanager "
                      "channel without url, and ZW_ALERTMANAGER_URL is not set"]


def test_yaml_syntax_and_duplicate_keys(tmp_path: Path) -> None:
    (issue,) = _errors(tmp_path, "channels:\n  a: {type: webhook\nroutes: []\n")
    assert ":3: line 3, column" in issue and "not valid YAML" in issue
    dup = ROUTES.replace("  pk-hook:", "  jn-hook:")
    issues = _errors(tmp_path, dup, alertmanager_url="http://127.0.0.1:9093")
    assert any("channels.jn-hook: is given twice in the same entry (lines" in i for i in issues)


def test_windows_are_not_in_the_routes_file_and_unknown_field(tmp_path: Path) -> None:
    """Maintenance windows moved to the registry and the API: a routes file that still has
    them is told where they go now, not silently ignored."""
    text = ROUTES.replace("flapping: {max_opens: 3,", "flapping: {max_open: 3,") + (
        "maintenance:\n  - {point: jn-0002-gd1, start: 2026-11-27T16:00:00+08:00, "
        "end: 2026-11-27T18:00:00+08:00}\n")
    issues = _errors(tmp_path, text, alertmanager_url="http://127.0.0.1:9093")
    assert any(":30: maintenance: is not part of the routes file: declare maintenance windows "
               "in the registry" in i for i in issues), issues
    assert any(":29: flapping.max_open: is not a known field here" in i for i in issues)


def test_secrets_from_env_and_file_are_secret(tmp_path: Path) -> None:
    key = tmp_path / "hook.key"
    key.write_text("from-a-file\n")
    routes = _load(tmp_path, ROUTES.replace("secret: k}", f"secret: file:{key}}}", 1),
                   alertmanager_url="http://127.0.0.1:9093")
    hook, wecom = routes.channels["em-hook"], routes.channels["eco-wecom"]
    assert hook.secret.get_secret_value() == "from-a-file"  # type: ignore[union-attr]
    assert wecom.key.get_secret_value() == "wk"  # type: ignore[union-attr]
    assert "from-a-file" not in repr(routes) and "wk'" not in repr(routes)
    assert hook.timeout_s == 10.0, "filled in from the settings"


def test_the_example_file_loads(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "deploy" / "routes.example.yaml"
    key = tmp_path / "key"
    key.write_text("k")
    text = example.read_text().replace("file:/run/secrets/zw-emergency-webhook", f"file:{key}")
    path = tmp_path / "example.yaml"
    path.write_text(text)
    env = {n: "x" for n in ("ZW_DINGTALK_EMERGENCY_TOKEN", "ZW_DINGTALK_EMERGENCY_SECRET",
                            "ZW_WECOM_ECOLOGY_KEY", "ZW_ECOLOGY_WEBHOOK_SECRET",
                            "ZW_JIANGNING_WEBHOOK_SECRET", "ZW_PUKOU_WEBHOOK_SECRET")}
    routes = load_routes(path, alertmanager_url="http://127.0.0.1:9093", env=env)
    assert channels_for(_safety(), routes) == ["emergency-webhook", "jiangning-webhook",
                                               "operator-alertmanager"]
    assert channels_for(_env(zone="pukou-edz"), routes) == [
        "ecology-wecom", "ecology-webhook", "pukou-webhook", "operator-alertmanager"]
    state, _ = _step(_safety(), NotifyState(), routes, T0)
    _, sent = _step(_safety(), state, routes, T0 + 15 * MIN)
    assert [s for s in sent if s[2] is Reason.ESCALATION] == [
        ("emergency-dingtalk", "open", Reason.ESCALATION)]


def test_settings_and_routes_without_a_file(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZW_ALERTMANAGER_URL", "")
    monkeypatch.setenv("ZW_DELIVERY_ATTEMPTS", "3")
    settings = AlertSettings()
    assert settings.alertmanager_url is None and settings.delivery_attempts == 3
    assert routes_from_settings(settings).channels == {}, "nowhere but Kafka and MQTT"
    am = AlertSettings(alertmanager_url="http://127.0.0.1:9093")
    routes = routes_from_settings(am)
    assert channels_for(_safety(), routes) == ["alertmanager"]
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    with_file = AlertSettings(routes_file=path, alertmanager_url="http://127.0.0.1:9093",
                              delivery_timeout_s=3)
    loaded = routes_from_settings(with_file, env={"ZW_TEST_WECOM_KEY": "k"})
    assert loaded.channels["jn-hook"].timeout_s == 3
    assert str(loaded.channels["ops-am"].url) == "http://127.0.0.1:9093/"  # type: ignore[union-attr]
