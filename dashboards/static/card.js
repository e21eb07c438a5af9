/* Printable label card of one orchard. */
"use strict";
(function () {
  const { el, num, tryApi, ROUTES, COLOURS } = TZ;
  const ID = TZ.entityParam();

  function row(zh, en, value) {
    return [el("dt", {}, zh, " ", el("small", { text: en })), el("dd", { text: value })];
  }

  async function main() {
    document.getElementById("print").addEventListener("click", () => window.print());
    const [lab, ent] = await Promise.all([tryApi(ROUTES.label(ID)), tryApi(ROUTES.entity(ID))]);
    if (ent) {
      document.getElementById("c-name").textContent = ent.name || ID;
      document.getElementById("c-where").textContent =
        `${ID} · ${(ent.attrs || {}).county || ""} · ${num((ent.attrs || {}).area_mu, 0)} 亩 mu`;
    }
    const sw = document.getElementById("c-swatch");
    if (!lab) {
      sw.textContent = "尚无结算 No closed statement yet";
      document.body.dataset.loaded = "1";
      return;
    }
    const c = COLOURS[lab.colour];
    sw.dataset.colour = lab.colour;
    sw.style.background = c.hex;
    sw.style.color = c.ink;
    sw.replaceChildren(c.zh, " ", el("small", { text: c.en }));
    const ex = lab.explanation;
    const src = (ex.largest_sources || []).map((s) => tzName(s.name)[0] + " " + num(s.share * 100, 0) + "%").join("，");
    document.getElementById("c-figures").replaceChildren(
      ...row("固碳/排放比", "Ratio R", lab.ratio === null ? "∞" : num(lab.ratio, 2)),
      ...row("排放", "Emissions", num(ex.total_emissions_t, 2) + " tCO2e"),
      ...row("固碳", "Sequestration", num(ex.total_sequestration_t, 2) + " tCO2e"),
      ...row("每亩净固碳", "Net (removals − emissions) per mu", num(ex.net_t_per_mu, 3) + " tCO2e/亩"),
      ...row("主要排放源", "Main sources", src || "—"),
      ...row("核算期", "Period", TZ.periodStr(lab.period_kind, lab.period_start, lab.period_end)),
      ...row("数据覆盖", "Data coverage", ex.coverage === null ? "—" : num(ex.coverage * 100, 0) + "%"),
      ...(ex.unrated ? row("未评级原因", "Why unrated", ex.unrated.detail) : []));
    const t = lab.thresholds;
    document.getElementById("c-foot").textContent =
      `分级 Bands: 深绿 R≥${t[0]} · 浅绿 ≥${t[1]} · 黄 ≥${t[2]} · 红 <${t[2]}。打印于 Printed ${new Date(TZ.nowMs()).toLocaleDateString("zh-CN")}`;
    document.body.dataset.loaded = "1";
  }
  document.addEventListener("DOMContentLoaded", main);
})();
