/* Account page: balance, statements (chart and table), redemptions. */
"use strict";
(function () {
  const { el, num, tryApi, items, ROUTES, PLOT_LAYOUT, PLOT_CONFIG } = TZ;
  const ID = TZ.entityParam();

  function setKpi(name, v) {
    const node = document.querySelector(`[data-kpi="${name}"]`);
    node.replaceChildren(num(v, 3), el("small", { text: "tCO2e" }));
    node.dataset.value = v === null || v === undefined ? "" : String(v);
  }

  function chart(stmts) {
    const div = document.getElementById("a-chart");
    if (!stmts.length || !window.Plotly) {
      div.replaceChildren(el("div", { class: "empty" }, "尚无账单 ", el("small", { text: "No statements yet" })));
      return;
    }
    div.replaceChildren();
    const x = stmts.map((s) => TZ.periodStr(s.period_kind, s.period_start, s.period_end));
    Plotly.newPlot(div, [
      { x, y: stmts.map((s) => -s.emissions_t), type: "bar", name: "排放 Emissions", marker: { color: "#f97316" } },
      { x, y: stmts.map((s) => s.removals_t), type: "bar", name: "固碳 Removals", marker: { color: "#16a34a" } },
      { x, y: stmts.map((s) => s.net_t), type: "scatter", mode: "lines+markers", name: "净值 Net (removals − emissions)", line: { color: "#0f172a", width: 2 } },
    ], Object.assign({}, PLOT_LAYOUT, { barmode: "relative", xaxis: Object.assign({}, PLOT_LAYOUT.xaxis, { type: "category" }) }), PLOT_CONFIG);
  }

  async function statements() {
    const period = document.getElementById("a-period").value;
    const body = await tryApi(ROUTES.statements(ID, { period, limit: 1000 }));
    const st = items(body);
    const tbody = document.querySelector("#a-statements tbody");
    tbody.replaceChildren(...(st.length ? st.slice().reverse().map((s) => el("tr", { "data-period": s.period_start },
      el("td", { text: TZ.periodStr(s.period_kind, s.period_start, s.period_end) }),
      el("td", { class: "num", text: num(s.emissions_t, 3) }),
      el("td", { class: "num", text: num(s.removals_t, 3) }),
      el("td", { class: "num " + (s.net_t >= 0 ? "pos" : "neg"), text: num(s.net_t, 3) }),
      el("td", { class: "num", text: s.coverage === null ? "—" : num(s.coverage * 100, 0) + "%" }),
      el("td", { text: "v" + s.version + (s.booked ? "" : " (未入账 not booked)") })))
      : [el("tr", {}, el("td", { colspan: "6", class: "muted", text: "尚无账单 No statements" }))]));
    if (period === "month") chart(st);
    return st;
  }

  async function csv() {
    const period = document.getElementById("a-period").value;
    const r = await fetch(ROUTES.statementsCsv(ID, { period }), { headers: { "X-API-Key": TZ.key() || "" } });
    if (!r.ok) { TZ.notice("CSV 下载失败 CSV download failed: " + r.status); return; }
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: `${ID}-${period}-statements.csv` });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async function main() {
    const [acct, bal, red] = await Promise.all([
      tryApi(ROUTES.account(ID)), tryApi(ROUTES.balance(ID)), tryApi(ROUTES.redemptions(ID, { limit: 100 })),
    ]);
    if (!acct) TZ.notice(`账户 ${ID} 不存在或无权查看 · Account ${ID} does not exist or is not visible to this key`);
    else {
      document.getElementById("a-title").firstChild.textContent = (acct.name || ID) + " ";
      document.getElementById("a-meta").textContent = `${ID} · ${acct.kind}${acct.parent ? " · " + acct.parent : ""} · 入账周期 booking period: ${acct.booking_period}`;
    }
    if (bal) for (const k of ["emissions_t", "removals_t", "net_t", "redeemed_t", "available_t"]) setKpi(k, bal[k]);
    const rs = items(red);
    document.querySelector("#a-redemptions tbody").replaceChildren(...(rs.length ? rs.map((r) => el("tr", { "data-redemption": r.id },
      el("td", { text: TZ.dateStr(r.created_at) }),
      el("td", { class: "num", text: num(r.amount_t, 3) }),
      el("td", { class: "num", text: `${num(r.fertiliser_amount, 2)} ${r.fertiliser_unit}` }),
      el("td", { text: r.reference || r.key })))
      : [el("tr", {}, el("td", { colspan: "4", class: "muted", text: "尚无兑换 No redemptions" }))]));
    document.getElementById("a-period").addEventListener("change", statements);
    document.getElementById("a-csv").addEventListener("click", csv);
    await statements();
    document.body.dataset.loaded = "1";
  }
  document.addEventListener("DOMContentLoaded", main);
})();
