/* Orchard board: every orchard's colour, ratio, sources, pools, monthly trend, coverage, what-if. */
"use strict";
(function () {
  const { el, bi, num, tryApi, items, ROUTES, COLOURS, PLOT_LAYOUT, PLOT_CONFIG } = TZ;
  const ORDER = ["dark_green", "light_green", "yellow", "red", "unrated"];
  const params = new URLSearchParams(location.search);
  const F = { county: params.get("county") || "", colour: params.get("colour") || "" };

  function nameOf(key) { const [zh, en] = tzName(key); return en ? bi(zh, en) : document.createTextNode(zh); }

  function bars(obj, colour, total) {
    const entries = Object.entries(obj || {}).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    if (!entries.length) return el("div", { class: "muted" }, bi("无", "None"));
    const max = Math.max(...entries.map(([, v]) => v));
    return el("div", { class: "bars" }, entries.map(([k, v]) =>
      el("div", { class: "bar", title: `${k}: ${num(v, 3)} tCO2e` },
        el("span", {}, nameOf(k)),
        el("span", { class: "track" }, el("span", { class: "fill", style: `display:block;width:${(v / max) * 100}%;background:${colour}` })),
        el("span", { class: "v", text: num(v, 2) + (total ? "" : "") }))));
  }

  function sharesToObj(list) {
    const o = {};
    for (const it of list || []) o[it.name] = it.t_co2e;
    return o;
  }

  function card(lab, ent) {
    const c = COLOURS[lab.colour] || { hex: "#cbd5e1" };
    const ex = lab.explanation;
    const cov = ex.coverage;
    const name = (ent && ent.name) || lab.entity_id;
    const box = el("article", { class: "card orchard", id: "o-" + lab.entity_id, "data-entity": lab.entity_id, style: `--swatch:${c.hex}` },
      el("div", { class: "o-head" },
        el("h3", {}, name, " ", el("small", { text: lab.entity_id })),
        TZ.colourBadge(lab.colour)),
      el("div", { class: "muted", style: "font-size:13px" },
        `${lab.county || "—"} · ${num(lab.area_mu, 0)} 亩 mu · ${TZ.periodStr(lab.period_kind, lab.period_start, lab.period_end)}`),
      el("div", { class: "power-row" },
        el("div", {}, el("span", { class: "ratio", "data-role": "ratio" }, lab.ratio === null ? (lab.colour === "unrated" ? "—" : "∞") : num(lab.ratio, 2)),
          " ", el("small", { class: "muted" }, "R")),
        el("div", { class: "muted", style: "text-align:right;font-size:13px" },
          `排放 Emissions ${num(ex.total_emissions_t, 2)} t`, el("br"),
          `固碳 Sequestration ${num(ex.total_sequestration_t, 2)} t`)),
      el("h4", { class: "muted", style: "margin:8px 0 2px;font-size:12px" }, bi("排放来源", "Emissions by source"), " tCO2e"),
      el("div", { "data-role": "sources" }, bars(sharesToObj(ex.largest_sources), "#f97316")),
      el("h4", { class: "muted", style: "margin:8px 0 2px;font-size:12px" }, bi("固碳碳库", "Sequestration by pool"), " tCO2e"),
      el("div", { "data-role": "pools" }, bars(sharesToObj(ex.largest_pools), "#16a34a")),
      el("h4", { class: "muted", style: "margin:8px 0 2px;font-size:12px" }, bi("月度趋势", "Monthly trend"), " R"),
      el("div", { class: "chart small", "data-role": "trend" }, el("div", { class: "empty" }, "…")),
      el("div", { style: "margin-top:6px;font-size:12px" },
        bi("数据覆盖", "Data coverage"), " ",
        el("strong", { text: cov === null || cov === undefined ? "— 未报告 not reported" : num(cov * 100, 0) + "%" }),
        cov === null || cov === undefined ? null : el("div", { class: "coverage" }, el("i", { style: `width:${cov * 100}%` }))),
      el("div", { "data-role": "whatif" }),
      el("div", { class: "o-foot" },
        el("a", { href: "/dashboards/orchards/" + lab.entity_id + "/card", target: "_blank" }, "标签卡 ", el("small", { text: "Label card" })),
        el("a", { href: "/dashboards/accounts/" + lab.entity_id }, "碳账户 ", el("small", { text: "Account" }), " →")));
    if (ex.unrated) {  // not enough data: no colour, say why and what is missing
      box.insertBefore(el("p", { class: "muted", "data-role": "unrated", style: "font-size:13px;margin:6px 0" },
        `未评级：${ex.unrated.reason === "coverage.low" ? "数据不足" : "无数据"}，还缺 ${num(ex.unrated.missing_days, 0)} 天数据 · `,
        el("small", { text: `Unrated: ${ex.unrated.detail}` })), box.querySelector('[data-role="sources"]').previousSibling);
    }
    if (ex.next_colour_up) {
      const n = ex.next_colour_up, nc = COLOURS[n.colour] || {};
      box.insertBefore(el("p", { class: "muted", style: "font-size:13px;margin:6px 0" },
        `升至 ${nc.zh || n.colour} 需 R ≥ ${num(n.ratio, 2)}：再固碳 ${num(n.extra_sequestration_t, 2)} t · `,
        el("small", { text: `Up to ${nc.en || n.colour}: +${num(n.extra_sequestration_t, 2)} t sequestration` })), box.querySelector('[data-role="sources"]').previousSibling);
    }
    return box;
  }

  async function details(lab) {
    const box = document.getElementById("o-" + lab.entity_id);
    const [stmts, hist, whatif] = await Promise.all([
      tryApi(ROUTES.statements(lab.entity_id, { period: lab.period_kind, start: lab.period_start, end: lab.period_end, limit: 5 })),
      tryApi(ROUTES.labelHistory(lab.entity_id, { period: "month", limit: 24 })),
      tryApi(ROUTES.whatif(lab.entity_id)),
    ]);
    const st = items(stmts).find((s) => s.period_start === lab.period_start) || items(stmts)[0];
    if (st) {
      box.dataset.statement = st.period_start;
      box.querySelector('[data-role="sources"]').replaceChildren(bars(st.emissions_by_source, "#f97316"));
      box.querySelector('[data-role="pools"]').replaceChildren(bars(st.sequestration_by_pool, "#16a34a"));
    }
    trendChart(box.querySelector('[data-role="trend"]'), items(hist), lab);
    const wi = Array.isArray(whatif) ? whatif : [];
    const ul = el("ul", { class: "whatif" }, wi.map((w) => {
      const [zh, en] = tzName(w.practice);
      const after = COLOURS[w.after.colour] || {};
      return el("li", { "data-practice": w.practice, class: w.improves ? "pos" : "" },
        `${zh} ${num(w.area_mu, 0)} 亩 → `, TZ.colourBadge(w.after.colour), ` R ${w.after.ratio === null ? "∞" : num(w.after.ratio, 2)}`,
        " ", el("small", { text: `${en}: net (removals − emissions) ${num(w.delta_net_t, 2)} t${w.improves ? " ▲ moves up" : ""}` }));
    }));
    box.querySelector('[data-role="whatif"]').replaceChildren(
      el("h4", { class: "muted", style: "margin:10px 0 0;font-size:12px" }, bi("措施模拟", "What-if practices")),
      wi.length ? ul : el("div", { class: "muted", style: "font-size:13px" }, bi("暂无", "Not available")));
  }

  function trendChart(div, hist, lab) {
    const pts = hist.filter((h) => h.ratio !== null).sort((a, b) => a.period_start.localeCompare(b.period_start));
    if (!pts.length || !window.Plotly) {
      div.replaceChildren(el("div", { class: "empty" }, bi("暂无月度数据", "No monthly data")));
      return;
    }
    div.replaceChildren();
    const t = lab.thresholds || [1.2, 1.0, 0.8];
    const x = pts.map((h) => TZ.periodStr("month", h.period_start));
    const ymax = Math.max(t[0] * 1.5, ...pts.map((h) => Math.min(h.ratio, 10))) * 1.05;
    const band = (y0, y1, code) => ({ type: "rect", xref: "paper", x0: 0, x1: 1, y0, y1, fillcolor: COLOURS[code].hex, opacity: 0.12, line: { width: 0 }, layer: "below" });
    Plotly.newPlot(div, [{
      x, y: pts.map((h) => Math.min(h.ratio, 10)), type: "scatter", mode: "lines+markers",
      line: { color: "#334155", width: 1.5 },
      marker: { size: 9, color: pts.map((h) => (COLOURS[h.colour] || {}).hex), line: { color: "#0f172a", width: 1 } },
      hovertemplate: "%{x}: R %{y:.2f}<extra></extra>",
    }], Object.assign({}, PLOT_LAYOUT, {
      margin: { l: 34, r: 8, t: 4, b: 28 }, showlegend: false,
      yaxis: Object.assign({}, PLOT_LAYOUT.yaxis, { range: [0, ymax], fixedrange: true }),
      xaxis: Object.assign({}, PLOT_LAYOUT.xaxis, { type: "category", fixedrange: true, tickangle: 0, nticks: 5 }),
      shapes: [band(t[0], ymax, "dark_green"), band(t[1], t[0], "light_green"), band(t[2], t[1], "yellow"), band(0, t[2], "red")],
    }), Object.assign({}, PLOT_CONFIG, { displayModeBar: false }));
  }

  function colourChips(onChange) {
    const box = document.getElementById("f-colours");
    const chips = [["", "全部", "All"], ...ORDER.map((k) => [k, COLOURS[k].zh, COLOURS[k].en])];
    // "unrated" (coverage below the threshold or no data) is a filter of the API too
    box.replaceChildren(...chips.map(([k, zh, en]) => {
      const b = el("button", { type: "button", class: "chip", "data-colour-filter": k, "aria-pressed": String(F.colour === k) },
        k ? el("span", { class: "dot", style: `background:${COLOURS[k].hex};margin-right:6px` }) : null, zh, " ", el("small", { text: en }));
      b.addEventListener("click", () => { F.colour = k; box.querySelectorAll(".chip").forEach((c) => c.setAttribute("aria-pressed", String(c === b))); onChange(); });
      return b;
    }));
  }

  function summary(all) {
    const counts = Object.fromEntries(ORDER.map((k) => [k, 0]));
    for (const l of all) if (counts[l.colour] !== undefined) counts[l.colour]++;
    document.getElementById("o-summary").replaceChildren(...ORDER.map((k) =>
      el("div", { class: "kpi", style: `border-top:5px solid ${COLOURS[k].hex}`, "data-summary": k },
        el("div", { class: "label" }, bi(COLOURS[k].zh, COLOURS[k].en)),
        el("div", { class: "value" }, String(counts[k]), el("small", { text: "果园 orchards" })))));
  }

  let entities = {};
  async function load() {
    const q = { county: F.county, colour: F.colour, limit: 1000 };
    const u = new URL(location.href);
    for (const [k, v] of Object.entries({ county: F.county, colour: F.colour })) { if (v) u.searchParams.set(k, v); else u.searchParams.delete(k); }
    history.replaceState(null, "", u);
    const labs = items(await tryApi(ROUTES.orchards(q)));
    const list = document.getElementById("o-list");
    document.getElementById("o-count").textContent = `${labs.length} 个果园 orchards`;
    if (!labs.length) {
      list.replaceChildren(el("div", { class: "empty" }, bi("没有符合条件的已结算果园", "No closed orchard statements match")));
      return;
    }
    labs.sort((a, b) => (COLOURS[b.colour] || {}).rank - (COLOURS[a.colour] || {}).rank || a.entity_id.localeCompare(b.entity_id));
    list.replaceChildren(...labs.map((l) => card(l, entities[l.entity_id])));
    document.getElementById("o-period").textContent = ` · 核算期 period ${TZ.periodStr(labs[0].period_kind, labs[0].period_start, labs[0].period_end)}`;
    // details, a few at a time
    const queue = labs.slice();
    await Promise.all([0, 1, 2, 3].map(async () => { while (queue.length) await details(queue.shift()); }));
    document.body.dataset.loaded = "1";
  }

  async function main() {
    const ents = items(await tryApi(ROUTES.entities({ kind: "orchard", limit: 1000 })));
    entities = Object.fromEntries(ents.map((e) => [e.id, e]));
    const counties = [...new Set(ents.map((e) => (e.attrs || {}).county).filter(Boolean))].sort();
    const sel = document.getElementById("f-county");
    sel.append(...counties.map((c) => el("option", { value: c, text: c })));
    sel.value = F.county;
    sel.addEventListener("change", () => { F.county = sel.value; load(); });
    colourChips(load);
    summary(items(await tryApi(ROUTES.orchards({ limit: 1000 }))));
    await load();
  }
  document.addEventListener("DOMContentLoaded", main);
})();
