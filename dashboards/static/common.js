/* 碳账 tanzhang dashboards: API key, JSON API, live stream, colours, formatting.
 * Plain ES2020, no build step. Every page script uses window.TZ.
 */
"use strict";
(function () {
  const KEY_STORE = "tanzhang.apiKey";
  const KEY_HEADER = "X-API-Key";

  /* The /v1 routes the pages read (one place to change if the API moves). */
  const ROUTES = {
    me: () => "/v1/entities?limit=1",
    entities: (q) => "/v1/entities" + qs(q),
    entity: (id) => "/v1/entities/" + enc(id),
    devices: (q) => "/v1/devices" + qs(q),
    latest: (id) => "/v1/entities/" + enc(id) + "/latest",
    savings: (line, q) => "/v1/lines/" + enc(line) + "/savings" + qs(q),
    emc: (line) => "/v1/lines/" + enc(line) + "/emc",
    orchards: (q) => "/v1/orchards" + qs(q),
    label: (id, q) => "/v1/orchards/" + enc(id) + "/label" + qs(q),
    labelHistory: (id, q) => "/v1/orchards/" + enc(id) + "/labels" + qs(q),
    whatif: (id, q) => "/v1/orchards/" + enc(id) + "/what-if" + qs(q),
    accounts: (q) => "/v1/accounts" + qs(q),
    account: (id) => "/v1/accounts/" + enc(id),
    balance: (id, q) => "/v1/accounts/" + enc(id) + "/balance" + qs(q),
    statements: (id, q) => "/v1/accounts/" + enc(id) + "/statements" + qs(q),
    statementsCsv: (id, q) => "/v1/accounts/" + enc(id) + "/statements.csv" + qs(q),
    redemptions: (id, q) => "/v1/accounts/" + enc(id) + "/redemptions" + qs(q),
  };

  /* Four-colour labels: API code -> Chinese, English, colour (docs/methodology.md §1). */
  const COLOURS = {
    dark_green: { zh: "深绿", en: "Dark green", hex: "#166534", ink: "#ffffff", rank: 4 },
    light_green: { zh: "浅绿", en: "Light green", hex: "#86efac", ink: "#14532d", rank: 3 },
    yellow: { zh: "黄", en: "Yellow", hex: "#facc15", ink: "#422006", rank: 2 },
    red: { zh: "红", en: "Red", hex: "#dc2626", ink: "#ffffff", rank: 1 },
    unrated: { zh: "未评级", en: "Unrated", hex: "#e2e8f0", ink: "#334155", rank: 0 },
  };

  function enc(s) { return encodeURIComponent(s); }
  function qs(q) {
    if (!q) return "";
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== "") p.set(k, v);
    const s = p.toString();
    return s ? "?" + s : "";
  }

  function demoKey() {
    const m = document.querySelector('meta[name="tanzhang-demo-key"]');
    return m && m.content ? m.content : null;
  }
  function key() { return localStorage.getItem(KEY_STORE) || demoKey(); }
  function headers() { const k = key(); return k ? { [KEY_HEADER]: k } : {}; }

  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message); this.status = status; this.code = code; this.details = details || null;
    }
  }

  let loginWaiters = [];
  function askLogin(message) {
    const dlg = document.getElementById("login");
    const err = document.getElementById("login-error");
    if (err) err.textContent = message || "";
    if (dlg && !dlg.open) dlg.showModal();
    return new Promise((resolve) => loginWaiters.push(resolve));
  }
  function setupLogin() {
    const form = document.getElementById("login-form");
    if (!form) return;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const k = document.getElementById("login-key").value.trim();
      if (!k) return;
      const r = await fetch(ROUTES.me(), { headers: { [KEY_HEADER]: k } });
      if (r.status === 401) {
        document.getElementById("login-error").textContent = "密钥无效 Invalid key";
        return;
      }
      localStorage.setItem(KEY_STORE, k);
      document.getElementById("login").close();
      const w = loginWaiters; loginWaiters = [];
      w.forEach((f) => f());
      showWho();
    });
    const out = document.getElementById("sign-out");
    out.addEventListener("click", () => { localStorage.removeItem(KEY_STORE); location.reload(); });
  }

  async function showWho() {
    const label = document.getElementById("who-label");
    const out = document.getElementById("sign-out");
    if (!key()) return;
    try {
      const r = await fetch(ROUTES.me(), { headers: headers() });
      if (!r.ok) return;
      label.textContent = localStorage.getItem(KEY_STORE) ? "已登录 Signed in" : "演示密钥 Demo key";
      out.hidden = !localStorage.getItem(KEY_STORE);
    } catch (e) { /* the page still works without the badge */ }
  }

  /* GET a /v1 route. Resolves to the JSON body, or null when the API has no such data (404,
   * or a route that is not there yet). 401 asks for a key and retries; other errors throw. */
  async function api(path) {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!key()) { await askLogin(""); }
      const r = await fetch(path, { headers: headers() });
      if (r.status === 401) {
        localStorage.removeItem(KEY_STORE);
        await askLogin("请登录 Please sign in");
        continue;
      }
      if (r.status === 404 || r.status === 405) return null;
      let body = null;
      try { body = await r.json(); } catch (e) { body = null; }
      if (!r.ok) {
        const err = (body && body.error) || {};
        throw new ApiError(r.status, err.code || "http_" + r.status, err.message || r.statusText, err.details);
      }
      return body;
    }
    throw new ApiError(401, "unauthorized", "no valid API key");
  }
  /* Like api() but never throws: null on any failure (the page shows 'no data'). */
  async function tryApi(path) {
    try { return await api(path); } catch (e) {
      if (e instanceof ApiError && e.status === 403) notice("无权限 No access: " + e.message);
      return null;
    }
  }
  function items(body) {
    if (!body) return [];
    if (Array.isArray(body)) return body;
    return body.items || body.data || body.results || [];
  }

  /* Live values over Server-Sent Events read with fetch (so the key goes in a header).
   * onValues(list of {entity, device, field, ts_ms, value}); reconnects on its own. */
  function stream(entities, onValues, onState) {
    let stopped = false;
    let ctrl = null;
    const state = (s) => { if (onState) onState(s); setConn(s); };
    async function run() {
      while (!stopped) {
        ctrl = new AbortController();
        try {
          const url = "/dashboards/stream" + qs({ entities: entities.join(",") });
          const r = await fetch(url, { headers: headers(), signal: ctrl.signal, cache: "no-store" });
          if (r.status === 401) { await askLogin("请登录 Please sign in"); continue; }
          if (!r.ok || !r.body) throw new Error("stream " + r.status);
          state("live");
          const reader = r.body.getReader();
          const dec = new TextDecoder();
          let buf = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += dec.decode(value, { stream: true });
            let i;
            while ((i = buf.indexOf("\n\n")) >= 0) {
              const msg = buf.slice(0, i); buf = buf.slice(i + 2);
              let ev = "message", data = "";
              for (const line of msg.split("\n")) {
                if (line.startsWith("event:")) ev = line.slice(6).trim();
                else if (line.startsWith("data:")) data += line.slice(5).trim();
              }
              if (ev === "latest" && data) onValues(JSON.parse(data));
              if (ev === "store_error") state("store error");
            }
          }
        } catch (e) {
          if (stopped) return;
          state("reconnecting");
          await sleep(2000);
        }
      }
    }
    run();
    return { stop() { stopped = true; if (ctrl) ctrl.abort(); } };
  }

  function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
  function setConn(s) {
    const el = document.getElementById("conn");
    if (!el) return;
    const txt = { live: "● 实时 Live", reconnecting: "○ 重连中 Reconnecting", "store error": "! 数据库异常 Store error" };
    el.textContent = txt[s] || s;
    el.className = "conn-" + s.replace(" ", "-");
  }
  function notice(text) {
    const box = document.getElementById("notices");
    if (!box) return;
    const p = document.createElement("p");
    p.className = "notice"; p.textContent = text;
    box.appendChild(p);
  }

  /* DOM helper: el("div", {class: "x", text: "y"}, child, ...). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else if (k.startsWith("data-")) e.setAttribute(k, v);
      else if (k === "style") e.setAttribute("style", v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  /* Bilingual label: 中文 <small>English</small>. */
  function bi(zh, en) { return el("span", { class: "bi" }, zh, " ", el("small", { text: en })); }

  function num(x, digits) {
    if (x === null || x === undefined || Number.isNaN(x)) return "—";
    const d = digits === undefined ? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2) : digits;
    return Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  }
  /* The server's clock, not the browser's: the API may run on a shifted clock (TANZHANG_NOW,
     tests) and a site PC's clock may be wrong. A page that receives the server's now_ms calls
     syncClock(now_ms); ages and the header clock then read nowMs() = Date.now() + skew. */
  let skewMs = 0;
  function syncClock(serverNowMs) { if (serverNowMs) skewMs = serverNowMs - Date.now(); }
  function nowMs() { return Date.now() + skewMs; }
  function ago(ts_ms) {
    if (!ts_ms) return "—";
    const s = Math.max(0, (nowMs() - ts_ms) / 1000);
    if (s < 60) return Math.round(s) + " s";
    if (s < 3600) return Math.round(s / 60) + " min";
    if (s < 86400) return (s / 3600).toFixed(1) + " h";
    return Math.round(s / 86400) + " d";
  }
  function timeStr(ts_ms) {
    return ts_ms ? new Date(ts_ms).toLocaleTimeString("zh-CN", { hour12: false }) : "—";
  }
  /* Accounting periods are local to the sites (Asia/Shanghai), whatever the browser's zone. */
  const SITE_TZ = "Asia/Shanghai";
  const DAY_FMT = new Intl.DateTimeFormat("sv-SE", { timeZone: SITE_TZ });
  function dateStr(v) {
    if (!v) return "—";
    const d = new Date(v);
    return isNaN(d) ? String(v) : DAY_FMT.format(d);
  }
  /* A period as people name it: 2025, 2025-03, 2025-03-14, or first → last day. */
  function periodStr(kind, start, end) {
    const s = dateStr(start);
    if (kind === "year") return s.slice(0, 4);
    if (kind === "month") return s.slice(0, 7);
    if (kind === "day") return s;
    return s + " → " + dateStr(new Date(new Date(end).getTime() - 1));
  }
  function startOfToday() { const d = new Date(nowMs()); d.setHours(0, 0, 0, 0); return d.getTime(); }

  function colourBadge(code, extra) {
    const c = COLOURS[code];
    if (!c) return el("span", { class: "badge badge-none", "data-colour": code || "none" }, bi("无", "None"));
    return el("span", {
      class: "badge", "data-colour": code,
      style: `background:${c.hex};color:${c.ink}`,
    }, c.zh, " ", el("small", { text: c.en }), extra || null);
  }

  function entityParam() {
    const m = document.querySelector('meta[name="tanzhang-entity"]');
    return m ? m.content : "";
  }

  /* Plotly defaults shared by the charts. */
  const PLOT_LAYOUT = {
    margin: { l: 52, r: 16, t: 8, b: 36 },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "system-ui, 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif", size: 12, color: "#334155" },
    legend: { orientation: "h", y: -0.18 },
    xaxis: { gridcolor: "#e2e8f0" }, yaxis: { gridcolor: "#e2e8f0", zerolinecolor: "#cbd5e1" },
  };
  const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  const PALETTE = ["#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#be123c", "#65a30d", "#a16207"];

  function tick() {
    const c = document.getElementById("clock");
    if (c) c.textContent = new Date(nowMs()).toLocaleString("zh-CN", { hour12: false });
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupLogin();
    showWho();
    tick(); setInterval(tick, 1000);
    const page = document.body.dataset.page;
    document.querySelectorAll("[data-nav]").forEach((a) => {
      if (a.dataset.nav === page) a.classList.add("active");
    });
  });

  window.TZ = {
    ROUTES, COLOURS, PALETTE, PLOT_LAYOUT, PLOT_CONFIG, ApiError,
    api, tryApi, items, stream, el, bi, num, ago, timeStr, dateStr, periodStr, startOfToday,
    syncClock, nowMs,
    colourBadge, entityParam, notice, qs, key,
  };
})();
