/* Factory benchmarking: K = intensity / industry benchmark, colour, 碳效码 grade and the two
 * lists (poor energy efficiency, low green-energy share), from GET /v1/factories/benchmarks. */
"use strict";
(function () {
  const { el, bi, num, tryApi, items, ROUTES, COLOURS } = TZ;
  const ORDER = ["dark_green", "light_green", "yellow", "red"];
  const STATUS = {
    proposed_default: ["建议默认值", "proposed default"],
    published: ["已发布", "published"],
    registry_override: ["工厂自定", "factory's own"],
    given: ["指定", "given"],
  };
  const params = new URLSearchParams(location.search);
  let period = params.get("period") || "year";
  let names = {};

  function pct(x) { return x === null || x === undefined ? "—" : num(x * 100, 1) + "%"; }

  function source(r) {
    if (r.benchmark === null || r.benchmark === undefined) return el("span", { class: "muted", text: r.reason || "—" });
    const [zh, en] = STATUS[r.benchmark_status] || [r.benchmark_status, ""];
    return el("span", { "data-role": "source", "data-status": r.benchmark_status || "", title: r.benchmark_note || "" },
      (r.benchmark_code ? r.benchmark_code + " · " : ""), zh, " ", el("small", { text: en }));
  }

  function row(r) {
    const name = names[r.entity_id] || r.entity_id;
    return el("tr", { "data-entity": r.entity_id, "data-colour": r.colour || "none" },
      el("td", {}, el("a", { href: "/dashboards/factory/" + r.entity_id }, name), " ", el("small", { class: "muted", text: r.entity_id })),
      el("td", { "data-role": "industry", text: r.industry_code || "—" }),
      el("td", { text: TZ.periodStr(period, r.period_start) }),
      el("td", { "data-role": "intensity", class: "num", text: num(r.intensity, 3) }),
      el("td", { "data-role": "benchmark", class: "num", text: num(r.benchmark, 2) }),
      el("td", { "data-role": "k", class: "num" }, el("strong", { text: num(r.k, 2) })),
      el("td", {}, TZ.colourBadge(r.colour)),
      el("td", { "data-role": "grade", class: "num", text: r.grade === null || r.grade === undefined ? "—" : String(r.grade) }),
      el("td", { "data-role": "green", class: "num", text: pct(r.green_energy_share) }),
      el("td", {}, source(r)));
  }

  function list(id, ids, byId, what) {
    const ul = document.querySelector(`#${id} [data-role=list]`);
    if (!ids.length) {
      ul.replaceChildren(el("li", { class: "muted", "data-empty": "1" }, bi("无", "None")));
      return;
    }
    ul.replaceChildren(...ids.map((fid) => el("li", { "data-entity": fid },
      el("a", { href: "/dashboards/factory/" + fid }, names[fid] || fid), " · ", what(byId[fid] || {}))));
  }

  function summary(results) {
    const counts = Object.fromEntries(ORDER.map((k) => [k, 0]));
    for (const r of results) if (counts[r.colour] !== undefined) counts[r.colour]++;
    document.getElementById("b-summary").replaceChildren(...ORDER.map((k) =>
      el("div", { class: "kpi", style: `border-top:5px solid ${COLOURS[k].hex}`, "data-summary": k },
        el("div", { class: "label" }, bi(COLOURS[k].zh, COLOURS[k].en)),
        el("div", { class: "value" }, String(counts[k]), el("small", { text: "工厂 factories" })))));
  }

  async function load() {
    const u = new URL(location.href);
    u.searchParams.set("period", period);
    history.replaceState(null, "", u);
    const body = await tryApi("/v1/factories/benchmarks" + TZ.qs({ period }));
    const results = (body && body.results) || [];
    const tbody = document.querySelector("#b-table tbody");
    if (!results.length) {
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: "10", class: "empty" },
        bi("没有已结算的工厂报表", "No closed factory statements for this period"))));
    } else {
      tbody.replaceChildren(...results.map(row));
    }
    const byId = Object.fromEntries(results.map((r) => [r.entity_id, r]));
    list("b-poor", (body && body.poor_performers) || [], byId, (r) => "K " + num(r.k, 2));
    list("b-green", (body && body.low_green_share) || [], byId, (r) => "绿电 green " + pct(r.green_energy_share));
    summary(results);
    document.body.dataset.loaded = "1";
  }

  async function main() {
    const ents = items(await tryApi(ROUTES.entities({ kind: "factory", limit: 1000 })));
    names = Object.fromEntries(ents.map((e) => [e.id, e.name || e.id]));
    const sel = document.getElementById("b-period");
    sel.value = period;
    sel.addEventListener("change", () => { period = sel.value; document.body.dataset.loaded = "0"; load(); });
    await load();
  }
  document.addEventListener("DOMContentLoaded", main);
})();
