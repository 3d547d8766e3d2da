"""The registry check names every problem by its path, and the demo registry passes it."""

from __future__ import annotations

import copy
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.registry import Registry
from schemas.registry_check import (
    RegistryError,
    RegistryIssue,
    check_registry,
    check_registry_file,
    check_registry_text,
    load_registry,
    registry_digest,
)
from zonewatch.registry_cmd import format_issue, run_check

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "deploy" / "demo" / "registry.yaml"

BROKEN = """\
zones:
  - {id: jiangning-edz, name: 江宁经开区, level: national}
  - {id: Pukou EDZ, name: "", level: county}
enterprises:
  - {id: jn-0001, zone: jiangning-edz, name: 某某化工有限公司, key_polluter: yes}
  - {id: jn-0002, zone: jiangning-edz, name: 某某电气有限公司, key_poluter: true}
points:
  - id: jn-0001-ww1
    enterprise: jn-0001
    domain: water
    kind: wastewater
    mn: 12345
    interval_s: -5
    factors: []
  - id: jn-0001-fg1
    enterprise: jn-0001
    domain: environment
    kind: flue_gas
    interval_s: 60.5
    factors: [a21026]
    limits: {a21026: high}
  - {id: jn-0002-gd1, enterprise: jn-0002, domain: safety, kind: gas_detector, factors: [gas_lel]}
platforms:
  - {id: jn-safety, zone: jiangning-edz, heartbeat_s: 0}
"""


def valid_doc() -> dict[str, Any]:
    """A small registry with no problem at all; tests break one thing each."""
    return {
        "zones": [{"id": "jiangning-edz", "name": "江宁经开区", "level": "national"},
                  {"id": "pukou-edz", "name": "浦口经开区", "level": "provincial"}],
        "enterprises": [
            {"id": "jn-0001", "zone": "jiangning-edz", "name": "南京某某化工有限公司",
             "key_polluter": True, "assessment_required": True},
            {"id": "pk-0001", "zone": "pukou-edz", "name": "南京某某电子有限公司"},
        ],
        "points": [
            {"id": "jn-0001-ww1", "enterprise": "jn-0001", "domain": "environment",
             "kind": "wastewater", "mn": "010000A8900016F000169DC0", "interval_s": 60,
             "factors": ["w01018", "w21003"], "limits": {"w01018": 50.0, "w21003": 5}},
            {"id": "jn-0001-gd1", "enterprise": "jn-0001", "domain": "safety",
             "kind": "gas_detector", "interval_s": 60, "factors": ["gas_lel"]},
        ],
        "platforms": [{"id": "jn-safety", "zone": "jiangning-edz", "heartbeat_s": 60},
                      {"id": "pk-safety", "zone": "pukou-edz"}],
    }


def by_path(issues: list[RegistryIssue]) -> dict[str, str]:
    return {issue.path: issue.message for issue in issues}


def errors(issues: list[RegistryIssue]) -> list[RegistryIssue]:
    return [issue for issue in issues if issue.severity == "error"]


def test_valid_registry_has_no_issue() -> None:
    registry, issues = check_registry_text(yaml.safe_dump(valid_doc(), allow_unicode=True))
    assert issues == []
    assert isinstance(registry, Registry)
    assert registry.point_by_mn["010000A8900016F000169DC0"].id == "jn-0001-ww1"


def test_broken_file_names_every_broken_field() -> None:
    registry, issues = check_registry_text(BROKEN)
    found = by_path(issues)
    assert registry is None
    assert found["points[0].interval_s"] == (
        "must be a positive whole number of seconds (got -5)")
    assert {
        "zones[1].id", "zones[1].name", "zones[1].level", "enterprises[1].key_poluter",
        "points[0].domain", "points[0].mn", "points[0].factors", "points[1].interval_s",
        "points[1].limits.a21026", "points[2].interval_s", "platforms[0].heartbeat_s",
    } <= set(found)
    assert "national or provincial (got 'county')" in found["zones[1].level"]
    assert "did you mean key_polluter?" in found["enterprises[1].key_poluter"]
    assert "write it in quotes" in found["points[0].mn"]
    assert "got an empty list" in found["points[0].factors"]
    assert "(got 60.5)" in found["points[1].interval_s"]
    assert found["points[1].limits.a21026"] == "must be a number (got 'high')"
    assert found["points[2].interval_s"] == "is missing; every point needs interval_s"


