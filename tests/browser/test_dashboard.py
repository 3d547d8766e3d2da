"""The dashboard in a real headless browser, over a running pipeline: the overview's figures,
a zone login kept to its zone, acknowledging from the console, the language switch, figures
refreshing in place, the trends, the zone page, the console's filter, the phone layout."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from tests.browser.dashboard import PHONE, Dashboard, pct
from tests.integration.test_api import POINTS

if TYPE_CHECKING:
    from tests.browser.conftest import Pipeline

pytestmark = [pytest.mark.browser, pytest.mark.integration]
RATES = ("monitoring_rate", "assessment_rate", "platform_rate")
SHANGHAI = ZoneInfo("Asia/Shanghai")
SHOWN_TIME = re.compile(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}")


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


def shown_time(iso: str) -> str:
    """How app.js shows an API time in Chinese: Shanghai time, to the second."""
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y/%m/%d %H:%M:%S")


def shown_span(text: str) -> timedelta:
    """The length of a period the page shows as "from — to" (Shanghai times)."""
    start, end = (datetime.strptime(t, "%Y/%m/%d %H:%M:%S") for t in SHOWN_TIME.findall(text))
    return end - start


def zone_rate(page: Dashboard, zone: str) -> str | None:
    """The online-monitoring rate the overview shows for `zone`."""
    return next((r["rates"][0] for r in page.overview_rows() if r["zone"] == zone), None)


def test_figures_refresh_in_place_without_reloading(dashboard: Dashboard,
                                                    pipeline: Pipeline) -> None:
    page, zone = dashboard, pipeline.zone
    page.login(pipeline.tokens["ecology"])
    page.wait(lambda: zone_rate(page, zone) == "75.0%", 30, "the overview at 75 %")
    page.driver.execute_script("window.__zwNotReloaded = 1;")
    with pipeline.fleet_publishing(POINTS):  # the point that never reported comes online
        page.wait(lambda: zone_rate(page, zone) == "100.0%", 60,
                  "the overview to show the zone at 100 %")
        assert page.driver.execute_script("return window.__zwNotReloaded") == 1, \
            "the page reloaded to show the new figure"
        assert page.driver.execute_script("return location.hash") in ("", "#/")
        page.shot("refreshed")


def test_overview_draws_the_day_and_week_trend(dashboard: Dashboard,
                                               pipeline: Pipeline) -> None:
    page, api, eco, zone = dashboard, pipeline.api, pipeline.tokens["ecology"], pipeline.zone
    pipeline.seed_coverage_history(zone, {
        timedelta(days=6): 0.5, timedelta(days=3): 1.0, timedelta(hours=20): 0.5,
        timedelta(hours=12): 1.0, timedelta(hours=2): 0.75})

    def drawn_from_api() -> list[int]:
        """Vertices each sparkline must have: the API's windows with a monitoring rate."""
        return [sum(p["monitoring_rate"] is not None for p in api.ok(
            f"/api/v1/coverage/trend?hours={h}", eco)["zones"].get(zone, [])) for h in (24, 168)]

    day, week = drawn_from_api()
    assert day >= 4 and week >= 5, (day, week)  # 3 and 5 seeded windows, plus today's
    page.login(eco)
    page.wait(lambda: [line["vertices"] for line in page.sparklines()[zone]] == drawn_from_api(),
              30, "the trend lines to have a vertex per window the API gives")
    lines = page.sparklines()
    # today's 75 % is under target: the line ends red; both trends are on the projector
    assert all(line["cls"] == "bad" and line["shown"] for line in lines[zone]), lines
    # a zone without coverage history draws no line, rather than a made-up one
    assert lines[pipeline.other] == [None, None], lines
    page.shot("trend")


