"""The printable account statement (HTML, zh/en)."""

from __future__ import annotations

import html

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, VisibleAccount
from api.errors import AUTH_ERRORS, error_responses
from api.routes.common import (
    EndQ,
    PeriodKind,
    StartQ,
    statement_public,
    statements,
    window,
)
from ledger import accounts_query, book
from sitetime import clock

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)


_PAGE_CSS = """
body{font:14px/1.45 system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:24px;color:#111}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 6px}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;padding:3px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}.muted{color:#555;font-size:12px}
.sum td{font-weight:600}@media print{body{margin:0}a{color:inherit;text-decoration:none}}
"""


def _t(x: float | None) -> str:
    return "" if x is None else f"{x:,.3f}"


@router.get(
    "/accounts/{entity_id}/statement.html",
    tags=["accounts"],
    summary="Printable account statement (HTML): balance, statements and redemptions",
    responses={
        200: {
            "content": {"text/html": {"schema": {"type": "string"}}},
            "description": "a printable page",
        },
        **error_responses(404),
    },
)
def printable_statement(
    acct: VisibleAccount,
    session: SessionDep,
    period: PeriodKind = "month",
    start: StartQ = None,
    end: EndQ = None,
) -> HTMLResponse:
    entity_id = acct.entity_id
    lo, hi = window(period, start, end)
    bal = book.balance(session, entity_id, hi)
    rows = [statement_public(s) for s in statements(session, entity_id, period, start, end, False)]
    reds = accounts_query.redemptions_between(session, acct, lo, hi)
    e = html.escape
    factor_sets = sorted(
        {f"{r.factor_set.get('name')} {r.factor_set.get('version')}" for r in rows if r.factor_set}
    )
    body_rows = "".join(
        f"<tr><td>{e(r.period_start.strftime('%Y-%m-%d %H:%M'))}</td><td>{_t(r.emissions_t)}</td>"
        f"<td>{_t(r.removals_t)}</td><td>{_t(r.net_t)}</td>"
        f"<td>{'' if r.coverage is None else f'{r.coverage:.0%}'}</td><td>{r.version}</td></tr>"
        for r in rows
    )
    red_rows = "".join(
        f"<tr><td>{e(r.created_at.strftime('%Y-%m-%d %H:%M'))}</td><td>{_t(r.amount_t)}</td>"
        f"<td>{_t(r.fertiliser_amount)} {e(r.fertiliser_unit)}</td><td>{e(r.reference or '')}</td></tr>"
        for r in reds
    )
    totals = (
        f"<tr class=sum><td>合计 Total</td><td>{_t(sum(r.emissions_t for r in rows))}</td>"
        f"<td>{_t(sum(r.removals_t for r in rows))}</td><td>{_t(sum(r.net_t for r in rows))}</td>"
        "<td></td><td></td></tr>"
    )
    page = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>碳账户对账单 {e(entity_id)}</title><style>{_PAGE_CSS}</style></head><body>
<h1>碳账户对账单 · Carbon account statement</h1>
<p>{e(acct.name or entity_id)} (<b>{e(entity_id)}</b>, {e(acct.kind)}) ·
{e(lo.strftime("%Y-%m-%d"))} – {e(hi.strftime("%Y-%m-%d"))} UTC · {e(period)}</p>
<h2>余额 Balance at {e(hi.strftime("%Y-%m-%d %H:%M"))} UTC [t CO2e]</h2>
<table><tr><th>排放 Emissions</th><th>清除 Removals</th><th>净值 Net (removals − emissions)</th><th>已兑换 Redeemed</th>
<th>可兑换 Available</th></tr><tr><td>{_t(bal.emissions_t)}</td><td>{_t(bal.removals_t)}</td>
<td>{_t(bal.net_t)}</td><td>{_t(bal.redeemed_t)}</td><td>{_t(bal.available_t)}</td></tr></table>
<h2>账期 Statements [t CO2e]</h2>
<table><tr><th>Period start (UTC)</th><th>Emissions</th><th>Removals</th><th>Net (removals − emissions)</th>
<th>Coverage</th><th>Version</th></tr>{body_rows}{totals}</table>
<h2>兑换 Redemptions</h2>
<table><tr><th>Date (UTC)</th><th>t CO2e</th><th>Fertiliser</th><th>Reference</th></tr>{red_rows}</table>
<p class=muted>Net = removals − emissions; positive is a net sink. Factor sets:
{e(", ".join(factor_sets) or "—")}. Printed {e(clock.now().strftime("%Y-%m-%d %H:%M"))} UTC
by tanzhang 碳账.</p></body></html>"""
    return HTMLResponse(page)