def test_issues_carry_lines_in_file_order() -> None:
    _, issues = check_registry_text(BROKEN)
    lines = {issue.path: issue.line for issue in issues}
    assert lines["zones[1].level"] == 3
    assert lines["points[0].interval_s"] == 13
    assert lines["points[2].interval_s"] == 22  # missing: the line of its entry
    assert [i.line or 0 for i in issues] == sorted(i.line or 0 for i in issues)


def test_yaml_syntax_error_reports_line_and_column() -> None:
    registry, issues = check_registry_text("zones:\n  - {id: a, name: b\nenterprises: []\n")
    assert registry is None
    [issue] = issues
    assert issue.line == 3
    assert issue.message.startswith("line 3, column 12: not valid YAML")
    assert "started at line 2" in issue.message


def test_tab_indentation_gets_a_hint() -> None:
    _, [issue] = check_registry_text("zones:\n\t- {id: a}\n")
    assert "spaces, not tabs" in issue.message


def test_key_given_twice_in_one_entry() -> None:
    text = ("zones: [{id: z, name: Z, level: national}]\n"
            "platforms:\n  - id: p\n    zone: z\n    zone: z\n")
    issues = by_path(check_registry_text(text)[1])
    assert issues["platforms[0].zone"].startswith("is given twice in the same entry (lines 4")


@pytest.mark.parametrize(("text", "expected"), [
    ("", "must be a mapping with the sections zones, enterprises, points and platforms"),
    ("- 1\n", "(got a list of 1)"),
])
def test_file_that_is_not_a_mapping(text: str, expected: str) -> None:
    [issue] = check_registry_text(text)[1]
    assert issue.path == ""
    assert expected in issue.message


def test_section_shapes_and_unknown_section() -> None:
    found = by_path(check_registry({"zones": None, "enterprises": ["x"], "zonez": []}))
    assert "write `zones: []` if there are none; got nothing" in found["zones"]
    assert found["enterprises[0]"].startswith("each enterprise must be a mapping")
    assert found["zonez"] == "is not a section of the registry; did you mean zones?"


def test_duplicate_ids_and_mns() -> None:
    doc = valid_doc()
    doc["zones"].append(dict(doc["zones"][0]))
    doc["enterprises"].append({**doc["enterprises"][1], "name": "另一家"})
    doc["points"].append({**doc["points"][0], "id": "jn-0001-ww2"})
    doc["points"].append({**doc["points"][1], "mn": "ABC"})
    doc["platforms"].append({"id": "jn-safety", "zone": "pukou-edz"})
    found = by_path(errors(check_registry(doc)))
    assert found["zones[2].id"] == ("id 'jiangning-edz' is already used by zones[0]; "
                                    "each zone needs its own id")
    assert "already used by enterprises[1]" in found["enterprises[2].id"]
    assert "MN '010000A8900016F000169DC0' is already used by points[0]" in found["points[2].mn"]
    assert "already used by points[1]" in found["points[3].id"]
    assert "already used by platforms[0]" in found["platforms[2].id"]


def test_unknown_references() -> None:
    doc = valid_doc()
    doc["enterprises"][1]["zone"] = "pukuo-edz"
    doc["points"][1]["enterprise"] = "jn-0009"
    doc["platforms"][1]["zone"] = "nowhere"
    found = by_path(errors(check_registry(doc)))
    assert found == {
        "enterprises[1].zone": "no zone has the id 'pukuo-edz'; did you mean 'pukou-edz'?",
        "points[1].enterprise": found["points[1].enterprise"],
        "platforms[1].zone": "no zone has the id 'nowhere'",
    }
    assert found["points[1].enterprise"].startswith("no enterprise has the id 'jn-0009'")


