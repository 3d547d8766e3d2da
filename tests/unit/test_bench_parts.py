"""The benchmark scripts' pure parts: the synthetic registry and the profile summary."""

from __future__ import annotations

from bench.profile_summary import summarise
from bench.registry_gen import POINTS_PER_ENTERPRISE, synthetic_registry
from schemas.registry_check import check_registry


def test_synthetic_registry_is_valid_and_sized() -> None:
    reg = synthetic_registry(10, zones=3, probes=2, gap_threshold_s=900)
    assert len(reg.points) == 12 and len(reg.zones) == 3
    assert len(reg.enterprises) == -(-10 // POINTS_PER_ENTERPRISE) + 1
    assert not [i for i in check_registry(reg.model_dump(mode="json")) if i.severity == "error"]
    probes = [p for p in reg.points if p.id.startswith("bq")]
    assert [p.threshold_s for p in probes] == [10, 10]
    assert {p.threshold_s for p in reg.points if p not in probes} == {900}


def test_profile_summary_counts_self_and_inclusive() -> None:
    text = "a (x.py:1);b (y/z.py:2) 3\na (x.py:1) 1\nnot a stack\n"
    total, own, anywhere = summarise(text)
    assert total == 4
    assert own == {"b (z.py)": 3, "a (x.py)": 1}
    assert anywhere == {"a (x.py)": 4, "b (z.py)": 3}
