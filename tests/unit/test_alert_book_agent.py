"""apply_signal(): idempotent signals in, only real alert changes out."""

from datetime import UTC, datetime, timedelta

from alerts.lifecycle import entry_key
from schemas import AlertKind, AlertStatus
from schemas.pipeline import AlertSignal
from streams.alerting import apply_signal
from tests.factories import tiny_registry

REG = tiny_registry()
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def signal(op: str, at: datetime = NOW, **over: object) -> AlertSignal:
    base = {"op": op, "kind": "data_gap", "subject": "jn-0001-ww1", "zone": "jiangning-edz",
            "enterprise": "jn-0001", "point": "jn-0001-ww1", "at": at,
            "incident_start": NOW - timedelta(minutes=5), "detail": {"threshold_s": 180}}
    return AlertSignal.model_validate({**base, **over})


def test_raise_opens_once_then_clear_resolves_with_the_same_id() -> None:
    opened = apply_signal(None, signal("raise"), REG)
    assert opened is not None and opened.alert.status is AlertStatus.OPEN
    assert opened.key == entry_key(AlertKind.DATA_GAP, "jn-0001-ww1")
    assert "江宁经开区" in opened.alert.summary.zh and opened.alert.summary.en
    assert apply_signal(opened.entry(), signal("raise", NOW + timedelta(minutes=1)), REG) is None
    resolved = apply_signal(opened.entry(), signal("clear", NOW + timedelta(minutes=2)), REG)
    assert resolved is not None and resolved.alert.status is AlertStatus.RESOLVED
    assert resolved.alert.id == opened.alert.id


def test_same_incident_gives_the_same_id_on_any_worker() -> None:
    a = apply_signal(None, signal("raise"), REG)
    b = apply_signal(None, signal("raise", NOW + timedelta(seconds=30)), REG)
    assert a is not None and b is not None and a.alert.id == b.alert.id


def test_ack_records_who_and_clear_of_nothing_is_nothing() -> None:
    assert apply_signal(None, signal("clear"), REG) is None
    opened = apply_signal(None, signal("raise"), REG)
    assert opened is not None
    acked = apply_signal(opened.entry(), signal("ack", by="值班员 王"), REG)
    assert acked is not None and acked.alert.acknowledged_by == "值班员 王"
    assert acked.alert.status is AlertStatus.ACKNOWLEDGED


def test_zone_level_signal_with_an_iso_due_date_is_summarised() -> None:
    sig = signal("raise", kind="assessment_expiring", subject="jn-0001", point=None,
                 detail={"due": (NOW + timedelta(days=10)).isoformat()})
    change = apply_signal(None, sig, REG)
    assert change is not None and change.alert.kind is AlertKind.ASSESSMENT_EXPIRING


def test_ack_of_an_older_incident_does_not_take_the_new_one() -> None:
    first = apply_signal(None, signal("raise"), REG)
    assert first is not None
    resolved = apply_signal(first.entry(), signal("clear", NOW + timedelta(minutes=1)), REG)
    assert resolved is not None
    second = apply_signal(resolved.entry(), signal("raise", NOW + timedelta(minutes=2),
                                                   incident_start=NOW), REG)
    assert second is not None and second.alert.id != first.alert.id
    late = signal("ack", NOW + timedelta(minutes=3), by="王", alert_id=first.alert.id)
    assert apply_signal(second.entry(), late, REG) is None
    right = signal("ack", NOW + timedelta(minutes=3), by="王", alert_id=second.alert.id)
    assert apply_signal(second.entry(), right, REG) is not None