def test_zone_page_since_when_open_alert_and_period(dashboard: Dashboard,
                                                   pipeline: Pipeline) -> None:
    page, api, eco, zone = dashboard, pipeline.api, pipeline.tokens["ecology"], pipeline.zone
    stopped = POINTS[2]  # reported since the fixture started; stops here

    def open_gap() -> dict | None:
        found = api.ok(f"/api/v1/alerts?status=open&zone={zone}&kind=data_gap", eco)["alerts"]
        return next((a for a in found if a["point"] == stopped), None)

    def last_valid() -> str | None:
        z = api.ok(f"/api/v1/zones/{zone}/coverage?completeness=0", eco)
        return next((p["last_valid"] for u in z["dark"] for p in u["points"]
                     if p["point"] == stopped), None)

    with pipeline.fleet_publishing(POINTS[:2]):
        gap = page.wait(open_gap, 60, f"the data_gap of {stopped} through the API")
        since = page.wait(last_valid, 30, f"{stopped} dark with its last valid data")

        page.login(pipeline.tokens["zone"])
        page.go(f"#/zone/{zone}")
        row = page.wait(lambda: next((r for r in page.unit_rows() if stopped in r[1]), None),
                        30, f"{stopped} in the zone page's dark units")
        assert row == ["某某化工3有限公司", f"{stopped} · wastewater", "离线",
                       shown_time(since)], row
        # every dark point says since when, as the API has it ("never reported" without data)
        shown = {r[1].split(" · ")[0]: r[3] for r in page.unit_rows()}
        since_api = {p["point"]: p["last_valid"] for u in api.ok(
            f"/api/v1/zones/{zone}/coverage?completeness=0", eco)["dark"] for p in u["points"]}
        assert shown == {p: shown_time(t) if t else "从未上报" for p, t in since_api.items()}
        item = page.wait(lambda: next((a for a in page.alert_items(".zone-alerts")
                                       if a["id"] == gap["id"]), None), 20,
                         f"the zone page to list {gap['id']}")
        assert item["status"] == "open" and item["kind"] == "数据中断", item

        period = page.wait(lambda: page.text(".completeness > p.muted") or None, 30,
                           "the completeness period")
        assert abs(shown_span(period) - timedelta(hours=24)) < timedelta(minutes=1), period
        page.shot("zone")
        page.driver.find_element(By.CSS_SELECTOR, ".period button[data-hours='168']").click()
        period = page.wait(lambda: (lambda t: t if abs(shown_span(t) - timedelta(days=7))
                                    < timedelta(minutes=2) else None)(
            page.text(".completeness > p.muted")), 30, "the completeness over the last 7 days")
        week_ago = datetime.now(SHANGHAI) - timedelta(days=7)
        assert page.driver.find_element(By.CSS_SELECTOR, ".period input[name=from]") \
            .get_attribute("value")[:10] == week_ago.strftime("%Y-%m-%d"), period
        page.shot("zone-7-days")


def test_console_filter_narrows_the_list(dashboard: Dashboard, pipeline: Pipeline) -> None:
    page, api, eco = dashboard, pipeline.api, pipeline.tokens["ecology"]

    def active(kind: str = "") -> list[dict]:
        q = "/api/v1/alerts?status=open,acknowledged" + (f"&kind={kind}" if kind else "")
        return api.ok(q, eco)["alerts"]

    def ids(alerts: list[dict]) -> set[str]:
        return {a["id"] for a in alerts}

    page.wait(lambda: {"data_gap"} < {a["kind"] for a in active()}, 60,
              "a data_gap and alerts of other kinds through the API")
    page.login(pipeline.tokens["emergency"])
    page.go("#/alerts")
    page.wait(lambda: ids(page.alert_items()) == ids(active()), 30,
              "the console to list every active alert")
    every = page.alert_items()
    assert {a["kind"] for a in every} > {"数据中断"}, every
    page.shot("all")

    Select(page.driver.find_element(By.CSS_SELECTOR, ".filters select[name=kind]")
           ).select_by_value("data_gap")
    page.wait(lambda: page.alert_items() and ids(page.alert_items()) == ids(active("data_gap")),
              20, "the console to list only the data gaps")
    gaps = page.alert_items()
    assert {a["kind"] for a in gaps} == {"数据中断"} and len(gaps) < len(every), gaps
    page.shot("data-gaps")


def test_phone_layout_fits_the_screen_and_keeps_a_trend(dashboard: Dashboard,
                                                        pipeline: Pipeline) -> None:
    page, zone = dashboard, pipeline.zone
    page.login(pipeline.tokens["ecology"])
    with page.phone():
        page.wait(lambda: zone_rate(page, zone) == "75.0%", 30, "the overview on a phone")
        assert page.overflow() is None, page.overflow()
        # the overview promises trends: on a phone the day's trend stays, inside the screen
        heads = page.driver.execute_script("""
            return [...document.querySelectorAll("table.rank th")]
              .filter(th => th.getClientRects().length).map(th => th.textContent.trim());""")
        assert "24 小时趋势" in heads, heads
        spark = page.driver.execute_script("""
            const svg = document.querySelector("table.rank tbody tr svg.spark");
            const box = svg && svg.getClientRects().length && svg.getBoundingClientRect();
            return box && {left: box.left, right: box.right, width: box.width};""")
        assert spark and spark["width"] > 0 and 0 <= spark["left"] < spark["right"] <= PHONE[0], \
            spark
        page.shot("overview")

        page.go(f"#/zone/{zone}")
        page.wait(lambda: page.text(".figures .figure .value") == "75.0%"
                  and page.text(".completeness > p.muted") and page.text(".zone-alerts"), 30,
                  "the zone page on a phone")
        assert page.overflow() is None, page.overflow()
        page.shot("zone")

        page.go("#/alerts")
        page.wait(lambda: page.alert_items(), 30, "the console on a phone")
        assert page.overflow() is None, page.overflow()
        page.shot("console")
