"""Driving the dashboard in Debian's headless chromium (Selenium): log in, follow routes, read
what the page shows, see which API calls it made, save screenshots."""

from __future__ import annotations

import base64
import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import (
    NoAlertPresentException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--lang=zh-CN")
PROJECTOR = (1920, 1080)
PHONE = (412, 915)
T = TypeVar("T")


def start_chromium(profile: Path) -> webdriver.Chrome:
    """Debian's chromium through Debian's chromedriver (nothing downloaded), with a fresh
    profile and the performance log on, so the page's own API calls can be checked."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={PROJECTOR[0]},{PROJECTOR[1]}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    return driver


def pct(value: float | None) -> str:
    """What app.js shows for a rate: floored to 0.1 %, "—" when there is none."""
    return "—" if value is None else f"{math.floor(value * 1000) / 10:.1f}%"


class Dashboard:
    """One browser pointed at one worker's dashboard; `shot` saves into `out_dirs`."""

    def __init__(self, driver: webdriver.Chrome, base_url: str, out_dirs: list[Path],
                 prefix: str = "") -> None:
        self.driver, self.base, self.out_dirs = driver, base_url.rstrip("/"), out_dirs
        self.prefix = prefix
        self.on_phone = False

    # ---- navigation ----------------------------------------------------------------
    def fresh(self) -> None:
        """The dashboard as a first-time visitor sees it: no token, no language chosen."""
        self.driver.set_window_size(*PROJECTOR)
        self.driver.get(self.base + "/")
        self.driver.execute_script("localStorage.clear(); sessionStorage.clear();")
        self.driver.get(self.base + "/")
        self.wait(lambda: self.visible("#login"), 15, "the login form")
        self.network()  # drop what the earlier pages logged

    def login(self, token: str) -> None:
        """Type the token into the login form, as a person does; wait for the overview."""
        field = self.driver.find_element(By.ID, "token")
        field.send_keys(token)
        self.driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
        self.wait(lambda: not self.visible("#login") and self.visible("#nav"), 15,
                  "the dashboard after logging in")

    def go(self, route: str) -> None:
        """Follow an in-app route (`#/`, `#/zone/ID`, `#/alerts`) as a link or typed URL does."""
        self.driver.execute_script("location.hash = arguments[0];", route)
        self.wait(lambda: self.driver.execute_script("return location.hash") == route, 5,
                  f"the route {route}")

    # ---- reading the page --------------------------------------------------------------
    def visible(self, css: str) -> bool:
        return bool(self.driver.execute_script(
            "const n = document.querySelector(arguments[0]);"
            "return !!n && !n.hidden && n.getClientRects().length > 0;", css))

    def text(self, css: str) -> str:
        return str(self.driver.execute_script(
            "const n = document.querySelector(arguments[0]); return n ? n.textContent : '';",
            css)).strip()

    def texts(self, css: str) -> list[str]:
        return [str(t).strip() for t in self.driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(n => n.textContent);", css)]

    def overview_rows(self) -> list[dict[str, Any]]:
        """The overview table as shown: zone id (from its link), name, the three rates, updated."""
        return self.driver.execute_script("""
            return [...document.querySelectorAll("table.rank tbody tr")].map(tr => {
              const a = tr.querySelector("td a");
              return {zone: decodeURIComponent(a.getAttribute("href").replace("#/zone/", "")),
                      name: a.textContent.trim(),
                      rates: [...tr.querySelectorAll("td.rate")].map(td => td.textContent.trim()),
                      updated: tr.lastElementChild.textContent.trim()};
            });""")

    def alert_items(self, within: str = ".alert-list") -> list[dict[str, Any]]:
        """The alert items under `within` (the console's list; `.zone-alerts` on a zone page):
        id, status class, kind label, whether it has an ack button, the acknowledged-by text."""
        return self.driver.execute_script("""
            return [...document.querySelectorAll(arguments[0] + " li.alert")].map(li => ({
              id: (li.querySelector(".alert-foot .muted").textContent.split(" · ").pop() || "")
                    .trim(),
              status: [...li.classList].find(c => c.startsWith("st-")).slice(3),
              kind: li.querySelector(".alert-head strong").textContent.trim(),
              ack: !!li.querySelector("button.ack"),
              foot: li.querySelector(".alert-foot").textContent.trim()}));""", within)

    def sparklines(self) -> dict[str, list[dict[str, Any] | None]]:
        """zone → its trend sparklines on the overview, left to right: the drawn line's class
        (ok/bad) and number of vertices, whether it is displayed; None for one with no line."""
        return self.driver.execute_script("""
            const out = {};
            for (const tr of document.querySelectorAll("table.rank tbody tr")) {
              const a = tr.querySelector("td a");
              out[decodeURIComponent(a.getAttribute("href").replace("#/zone/", ""))] =
                [...tr.querySelectorAll("svg.spark")].map(svg => {
                  const line = svg.querySelector("polyline:not(.target)");
                  return line && {cls: line.getAttribute("class"),
                                  vertices: line.getAttribute("points").trim().split(/\\s+/).length,
                                  shown: svg.getClientRects().length > 0};
                });
            }
            return out;""")

    def unit_rows(self, within: str = ".dark") -> list[list[str]]:
        """The cells of each row of the zone page's unit table under `within`."""
        return self.driver.execute_script("""
            return [...document.querySelectorAll(arguments[0] + " table tbody tr")]
              .map(tr => [...tr.cells].map(td => td.textContent.trim()));""", within)

    def click_ack(self, alert_id: str, note: str) -> None:
        """Click the acknowledge button of `alert_id` and answer the note prompt."""
        def click() -> bool:
            try:
                for li in self.driver.find_elements(By.CSS_SELECTOR, ".alert-list li.alert"):
                    if alert_id in li.find_element(By.CSS_SELECTOR, ".alert-foot").text:
                        li.find_element(By.CSS_SELECTOR, "button.ack").click()
                        return True
            except StaleElementReferenceException:  # the list refreshed under us: again
                return False
            return False
        self.wait(click, 20, f"the acknowledge button of {alert_id}")

        def prompt() -> bool:
            try:
                dialog = self.driver.switch_to.alert
            except NoAlertPresentException:
                return False
            dialog.send_keys(note)
            dialog.accept()
            return True
        self.wait(prompt, 5, "the acknowledgement note prompt")

    def network(self, path_part: str = "") -> list[tuple[str, int]]:
        """(url, status) of every response since the last call whose URL has `path_part`
        (the performance log is drained by reading it)."""
        found = []
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") != "Network.responseReceived":
                continue
            resp = msg["params"]["response"]
            if path_part in resp["url"]:
                found.append((resp["url"], int(resp["status"])))
        return found

    def wait(self, predicate: Callable[[], T], timeout: float, what: str) -> T:
        """Poll `predicate` (page errors count as "not yet") until truthy; fail naming `what`,
        with the page's status line, after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = predicate()
            except (WebDriverException, KeyError, IndexError, TypeError, AttributeError):
                result = None
            if result:
                return result
            if time.monotonic() > deadline:
                status = self.text("#status")
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} "
                                     f"(page status line: {status!r})")
            time.sleep(0.25)

    # ---- phone ---------------------------------------------------------------------------
    @contextmanager
    def phone(self) -> Iterator[None]:
        """The page as a phone shows it inside the block: 412 CSS px wide, 2× pixels, mobile
        viewport rules (the page's `<meta name=viewport>` applies)."""
        if self.on_phone:
            yield
            return
        cdp = self.driver.execute_cdp_cmd
        cdp("Emulation.setDeviceMetricsOverride", {
            "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True})
        self.on_phone = True
        try:
            self.wait(lambda: self.driver.execute_script(
                "return document.documentElement.clientWidth") == PHONE[0], 5,
                "the phone's width")
            time.sleep(0.3)  # let the layout settle at the new width
            yield
        finally:
            self.on_phone = False
            cdp("Emulation.clearDeviceMetricsOverride", {})

    def overflow(self) -> dict[str, Any] | None:
        """What makes the page wider than the window (a sideways scroll), or None: the widths,
        and the elements that reach past the window's right edge, deepest first. The window is
        the layout viewport too: a phone zooms out to show an overflowing page, and then
        `innerWidth` grows to the page's width and would hide the overflow."""
        return self.driver.execute_script("""
            const doc = document.documentElement;
            const width = Math.min(window.innerWidth, doc.clientWidth);
            if (doc.scrollWidth <= width) return null;
            const right = (n) => n.getBoundingClientRect().right;
            const past = [...document.querySelectorAll("body *")]
              .filter(n => right(n) > width + 0.5)
              .filter(n => ![...n.children].some(c => right(c) > width + 0.5))
              .slice(0, 8).map(n => `${n.tagName.toLowerCase()}.${n.getAttribute("class")} `
                               + `right=${Math.round(right(n))}`);
            return {scrollWidth: doc.scrollWidth, innerWidth: width, past};""")

    # ---- screenshots ---------------------------------------------------------------------
    def shot(self, name: str, phone: bool = False) -> list[Path]:
        """The whole page (not only the viewport) as PNG, at the size it has now, or as a phone
        (see `phone`), saved under every output folder."""
        if phone and not self.on_phone:
            with self.phone():
                return self.shot(name)
        png = base64.b64decode(self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True})["data"])
        paths = []
        for folder in self.out_dirs:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self.prefix}{name}.png"
            path.write_bytes(png)
            paths.append(path)
        return paths


def fresh_profile() -> Path:
    """A new, empty chromium profile folder."""
    return Path(tempfile.mkdtemp(prefix="zw-chromium-"))


def remove_profile(profile: Path) -> None:
    shutil.rmtree(profile, ignore_errors=True)
