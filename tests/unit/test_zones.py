"""Zone-level rules: which incidents hold, and which signals a change of them needs."""

from datetime import UTC, datetime, timedelta, timezone

from schemas import AlertKind, SafetyEvent
from schemas.events import Assessment, AssessmentStatus, Hazard, HazardStatus
from streams.alerting import apply_signal
from streams.coverage import RegistryView, zone_coverage
from streams.point_state import PointStatus
from streams.zones import Wanted, apply_event, diff_signals, wanted_incidents
from tests.factories import tiny_registry

REG = tiny_registry()
VIEW = RegistryView.of(REG)
NOW = 1_800_000_000.0
AT = datetime.fromtimestamp(NOW, UTC)
ZONE = "jiangning-edz"


def figures(statuses: dict, beats: dict, assessments: dict):
    st = {p: PointStatus(v[0]) for p, v in statuses.items()}
    ass = {e: (v[0], v[1]) for e, v in assessments.items()}
    return zone_coverage(VIEW, st, beats, ass, NOW, [ZONE])[ZONE]


def test_silent_platform_unassessed_units_and_low_coverage_are_incidents() -> None:
    statuses = {f"jn-{i:04d}-ww1": ["online", None] for i in (1, 2, 3)}
    assessments = {f"jn-{i:04d}": ["completed", NOW + 400 * 86400] for i in (1, 2, 3)}
    assessments["jn-0003"] = ["completed", NOW + 5 * 86400]
    cov = figures(statuses, {}, assessments)
    assert cov.monitoring.ok == 3 and cov.monitoring.total == 4
    kinds = {(w.kind, w.subject) for w in wanted_incidents(VIEW, cov, {}, assessments, {}, NOW)}
    assert kinds == {(AlertKind.PLATFORM_OFFLINE, f"{ZONE}-safety"),
                     (AlertKind.ASSESSMENT_MISSING, "jn-0004"),
                     (AlertKind.ASSESSMENT_EXPIRING, "jn-0003"),
                     (AlertKind.COVERAGE_BELOW_TARGET, ZONE)}


def test_overdue_hazard_is_an_incident_until_remediated() -> None:
    cov = figures({}, {f"{ZONE}-safety": NOW - 10}, {})
    hazard = {"enterprise": "jn-0001", "zone": ZONE, "status": "reported", "ts": NOW - 9000,
              "due": NOW - 60}
    wanted = wanted_incidents(VIEW, cov, {}, {}, {"hz-1": hazard}, NOW)
    assert (AlertKind.HAZARD_OVERDUE, "hz-1") in {(w.kind, w.subject) for w in wanted}
    hazard["status"] = "remediated"
    wanted = wanted_incidents(VIEW, cov, {}, {}, {"hz-1": hazard}, NOW)
    assert AlertKind.HAZARD_OVERDUE not in {w.kind for w in wanted}


def test_diff_says_each_change_once_and_a_fresh_worker_clears_the_rest() -> None:
    cov = figures({}, {}, {})
    wanted = wanted_incidents(VIEW, cov, {}, {}, {}, NOW)
    candidates = [(AlertKind.PLATFORM_OFFLINE, f"{ZONE}-safety", ZONE),
                  (AlertKind.ASSESSMENT_EXPIRING, "jn-0001", ZONE)]
    first, said = diff_signals(wanted, {}, [ZONE], candidates, AT)
    assert {(s.op, s.kind) for s in first} >= {("raise", "platform_offline"),
                                               ("clear", "assessment_expiring")}
    again, said = diff_signals(wanted, said, [ZONE], candidates, AT)
    assert again == []
    fewer = [w for w in wanted if w.kind is not AlertKind.PLATFORM_OFFLINE]
    cleared, _ = diff_signals(fewer, said, [ZONE], candidates, AT)
    assert [(s.op, s.kind, s.subject, s.zone) for s in cleared] == [
        ("clear", "platform_offline", f"{ZONE}-safety", ZONE)]


def hazard_event(status: str, ts: float, due: float | None = NOW - 60,
                 hid: str = "hz-1") -> SafetyEvent:
    return SafetyEvent(kind="hazard", zone=ZONE, received_at=AT, hazard=Hazard(
        id=hid, enterprise="jn-0001", status=HazardStatus(status),
        ts=datetime.fromtimestamp(ts, UTC),
        due=None if due is None else datetime.fromtimestamp(due, UTC)))


def assessment_event(status: str, completed_at: float | None, valid_until: float | None,
                     received_at: float = NOW) -> SafetyEvent:
    def t(x: float | None) -> datetime | None:
        return None if x is None else datetime.fromtimestamp(x, UTC)
    return SafetyEvent(kind="assessment", zone=ZONE, received_at=t(received_at),
                       assessment=Assessment(enterprise="jn-0001",
                                             status=AssessmentStatus(status),
                                             completed_at=t(completed_at),
                                             valid_until=t(valid_until)))


def test_a_hazard_report_older_than_its_remediation_does_not_reopen_it() -> None:
    hazards: dict[bytes, dict] = {}
    apply_event({}, {}, hazards, hazard_event("remediated", NOW - 100))
    apply_event({}, {}, hazards, hazard_event("reported", NOW - 9000))  # resent late
    assert hazards[b"hz-1"]["status"] == "remediated"
    apply_event({}, {}, hazards, hazard_event("reported", NOW - 50, due=NOW + 600))  # again
    assert hazards[b"hz-1"]["status"] == "reported" and hazards[b"hz-1"]["due"] == NOW + 600


