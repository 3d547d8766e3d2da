import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.exceptions import (
    AlertError,
    AlreadyResolvedError,
    BadEntryError,
    InvalidInputError,
    TransitionError,
    UnknownAlertError,
)
from alerts.lifecycle import (
    POLICY,
    AlertBook,
    Incident,
    Scope,
    acknowledge,
    alert_id,
    entry_key,
    open_alert,
    policy,
    resolve,
    scope_of,
)
from schemas import AlertKind, AlertStatus, Audience, Severity, Summary
from tests.factories import fleet_registry

T0 = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
SHANGHAI_8 = timezone(timedelta(hours=8))
SUMMARY = Summary(zh="测试", en="test")
POINT_KINDS = {AlertKind.DATA_GAP, AlertKind.INVALID_DATA, AlertKind.EXCEEDANCE,
               AlertKind.SUSPECT_DATA}


def gap(subject: str = "jn-0001-ww1", start: datetime | float | None = T0) -> Incident:
    return Incident(AlertKind.DATA_GAP, subject, "jiangning-edz", start,
                    enterprise="jn-0001", point=subject, scope=Scope.ENV_COUNTED)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# ids ---------------------------------------------------------------------------------------

def test_same_incident_same_id_whatever_form_the_start_takes():
    ids = {alert_id(AlertKind.DATA_GAP, "jn-0001-ww1", T0),
           alert_id(AlertKind.DATA_GAP, "jn-0001-ww1", T0.astimezone(SHANGHAI_8)),
           alert_id(AlertKind.DATA_GAP, "jn-0001-ww1", T0.timestamp()),
           alert_id("data_gap", "jn-0001-ww1", T0)}  # type: ignore[arg-type]
    assert len(ids) == 1
    assert re.fullmatch(r"dg-[0-9a-f]{16}", ids.pop())


def test_different_incident_different_id():
    base = alert_id(AlertKind.DATA_GAP, "jn-0001-ww1", T0)
    assert alert_id(AlertKind.DATA_GAP, "jn-0001-ww1", at(1)) != base
    assert alert_id(AlertKind.DATA_GAP, "jn-0002-ww1", T0) != base
    assert alert_id(AlertKind.INVALID_DATA, "jn-0001-ww1", T0) != base
    assert alert_id(AlertKind.DATA_GAP, "jn-0001-ww1", None) != base
    assert alert_id(AlertKind.DATA_GAP, "jn-0001-ww1", T0, after=base) != base


def test_each_kind_has_its_own_prefix():
    prefixes = {alert_id(k, "x", T0).split("-")[0] for k in AlertKind}
    assert len(prefixes) == len(AlertKind)


@pytest.mark.parametrize("bad", [datetime(2026, 11, 27, 8, 0), float("nan"), "08:00"])
def test_unusable_times_are_refused(bad):
    with pytest.raises(InvalidInputError):
        alert_id(AlertKind.DATA_GAP, "p", bad)
    with pytest.raises(ValueError):  # also a ValueError, for callers that only know that
        gap(start=bad)


def test_incident_checks_its_kind_and_subject():
    with pytest.raises(InvalidInputError, match="unknown alert kind"):
        Incident("nonsense", "p", "z")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        Incident(AlertKind.DATA_GAP, "", "z")


# transitions ---------------------------------------------------------------------------------

def test_open_alert_fills_policy_ids_and_utc_times():
    a = open_alert(gap(), SUMMARY, at(3).astimezone(SHANGHAI_8))
    assert a.status is AlertStatus.OPEN and a.id == alert_id(AlertKind.DATA_GAP, a.point, T0)
    assert a.severity is Severity.WARNING and a.audience == [Audience.ECOLOGY, Audience.ZONE]
    assert a.opened_at == a.updated_at == at(3) and a.opened_at.utcoffset() == timedelta(0)
    assert a.since == T0 and a.subject == "jn-0001-ww1"


