"""Zone-level rules: which incidents hold, and which signals a change of them needs."""

from datetime import UTC, datetime

from schemas import AlertKind
from streams.coverage import RegistryView, zone_coverage
from streams.point_state import PointStatus
from streams.zones import diff_signals, wanted_incidents
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
    first, said = diff_signals(wanted, None, candidates, AT)
    assert {(s.op, s.kind) for s in first} >= {("raise", "platform_offline"),
                                               ("clear", "assessment_expiring")}
    again, said = diff_signals(wanted, said, candidates, AT)
    assert again == []
    fewer = [w for w in wanted if w.kind is not AlertKind.PLATFORM_OFFLINE]
    cleared, _ = diff_signals(fewer, said, candidates, AT)
    assert [(s.op, s.kind, s.subject) for s in cleared] == [
        ("clear", "platform_offline", f"{ZONE}-safety")]