def test_an_older_assessment_does_not_replace_a_newer_one() -> None:
    table: dict[bytes, list] = {}
    apply_event({}, table, {}, assessment_event("completed", NOW - 86400, NOW + 300 * 86400))
    apply_event({}, table, {}, assessment_event("completed", NOW - 400 * 86400,
                                                NOW - 35 * 86400))  # last year's, resent
    assert table[b"jn-0001"][:2] == ["completed", NOW + 300 * 86400]
    # news without a completion time is as of its arrival: a revocation after it stands …
    apply_event({}, table, {}, assessment_event("revoked", None, None, received_at=NOW + 10))
    assert table[b"jn-0001"][0] == "revoked"
    # … until an assessment completed after it
    apply_event({}, table, {}, assessment_event("completed", NOW + 20, NOW + 365 * 86400))
    assert table[b"jn-0001"][:2] == ["completed", NOW + 365 * 86400]
    # a renewal in progress leaves the completed assessment standing until it lapses
    apply_event({}, table, {}, assessment_event("in_progress", None, None, received_at=NOW + 30))
    assert table[b"jn-0001"][:2] == ["completed", NOW + 365 * 86400]
    # news without a time of its own does not outrank a completion that arrives after it
    apply_event({}, table, {}, assessment_event("revoked", None, None, received_at=NOW + 40))
    apply_event({}, table, {}, assessment_event("in_progress", None, None, received_at=NOW + 50))
    apply_event({}, table, {}, assessment_event("completed", NOW - 86400, NOW + 300 * 86400))
    assert table[b"jn-0001"][:2] == ["completed", NOW + 300 * 86400]


def test_an_assessment_held_in_the_old_form_is_still_read_and_replaced() -> None:
    table: dict[bytes, list] = {b"jn-0001": ["completed", NOW + 5 * 86400]}  # before event time
    cov = figures({}, {}, {"jn-0001": table[b"jn-0001"]})
    assert any(w.kind is AlertKind.ASSESSMENT_EXPIRING for w in wanted_incidents(
        VIEW, cov, {}, {"jn-0001": table[b"jn-0001"]}, {}, NOW))
    apply_event({}, table, {}, assessment_event("completed", NOW - 60, NOW + 300 * 86400))
    assert table[b"jn-0001"][:2] == ["completed", NOW + 300 * 86400]


def test_a_zone_no_longer_owned_is_forgotten_not_cleared() -> None:
    wanted = [Wanted(AlertKind.PLATFORM_OFFLINE, f"{ZONE}-safety", ZONE),
              Wanted(AlertKind.PLATFORM_OFFLINE, "pukou-safety", "pukou-edz")]
    _, said = diff_signals(wanted, {}, [ZONE, "pukou-edz"], [], AT)
    signals, said = diff_signals(wanted[:1], said, [ZONE], [], AT)
    assert signals == [] and set(said) == {ZONE}


def test_a_zone_just_gained_clears_what_no_longer_holds_there_and_raises_the_rest() -> None:
    _, said = diff_signals([], {}, [ZONE], [], AT)
    gained = [Wanted(AlertKind.PLATFORM_OFFLINE, "pukou-safety", "pukou-edz")]
    candidates = [(AlertKind.PLATFORM_OFFLINE, "pukou-safety", "pukou-edz"),
                  (AlertKind.HAZARD_OVERDUE, "hz-9", "pukou-edz"),
                  (AlertKind.HAZARD_OVERDUE, "hz-1", ZONE)]  # a zone said of: not a candidate
    signals, said = diff_signals(gained, said, [ZONE, "pukou-edz"], candidates, AT)
    assert [(s.op, s.kind, s.subject, s.zone) for s in signals] == [
        ("raise", "platform_offline", "pukou-safety", "pukou-edz"),
        ("clear", "hazard_overdue", "hz-9", "pukou-edz")]


def test_the_same_incident_keeps_its_alert_id_across_a_hand_over() -> None:
    """Old owner raises, loses the zone (says nothing), new owner raises again: one alert,
    which the new owner's clear resolves under the same id."""
    wanted = [Wanted(AlertKind.PLATFORM_OFFLINE, "pukou-safety", "pukou-edz", start=NOW - 600)]
    raised, old = diff_signals(wanted, {}, [ZONE, "pukou-edz"], [], AT)
    entry = apply_signal(None, raised[0], REG)
    assert entry is not None
    handed, _ = diff_signals(wanted, old, [ZONE], [], AT)
    assert handed == []
    again, new = diff_signals(wanted, {}, ["pukou-edz"], [], AT)
    assert [s.op for s in again] == ["raise"]
    assert apply_signal(entry.entry(), again[0], REG) is None  # still the same open alert
    cleared, _ = diff_signals([], new, ["pukou-edz"], [], AT)
    resolved = apply_signal(entry.entry(), cleared[0], REG)
    assert resolved is not None and resolved.alert.id == entry.alert.id
    assert resolved.alert.status == "resolved"


def test_a_hazard_due_out_of_a_times_range_is_raised_with_no_start() -> None:
    cov = figures({}, {f"{ZONE}-safety": NOW - 10}, {})
    hazard = {"enterprise": "jn-0001", "zone": ZONE, "status": "reported", "ts": NOW - 9000,
              "due": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8))).timestamp()}
    wanted = wanted_incidents(VIEW, cov, {}, {}, {"hz-1": hazard}, NOW)
    signals, _ = diff_signals(wanted, {}, [ZONE], [], AT)
    overdue = [s for s in signals if s.kind == "hazard_overdue"]
    assert len(overdue) == 1 and overdue[0].incident_start is None