def test_acknowledge_records_who_and_when_once():
    a = open_alert(gap(), SUMMARY, at(3))
    acked, change = acknowledge(a, " 王工 ", at(10))
    assert change is not None and change.previous is AlertStatus.OPEN
    assert acked.status is AlertStatus.ACKNOWLEDGED
    assert acked.acknowledged_by == "王工"
    assert acked.acknowledged_at == acked.updated_at == at(10)
    again, none = acknowledge(acked, "李工", at(20))
    assert none is None and again.acknowledged_by == "王工"
    assert a.status is AlertStatus.OPEN  # frozen: the original is untouched


def test_acknowledge_needs_who():
    with pytest.raises(InvalidInputError, match="needs who"):
        acknowledge(open_alert(gap(), SUMMARY, at(3)), "  ", at(4))


def test_acknowledging_a_resolved_alert_is_a_clear_error():
    resolved, _ = resolve(open_alert(gap(), SUMMARY, at(3)), at(5))
    with pytest.raises(AlreadyResolvedError, match=f"{resolved.id} was resolved at") as err:
        acknowledge(resolved, "王工", at(6))
    assert isinstance(err.value, TransitionError) and isinstance(err.value, AlertError)
    assert err.value.http_status == 409 and not err.value.retriable
    assert err.value.resolved_at == at(5)


def test_resolve_from_open_and_after_ack_and_only_once():
    a = open_alert(gap(), SUMMARY, at(3))
    direct, change = resolve(a, at(7))
    assert change is not None and change.previous is AlertStatus.OPEN
    assert direct.resolved_at == at(7) and direct.status is AlertStatus.RESOLVED
    acked, _ = acknowledge(a, "王工", at(5))
    done, change = resolve(acked, at(9))
    assert change is not None and change.previous is AlertStatus.ACKNOWLEDGED
    assert done.acknowledged_by == "王工" and done.resolved_at == at(9)
    assert resolve(done, at(10)) == (done, None)


def test_times_never_run_backwards_when_clocks_disagree():
    a = open_alert(gap(), SUMMARY, at(10))
    acked, _ = acknowledge(a, "王工", at(9))  # the API worker's clock is a minute behind
    done, _ = resolve(acked, at(8))
    assert a.opened_at == acked.acknowledged_at == done.resolved_at == at(10)


# policy --------------------------------------------------------------------------------------

def test_policy_covers_every_kind_and_scope_it_can_meet():
    point_scopes = set(Scope) - {Scope.NONE}
    for kind in AlertKind:
        scopes = point_scopes if kind in POINT_KINDS else {Scope.NONE}
        assert {s for k, s in POLICY if k is kind} == scopes, kind
    with pytest.raises(InvalidInputError, match="point's scope"):
        policy(AlertKind.DATA_GAP)


def test_policy_follows_the_users():
    assert policy(AlertKind.DATA_GAP, Scope.SAFETY_GAS).severity is Severity.CRITICAL
    assert Audience.EMERGENCY in policy(AlertKind.DATA_GAP, Scope.SAFETY_GAS).audience
    assert policy(AlertKind.DATA_GAP, Scope.ENV_COUNTED).severity is Severity.WARNING
    assert policy(AlertKind.HAZARD_OVERDUE).severity is Severity.CRITICAL
    assert policy(AlertKind.PIPELINE_STALLED).audience == (Audience.OPERATOR,)
    for (kind, _), rule in POLICY.items():
        if kind is not AlertKind.PIPELINE_STALLED:
            assert Audience.ZONE in rule.audience  # every zone sees its own alerts


def test_scope_and_incident_of_registry_points():
    reg = fleet_registry(2)
    ent = reg.enterprise_by_id["jn-0001"]
    gd = Incident.at_point(AlertKind.DATA_GAP, reg.point_by_id["jn-0001-gd1"], ent, T0)
    assert gd.scope is Scope.SAFETY_GAS and gd.zone == "jiangning-edz"
    tank = reg.point_by_id["jn-0001-tk1"]
    assert scope_of(tank, key_polluter=True) is Scope.SAFETY_OTHER
    ww = reg.point_by_id["jn-0001-ww1"]
    assert scope_of(ww, key_polluter=False) is Scope.ENV_OTHER
    ex = Incident.at_point(AlertKind.EXCEEDANCE, ww, ent, T0, factor="w01018")
    assert (ex.subject, ex.factor, ex.scope) == ("jn-0001-ww1/w01018", "w01018",
                                                 Scope.ENV_COUNTED)


