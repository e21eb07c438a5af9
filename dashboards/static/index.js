/* Index: factories with their lines, orchards, accounts. */
"use strict";
(function () {
  const { el, bi, tryApi, items, ROUTES } = TZ;

  async function main() {
    const [facs, lines, orchards, accounts] = await Promise.all([
      tryApi(ROUTES.entities({ kind: "factory", limit: 1000 })),
      tryApi(ROUTES.entities({ kind: "line", limit: 1000 })),
      tryApi(ROUTES.entities({ kind: "orchard", limit: 1000 })),
      tryApi(ROUTES.accounts({ limit: 1000 })),
    ]);
    const ls = items(lines);
    const fbox = document.getElementById("i-factories");
    const fs = items(facs);
    fbox.replaceChildren(...(fs.length ? fs.map((f) => el("a", { class: "card", href: "/dashboards/factory/" + f.id, "data-factory": f.id },
      el("strong", { text: f.name || f.id }), el("br"),
      el("small", { text: `${f.id} · ${ls.filter((l) => l.parent === f.id).length} 条产线 lines` }), el("br"),
      el("span", {}, "实时看板 ", el("small", { text: "Live page" }), " →")))
      : [el("div", { class: "empty" }, bi("没有可见的工厂", "No factories visible to this key"))]));
    const os = items(orchards);
    document.getElementById("i-orchards").replaceChildren(
      el("a", { class: "card", href: "/dashboards/orchards" },
        el("strong", {}, "果园标签看板 ", el("small", { text: "Orchard board" })), el("br"),
        el("small", { text: `${os.length} 个果园 orchards · ${[...new Set(os.map((o) => (o.attrs || {}).county).filter(Boolean))].join("、")}` })));
    const as = items(accounts);
    document.querySelector("#i-accounts tbody").replaceChildren(...as.map((a) => el("tr", {},
      el("td", {}, el("a", { href: "/dashboards/accounts/" + a.entity_id, text: a.entity_id })),
      el("td", { text: a.kind }), el("td", { text: a.parent || "" }), el("td", { text: a.name || "" }))));
    document.body.dataset.loaded = "1";
  }
  document.addEventListener("DOMContentLoaded", main);
})();