def test_cross_checks_still_run_around_invalid_entries() -> None:
    doc = valid_doc()
    doc["enterprises"][0]["name"] = ""           # invalid, but jn-0001 still exists
    doc["points"][0]["interval_s"] = "60"        # invalid, but its MN still counts
    doc["points"][1] = {**doc["points"][1], "mn": doc["points"][0]["mn"], "enterprise": "x"}
    found = by_path(check_registry(doc))
    assert set(found) == {"enterprises[0].name", "points[0].interval_s", "points[1].mn",
                          "points[1].enterprise"}


WINDOWS = """\
maintenance:
  - {point: jn-0001-ww1, start: 2026-12-01T08:00:00+08:00, end: "2026-12-01T12:00:00+08:00",
     reason: 年度校准}
  - {enterprise: pk-0001, start: 2026-12-03T00:00:00+08:00, end: 2026-12-05T00:00:00+08:00,
     kinds: [data_gap, invalid_data]}
"""


def test_maintenance_windows_load_with_yaml_or_quoted_times() -> None:
    text = yaml.safe_dump(valid_doc(), allow_unicode=True) + WINDOWS
    registry, issues = check_registry_text(text)
    assert issues == [] and registry is not None
    first, second = registry.maintenance
    assert first.kinds == ["data_gap"] and first.reason == "年度校准"
    assert registry.zone_of_window(first) == "jiangning-edz"
    assert registry.zone_of_window(second) == "pukou-edz"
    assert first.key.startswith("mr-") and first.key != second.key
    again = Registry.model_validate_json(registry.model_dump_json())
    assert again == registry and again.maintenance[0].key == first.key, "stable over Kafka"


def test_maintenance_window_problems_are_named() -> None:
    text = yaml.safe_dump(valid_doc(), allow_unicode=True) + """\
maintenance:
  - {point: jn-0001-ww9, start: 2026-12-01T08:00:00+08:00, end: 2026-12-01T12:00:00+08:00}
  - {enterprise: jn-0001, start: 2026-12-01T08:00:00+08:00, end: 2026-12-01T07:00:00+08:00}
  - {point: jn-0001-ww1, enterprise: jn-0001, start: 2026-12-01T08:00:00+08:00,
     end: 2026-12-01T09:00:00+08:00}
  - {enterprise: jn-0001, start: 2026-12-01T08:00:00, end: tomorrow, kinds: [nonsense]}
"""
    registry, issues = check_registry_text(text)
    found = by_path(issues)
    assert registry is None
    assert found["maintenance[0].point"] == ("no point has the id 'jn-0001-ww9'; "
                                             "did you mean 'jn-0001-ww1'?")
    assert found["maintenance[1]"] == "a maintenance window must end after it starts"
    assert found["maintenance[2]"] == ("a maintenance window names either a point or an "
                                       "enterprise")
    assert found["maintenance[3].start"].startswith("must be a date and time with its offset")
    assert "(got 'tomorrow')" in found["maintenance[3].end"]
    assert found["maintenance[3].kinds[0]"].startswith("must be an alert kind")


def test_limit_for_a_factor_not_measured() -> None:
    doc = valid_doc()
    doc["points"][0]["limits"]["w01019"] = 3.0
    [issue] = check_registry(doc)
    assert issue.path == "points[0].limits.w01019"
    assert "not among the point's factors (w01018, w21003)" in issue.message


def test_detection_limits_are_numbers_for_measured_factors() -> None:
    doc = valid_doc()
    doc["points"][0]["detection_limits"] = {"w01018": 4.0, "w01019": 0.5}
    [issue] = check_registry(doc)
    assert issue.path == "points[0].detection_limits.w01019"
    doc["points"][0]["detection_limits"] = {"w01018": "low"}
    [issue] = check_registry(doc)
    assert issue.path == "points[0].detection_limits.w01018"
    assert issue.message == "must be a number (got 'low')"


