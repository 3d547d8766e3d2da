"""The notification log: dedup keys, counts, pruning, and a lossless dict form for the table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from alerts.lifecycle import Incident, Scope, open_alert, resolve
from alerts.notify_log import FLAPPING, FlapHistory, NotifyLog, NotifyState, Sent
from schemas import AlertKind, Summary

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _alert(subject: str = "jn-0001-ww1", at: datetime = T0):
    inc = Incident(AlertKind.DATA_GAP, subject, "jiangning-edz", at - timedelta(minutes=5),
                   "jn-0001", subject, scope=Scope.ENV_COUNTED)
    return open_alert(inc, Summary(zh="数据中断", en="data gap"), at)


def test_record_counts_and_keeps_first_time() -> None:
    log = NotifyLog().record("a1", "open", "hook", 100.0, "change")
    log = log.record("a1", "open", "hook", 200.0, "repeat")
    assert log.get("a1", "open", "hook") == Sent(200.0, 2, "repeat", False, 100.0)
    assert log.get("a1", "acknowledged", "hook") is None
    assert log.first_told("a1", "open") == 100.0
    assert log.first_told("a1", "resolved") is None


def test_told_lists_channels_in_first_order_across_statuses() -> None:
    log = (NotifyLog().record("a1", "open", "b", 1, "change")
           .record("a1", "open", "a", 2, "change")
           .record("a1", FLAPPING, "c", 3, "flapping")
           .record("a2", "open", "z", 4, "change"))
    assert log.told("a1") == ["b", "a", "c"]
    assert log.told("a3") == []


def test_record_is_pure() -> None:
    empty = NotifyLog()
    empty.record("a1", "open", "hook", 1, "change")
    assert empty.entries == {}


def test_prune_forgets_only_settled_other_alerts() -> None:
    log = (NotifyLog().record("old", "open", "a", 1, "change")
           .record("old", "open", "b", 1, "change")
           .record("old", "resolved", "a", 2, "change")
           .record("new", "open", "a", 3, "change"))
    assert log.prune("new").told("old") == ["a", "b"], "b never heard the resolve: keep it"
    settled = log.record("old", "resolved", "b", 3, "change", dead=True)
    assert settled.prune("new").told("old") == []
    assert settled.prune("old").told("old") == ["a", "b"], "the current alert is kept"


def test_log_dict_round_trip_is_json() -> None:
    log = (NotifyLog().record("a1", "open", "hook", 1.5, "change")
           .record("a1", "open", "hook", 9.0, "repeat")
           .record("a1", "resolved", "dt", 10.0, "change", dead=True))
    doc = json.loads(json.dumps(log.to_dict()))
    assert NotifyLog.from_dict(doc) == log
    assert doc["a1"]["open"]["hook"] == {"at": 9.0, "n": 2, "reason": "repeat", "dead": False,
                                         "first": 1.5}


def test_state_round_trip_with_alert_and_flap() -> None:
    state = NotifyState(_alert(), NotifyLog().record("x", "open", "a", 1, "change"),
                        FlapHistory({"x": 1.0, "y": 2.0}, 2.0))
    doc = json.loads(json.dumps(state.to_dict()))
    assert NotifyState.from_dict(doc) == state
    assert NotifyState.from_dict(None) == NotifyState()


def test_state_keeps_the_newest_alert() -> None:
    first = _alert()
    resolved, _ = resolve(first, T0 + timedelta(minutes=3))
    state = NotifyState().with_alert(resolved)
    assert state.with_alert(first).alert == resolved, "a replayed older status does not win"
    later = _alert(at=T0 + timedelta(hours=1))
    assert state.with_alert(later).alert == later


def test_expired_after_resolve_and_keep() -> None:
    resolved, _ = resolve(_alert(), T0)
    state = NotifyState(resolved)
    assert not state.expired(T0 + timedelta(minutes=10), keep_s=3600)
    assert state.expired(T0 + timedelta(hours=2), keep_s=3600)
    assert not NotifyState(_alert()).expired(T0 + timedelta(days=9), keep_s=3600)
