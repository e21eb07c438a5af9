"""The printable carbon credit report (HTML, Chinese or English), rendered from the signed
JSON report so the page shows exactly the figures that were signed, with the digest."""

from __future__ import annotations

import html
from typing import Any

#: the same policy as the dashboards (no script needed here: none allowed)
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}  # fmt: skip

_CSS = """
body{font:13px/1.45 system-ui,"Noto Sans CJK SC","PingFang SC","WenQuanYi Micro Hei",sans-serif;margin:24px;color:#111}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;margin:4px 0}th,td{border:1px solid #bbb;padding:3px 6px;
text-align:right}th:first-child,td:first-child{text-align:left}.muted{color:#555;font-size:11px}
.rating{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:700;color:#fff}
.dark_green{background:#1b7a3a}.light_green{background:#6cbf4a}.yellow{background:#e0b000}
.red{background:#c62828}.unrated{background:#777}code{word-break:break-all;font-size:11px}
@media print{body{margin:0}h2{break-after:avoid}table{break-inside:auto}}
"""

T = {
    "title": {"zh": "碳征信报告", "en": "Carbon credit report"},
    "entity": {"zh": "主体", "en": "Entity"},
    "period": {"zh": "报告期", "en": "Period"},
    "issued": {"zh": "出具时间", "en": "Issued"},
    "rating": {"zh": "碳效评级", "en": "Carbon-efficiency rating"},
    "rule": {"zh": "评级规则", "en": "Rule"},
    "basis": {"zh": "依据年度", "en": "Basis year"},
    "reason": {"zh": "原因", "en": "Reason"},
    "years": {"zh": "分年排放与清除 [t CO2e]", "en": "Emissions and removals by year [t CO2e]"},
    "year": {"zh": "年度", "en": "Year"},
    "emissions": {"zh": "排放", "en": "Emissions"},
    "removals": {"zh": "清除", "en": "Removals"},
    "net": {"zh": "净值(清除−排放)", "en": "Net (removals − emissions)"},
    "coverage": {"zh": "数据覆盖率", "en": "Coverage"},
    "booked": {"zh": "记账账期数", "en": "Booked statements"},
    "agrees": {"zh": "与年度账单一致", "en": "Equals year statement"},
    "sources": {"zh": "按排放源", "en": "By source"},
    "pools": {"zh": "按碳库", "en": "By pool"},
    "trend": {"zh": "趋势", "en": "Trend"},
    "total": {"zh": "合计", "en": "Total"},
    "bench": {"zh": "碳效对标", "en": "Benchmark position"},
    "labels": {"zh": "四色标签历史", "en": "Colour label history"},
    "savings": {"zh": "产线实测节能量", "en": "Measured savings of lines"},
    "emc": {"zh": "合同能源管理 (EMC)", "en": "Energy-management contracts (EMC)"},
    "quality": {"zh": "数据质量", "en": "Data quality"},
    "rejects": {"zh": "被拒数据条数", "en": "Rejected readings"},
    "restatements": {"zh": "重述记录", "en": "Restatements"},
    "redemptions": {"zh": "兑换", "en": "Redemptions"},
    "methods": {"zh": "因子集与方法", "en": "Factor sets and methods"},
    "balance": {"zh": "余额 [t CO2e]", "en": "Balance [t CO2e]"},
    "verify": {"zh": "验证", "en": "Verification"},
    "verify_text": {
        "zh": "本报告内容的 SHA-256 摘要由项目密钥以 Ed25519 签名;可通过 POST /v1/reports/verify "
        "或 `tanzhang report verify FILE` 验证其真实性及出具后是否发生重述。",
        "en": "The SHA-256 digest of this report's content is signed with the programme's "
        "Ed25519 key; verify authenticity and restatements after issue with POST "
        "/v1/reports/verify or `tanzhang report verify FILE`.",
    },
    "none": {"zh": "无", "en": "none"},
    "to_date": {"zh": "至今(自改造)", "en": "to date (since intervention)"},
    "no_statements": {"zh": "无账期", "en": "no statements"},
    "redeemed": {"zh": "已兑换", "en": "Redeemed"},
    "available": {"zh": "可兑换", "en": "Available"},
    "colour": {"zh": "颜色", "en": "Colour"},
    "version": {"zh": "版本", "en": "Version"},
    "at": {"zh": "时间", "en": "At"},
    "date": {"zh": "日期", "en": "Date"},
    "fertiliser": {"zh": "有机肥", "en": "Fertiliser"},
    "reference": {"zh": "参考号", "en": "Reference"},
    "unrated": {"zh": "未评级", "en": "unrated"},
}