def test_unwatched_key_polluter_and_zone_without_platform_are_warnings(tmp_path: Path) -> None:
    doc = valid_doc()
    doc["points"][0]["required"] = False
    doc["platforms"].pop()
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    registry, issues = check_registry_file(path)
    assert registry is not None
    assert {(i.path, i.severity) for i in issues} == {("enterprises[0]", "warning"),
                                                       ("zones[1]", "warning")}
    assert "no required environment monitoring point" in by_path(issues)["enterprises[0]"]
    assert load_registry(path) == registry


def test_load_registry_raises_with_every_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert len(errors(caught.value.issues)) >= 11
    assert "points[0].interval_s: must be a positive whole number" in str(caught.value)


def test_unreadable_file_is_an_issue(tmp_path: Path) -> None:
    registry, [issue] = check_registry_file(tmp_path / "missing.yaml")
    assert registry is None
    assert issue.message.startswith("cannot read the file")
    (tmp_path / "latin1.yaml").write_bytes("zones: [é]".encode("latin-1"))
    assert "not UTF-8" in check_registry_file(tmp_path / "latin1.yaml")[1][0].message


def test_digest_is_stable_and_follows_content() -> None:
    first = Registry.model_validate(valid_doc())
    again = Registry.model_validate(copy.deepcopy(valid_doc()))
    changed_doc = valid_doc()
    changed_doc["points"][0]["limits"]["w01018"] = 100.0
    assert registry_digest(first) == registry_digest(again)
    assert len(registry_digest(first)) == 64
    assert registry_digest(first) != registry_digest(Registry.model_validate(changed_doc))


def test_demo_registry_passes_with_plausible_contents() -> None:
    registry, issues = check_registry_file(DEMO)
    assert issues == []
    assert registry is not None
    sizes = {z.id: sum(e.zone == z.id for e in registry.enterprises) for z in registry.zones}
    assert len(sizes) == 10 and 200 <= sum(sizes.values()) <= 500
    assert max(sizes, key=sizes.__getitem__) == "jiangbei-nmp"
    assert min(sizes, key=sizes.__getitem__) == "eco-island"
    assert {z.id for z in registry.zones} == {p.zone for p in registry.platforms}
    assert {"wastewater", "flue_gas", "vocs", "gas_detector", "tank"} <= {
        p.kind for p in registry.points}
    env = [p for p in registry.points if p.domain == "environment"]
    assert all(p.mn is not None and len(p.mn) == 24 for p in env)


def test_demo_registry_is_what_the_script_writes() -> None:
    script = ROOT / "deploy" / "demo" / "make_registry.py"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, check=True)
    assert out.stdout == DEMO.read_bytes()


def test_cli_ok_on_the_demo_registry() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    assert run_check(DEMO, stdout, stderr) == 0
    assert stdout.getvalue().startswith("ok: 10 zones, ")
    assert stdout.getvalue().count("\n") == 1
    assert stderr.getvalue() == ""


def test_cli_fails_with_every_error_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    assert run_check(str(path), stdout, stderr) == 1
    lines = stderr.getvalue().splitlines()
    assert stdout.getvalue() == ""
    assert f"{path}: points[0].interval_s: must be a positive whole number of seconds " \
           "(got -5) (line 13)" in lines
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert lines[-1].startswith(f"{path}: 1") and "cannot be loaded" in lines[-1]


def test_cli_prints_warnings_and_still_passes(tmp_path: Path) -> None:
    doc = valid_doc()
    doc["platforms"].pop()
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    assert run_check(path, stdout, stderr) == 0
    assert stdout.getvalue().startswith("ok: 2 zones, 2 enterprises, 2 points, 1 platform, "
                                        "1 warning")
    assert stderr.getvalue().startswith(f"{path}: zones[1]: warning: zone 'pukou-edz'")


def test_format_issue_without_path() -> None:
    issue = RegistryIssue("", "line 3, column 1: not valid YAML: oops", line=3)
    assert format_issue("r.yaml", issue) == "r.yaml: line 3, column 1: not valid YAML: oops"
