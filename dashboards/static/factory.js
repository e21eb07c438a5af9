/* Factory live page: lines now and today, savings vs baseline, trend, devices, alerts. */
"use strict";
(function () {
  const { el, bi, num, ago, timeStr, tryApi, ROUTES, PALETTE, PLOT_LAYOUT, PLOT_CONFIG } = TZ;
  const FACTORY = TZ.entityParam();
  const SILENT_S = 300; // a meter with no reading for 5 min raises an alert
  const SAVINGS_WINDOWS = [
    ["2h", "近2小时", "Last 2 h"],
    ["today", "今日", "Today"],
    ["since_intervention", "改造以来", "Since intervention"],
  ];

  const S = { summary: null, live: new Map(), savings: {}, emc: {}, startRegister: new Map(), alerts: [] };

  /* ---------- data ---------- */
  async function loadSummary() {
    const r = await fetch("/dashboards/data/factory/" + encodeURIComponent(FACTORY), {
      headers: TZ.key() ? { "X-API-Key": TZ.key() } : {},
    });
    if (r.status === 401) { await TZ.api(ROUTES.me()); return loadSummary(); }
    if (!r.ok) {
      let msg = r.statusText;
      try { msg = (await r.json()).error.message; } catch (e) { /* keep statusText */ }
      TZ.notice("无法加载工厂 Cannot load factory: " + msg);
      return null;
    }
    const sm = await r.json(); TZ.syncClock(sm.now_ms); return sm;
  }

  /* Normalise one savings window: {t, lo, hi, kwh, hours} in t CO2e (null: no data).
   * The band is the estimate ± its uncertainty (ASHRAE Guideline 14 FSU, 90 % confidence). */
  function window_(w) {
    if (!w) return null;
    const pick = (...ks) => { for (const k of ks) if (w[k] !== undefined && w[k] !== null) return w[k]; return null; };
    const t = pick("avoided_t_co2", "avoided_t", "savings_t");
    const u = pick("uncertainty_t_co2", "uncertainty_t");
    const lo = pick("lower_t_co2", "lower_t") ?? (t !== null && u !== null ? t - u : null);
    const hi = pick("upper_t_co2", "upper_t") ?? (t !== null && u !== null ? t + u : null);
    return { t, lo, hi, kwh: pick("avoided_kwh"), hours: pick("hours", "n_hours") };
  }

  /* The windows of a line's savings from /v1 (one request). A line without an intervention
   * has no since_intervention window; a 409 says why there are no savings at all. */
  async function loadSavings(line) {
    let body;
    try { body = await TZ.api(ROUTES.savings(line)); } catch (e) {
      if (e && e.status === 409) return { none: true, code: e.code, message: e.message, details: e.details };
      if (e && e.status === 403) TZ.notice("无权限 No access: " + e.message);
      return { none: true, code: "unavailable", message: e ? e.message : "" };
    }
    if (!body) return { none: true, code: "unavailable", message: "" };
    const w = body.windows || body.rolling || body;
    const out = {
      "2h": window_(w.last_2h || w["2h"]),
      today: window_(w.today),
      intervention: body.intervention_date || null,
    };
    if (w.since_intervention) out.since_intervention = window_(w.since_intervention);
    return out;
  }

  /* A line's EMC in money (only for lines whose summary names a contract). */
  async function loadEmc(line) {
    try { return await TZ.api(ROUTES.emc(line)); } catch (e) {
      return { none: true, code: (e && e.code) || "unavailable", message: e ? e.message : "" };
    }
  }

  async function loadAllSavings() {
    await Promise.all(S.summary.lines.map(async (ln) => { S.savings[ln.id] = await loadSavings(ln.id); }));
    await Promise.all(S.summary.lines.filter((ln) => ln.emc).map(async (ln) => { S.emc[ln.id] = await loadEmc(ln.id); }));
  }

  /* Why a line shows no savings, in both languages, from the API's 409 (code, details). */
  function whyNoSavings(sv) {
    const d = sv.details || {};
    switch (sv.code) {
      case "no_baseline_period":
        return ["未登记改造日期或基线期，无节约核算", "No intervention date or baseline period registered: no savings"];
      case "insufficient_baseline_data":
        return [`基线数据不足：${d.days_with_data ?? "?"} / ${d.days_required ?? 365} 天（至少需 ${d.min_days_with_data ?? 329} 天）`,
          `Insufficient baseline data: ${d.days_with_data ?? "?"} of ${d.days_required ?? 365} days with data in ${d.baseline_start ?? "?"} … ${d.baseline_end ?? "?"} (CalTRACK needs ≥ ${d.min_days_with_data ?? 329})`];
      case "baseline_model_not_qualified":
        return ["基线模型未达标", `Baseline model not qualified: CV(RMSE) ${d.cvrmse !== undefined ? (100 * d.cvrmse).toFixed(1) : "?"} % > ${d.max_cvrmse !== undefined ? (100 * d.max_cvrmse).toFixed(0) : 25} %`];
      default:
        return ["节约数据暂不可用", "Savings unavailable" + (sv.message ? ": " + sv.message : "")];
    }
  }

  /* ---------- rendering ---------- */
  function lineCard(ln) {
    const card = el("article", { class: "card line-card", id: "line-" + ln.id, "data-line": ln.id },
      el("div", { class: "line-head" },
        el("span", { class: "dot unknown", "data-role": "status" }),
        el("h3", { text: ln.name }),
        el("span", { class: "stamp", "data-role": "stamp" })),
      el("div", { class: "power-row" },
        el("div", { class: "power", "data-role": "power", "data-line": ln.id }, "—", el("small", { text: "kW" })),
        el("span", { class: "muted", text: "当前功率 Power now" })),
      el("dl", { class: "stats" },
        el("div", {}, el("dt", {}, bi("今日电量", "Energy today")), el("dd", { "data-role": "energy" })),
        el("div", {}, el("dt", {}, bi("今日排放", "Emissions today")), el("dd", { "data-role": "co2" })),
      ),
      savingsTable(ln),
      emcBlock(ln));
    return card;
  }

  /* The line's energy-management contract: partner, split, value this month and to date
   * (CNY ± uncertainty at 90 %) and each party's share. */
  function emcBlock(ln) {
    if (!ln.emc) return el("span", { "data-role": "emc", hidden: "" });
    const c = ln.emc;
    const share = typeof c.partner_share === "number" ? Math.round(100 * c.partner_share) : null;
    const head = el("div", { class: "muted", style: "font-size:13px;margin:10px 0 4px" },
      bi("合同能源管理", "Energy-management contract"), ": ",
      el("b", { "data-role": "emc-partner", text: c.partner || "?" }),
      share !== null ? el("span", { "data-role": "emc-split", text: ` · ${share} / ${100 - share} ` }) : "",
      share !== null ? el("small", { text: "partner / owner" }) : "");
    const m = S.emc[ln.id];
    if (!m) return el("div", { "data-role": "emc" }, head, el("p", { class: "muted", text: "…" }));
    if (m.none) {
      return el("div", { "data-role": "emc", "data-reason": m.code }, head,
        el("p", { class: "muted", style: "font-size:13px;margin:0" }, "暂无节能效益 ",
          el("small", { text: "No savings in money yet" + (m.message ? ": " + m.message : "") })));
    }
    const cny = (x) => (x === null || x === undefined ? "—" : "¥" + num(x, 2));
    const row = (key, zh, en, v) => el("tr", { "data-emc": key, "data-value": v ? String(v.value_cny) : "",
      "data-uncertainty": v ? String(v.uncertainty_cny) : "" },
      el("td", {}, bi(zh, en)),
      el("td", { class: v ? (v.value_cny >= 0 ? "pos" : "neg") : "" }, v ? cny(v.value_cny) : "—"),
      el("td", {}, v ? "± " + cny(v.uncertainty_cny) : "—"),
      el("td", {}, v ? cny(v.partner_share_cny) : "—"),
      el("td", {}, v ? cny(v.owner_share_cny) : "—"));
    const table = el("table", { class: "savings" },
      el("thead", {}, el("tr", {},
        el("th", {}, bi("节能效益", "Savings value")),
        el("th", {}, "CNY"),
        el("th", {}, bi("90% 不确定度", "± 90 %")),
        el("th", {}, bi("合作方", "Partner")),
        el("th", {}, bi("业主", "Owner")))),
      el("tbody", {},
        row("this_month", "本月", "This month", m.this_month),
        row("to_date", "合同至今", "To date", m.to_date)));
    return el("div", { "data-role": "emc" }, head, table);
  }

  function savingsTable(ln) {
    const sv = S.savings[ln.id];
    if (!sv) {
      return el("p", { class: "muted", "data-role": "savings", style: "font-size:13px;margin:8px 0 0" }, "…");
    }
    if (sv.none) {
      const [zh, en] = whyNoSavings(sv);
      return el("p", { class: "muted", "data-role": "savings", "data-reason": sv.code || "", style: "font-size:13px;margin:8px 0 0" },
        zh + " ", el("small", { text: en }));
    }
    const rows = SAVINGS_WINDOWS.filter(([w]) => w !== "since_intervention" || sv.since_intervention).map(([w, zh, en]) => {
      const v = sv[w];
      const cls = v && v.t !== null ? (v.t >= 0 ? "pos" : "neg") : "";
      return el("tr", { "data-window": w, "data-value": v && v.t !== null ? String(v.t) : "" },
        el("td", {}, bi(zh, en)),
        el("td", { class: cls }, v && v.t !== null ? num(v.t, 3) : "—"),
        el("td", {}, v && v.lo !== null ? num(v.lo, 3) + " … " + num(v.hi, 3) : "—", bandBar(v)));
    });
    const table = el("table", { class: "savings" },
      el("thead", {}, el("tr", {},
        el("th", {}, bi("节约", "Saved vs baseline")),
        el("th", {}, "tCO2e"),
        el("th", {}, bi("90% 区间", "90 % band")))),
      el("tbody", {}, rows));
    const note = sv.since_intervention
      ? el("small", { class: "muted", "data-role": "intervention", text: `改造日期 Intervention: ${sv.intervention}` })
      : el("small", { class: "muted", "data-role": "no-intervention",
        text: "无改造（对照线）：与基线之差应含零 No intervention (control line): the band should contain zero" });
    return el("div", { "data-role": "savings" }, table, note);
  }

  /* A small bar: the band [lo, hi] and the estimate, on a scale symmetric around zero. */
  function bandBar(v) {
    if (!v || v.lo === null || v.hi === null) return null;
    const m = Math.max(Math.abs(v.lo), Math.abs(v.hi), 1e-9) * 1.1;
    const x = (a) => ((a + m) / (2 * m)) * 100;
    return el("span", { class: "band", title: "90% band" },
      el("i", { style: `left:${x(v.lo)}%;width:${Math.max(1, x(v.hi) - x(v.lo))}%` }),
      el("u", { style: "left:50%" }),
      el("b", { style: `left:${x(v.t)}%` }));
  }

  function render() {
    const sm = S.summary;
    document.getElementById("f-title").firstChild.textContent = (sm.factory.name || FACTORY) + " ";
    document.getElementById("f-meta").textContent =
      `${FACTORY} · ${sm.lines.length} 条产线 lines · 电网因子 grid factor ${sm.lines[0] ? sm.lines[0].grid_factor.value + " " + sm.lines[0].grid_factor.unit : "—"} · ${sm.timezone}`;
    const box = document.getElementById("f-lines");
    box.replaceChildren(...(sm.lines.length ? sm.lines.map(lineCard) : [el("div", { class: "empty" }, bi("没有产线", "No lines registered"))]));
    refreshFigures();
    renderTrend();
  }

  function liveLine(lineId) {
    let kw = null, ts = 0;
    for (const [k, v] of S.live) {
      if (v.entity === lineId && v.field === "power_kw") { kw = (kw || 0) + v.value; ts = Math.max(ts, v.ts_ms); }
    }
    return { kw, ts };
  }

  /* Electricity the registers moved since the summary [kWh]. */
  function extraKwh(ln) {
    let extra = 0;
    for (const [k, v] of S.live) {
      if (v.entity !== ln.id || v.field !== "energy_kwh_total") continue;
      const base = S.startRegister.get(k);
      if (base !== undefined && v.value >= base) extra += v.value - base;
    }
    return extra;
  }

  function refreshFigures() {
    const sm = S.summary;
    let totKw = null, totKwh = 0, totExtraCo2 = 0, saved = null, lo = null, hi = null;
    for (const ln of sm.lines) {
      const card = document.getElementById("line-" + ln.id);
      if (!card) continue;
      const lv = liveLine(ln.id);
      const kw = lv.kw !== null ? lv.kw : ln.power_kw ? ln.power_kw.value : null;
      const ts = lv.kw !== null ? lv.ts : ln.power_kw ? ln.power_kw.ts_ms : null;
      const p = card.querySelector('[data-role="power"]');
      const txt = num(kw, 1);
      if (p.firstChild.textContent !== txt) {
        p.firstChild.textContent = txt;
        p.classList.remove("flash"); void p.offsetWidth; p.classList.add("flash");
      }
      p.dataset.value = kw === null ? "" : String(kw);
      card.querySelector('[data-role="stamp"]').textContent = ts ? timeStr(ts) : "";
      // every source of the line today (summary) + the electricity since, at the line's
      // effective factor (grid import share after on-site PV; docs/dashboards.md)
      const extra = extraKwh(ln);
      const kwh = ln.energy_today_kwh + extra;
      const ef = ln.electricity_ef_effective_kg_per_kwh ?? ln.grid_factor.value;
      const co2 = (ln.co2_today_t ?? 0) + extra * ef / 1000;
      card.querySelector('[data-role="energy"]').textContent = num(kwh, 0) + " kWh";
      card.querySelector('[data-role="co2"]').textContent = num(co2, 3) + " tCO2e";
      const fresh = ts && TZ.nowMs() - ts < SILENT_S * 1000;
      card.querySelector('[data-role="status"]').className = "dot " + (ts ? (fresh ? "on" : "off") : "unknown");
      if (kw !== null) totKw = (totKw || 0) + kw;
      totKwh += kwh; totExtraCo2 += extra * ef / 1000;
      const sv = (S.savings[ln.id] || {}).today;
      if (sv && sv.t !== null) {
        saved = (saved || 0) + sv.t;
        if (sv.lo !== null) { lo = (lo || 0) + sv.lo; hi = (hi || 0) + sv.hi; }
      }
    }
    setKpi("power_kw", num(totKw, 1), "kW");
    setKpi("energy_kwh", num(totKwh, 0), "kWh");
    // the factory's emissions today: all sources of lines and factory meters, PV at zero
    const totCo2 = (sm.today ? sm.today.co2_t : 0) + totExtraCo2;
    setKpi("co2_t", num(totCo2, 3), "tCO2e");
    if (sm.today) {
      const names = { electricity: "电 electricity", "fuel.natural_gas": "气 gas", "fuel.diesel": "柴油 diesel", heat_steam: "汽 steam" };
      const parts = Object.entries(sm.today.co2_by_source_t).filter(([k]) => k !== "onsite_pv")
        .map(([k, v]) => `${names[k] || k} ${num(v, 3)}`);
      if (sm.today.pv_kwh > 0) parts.push(`光伏 PV ${num(sm.today.pv_kwh, 0)} kWh @ 0`);
      document.getElementById("k-co2-sources").textContent = parts.join(" · ");
    }
    setKpi("saved_t", num(saved, 3), "tCO2e");
    document.getElementById("k-saved").className = "kpi " + (saved === null ? "" : saved >= 0 ? "good" : "bad");
    document.getElementById("k-saved-band").textContent = lo !== null ? `90%: ${num(lo, 3)} … ${num(hi, 3)}` : "基线数据不足 no baseline data yet";
    refreshDevices();
  }

  function setKpi(name, value, unit) {
    const v = document.querySelector(`[data-kpi="${name}"]`);
    v.replaceChildren(value, unit ? el("small", { text: unit }) : "");
  }

  function deviceLast(d) {
    let ts = d.last_ts_ms || 0;
    for (const v of S.live.values()) if (v.device === d.id) ts = Math.max(ts, v.ts_ms);
    return ts || null;
  }

  function refreshDevices() {
    const sm = S.summary;
    const tbody = document.querySelector("#f-devices tbody");
    let online = 0;
    const alerts = [];
    const rows = sm.devices.map((d) => {
      const ts = deviceLast(d);
      const on = ts && TZ.nowMs() - ts < SILENT_S * 1000;
      if (on) online++;
      else alerts.push({ level: "crit", key: "silent-" + d.id,
        text: `表计静默 Meter silent: ${d.id} (${d.entity}) — ${ts ? "最近读数 last reading " + ago(ts) + " 前 ago" : "从未上报 never reported"}` });
      return el("tr", { "data-device": d.id },
        el("td", {}, d.id, el("br"), el("small", { text: d.role })),
        el("td", { text: d.entity }),
        el("td", {}, el("span", { class: "dot " + (on ? "on" : "off") }), " ", on ? bi("在线", "Online") : bi("离线", "Offline")),
        el("td", { class: "num", text: ts ? ago(ts) : "—" }));
    });
    tbody.replaceChildren(...rows);
    setKpi("online", `${online} / ${sm.devices.length}`);
    document.getElementById("k-devices").className = "kpi " + (online < sm.devices.length ? "bad" : "good");
    for (const ln of sm.lines) {
      const sv = (S.savings[ln.id] || {})["2h"];
      // drifting: consumption above baseline beyond the uncertainty band (upper bound < 0)
      if (sv && sv.hi !== null && sv.hi < 0) {
        alerts.push({ level: "warn", key: "drift-" + ln.id,
          text: `产线高于基线 Line drifting above baseline: ${ln.name} — 近2小时 last 2 h ${num(sv.t, 3)} tCO2e (90%: ${num(sv.lo, 3)} … ${num(sv.hi, 3)})` });
      }
    }
    const box = document.getElementById("f-alerts");
    box.replaceChildren(...(alerts.length
      ? alerts.map((a) => el("div", { class: "alert " + a.level, "data-alert": a.key }, a.level === "crit" ? "⚠" : "▲", " ", a.text))
      : [el("div", { class: "alert ok", "data-alert": "none" }, "✓ ", bi("无告警", "No alerts"))]));
  }

  function renderTrend() {
    const div = document.getElementById("f-trend");
    const lines = S.summary.lines.filter((ln) => ln.trend.ts_ms.length);
    if (!lines.length || !window.Plotly) {
      div.replaceChildren(el("div", { class: "empty" }, bi("过去24小时无数据", "No data in the last 24 h")));
      return;
    }
    const traces = lines.map((ln, i) => ({
      x: ln.trend.ts_ms.map((t) => new Date(t)), y: ln.trend.kw, name: ln.name,
      type: "scatter", mode: "lines", line: { width: 2, color: PALETTE[i % PALETTE.length] },
      hovertemplate: "%{y:.1f} kW<extra>" + ln.name + "</extra>",
    }));
    const layout = Object.assign({}, PLOT_LAYOUT, {
      yaxis: Object.assign({}, PLOT_LAYOUT.yaxis, { title: { text: "kW" }, rangemode: "tozero" }),
      xaxis: Object.assign({}, PLOT_LAYOUT.xaxis, { type: "date" }),
    });
    Plotly.react(div, traces, layout, PLOT_CONFIG);
  }

  /* ---------- live ---------- */
  function onValues(values) {
    for (const v of values) {
      const k = v.entity + "|" + v.device + "|" + v.field;
      if (v.field === "energy_kwh_total" && !S.startRegister.has(k)) {
        // the first live value is already inside the summary's figure
        S.startRegister.set(k, v.value);
      }
      S.live.set(k, v);
    }
    refreshFigures();
  }

  async function main() {
    S.summary = await loadSummary();
    if (!S.summary) return;
    render();
    const ids = [FACTORY, ...S.summary.lines.map((l) => l.id)];
    TZ.stream(ids, onValues);
    await loadAllSavings();
    refreshFigures();
    for (const ln of S.summary.lines) {
      const card = document.getElementById("line-" + ln.id);
      card.querySelector('[data-role="savings"]').replaceWith(savingsTable(ln));
      card.querySelector('[data-role="emc"]').replaceWith(emcBlock(ln));
    }
    document.body.dataset.loaded = "1";
    setInterval(refreshFigures, 5000);
    setInterval(async () => {
      await loadAllSavings();
      for (const ln of S.summary.lines) {
        const card = document.getElementById("line-" + ln.id);
        card.querySelector('[data-role="savings"]').replaceWith(savingsTable(ln));
        card.querySelector('[data-role="emc"]').replaceWith(emcBlock(ln));
      }
    }, 60000);
    setInterval(async () => {
      const fresh = await loadSummary();
      if (fresh) { S.summary = fresh; S.live.clear(); S.startRegister.clear(); renderTrend(); refreshFigures(); }
    }, 300000);
  }
  document.addEventListener("DOMContentLoaded", main);
})();