def _num(x: Any, fmt: str = ",.3f") -> str:
    return "—" if x is None else format(x, fmt)


def _pct(x: Any) -> str:
    return "—" if x is None else f"{x:.1%}"


def render_page(report: dict[str, Any], lang: str = "zh") -> str:
    """The report as a self-contained printable HTML page (no scripts)."""
    lang = "en" if lang == "en" else "zh"
    e = html.escape

    def t(key: str) -> str:
        return e(T[key][lang])

    ent = report["entity"]
    rating = report["rating"]
    per = report["period"]
    colour_text = rating["colour_zh"] if lang == "zh" else rating["colour"].replace("_", " ")
    parts = [
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{t("title")} {e(ent["entity_id"])}</title>'
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{t('title')} · {e(T['title']['en' if lang == 'zh' else 'zh'])}</h1>",
        f"<p>{t('entity')}: <b>{e(ent.get('name') or ent['entity_id'])}</b> "
        f"({e(ent['entity_id'])}, {e(ent['kind'])}"
        + (f", {e(ent['parent'])}" if ent.get("parent") else "")
        + f") · {t('period')}: {e(', '.join(str(y) for y in per['years']))} "
        f"({per['years'][0]}-01-01 – {per['years'][-1]}-12-31, {e(per['site_tz'])}) · "
        f"{t('issued')}: {e(report['issued_at'])}</p>",
    ]
    reg = ent.get("registry") or {}
    if reg:
        parts.append(
            "<p class=muted>" + " · ".join(
                f"{e(str(k))}: {e(str(v))}" for k, v in sorted(reg.items())
                if not isinstance(v, dict | list)
            ) + "</p>"
        )  # fmt: skip
    parts.append(
        f"<h2>{t('rating')}</h2><p><span class='rating {e(rating['colour'])}' id=rating>"
        f"{e(colour_text)}</span> {t('rule')}: <code>{e(rating['rule'])}</code> — "
        f"{e(rating['rule_text'])}"
        + (f" · {t('basis')}: {e(str(rating['basis_year']))}" if rating.get("basis_year") else "")
        + (f" · {t('reason')}: {e(rating['reason'])}" if rating.get("reason") else "")
        + "</p>"
    )

    def year_row(r: dict[str, Any]) -> str:
        if not r["booked_statements"]:  # no data is not zero emissions: say so
            return (f"<tr><td>{r['year']}</td><td colspan=3>{t('no_statements')}</td>"
                    f"<td>{_pct(r['coverage'])}</td><td>0</td><td>—</td></tr>")  # fmt: skip
        ys = r["year_statement"]
        return (
            f"<tr><td>{r['year']}</td><td>{_num(r['emissions_t'])}</td>"
            f"<td>{_num(r['removals_t'])}</td><td>{_num(r['net_t'])}</td>"
            f"<td>{_pct(r['coverage'])}</td><td>{r['booked_statements']}</td>"
            f"<td>{'—' if not ys else ('✓' if ys['agrees'] else '✗')}</td></tr>"
        )

    rows = "".join(year_row(r) for r in report["years"])
    tot = report["totals"]
    parts.append(
        f"<h2>{t('years')}</h2><table id=years><tr><th>{t('year')}</th><th>{t('emissions')}</th>"
        f"<th>{t('removals')}</th><th>{t('net')}</th><th>{t('coverage')}</th><th>{t('booked')}</th>"
        f"<th>{t('agrees')}</th></tr>{rows}<tr><td><b>{t('total')}</b></td>"
        f"<td><b>{_num(tot['emissions_t'])}</b></td><td><b>{_num(tot['removals_t'])}</b></td>"
        f"<td><b>{_num(tot['net_t'])}</b></td><td></td><td></td><td></td></tr></table>"
    )
    keys_s = sorted({k for r in report["years"] for k in r["emissions_by_source"]})
    keys_p = sorted({k for r in report["years"] for k in r["removals_by_pool"]})
    if keys_s or keys_p:
        head = "".join(f"<th>{e(k)}</th>" for k in keys_s) + "".join(
            f"<th>{e(k)}</th>" for k in keys_p
        )
        body = "".join(
            f"<tr><td>{r['year']}</td>"
            + "".join(f"<td>{_num(r['emissions_by_source'].get(k))}</td>" for k in keys_s)
            + "".join(f"<td>{_num(r['removals_by_pool'].get(k))}</td>" for k in keys_p)
            + "</tr>"
            for r in report["years"]
            if r["booked_statements"]
        )
        parts.append(
            f"<p class=muted>{t('sources')}: {e(', '.join(keys_s) or '—')} · {t('pools')}: "
            f"{e(', '.join(keys_p) or '—')}</p><table><tr><th>{t('year')}</th>{head}</tr>{body}</table>"
        )
    tr = report["trend"]
    parts.append(
        f"<p>{t('trend')}: <b>{e(tr['direction'])}</b> — {e(tr.get('note', ''))}"
        + (
            f"; Δ {t('emissions')} {_num(tr.get('emissions_change_t'))} t "
            f"({_num(tr.get('emissions_change_pct'), '+.1f')} %)"
            if "emissions_change_t" in tr
            else ""
        )  # fmt: skip
        + "</p>"
    )

    def bal_row(label: str, b: dict[str, Any]) -> str:
        return (
            f"<tr><td>{e(label)}</td><td>{_num(b['emissions_t'])}</td>"
            f"<td>{_num(b['removals_t'])}</td><td>{_num(b['net_t'])}</td>"
            f"<td>{_num(b['redeemed_t'])}</td><td>{_num(b['available_t'])}</td></tr>"
        )

    parts.append(
        f"<h2>{t('balance')}</h2><table id=balance><tr><th></th><th>{t('emissions')}</th>"
        f"<th>{t('removals')}</th><th>{t('net')}</th><th>{t('redeemed')}</th>"
        f"<th>{t('available')}</th></tr>"
        + bal_row(f"{per['years'][-1]}-12-31", report["balance_at_end"])
        + bal_row(f"{T['issued'][lang]} {report['issued_at'][:10]}", report["balance_at_issue"])
        + "</table>"
    )
    if report["benchmark"]:
        body = "".join(
            f"<tr><td>{x['year']}</td><td>{_num(x.get('intensity'), '.4f')}</td>"
            f"<td>{_num(x.get('benchmark'), '.4f')}</td><td>{_num(x.get('k'), '.3f')}</td>"
            f"<td>{e(str(x.get('colour_zh') if lang == 'zh' else x.get('colour')) if x.get('colour') else '—')}</td>"
            f"<td>{e(str(x.get('grade') or '—'))}</td><td>{e(', '.join(x.get('lists') or []) or '—')}</td>"
            f"<td>{e(x.get('reason') or '')}</td></tr>"
            for x in report["benchmark"]
        )
        parts.append(
            f"<h2>{t('bench')}</h2><table id=benchmark><tr><th>{t('year')}</th>"
            "<th>t CO2e / 10⁴ CNY</th><th>benchmark</th><th>K</th><th>colour</th><th>grade</th>"
            f"<th>lists</th><th>{t('reason')}</th></tr>{body}</table>"
        )
    if report["labels"]:
        body = "".join(
            f"<tr><td>{x['year']}</td><td>{e(str((x.get('colour_zh') if lang == 'zh' else x.get('colour')) or '—'))}</td>"
            f"<td>{_pct(x.get('coverage'))}</td><td>{e(x.get('reason') or '')}</td></tr>"
            for x in report["labels"]
        )
        parts.append(
            f"<h2>{t('labels')}</h2><table id=labels><tr><th>{t('year')}</th><th>{t('colour')}</th>"
            f"<th>{t('coverage')}</th><th>{t('reason')}</th></tr>{body}</table>"
        )
    if report["savings"]:
        body = ""
        for s in report["savings"]:
            if s.get("status") != "measured":
                body += (f"<tr><td>{e(s['line'])}</td><td colspan=5>{e(str(s.get('detail') or s.get('reason')))}"
                         "</td></tr>")  # fmt: skip
                continue
            for y in [*s["years"], {"year": T["to_date"][lang], **(s.get("to_date") or {})}]:
                body += (
                    f"<tr><td>{e(s['line'])} {y['year']}</td>"
                    f"<td>{_num(y.get('avoided_kwh'), ',.0f')}</td>"
                    f"<td>± {_num(y.get('uncertainty_kwh'), ',.0f')}</td>"
                    f"<td>{_num(y.get('avoided_t_co2'))}</td>"
                    f"<td>± {_num(y.get('uncertainty_t_co2'))}</td>"
                    f"<td>{e(y.get('status', ''))}</td></tr>"
                )
        parts.append(
            f"<h2>{t('savings')}</h2><table id=savings><tr><th>line / {t('year')}</th>"
            "<th>avoided kWh</th><th>± kWh (90 %)</th><th>t CO2</th><th>± t CO2</th>"
            f"<th>status</th></tr>{body}</table>"
        )
    if report["emc"]:
        body = "".join(
            f"<tr><td>{e(x['line'])}</td><td>{e(str((x.get('contract') or {}).get('partner', '')))}</td>"
            f"<td>{_num((x.get('to_date') or {}).get('value_cny'), ',.2f')}</td>"
            f"<td>{_num((x.get('to_date') or {}).get('partner_share_cny'), ',.2f')}</td>"
            f"<td>{_num((x.get('to_date') or {}).get('owner_share_cny'), ',.2f')}</td></tr>"
            for x in report["emc"]
        )
        parts.append(
            f"<h2>{t('emc')}</h2><table><tr><th>line</th><th>partner</th><th>CNY to date</th>"
            f"<th>partner CNY</th><th>owner CNY</th></tr>{body}</table>"
        )
    dq = report["data_quality"]
    rej = dq["rejects"]
    rs = (
        "".join(
            f"<tr><td>{e(x['period_kind'])} {e(x['period_start'][:10])}</td><td>v{x['version']}</td>"
            f"<td>{e(x['created_at'][:19])}</td><td>{e(x['reason'])}</td></tr>"
            for x in dq["restatements"]
        )
        or f"<tr><td colspan=4>{t('none')}</td></tr>"
    )
    parts.append(
        f"<h2>{t('quality')}</h2><p>{t('coverage')}: "
        + ", ".join(f"{y}: {_pct(c)}" for y, c in dq["coverage_by_year"].items())
        + f" · {t('rejects')}: {e(str(rej.get('count') if rej.get('count') is not None else '—'))}"
        + "</p>"
        f"<table id=restatements><tr><th>{t('restatements')}</th><th>{t('version')}</th><th>{t('at')}</th>"
        f"<th>{t('reason')}</th></tr>{rs}</table>"
    )
    red = report["redemptions"]
    rr = (
        "".join(
            f"<tr><td>{e(x['created_at'][:10])}{'' if x['in_period'] else ' *'}</td><td>{_num(x['amount_t'])}</td>"
            f"<td>{_num(x['fertiliser_amount'], ',.1f')} {e(x['fertiliser_unit'])}</td>"
            f"<td>{e(x.get('reference') or '')}</td></tr>"
            for x in red["items"]
        )
        or f"<tr><td colspan=4>{t('none')}</td></tr>"
    )
    parts.append(
        f"<h2>{t('redemptions')}</h2><table><tr><th>{t('date')}</th><th>t CO2e</th>"
        f"<th>{t('fertiliser')}</th><th>{t('reference')}</th></tr>{rr}</table>"
    )
    m = report["methods"]
    fs = ", ".join(f"{x.get('name')} {x.get('version')}" for x in m["factor_sets"]) or "—"
    rm = "; ".join(f"{k}: {v}" for k, v in m["removal_methods"].items()) or "—"
    parts.append(
        f"<h2>{t('methods')}</h2><p>factor sets: {e(fs)}<br>methods: {e(rm)}<br>"
        f"{e(m['sign_convention'])}; {e(m['figures'])}</p>"
    )
    v = report.get("verification") or {}
    parts.append(
        f"<h2>{t('verify')}</h2><p class=muted>{t('verify_text')}<br>report id: "
        f"<code>{e(report['report']['id'])}</code><br>SHA-256: <code id=digest>{e(v.get('digest', ''))}"
        f"</code><br>Ed25519 key id: <code>{e(v.get('key_id', ''))}</code><br>signature: "
        f"<code>{e(v.get('signature', ''))}</code></p></body></html>"
    )
    return "".join(parts)
