"""Energy-management contracts (EMC, 合同能源管理): measured savings valued in money and
shared between the energy-service company (the partner) and the line's owner.

GB/T 24915-2020 (合同能源管理技术通则) defines the EMC types; this module implements the
shared-savings type (节能效益分享型): the partner finances the upgrade and, for the contract
term, receives an agreed share of the value of the energy saved. The money rules below are
**proposed** by tanzhang (they are our design, not the standard's text); a real contract's
terms (guaranteed minimums, carry-forward of negative months, taxes) are settled outside.

Method (proposed)
-----------------
Per reporting period (a local month, or a day):

1. Avoided electricity ``A`` [kWh] and its uncertainty ``U`` [kWh] come from the savings
   service (CalTRACK daily model, ASHRAE Guideline 14 fractional savings uncertainty at 90 %
   confidence) — the same figures as ``/v1/lines/{id}/savings/periods``.
2. The price of the avoided energy is the tariff weighted by the **baseline-predicted hourly
   load** ``Ê_h`` of the period::

       p̄ = Σ_h p(h) · Ê_h / Σ_h Ê_h      [CNY/kWh]

   with ``p(h)`` the time-of-use price of the local hour of day ``h``. This assumes the
   saving is proportional to the load the line would have drawn (``a_h ∝ Ê_h``), as for a
   variable-speed drive or a more efficient compressor; it is exact for a flat tariff and
   an approximation for an intervention that shifts load between hours (storage, rescheduling),
   which should be priced from the hourly avoided energy instead. Hourly avoided energy is
   too noisy hour by hour to weight the price directly (it changes sign), so the predicted
   load is used; the same weighting prices the uncertainty, because the G14 uncertainty is
   proportional to the predicted energy.
3. Value ``V = A · p̄`` [CNY] (plus ``Σ_f A_f · p_f`` for fuels the line saves, where the
   avoided fuel is measured), rounded to the fen (0.01 CNY, half to even);
   ``U_V = √((U · p̄)² + Σ_f (U_f · p_f)²)`` [CNY] (fuel and electricity models independent).
4. Partner's share ``= round(s · V)`` to the fen, with ``s`` the partner share in force on
   the period's first day; owner's share ``= V − partner's``. Both are computed in integer
   fen, so **the two shares add up to the value exactly**. A negative period (the line used
   more than its baseline predicts) is shown as measured, with negative shares.

Worked example (time-of-use weighting)
--------------------------------------
Tariff: peak 1.00 CNY/kWh 08–12 and 17–21 h, flat 0.60 12–17 and 21–22 h, valley 0.30
22–08 h. A line predicted to draw 100 kWh in each hour 08–16 and nothing else:
peak hours 08–12 give 400 kWh × 1.00 = 400 CNY, flat hours 12–16 give 400 kWh × 0.60 =
240 CNY, so ``p̄ = 640 / 800 = 0.80`` CNY/kWh. With ``A = 96 ± 40`` kWh the value is
``76.80 ± 32.00`` CNY; a partner share of 0.7 gives the partner 53.76 CNY and the owner
23.04 CNY (53.76 + 23.04 = 76.80). ``tests/accounting/test_emc.py`` checks these numbers.

Registry form (``emc`` attribute of a line, docs/registry.md)::

    emc = { partner = "…", start_date = "2026-09-04", end_date = "2031-09-03",
            partner_share = 0.7,                       # or [{from = "…", share = 0.9}, …]
            tariff_cny_per_kwh = 0.68,                 # or tariff = {peak = {…}, …}
            fuel_prices = { gas_m3 = 3.6 } }           # CNY per Nm3 / per t of steam

Prices are taken as the contract names them (CNY per unit; whether they include VAT is
the contract's matter, not computed here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np

#: EMC type implemented (GB/T 24915-2020 names the types; this is 节能效益分享型)
CONTRACT_TYPE = "shared_savings"
#: fuels a contract may price: name -> unit of the avoided amount
FUELS = {"gas_m3": "Nm3", "steam_t": "t"}
KNOWN_KEYS = {
    "partner", "start_date", "end_date", "partner_share", "tariff_cny_per_kwh", "tariff",
    "fuel_prices", "type", "reference", "tariff_note",
}  # fmt: skip


class EmcContractError(ValueError):
    """An EMC contract in the registry is invalid; the message says what to fix."""


@dataclass(frozen=True)
class TouPeriod:
    """A time-of-use period: its name (peak, flat, valley, …), price [CNY/kWh] and local
    hour ranges ``[start, end)`` (integers 0–24)."""

    name: str
    price_cny_per_kwh: float
    hours: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Tariff:
    """A flat price [CNY/kWh] or time-of-use periods covering every local hour once."""

    flat_cny_per_kwh: float | None = None
    periods: tuple[TouPeriod, ...] = ()

    @property
    def kind(self) -> str:
        return "flat" if self.flat_cny_per_kwh is not None else "time_of_use"

    def hourly_prices(self) -> np.ndarray:
        """Price of each local hour of the day 0..23 [CNY/kWh], shape (24,)."""
        if self.flat_cny_per_kwh is not None:
            return np.full(24, float(self.flat_cny_per_kwh))
        out = np.full(24, np.nan)
        for p in self.periods:
            for a, b in p.hours:
                out[a:b] = p.price_cny_per_kwh
        return out

    def as_dict(self) -> dict[str, Any]:
        if self.flat_cny_per_kwh is not None:
            return {"kind": "flat", "flat_cny_per_kwh": self.flat_cny_per_kwh, "periods": []}
        return {
            "kind": "time_of_use",
            "flat_cny_per_kwh": None,
            "periods": [
                {"name": p.name, "price_cny_per_kwh": p.price_cny_per_kwh,
                 "hours": [list(h) for h in p.hours]}
                for p in self.periods
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class ShareStep:
    """From ``start`` (a local day) on, the partner receives ``partner_share`` [-]."""

    start: date
    partner_share: float


@dataclass(frozen=True)
class EmcContract:
    """A shared-savings EMC of a line (see the module docstring)."""

    partner: str
    start: date
    end: date | None
    tariff: Tariff
    shares: tuple[ShareStep, ...]
    fuel_prices: dict[str, float] = field(default_factory=dict)
    reference: str | None = None
    tariff_note: str | None = None
    type: str = CONTRACT_TYPE

    def partner_share_on(self, day: date) -> float:
        """The partner share in force on ``day`` (the first step's before the first)."""
        share = self.shares[0].partner_share
        for step in self.shares:
            if step.start <= day:
                share = step.partner_share
        return share

    def in_force(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def as_dict(self, today: date | None = None) -> dict[str, Any]:
        return {
            "type": self.type,
            "partner": self.partner,
            "start_date": self.start.isoformat(),
            "end_date": self.end.isoformat() if self.end else None,
            "partner_share": self.partner_share_on(today or self.start),
            "share_schedule": [
                {"from": s.start.isoformat(), "partner_share": s.partner_share} for s in self.shares
            ],
            "tariff": self.tariff.as_dict(),
            "tariff_note": self.tariff_note,
            "fuel_prices": dict(self.fuel_prices),
            "reference": self.reference,
        }


# -- parsing -------------------------------------------------------------------------------
def _day(raw: Any, what: str) -> date:
    if isinstance(raw, date) and not hasattr(raw, "hour"):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise EmcContractError(f"{what} must be a date like 2026-09-01, not {raw!r}")


def _price(raw: Any, what: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw < 1e4:
        raise EmcContractError(f"{what} must be a price >= 0 in CNY, not {raw!r}")
    return float(raw)


def _share(raw: Any, what: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 1:
        raise EmcContractError(f"{what} must be a fraction between 0 and 1, not {raw!r}")
    return float(raw)


def _tariff(doc: dict[str, Any]) -> Tariff:
    flat, tou = doc.get("tariff_cny_per_kwh"), doc.get("tariff")
    if (flat is None) == (tou is None):
        raise EmcContractError(
            "give either tariff_cny_per_kwh (a flat price) or tariff (time-of-use periods), "
            "exactly one"
        )
    if flat is not None:
        return Tariff(flat_cny_per_kwh=_price(flat, "tariff_cny_per_kwh"))
    if not isinstance(tou, dict) or not tou:
        raise EmcContractError(
            "tariff must map period names to {price_cny_per_kwh, hours}, e.g. "
            "tariff = {peak = {price_cny_per_kwh = 1.0, hours = [[8, 11]]}, …}"
        )
    owner = [""] * 24
    periods = []
    for name, spec in tou.items():
        what = f"tariff.{name}"
        if not isinstance(spec, dict) or set(spec) - {"price_cny_per_kwh", "hours"}:
            raise EmcContractError(f"{what} must be {{price_cny_per_kwh = …, hours = [[a, b], …]}}")
        price = _price(spec.get("price_cny_per_kwh"), f"{what}.price_cny_per_kwh")
        hours = spec.get("hours")
        if not isinstance(hours, list) or not hours:
            raise EmcContractError(f"{what}.hours must be a list of [start, end) local hours")
        ranges = []
        for h in hours:
            ok = (isinstance(h, list | tuple) and len(h) == 2
                  and all(isinstance(x, int) and not isinstance(x, bool) for x in h)
                  and 0 <= h[0] < h[1] <= 24)  # fmt: skip
            if not ok:
                raise EmcContractError(
                    f"{what}.hours: {h!r} is not [start, end) with 0 <= start < end <= 24"
                )
            for k in range(h[0], h[1]):
                if owner[k]:
                    raise EmcContractError(
                        f"tariff: hour {k}:00 is in both {owner[k]!r} and {name!r}"
                    )
                owner[k] = str(name)
            ranges.append((int(h[0]), int(h[1])))
        periods.append(TouPeriod(str(name), price, tuple(ranges)))
    missing = [f"{k}:00" for k in range(24) if not owner[k]]
    if missing:
        raise EmcContractError(f"tariff: no period covers the hours {', '.join(missing)}")
    return Tariff(periods=tuple(periods))


def parse_contract(doc: Any) -> EmcContract:
    """The :class:`EmcContract` of a registry ``emc`` table; :class:`EmcContractError` with
    a clear message when it is invalid."""
    if not isinstance(doc, dict):
        raise EmcContractError("emc must be a table {partner = …, start_date = …, …}")
    unknown = sorted(set(doc) - KNOWN_KEYS)
    if unknown:
        raise EmcContractError(
            f"unknown keys {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})"
        )
    partner = doc.get("partner")
    if not isinstance(partner, str) or not partner.strip():
        raise EmcContractError("partner must name the energy-service company")
    kind = doc.get("type", CONTRACT_TYPE)
    if kind != CONTRACT_TYPE:
        raise EmcContractError(
            f"type {kind!r} is not supported: only {CONTRACT_TYPE!r} (节能效益分享型)"
        )
    if "start_date" not in doc:
        raise EmcContractError("start_date is required")
    start = _day(doc["start_date"], "start_date")
    end = _day(doc["end_date"], "end_date") if doc.get("end_date") is not None else None
    if end is not None and end < start:
        raise EmcContractError(f"end_date {end} is before start_date {start}")
    raw = doc.get("partner_share")
    if raw is None:
        raise EmcContractError("partner_share is required (e.g. 0.7, or a schedule)")
    if isinstance(raw, list):
        if not raw:
            raise EmcContractError("partner_share schedule is empty")
        steps = []
        for i, s in enumerate(raw):
            if not isinstance(s, dict) or set(s) != {"from", "share"}:
                raise EmcContractError(
                    f'partner_share[{i}] must be {{from = "2026-09-01", share = 0.7}}'
                )
            steps.append(ShareStep(_day(s["from"], f"partner_share[{i}].from"),
                                   _share(s["share"], f"partner_share[{i}].share")))  # fmt: skip
        if any(b.start <= a.start for a, b in zip(steps, steps[1:], strict=False)):
            raise EmcContractError("partner_share schedule must be in increasing 'from' dates")
        if steps[0].start != start:
            raise EmcContractError(
                f"partner_share schedule must begin on start_date {start}, not {steps[0].start}"
            )
        shares = tuple(steps)
    else:
        shares = (ShareStep(start, _share(raw, "partner_share")),)
    fuels = doc.get("fuel_prices", {}) or {}
    if not isinstance(fuels, dict) or set(fuels) - set(FUELS):
        raise EmcContractError(
            f"fuel_prices must map {', '.join(FUELS)} to a price (CNY per Nm3 / per t)"
        )
    fuel_prices = {k: _price(v, f"fuel_prices.{k}") for k, v in fuels.items()}
    for key in ("reference", "tariff_note"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise EmcContractError(f"{key} must be a string")
    return EmcContract(
        partner.strip(), start, end, _tariff(doc), shares, fuel_prices,
        doc.get("reference"), doc.get("tariff_note"),
    )  # fmt: skip


def normalised(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with TOML dates as ISO strings (how the registry stores dates)."""

    def norm(v: Any) -> Any:
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    return norm(doc)


# -- money ---------------------------------------------------------------------------------
def to_fen(cny: float) -> int:
    """CNY to integer fen (0.01 CNY), half to even."""
    return int(Decimal(repr(float(cny))).scaleb(2).quantize(Decimal(1), ROUND_HALF_EVEN))


def split_fen(value_fen: int, partner_share: float) -> tuple[int, int]:
    """(partner, owner) shares of ``value_fen`` [fen]: the partner's rounded half to even,
    the owner's the rest, so that ``partner + owner == value_fen`` exactly."""
    partner = int(
        (Decimal(int(value_fen)) * Decimal(repr(float(partner_share)))).quantize(
            Decimal(1), ROUND_HALF_EVEN
        )
    )
    return partner, int(value_fen) - partner


def weighted_price(tariff: Tariff, hour_of_day: Any, weights: Any) -> float:
    """Tariff weighted by ``weights`` (the predicted hourly load [kWh]) over local hours of
    day ``hour_of_day`` (0..23) [CNY/kWh]; the flat price for a flat tariff; the plain mean
    of the 24 hourly prices when the weights sum to nothing."""
    prices = tariff.hourly_prices()
    if tariff.flat_cny_per_kwh is not None:
        return float(tariff.flat_cny_per_kwh)
    h = np.asarray(hour_of_day, dtype=int)
    w = np.clip(np.asarray(weights, dtype=float), 0, None)
    ok = np.isfinite(w)
    total = float(w[ok].sum())
    if total <= 0:
        return float(prices.mean())
    return float((prices[h[ok]] * w[ok]).sum() / total)


@dataclass(frozen=True)
class EmcValue:
    """A period's saving in money. kWh, CNY (``*_fen``: integer fen); uncertainties at the
    savings' confidence."""

    avoided_kwh: float
    uncertainty_kwh: float
    price_cny_per_kwh: float
    value_fen: int
    uncertainty_cny: float
    partner_share: float
    partner_fen: int
    owner_fen: int
    fuel_value_fen: int = 0

    @property
    def value_cny(self) -> float:
        return self.value_fen / 100

    @property
    def partner_cny(self) -> float:
        return self.partner_fen / 100

    @property
    def owner_cny(self) -> float:
        return self.owner_fen / 100

    @property
    def significant(self) -> bool:
        """The saving is distinguishable from zero (|value| > its uncertainty)."""
        return abs(self.value_cny) > self.uncertainty_cny


def value_savings(
    avoided_kwh: float,
    uncertainty_kwh: float,
    price_cny_per_kwh: float,
    partner_share: float,
    *,
    avoided_fuel: dict[str, tuple[float, float]] | None = None,
    fuel_prices: dict[str, float] | None = None,
) -> EmcValue:
    """Value of a period's saving and each party's share (module docstring, steps 3–4).

    Parameters
    ----------
    avoided_kwh, uncertainty_kwh : float
        Avoided electricity A and its uncertainty U [kWh].
    price_cny_per_kwh : float
        Price of the avoided electricity p̄ [CNY/kWh] (:func:`weighted_price`).
    partner_share : float
        The partner's share s [-].
    avoided_fuel : dict, optional
        fuel (``gas_m3`` | ``steam_t``) -> (avoided amount, its uncertainty) [Nm3 | t].
    fuel_prices : dict, optional
        fuel -> price [CNY per Nm3 | per t]; a fuel without a price is not valued.

    Returns
    -------
    EmcValue
        ``partner_fen + owner_fen == value_fen`` always.
    """
    elec = avoided_kwh * price_cny_per_kwh
    var = (uncertainty_kwh * price_cny_per_kwh) ** 2
    fuel = 0.0
    for name, (amount, u) in (avoided_fuel or {}).items():
        price = (fuel_prices or {}).get(name)
        if price is None:
            continue
        fuel += amount * price
        var += (u * price) ** 2
    value_fen = to_fen(elec + fuel)
    partner, owner = split_fen(value_fen, partner_share)
    return EmcValue(
        avoided_kwh, uncertainty_kwh, price_cny_per_kwh, value_fen, float(np.sqrt(var)),
        partner_share, partner, owner, to_fen(fuel),
    )  # fmt: skip