# the book ------------------------------------------------------------------------------------

def test_raise_twice_gives_one_change():
    book = AlertBook()
    first = book.raise_(gap(), SUMMARY, at(3))
    assert first is not None and first.previous is None and first.key == gap().key
    assert book.raise_(gap(), SUMMARY, at(4)) is None
    assert book.raise_(gap(start=at(1)), SUMMARY, at(5)) is None  # still the same, live gap
    assert [a.id for a in book.open()] == [first.alert.id]


def test_acknowledged_stays_acknowledged_when_the_signal_repeats():
    book = AlertBook()
    opened = book.raise_(gap(), SUMMARY, at(3))
    assert opened is not None
    acked = book.ack(opened.alert.id, "王工", at(4))
    assert acked is not None and acked.alert.status is AlertStatus.ACKNOWLEDGED
    assert book.raise_(gap(), SUMMARY, at(5)) is None
    assert book.ack(opened.alert.id, "李工", at(6)) is None
    assert book.get(opened.alert.id).status is AlertStatus.ACKNOWLEDGED


def test_clear_resolves_once_and_then_ack_fails():
    book = AlertBook()
    assert book.clear(AlertKind.DATA_GAP, "jn-0001-ww1", at(1)) is None
    opened = book.raise_(gap(), SUMMARY, at(3))
    assert opened is not None
    cleared = book.clear(AlertKind.DATA_GAP, "jn-0001-ww1", at(8))
    assert cleared is not None and cleared.previous is AlertStatus.OPEN
    assert book.clear(AlertKind.DATA_GAP, "jn-0001-ww1", at(9)) is None
    assert book.open() == []
    with pytest.raises(AlreadyResolvedError):
        book.ack(opened.alert.id, "王工", at(10))
    with pytest.raises(UnknownAlertError) as err:
        book.ack("dg-0000000000000000", "王工", at(10))
    assert err.value.http_status == 404


def test_a_new_incident_gets_a_new_id_and_a_reraised_one_too():
    def run() -> list[str]:
        book, ids = AlertBook(), []
        for start, now in ((T0, at(3)), (at(5), at(9)), (at(5), at(20))):
            change = book.raise_(gap(start=start), SUMMARY, now)
            assert change is not None
            ids.append(change.alert.id)
            book.clear(AlertKind.DATA_GAP, "jn-0001-ww1", now + timedelta(minutes=1))
        return ids

    ids = run()
    assert len(set(ids)) == 3  # the gap from 08:05 came back after it was resolved: new id
    assert ids[0] == alert_id(AlertKind.DATA_GAP, "jn-0001-ww1", T0)
    assert ids[1] == alert_id(AlertKind.DATA_GAP, "jn-0001-ww1", at(5), after=ids[0])
    assert run() == ids  # and all of it deterministic: another worker would agree


def test_an_incident_whose_start_comes_back_never_reuses_an_id():
    book, ids = AlertBook(), []
    for n, start in enumerate((T0, at(1), T0)):  # e.g. a hazard deadline moved, then back
        change = book.raise_(gap(start=start), SUMMARY, at(10 * n))
        assert change is not None
        ids.append(change.alert.id)
        book.clear(AlertKind.DATA_GAP, "jn-0001-ww1", at(10 * n + 1))
    assert len(set(ids)) == 3


def test_book_round_trips_through_plain_dicts():
    book = AlertBook()
    a = book.raise_(gap("jn-0001-ww1"), SUMMARY, at(3))
    b = book.raise_(gap("jn-0002-ww1", start=None), SUMMARY, at(4))
    assert a is not None and b is not None
    book.ack(a.alert.id, "王工", at(5))
    book.clear(AlertKind.DATA_GAP, "jn-0002-ww1", at(6))
    stored = json.loads(json.dumps(book.to_dicts()))
    assert set(stored) == {"data_gap:jn-0001-ww1", "data_gap:jn-0002-ww1"}
    again = AlertBook.from_dicts(stored)
    assert again.to_dicts() == book.to_dicts() and len(again) == 2
    assert again.get(a.alert.id) == book.get(a.alert.id)
    assert again.raise_(gap("jn-0001-ww1"), SUMMARY, at(7)) is None
    with pytest.raises(AlreadyResolvedError):
        again.ack(b.alert.id, "王工", at(8))


