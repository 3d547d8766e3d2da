/* zonewatch dashboard: no build step, no framework. Every request carries the bearer token
   kept in sessionStorage; every view refreshes in place every few seconds. Data is put into
   the page with textContent only, never as HTML. */
"use strict";
(() => {
  const TZ = "Asia/Shanghai";
  const REFRESH_MS = 8000;
  const API_TIMEOUT_MS = 30000;
  const COMPLETENESS_MS = 60000;
  const KINDS = ["data_gap", "invalid_data", "exceedance", "suspect_data", "platform_offline",
    "assessment_missing", "assessment_expiring", "hazard_overdue", "coverage_below_target",
    "pipeline_stalled"];
  const SEVERITIES = ["critical", "warning", "info"];
  const state = {
    lang: localStorage.getItem("zw.lang") || "zh",
    token: sessionStorage.getItem("zw.token"),
    zones: {}, timer: null, view: null, period: {}, completenessAt: 0, filters: {},
  };
  const $ = (sel, root = document) => root.querySelector(sel);
  const T = (key) => (window.ZW_TEXT[state.lang] || {})[key] ?? window.ZW_TEXT.zh[key] ?? key;

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v == null) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children.flat()) if (c != null) node.append(c);
    return node;
  }

  function fmtTime(iso) {
    if (!iso) return "—";
    return new Intl.DateTimeFormat(state.lang === "zh" ? "zh-CN" : "en-GB", {
      timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    }).format(new Date(iso));
  }

  /* Floor, not round: 99.96 % must never read as 100.0 %. */
  const pct = (v) => (v == null ? "—" : `${(Math.floor(v * 1000) / 10).toFixed(1)}%`);
  const rateClass = (v) => (v == null ? "na" : v < 1 ? "bad" : "ok");
  const zoneName = (z) => {
    const info = state.zones[z];
    if (!info) return z;
    return state.lang === "en" && info.name_en ? info.name_en : info.name;
  };

  class HttpError extends Error {
    constructor(status, message, detail) { super(message); this.status = status; this.detail = detail; }
  }

  async function api(path, options = {}) {
    const headers = { Authorization: `Bearer ${state.token}`, ...(options.headers || {}) };
    // a request that hangs must not hold the page: the refresh waits for it (see refresh)
    const resp = await fetch(path, { signal: AbortSignal.timeout(API_TIMEOUT_MS), ...options,
      headers, cache: "no-store" });
    if (resp.status === 401) { logout(T("bad_token")); throw new HttpError(401, T("bad_token")); }
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const key = { 403: "forbidden", 404: "not_found", 409: "conflict", 503: "unavailable" };
      throw new HttpError(resp.status, T(key[resp.status] || "unavailable") +
        (body.error ? ` (${body.error})` : ""), body.error);
    }
    return body;
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = T(n.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((n) => {
      n.placeholder = T(n.dataset.i18nPlaceholder);
    });
    $("#lang").textContent = state.lang === "zh" ? "EN" : "中文";
    document.title = `${T("title")} · zonewatch`;
  }

  function setStatus(text, isError = false) {
    const s = $("#status");
    s.textContent = text;
    s.classList.toggle("error", isError);
  }

  function logout(message) {
    sessionStorage.removeItem("zw.token");
    state.token = null;
    clearInterval(state.timer);
    $("#view").replaceChildren();
    $("#login").hidden = false;
    $("#nav").hidden = true;
    $("#logout").hidden = true;
    $("#login-error").textContent = message || "";
  }

  /* ---- city overview ------------------------------------------------------------- */

  function sparkline(points) {
    const vals = (points || []).map((p) => p.monitoring_rate).filter((v) => v != null);
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 120 36");
    svg.setAttribute("class", "spark");
    svg.setAttribute("aria-hidden", "true");
    if (vals.length < 2) return svg;
    const lo = Math.min(0.8, ...vals) - 0.02;
    const y = (v) => 34 - ((v - lo) / (1 - lo)) * 32;
    const line = (cls, pts) => {
      const pl = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
      pl.setAttribute("points", pts);
      pl.setAttribute("class", cls);
      svg.append(pl);
    };
    line("target", `0,${y(1)} 120,${y(1)}`);
    line(vals[vals.length - 1] < 1 ? "bad" : "ok",
      vals.map((v, i) => `${(i / (vals.length - 1)) * 120},${y(v)}`).join(" "));
    return svg;
  }

  const rank = (a, b) => (b.monitoring_rate ?? -1) - (a.monitoring_rate ?? -1) ||
    (b.assessment_rate ?? -1) - (a.assessment_rate ?? -1) || a.zone.localeCompare(b.zone);

  async function refreshOverview(root, current) {
    const [cov, trend, week] = await Promise.all([
      api("/api/v1/coverage"), api("/api/v1/coverage/trend?hours=24"),
      api("/api/v1/coverage/trend?hours=168")]);
    if (!current()) return;
    rememberZones(cov.zones);
    const rows = cov.zones.slice().sort(rank).map((z, i) => {
      const lagging = [z.monitoring_rate, z.assessment_rate, z.platform_rate]
        .some((v) => v != null && v < 1);
      return el("tr", { class: lagging ? "laggard" : null },
        el("td", { class: "num", text: String(i + 1) }),
        el("td", {}, el("a", { href: `#/zone/${encodeURIComponent(z.zone)}`, text: zoneName(z.zone) })),
        ...["monitoring_rate", "assessment_rate", "platform_rate"].map((k) =>
          el("td", { class: `num rate ${rateClass(z[k])}`, text: pct(z[k]) })),
        el("td", {}, sparkline(trend.zones[z.zone])),
        el("td", {}, sparkline(week.zones[z.zone])),
        el("td", { class: "muted", text: z.at ? fmtTime(z.at) : T("no_data") }));
    });
    $("tbody", root).replaceChildren(...rows);
  }

  function rememberZones(zones) {
    for (const z of zones) state.zones[z.zone] = { name: z.name, name_en: z.name_en };
  }

  /* ---- one zone ------------------------------------------------------------------- */

  function figure(label, value, detail) {
    return el("div", { class: `figure ${rateClass(value)}` },
      el("div", { class: "label", text: label }),
      el("div", { class: "value", text: pct(value) }),
      el("div", { class: "muted", text: detail }));
  }

  function unitList(units) {
    if (!units.length) return el("p", { class: "muted", text: T("none") });
    return el("div", { class: "table-wrap" }, el("table", { class: "units" },
      el("thead", {}, el("tr", {}, ...["enterprise", "point", "status", "last_valid"]
        .map((k) => el("th", { text: T(k) })))),
      el("tbody", {}, units.flatMap((u) => u.points.map((p, i) => el("tr", {},
        el("td", { text: i === 0 ? `${u.name || u.enterprise}` : "" }),
        el("td", { text: `${p.point}${p.kind ? ` · ${p.kind}` : ""}` }),
        el("td", { class: `state ${p.status}`, text: T(`status.${p.status}`) }),
        el("td", { text: p.last_valid ? fmtTime(p.last_valid) : T("never") })))))));
  }

  function completenessBlock(c) {
    const head = el("div", { class: "figures" },
      figure(T("rate"), c.rate, `${T("expected")} ${c.expected}`),
      figure(T("on_time"), c.on_time_rate, `${T("filled_late")} ${c.filled_late} · ${T("missing")} ${c.missing}`));
    const rows = Object.entries(c.points).sort((a, b) => (a[1].rate ?? 0) - (b[1].rate ?? 0))
      .map(([pid, v]) => el("tr", {},
        el("td", { text: pid }),
        el("td", { class: `num ${rateClass(v.rate)}`, text: pct(v.rate) }),
        el("td", { class: "num", text: String(v.on_time) }),
        el("td", { class: "num", text: String(v.filled_late) }),
        el("td", { class: "num", text: String(v.missing) })));
    return [head, el("p", { class: "muted", text: `${fmtTime(c.from)} — ${fmtTime(c.to)}` }),
      el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, ...["point", "rate", "on_time", "filled_late", "missing"]
          .map((k) => el("th", { text: T(k) })))), el("tbody", {}, rows)))];
  }

  async function refreshZone(root, zone, current) {
    const wantCompleteness = Date.now() - state.completenessAt > COMPLETENESS_MS;
    const q = new URLSearchParams();
    if (state.period.from) q.set("from", state.period.from);
    if (state.period.to) q.set("to", state.period.to);
    if (!wantCompleteness) q.set("completeness", "0");
    const enc = encodeURIComponent(zone);
    const [z, al] = await Promise.all([api(`/api/v1/zones/${enc}/coverage?${q}`),
      api(`/api/v1/alerts?zone=${enc}&status=open,acknowledged`)]);
    if (!current()) return;
    state.zones[z.zone] = { name: z.name, name_en: z.name_en };
    $(".zone-name", root).textContent = zoneName(z.zone);
    $(".figures", root).replaceChildren(
      figure(T("monitoring_rate"), z.monitoring_rate, `${z.units_covered ?? "—"} / ${z.units_total ?? "—"} ${T("units")}`),
      figure(T("assessment_rate"), z.assessment_rate, `${z.assessment_ok ?? "—"} / ${z.assessment_total ?? "—"}`),
      figure(T("platform_rate"), z.platform_rate, `${z.platforms_ok ?? "—"} / ${z.platforms_total ?? "—"}`),
      el("div", { class: "figure" }, el("div", { class: "label", text: T("updated") }),
        el("div", { class: "value small", text: z.at ? fmtTime(z.at) : T("no_data") })));
    $(".dark", root).replaceChildren(unitList(z.dark));
    $(".excused", root).replaceChildren(unitList(z.excused));
    const items = (list, key) => (list.length ? list.map((x) => el("li", { text: `${x.name || x[key]} (${x[key]})` }))
      : [el("li", { class: "muted", text: T("none") })]);
    $(".unassessed", root).replaceChildren(...items(z.unassessed, "enterprise"));
    $(".platforms", root).replaceChildren(...items(z.platforms_offline, "platform"));
    $(".zone-alerts", root).replaceChildren(alertList(al.alerts));
    if (z.completeness) {
      state.completenessAt = Date.now();
      $(".completeness", root).replaceChildren(...completenessBlock(z.completeness));
    }
  }

  function periodForm(root, rerun) {
    const form = $(".period", root);
    const set = (k, v) => { form.elements[k].value = v || ""; };
    set("from", state.period.from);
    set("to", state.period.to);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      state.period = { from: form.elements.from.value || null, to: form.elements.to.value || null };
      state.completenessAt = 0;
      rerun();
    });
    form.querySelectorAll("[data-hours]").forEach((b) => b.addEventListener("click", () => {
      state.period = { from: shanghaiLocal(Date.now() - Number(b.dataset.hours) * 3600e3), to: null };
      set("from", state.period.from);
      set("to", null);
      state.completenessAt = 0;
      rerun();
    }));
  }

  /* `YYYY-MM-DDTHH:MM` in Shanghai time: the API reads a time without offset as Shanghai's. */
  function shanghaiLocal(ms) {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(ms));
    const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
  }

  /* ---- alerts --------------------------------------------------------------------- */

  const SEV_RANK = { critical: 0, warning: 1, info: 2 };

  function alertList(alerts) {
    if (!alerts.length) return el("p", { class: "muted", text: T("none") });
    const sorted = alerts.slice().sort((a, b) => (SEV_RANK[a.severity] - SEV_RANK[b.severity]) ||
      b.opened_at.localeCompare(a.opened_at));
    return el("ul", { class: "alerts" }, sorted.map(alertItem));
  }

  function alertItem(a) {
    const summary = (a.summary && (state.lang === "en" ? a.summary.en : a.summary.zh)) || a.kind;
    const acted = a.status === "acknowledged"
      ? el("span", { class: "muted", text: `${T("acked_by")}${a.acknowledged_by || ""} ${fmtTime(a.acknowledged_at)}` })
      : a.status === "open" ? el("button", { type: "button", class: "ack", text: T("ack"),
        onclick: (e) => acknowledge(a, e.currentTarget) }) : el("span", { class: "muted", text: T("resolved") });
    return el("li", { class: `alert sev-${a.severity} st-${a.status}` },
      el("div", { class: "alert-head" },
        el("span", { class: `badge sev-${a.severity}`, text: T(`sev.${a.severity}`) }),
        el("strong", { text: T(`kind.${a.kind}`) }),
        el("span", { text: zoneName(a.zone) }),
        el("span", { class: `badge st-${a.status}`, text: T(`alert.${a.status}`) })),
      el("div", { class: "alert-summary", text: summary }),
      el("div", { class: "alert-foot" },
        el("span", { class: "muted", text: `${T("opened")} ${fmtTime(a.opened_at)} · ${a.id}` }), acted));
  }

  async function acknowledge(alert, button) {
    const note = window.prompt(T("ack_note"), "");
    if (note === null) return;
    button.disabled = true;
    try {
      await api(`/api/v1/alerts/${encodeURIComponent(alert.id)}/ack`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(note.trim() ? { note: note.trim() } : {}) });
      button.textContent = T("ack_sent");
      setTimeout(refresh, 1500);
    } catch (e) {
      button.disabled = false;
      setStatus(e.message, true);
    }
  }

  function fillFilters(form) {
    const fill = (name, options) => {
      const sel = form.elements[name];
      sel.replaceChildren(...options.map(([v, label]) => el("option", { value: v, text: label })));
      sel.value = state.filters[name] ?? options[0][0];
    };
    fill("zone", [["", T("all")], ...Object.keys(state.zones).sort().map((z) => [z, zoneName(z)])]);
    fill("kind", [["", T("all")], ...KINDS.map((k) => [k, T(`kind.${k}`)])]);
    fill("severity", [["", T("all")], ...SEVERITIES.map((s) => [s, T(`sev.${s}`)])]);
    fill("status", [["open,acknowledged", T("active")], ["open", T("alert.open")],
      ["acknowledged", T("alert.acknowledged")], ["resolved", T("alert.resolved")], ["", T("all")]]);
  }

  function alertFilters(root, rerun) {
    const form = $(".filters", root);
    fillFilters(form);
    form.addEventListener("change", () => {
      for (const n of ["zone", "kind", "severity", "status"]) state.filters[n] = form.elements[n].value;
      rerun();
    });
  }

  async function refreshAlerts(root, current) {
    if (!Object.keys(state.zones).length) {
      const zones = (await api("/api/v1/coverage")).zones;
      if (!current()) return;
      rememberZones(zones);
      fillFilters($(".filters", root));
    }
    const q = new URLSearchParams({ status: state.filters.status ?? "open,acknowledged" });
    for (const n of ["zone", "kind", "severity"]) if (state.filters[n]) q.set(n, state.filters[n]);
    const res = await api(`/api/v1/alerts?${q}`);
    if (!current()) return;
    $(".alert-list", root).replaceChildren(alertList(res.alerts));
  }

  /* ---- routing and refresh -------------------------------------------------------- */

  function route() {
    const hash = location.hash || "#/";
    const m = hash.match(/^#\/zone\/([^/]+)$/);
    if (m) return { tpl: "tpl-zone", run: (r, c) => refreshZone(r, decodeURIComponent(m[1]), c), setup: periodForm };
    if (hash === "#/alerts") return { tpl: "tpl-alerts", run: refreshAlerts, setup: alertFilters };
    return { tpl: "tpl-overview", run: refreshOverview };
  }

  /* Only the newest refresh draws: one still in flight when the view or a filter changes
     (or when the next one starts) finds it is no longer current and draws nothing. */
  async function refresh() {
    if (!state.token || !state.view) return;
    const view = state.view;
    const gen = state.gen = (state.gen || 0) + 1;
    const current = () => gen === state.gen;
    state.busy = true;
    try {
      await state.view.run($("#view"), current);
      if (current()) setStatus(`${T("refreshed")} ${fmtTime(new Date().toISOString())}`);
    } catch (e) {
      if (!current()) return;  // a newer refresh speaks for the page
      if (e.status === 403 || e.status === 404) { if (state.view === view) refuse(e); }
      else if (e.name === "TimeoutError") setStatus(T("unavailable"), true);
      else if (e.status !== 401) setStatus(e.message, true);
    } finally {
      if (current()) state.busy = false;
    }
  }

  /* A page this token may not see (or that does not exist) says so in place of the page,
     and stops refreshing: waiting does not change the answer. */
  function refuse(e) {
    clearInterval(state.timer);
    $("#view").replaceChildren(el("section", { class: "card refusal", role: "alert" },
      el("h2", { text: T(e.status === 403 ? "forbidden" : "not_found") }),
      e.detail ? el("p", { class: "muted", text: e.detail }) : null,
      el("p", {}, el("a", { href: "#/", text: T("back") }))));
    setStatus("");
  }

  function render() {
    if (!state.token) { logout(); return; }
    $("#login").hidden = true;
    $("#nav").hidden = false;
    $("#logout").hidden = false;
    state.view = route();
    state.completenessAt = 0;
    const view = $("#view");
    view.replaceChildren($(`#${state.view.tpl}`).content.cloneNode(true));
    applyLanguage();
    if (state.view.setup) state.view.setup(view, refresh);
    setStatus(T("loading"));
    clearInterval(state.timer);
    // a tick while a slow refresh is still out waits for the next: it would only supersede it
    state.timer = setInterval(() => { if (!state.busy) refresh(); }, REFRESH_MS);
    refresh();
  }

  $("#login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("#token").value.trim();
    $("#token").value = "";
    sessionStorage.setItem("zw.token", state.token);
    render();
  });
  $("#logout").addEventListener("click", () => logout());
  $("#lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("zw.lang", state.lang);
    if (state.token) render(); else applyLanguage();
  });
  window.addEventListener("hashchange", render);
  setInterval(() => { $("#clock").textContent = `${fmtTime(new Date().toISOString())} (UTC+8)`; }, 1000);
  applyLanguage();
  render();
})();
