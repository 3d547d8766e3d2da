import re
from datetime import UTC, datetime

import pytest

from alerts.lifecycle import SYSTEM_ZONE, Incident, Scope
from alerts.summary import Facts, summarize
from schemas import AlertKind, Registry
from tests.factories import fleet_registry, tiny_registry

T0 = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)  # 27 Nov 08:00 in Shanghai
DUE = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # already 1 Dec 00:30 in Shanghai
REG = fleet_registry(2)
K = AlertKind


def point_incident(kind: AlertKind, point: str = "jn-0001-ww1",
                   factor: str | None = None, start: datetime | None = T0) -> Incident:
    return Incident.at_point(kind, REG.point_by_id[point], REG.enterprise_by_id["jn-0001"],
                             start, factor)


CASES: dict[AlertKind, tuple[Incident, Facts, tuple[str, str]]] = {
    K.DATA_GAP: (point_incident(K.DATA_GAP), Facts(threshold_s=180),
                 ("11月27日 08:00", "27 Nov 08:00")),
    K.INVALID_DATA: (point_incident(K.INVALID_DATA), Facts(flag="D"),
                     ("11月27日 08:00", "27 Nov 08:00")),
    K.EXCEEDANCE: (point_incident(K.EXCEEDANCE, factor="w01018"), Facts(value=63.2, limit=50),
                   ("11月27日 08:00", "27 Nov 08:00")),
    K.SUSPECT_DATA: (point_incident(K.SUSPECT_DATA, "jn-0001-gd1", "gas_lel"), Facts(value=0),
                     ("11月27日 08:00", "27 Nov 08:00")),
    K.PLATFORM_OFFLINE: (Incident(K.PLATFORM_OFFLINE, "jn-safety", "jiangning-edz", T0),
                         Facts(threshold_s=90), ("11月27日 08:00", "27 Nov 08:00")),
    K.ASSESSMENT_MISSING: (Incident(K.ASSESSMENT_MISSING, "jn-0001", "jiangning-edz", T0,
                                    enterprise="jn-0001"), Facts(),
                           ("11月27日 08:00", "27 Nov 08:00")),
    K.ASSESSMENT_EXPIRING: (Incident(K.ASSESSMENT_EXPIRING, "jn-0001", "jiangning-edz", T0,
                                     enterprise="jn-0001"), Facts(due=DUE),
                            ("2026年12月1日", "1 Dec 2026")),
    K.HAZARD_OVERDUE: (Incident(K.HAZARD_OVERDUE, "hz-17", "jiangning-edz", DUE,
                                enterprise="jn-0001"), Facts(due=DUE),
                       ("2026年12月1日 00:30", "1 Dec 2026 00:30")),
    K.COVERAGE_BELOW_TARGET: (Incident(K.COVERAGE_BELOW_TARGET, "jiangning-edz",
                                       "jiangning-edz", T0), Facts(covered=3, total=4),
                              ("11月27日 08:00", "27 Nov 08:00")),
    K.PIPELINE_STALLED: (Incident(K.PIPELINE_STALLED, "storage", SYSTEM_ZONE, T0),
                         Facts(threshold_s=300), ("11月27日 08:00", "27 Nov 08:00")),
}


def test_every_kind_has_a_case():
    assert set(CASES) == set(AlertKind)


@pytest.mark.parametrize("kind", list(AlertKind))
def test_every_kind_is_summarised_in_both_languages_in_shanghai_time(kind):
    incident, facts, (when_zh, when_en) = CASES[kind]
    s = summarize(incident, facts, REG)
    assert s.zh.strip() and s.en.strip()
    assert re.search(r"[\u4e00-\u9fff]", s.zh)
    assert when_zh in s.zh and when_en in s.en
    assert "00:00" not in s.zh + s.en  # UTC never shows through
    if kind is not K.PIPELINE_STALLED:
        assert "江宁经开区" in s.zh


@pytest.mark.parametrize("kind", list(AlertKind))
def test_every_kind_is_summarised_without_a_registry_or_facts(kind):
    s = summarize(CASES[kind][0])
    assert s.zh.strip() and s.en.strip()


def test_data_gap_reads_as_the_bureau_writes_it():
    s = summarize(point_incident(K.DATA_GAP), Facts(threshold_s=180), REG)
    assert s.zh == ("江宁经开区 某某化工1有限公司 废水排口 jn-0001-ww1 "
                    "自 11月27日 08:00 起无数据（超过阈值 3 分钟）")
    assert s.en.endswith("wastewater outlet jn-0001-ww1: no data since 27 Nov 08:00 "
                         "(threshold 3 min)")


def test_english_uses_the_english_zone_name_when_the_registry_has_one():
    data = tiny_registry(1).model_dump()
    data["zones"][0]["name_en"] = "Jiangning EDZ"
    reg = Registry.model_validate(data)
    inc = Incident.at_point(K.DATA_GAP, reg.points[0], reg.enterprises[0], T0)
    s = summarize(inc, Facts(threshold_s=7200), reg)
    assert s.en.startswith("Jiangning EDZ, 某某化工1有限公司, wastewater outlet jn-0001-ww1")
    assert "(threshold 2 h)" in s.en and "超过阈值 2 小时" in s.zh


def test_without_a_registry_ids_stand_in_for_names():
    inc = Incident(K.DATA_GAP, "jn-0001-ww1", "jiangning-edz", T0, enterprise="jn-0001",
                   point="jn-0001-ww1", scope=Scope.ENV_COUNTED)
    s = summarize(inc, Facts(threshold_s=90))
    assert s.zh == "jiangning-edz jn-0001 jn-0001-ww1 自 11月27日 08:00 起无数据（超过阈值 90 秒）"


def test_a_point_that_never_reported_says_so():
    s = summarize(point_incident(K.DATA_GAP, start=None), Facts(threshold_s=180), REG)
    assert s.zh.endswith("从未上报有效数据") and s.en.endswith("no valid data ever received")


def test_exceedance_names_the_factor_its_value_and_limit():
    incident, facts, _ = CASES[K.EXCEEDANCE]
    s = summarize(incident, facts, REG)
    assert "化学需氧量（w01018） 超标（63.2，限值 50）" in s.zh
    assert "COD (w01018) over its limit (63.2, limit 50)" in s.en


def test_coverage_shows_the_rate_and_the_counts():
    incident, facts, _ = CASES[K.COVERAGE_BELOW_TARGET]
    s = summarize(incident, facts, REG)
    assert "在线监控率 75%（3/4 家重点排污单位）" in s.zh
    assert "online-monitoring rate 75% (3/4 key polluter units)" in s.en


def test_coverage_counts_read_as_whole_numbers_when_they_come_as_floats():
    """A signal's detail carries numbers as floats: the counts still read 3/4, not 3.0/4.0."""
    incident, _, _ = CASES[K.COVERAGE_BELOW_TARGET]
    s = summarize(incident, Facts(covered=3.0, total=4.0), REG)
    assert "（3/4 家重点排污单位）" in s.zh and "(3/4 key polluter units)" in s.en


def test_invalid_data_names_the_fault():
    incident, facts, _ = CASES[K.INVALID_DATA]
    s = summarize(incident, facts, REG)
    assert "仪器故障，标记 D" in s.zh and "analyser fault, flag D" in s.en