def test_change_entry_is_what_the_book_stores():
    book = AlertBook()
    change = book.raise_(gap(), SUMMARY, at(3))
    assert change is not None
    assert book.to_dicts() == {change.key: change.entry()}
    assert change.key == entry_key(AlertKind.DATA_GAP, "jn-0001-ww1") == "data_gap:jn-0001-ww1"


def test_bad_entries_are_named():
    entry = open_alert(gap(), SUMMARY, at(3)).model_dump(mode="json")
    with pytest.raises(BadEntryError, match="'data_gap:other'"):
        AlertBook.from_dicts({"data_gap:other": entry})
    with pytest.raises(BadEntryError, match="not a valid alert"):
        AlertBook.from_dicts({"data_gap:x": {"id": 3}})


def test_prune_forgets_only_long_resolved_alerts():
    book = AlertBook()
    book.raise_(gap("a"), SUMMARY, at(1))
    book.raise_(gap("b"), SUMMARY, at(1))
    book.clear(AlertKind.DATA_GAP, "a", at(2))
    assert book.prune(at(2)) == []
    assert book.prune(at(3)) == ["data_gap:a"]
    assert len(book) == 1 and [a.subject for a in book.open()] == ["b"]


# any sequence of operations ------------------------------------------------------------------

ALLOWED = {(None, AlertStatus.OPEN), (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
           (AlertStatus.OPEN, AlertStatus.RESOLVED),
           (AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED)}
KINDS = [AlertKind.DATA_GAP, AlertKind.HAZARD_OVERDUE]
SUBJECTS = ["a", "b"]
OPS = st.one_of(
    st.tuples(st.just("raise"), st.sampled_from(KINDS), st.sampled_from(SUBJECTS),
              st.sampled_from([T0, at(1), None])),
    st.tuples(st.just("clear"), st.sampled_from(KINDS), st.sampled_from(SUBJECTS)),
    st.tuples(st.just("ack"), st.integers(0, 12)),
)


def incident(kind: AlertKind, subject: str, start: datetime | None) -> Incident:
    scope = Scope.ENV_COUNTED if kind is AlertKind.DATA_GAP else Scope.NONE
    return Incident(kind, subject, "jiangning-edz", start, scope=scope)


def step(book: AlertBook, op: tuple, ids: list[str], now: datetime):
    """One operation; an ack of a resolved or unknown id must fail and change nothing."""
    if op[0] == "raise":
        return book.raise_(incident(*op[1:]), SUMMARY, now)
    if op[0] == "clear":
        return book.clear(op[1], op[2], now)
    target = ids[op[1]] if op[1] < len(ids) else "dg-ffffffffffffffff"
    before = book.to_dicts()
    try:
        return book.ack(target, "王工", now)
    except (AlreadyResolvedError, UnknownAlertError):
        assert book.to_dicts() == before
        return None


@given(st.lists(st.tuples(OPS, st.integers(-2, 10)), max_size=60))
def test_any_sequence_keeps_one_live_alert_per_subject_and_publishes_real_changes(steps):
    book, now = AlertBook(), T0
    ids: list[str] = []
    status: dict[str, AlertStatus] = {}
    live: dict[str, set[str]] = defaultdict(set)
    for op, minutes in steps:
        now += timedelta(minutes=minutes)  # mostly forward, sometimes a skewed clock
        change = step(book, op, ids, now)
        if change is None:
            continue
        a, prev = change.alert, status.get(change.alert.id)
        assert change.previous == prev and (prev, a.status) in ALLOWED
        if prev is None:
            ids.append(a.id)
        status[a.id] = a.status
        if a.status is AlertStatus.RESOLVED:
            live[change.key].discard(a.id)
        else:
            live[change.key].add(a.id)
        assert len(live[change.key]) <= 1
        assert a.opened_at <= (a.acknowledged_at or a.updated_at) <= a.updated_at
        assert book.to_dicts()[change.key] == change.entry()
    assert {a.id for a in book.open()} == set().union(*live.values())
    assert AlertBook.from_dicts(book.to_dicts()).to_dicts() == book.to_dicts()
