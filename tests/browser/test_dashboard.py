"""The dashboard in a real headless browser, over a running pipeline: the overview's figures,
a zone login kept to its zone, acknowledging from the console, the language switch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.dashboard import Dashboard, pct

if TYPE_CHECKING:
    from tests.browser.conftest import Pipeline

pytestmark = [pytest.mark.browser, pytest.mark.integration]
RATES = ("monitoring_rate", "assessment_rate", "platform_rate")


def expected_rows(pipeline: Pipeline, token: str) -> dict[str, dict]:
    """What the overview must show for `token`, per zone, from `GET /api/v1/coverage`."""
    return {z["zone"]: {"name": z["name"], "rates": [pct(z[k]) for k in RATES],
                        "has_figures": z["at"] is not None}
            for z in pipeline.api.ok("/api/v1/coverage", token)["zones"]}


def shown_rows(page: Dashboard) -> dict[str, dict]:
    return {r["zone"]: {"name": r["name"], "rates": r["rates"],
                        "has_figures": r["updated"] not in ("无数据", "no data", "")}
            for r in page.overview_rows()}


def test_overview_shows_every_zone_with_the_api_figures(dashboard: Dashboard,
                                                       pipeline: Pipeline) -> None:
    page, eco = dashboard, pipeline.tokens["ecology"]
    page.login(eco)
    # the page refreshes every 8 s: wait until what it shows is what the API says now
    page.wait(lambda: shown_rows(page) == expected_rows(pipeline, eco), 30,
              "the overview to match GET /api/v1/coverage")
    rows = shown_rows(page)
    assert set(rows) == {pipeline.zone, pipeline.other}
    assert rows[pipeline.zone]["rates"][0] == "75.0%"  # 3 of 4 units report
    assert rows[pipeline.zone]["name"] == "江宁经开区" and rows[pipeline.zone]["has_figures"]
    assert rows[pipeline.other]["name"] == "浦口经开区"
    # ranked by monitoring rate: the zone with a figure first; laggards marked
    assert page.overview_rows()[0]["zone"] == pipeline.zone
    assert page.driver.find_elements("css selector", "tr.laggard td.rate.bad")
    page.shot("projector")
    page.shot("phone", phone=True)


def test_zone_login_sees_only_its_own_zone(dashboard: Dashboard, pipeline: Pipeline) -> None:
    page, zone, other = dashboard, pipeline.zone, pipeline.other
    page.login(pipeline.tokens["zone"])
    page.wait(lambda: [r["zone"] for r in page.overview_rows()] == [zone], 20,
              "the overview to list only the token's zone")
    assert page.overview_rows()[0]["rates"][0] == "75.0%"
    page.go(f"#/zone/{zone}")
    page.wait(lambda: page.text(".figures .figure .value") == "75.0%", 20,
              "the zone page's monitoring rate")
    assert "jn-0004" in page.text(".dark") or "某某化工4" in page.text(".dark")
    page.shot("own-zone")
    page.shot("own-zone-phone", phone=True)

    page.network()  # forget the calls so far
    page.go(f"#/zone/{other}")
    refusal = page.wait(lambda: page.text("#view .refusal") or None, 20,
                        "a refusal on the other zone's page")
    assert "无权" in refusal, refusal
    calls = page.network(f"/api/v1/zones/{other}/coverage")
    assert calls and all(status == 403 for _, status in calls), calls
    html = page.driver.page_source
    for leak in ("浦口经开区", "浦口某公司", "pk-0001", "pukou-safety"):  # name, unit, platform
        assert leak not in html, leak
    assert "%" not in page.text("#view") and not page.texts("#view .figure")
    page.shot("other-zone-refused")
    page.shot("other-zone-refused-phone", phone=True)


def test_acknowledge_from_the_console(dashboard: Dashboard, pipeline: Pipeline) -> None:
    page, api, eco = dashboard, pipeline.api, pipeline.tokens["ecology"]

    def open_gap() -> dict | None:
        found = api.ok(f"/api/v1/alerts?status=open&zone={pipeline.zone}&kind=data_gap",
                       eco)["alerts"]
        return next((a for a in found if a["point"] == pipeline.silent_point), None)
    gap = page.wait(open_gap, 60, "the silent point's data_gap through the API")

    page.login(pipeline.tokens["emergency"])
    page.go("#/alerts")
    item = page.wait(lambda: next((a for a in page.alert_items() if a["id"] == gap["id"]), None),
                     20, f"the console to list {gap['id']}")
    assert item["status"] == "open" and item["ack"] and item["kind"] == "数据中断", item
    page.shot("open")

    page.click_ack(gap["id"], "已派人检修 / technician sent")
    shown = page.wait(lambda: next((a for a in page.alert_items() if a["id"] == gap["id"]
                                    and a["status"] == "acknowledged"), None), 30,
                      "the console to show the alert acknowledged")
    who = pipeline.names["emergency"]
    assert not shown["ack"] and f"已确认：{who}" in shown["foot"], shown
    page.shot("acknowledged")

    alert = api.ok(f"/api/v1/alerts/{gap['id']}", eco)["alert"]
    assert alert["status"] == "acknowledged" and alert["acknowledged_by"] == who, alert


def test_chinese_by_default_english_on_the_switch(dashboard: Dashboard,
                                                  pipeline: Pipeline) -> None:
    page = dashboard
    assert page.driver.execute_script("return document.documentElement.lang") == "zh-CN"
    assert page.text(".bar h1") == "经开区在线监控覆盖率"
    assert page.text("#login h2") == "请输入访问令牌"
    page.login(pipeline.tokens["ecology"])
    page.wait(lambda: page.overview_rows(), 20, "the overview")
    assert page.text("#view h2") == "各园区覆盖率"
    assert page.texts("table.rank th")[1:4] == ["园区", "在线监控率", "安全评估率"]
    page.shot("zh")

    page.driver.find_element("css selector", "#lang").click()
    page.wait(lambda: page.text("#view h2") == "Coverage by zone", 10, "English headings")
    assert page.driver.execute_script("return document.documentElement.lang") == "en"
    assert page.text(".bar h1") == "Zone online-monitoring coverage"
    assert page.texts("table.rank th")[1:4] == ["Zone", "Online monitoring", "Safety assessed"]
    assert page.text("#lang") == "中文"
    page.wait(lambda: page.overview_rows(), 20, "the overview in English")
    page.go("#/alerts")
    page.wait(lambda: page.text("#view h2") == "Alert console", 10, "the console in English")
    page.go("#/")
    page.wait(lambda: page.overview_rows(), 20, "the overview in English")
    page.shot("en")

    page.driver.find_element("css selector", "#lang").click()
    page.wait(lambda: page.text("#view h2") == "各园区覆盖率", 10, "Chinese headings again")
