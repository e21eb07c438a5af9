"""Public API schemas (``...Public`` answers, ``...Create`` bodies), apart from domain objects.

Route modules convert domain objects (registry entities, posted statements, balances) into
these; the OpenAPI page documents exactly these.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, field_validator

from api.params import ID_PATTERN, MAX_LIMIT  # noqa: F401  (re-exported)

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing: ``items``, and ``limit`` / ``offset`` as applied."""

    items: list[T]
    limit: int
    offset: int
    total: int | None = Field(None, description="number of items visible to this key, when known")


# -- registry and telemetry ----------------------------------------------------------------
class EntityPublic(BaseModel):
    id: str
    kind: str = Field(description="factory | line | orchard | forest")
    parent: str | None = None
    name: str | None = None
    attrs: dict[str, Any] = Field(
        default_factory=dict, description="kind-specific attributes (area_mu, county, ...)"
    )


class DevicePublic(BaseModel):
    id: str
    entity: str
    role: str
    attrs: dict[str, Any] = Field(default_factory=dict)


class EntityDetailPublic(EntityPublic):
    devices: list[DevicePublic]
    children: list[str]


class RecordsCreate(BaseModel):
    """Field records for one entity, as a device would publish them on its ``event`` channel.

    Each record is ``{"id": ..., "type": ..., "ts": ..., <fields of the type>}``; the types
    and fields are those of docs/protocol.md. Sending the same ``id`` and ``ts`` again
    overwrites the stored record (idempotent); give ``ts`` so that a retry is idempotent.
    """

    model_config = ConfigDict(extra="forbid")

    device: str | None = Field(
        None,
        pattern=ID_PATTERN,
        description="a registered device of the entity; default `http` (records typed in)",
    )
    records: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class RecordRejectPublic(BaseModel):
    index: int
    id: str | None
    reason: str = Field(description="a reject reason code of the wire contract")
    detail: str


class RecordsResultPublic(BaseModel):
    accepted: list[str] = Field(description="ids of the records stored")
    rejected: list[RecordRejectPublic]


class LatestValuePublic(BaseModel):
    entity: str
    device: str
    field: str
    ts: datetime
    value: float


class RejectPublic(BaseModel):
    id: str
    reason: str
    detail: str
    topic: str
    payload: str = Field(
        description="the raw payload as text (invalid UTF-8 replaced); only an excerpt when "
        "`truncated`"
    )
    received_at: datetime
    item: int | None
    entity: str | None
    device: str | None
    message: str = Field("", description="id of the message's first reject (shared by its items)")
    payload_sha256: str = Field("", description="hex SHA-256 of the whole payload")
    payload_size: int = Field(-1, description="bytes of the whole payload (-1: not recorded)")
    truncated: bool = Field(False, description="only an excerpt was kept: cannot be replayed")


class ReplayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=1000, description="ids of listed rejects"
    )
    delete: StrictBool = Field(True, description="remove replayed messages from the quarantine")


class ReplayResultPublic(BaseModel):
    replayed: list[str]
    not_found: list[str]
    failed: dict[str, str] = Field(default_factory=dict, description="id -> why")


# -- accounts ------------------------------------------------------------------------------
class AccountPublic(BaseModel):
    entity_id: str
    kind: str
    parent: str | None
    name: str | None
    booking_period: str = Field(description="period kind whose statements move the balance")
    created_at: datetime


class BalancePublic(BaseModel):
    """Balance [t CO2e] of an account at a date. ``net_t = removals_t - emissions_t``."""

    entity_id: str
    at: datetime | None = Field(description="cut-off (entries effective at or before); null: all")
    emissions_t: float
    removals_t: float
    net_t: float = Field(description="removals − emissions; positive is a net sink")
    redeemed_t: float
    available_t: float = Field(description="what can still be redeemed, never negative")


class FactorSetPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    version: str | None = None


class StatementPublic(BaseModel):
    """One posted statement (the current version unless superseded ones were asked for)."""

    entity_id: str
    period_kind: str
    period_start: datetime
    period_end: datetime
    version: int
    current: bool
    booked: bool = Field(description="whether this statement moved the balance")
    emissions_t: float
    removals_t: float
    net_t: float
    coverage: float | None = Field(description="share of expected data present [0..1]")
    emissions_by_source: dict[str, float]
    emissions_by_scope: dict[str, float]
    sequestration_by_pool: dict[str, float]
    intensities: dict[str, float | None]
    factor_set: dict[str, Any] | None
    data_window: dict[str, Any] | None
    warnings: list[str]
    reason: str
    created_at: datetime
    superseded_at: datetime | None


class LedgerEntryPublic(BaseModel):
    id: int
    kind: str
    amount_t: float
    effective_at: datetime
    posted_at: datetime
    reverses_id: int | None


class StatementVersionPublic(StatementPublic):
    entries: list[LedgerEntryPublic]


class RedemptionCreate(BaseModel):
    """Redeem net fixed carbon for commercial organic fertiliser (Changshan exchange)."""

    model_config = ConfigDict(extra="forbid")

    amount_t: float = Field(gt=0, le=1e9, description="t CO2e to redeem")
    reference: str | None = Field(None, max_length=500, description="voucher number, depot")


class RedemptionPublic(BaseModel):
    id: int
    entity_id: str
    key: str
    amount_t: float
    fertiliser_amount: float
    fertiliser_unit: str
    ratio: float
    reference: str | None
    created_at: datetime


# -- orchard labels ------------------------------------------------------------------------
class ShareItem(BaseModel):
    name: str
    t_co2e: float
    share: float = Field(description="share of the total [0..1]")


class NextColourPublic(BaseModel):
    colour: str
    ratio: float = Field(description="the ratio that colour needs")
    extra_sequestration_t: float = Field(description="more removals needed at equal emissions")


class LabelExplanationPublic(BaseModel):
    largest_sources: list[ShareItem]
    largest_pools: list[ShareItem]
    total_emissions_t: float
    total_sequestration_t: float
    net_t: float = Field(description="sequestration − emissions; positive is a net sink")
    emissions_t_per_mu: float | None
    sequestration_t_per_mu: float | None
    net_t_per_mu: float | None = Field(description="net_t per mu; positive is a net sink")
    coverage: float | None
    min_coverage: float | None = Field(
        default=None, description="least coverage that earns a colour (0.9 by default)"
    )
    unrated: dict[str, Any] | None = Field(
        default=None,
        description="why the label is unrated: reason, detail, coverage, missing_days",
    )
    methods: dict[str, str] = Field(
        default_factory=dict,
        description="removal method per pool (survey_pair, tier1, inventory_pair, ...)",
    )
    next_colour_up: NextColourPublic | None
    warnings: list[str]


class LabelPublic(BaseModel):
    """An orchard's four-colour label (深绿 dark_green, 浅绿 light_green, 黄 yellow, 红 red)."""

    entity_id: str
    colour: str
    colour_zh: str
    ratio: float | None = Field(description="sequestration / emissions; null with no emissions")
    thresholds: list[float] = Field(description="lower bounds of dark green, light green, yellow")
    period_kind: str
    period_start: datetime
    period_end: datetime
    county: str | None = None
    area_mu: float | None = None
    explanation: LabelExplanationPublic


class WhatIfPublic(BaseModel):
    practice: str
    area_mu: float
    before: LabelPublic
    after: LabelPublic
    delta_emissions_t: float
    delta_sequestration_t: float
    delta_net_t: float = Field(description="change of net_t (removals − emissions)")
    improves: bool = Field(description="whether the colour moves up")


# -- factories: savings and benchmarking ---------------------------------------------------
class SavingsWindowPublic(BaseModel):
    """Savings over one window [kWh, t CO2]; the band is ± ``uncertainty`` at ``confidence``."""

    metered_kwh: float
    predicted_kwh: float
    avoided_kwh: float
    avoided_t_co2: float
    uncertainty_kwh: float | None
    uncertainty_t_co2: float | None
    lower_t_co2: float | None
    upper_t_co2: float | None
    hours: int


class BaselineModelPublic(BaseModel):
    model_type: str
    baseline_start: str
    baseline_end: str
    coefficients: dict[str, float]
    n_days: int
    r_squared: float
    cvrmse: float = Field(description="ASHRAE Guideline 14 CV(RMSE) [-]")
    nmbe: float = Field(description="ASHRAE Guideline 14 NMBE [-]")
    warnings: list[str]


class LineSavingsPublic(BaseModel):
    entity_id: str
    intervention_date: str | None
    confidence: float
    grid_ef_kg_per_kwh: float
    factor_set: str = Field(
        "cn-mee-2023", description="factor set of the grid factor (the entity's `factor_set`)"
    )
    model: BaselineModelPublic
    windows: dict[str, SavingsWindowPublic] = Field(
        description="last_2h, today (local day) and, for a line with an intervention only, "
        "since_intervention; complete hours only"
    )
    warnings: list[str] = Field(default_factory=list)


class PeriodSavingsPublic(BaseModel):
    period_start: datetime
    period_end: datetime
    n_days: int
    predicted_kwh: float
    metered_kwh: float
    avoided_kwh: float
    fractional_savings: float
    uncertainty_kwh: float
    fsu: float | None = Field(description="fractional savings uncertainty; null when AEU = 0")
    avoided_t_co2: float
    uncertainty_t_co2: float


class FactoryBenchmarkPublic(BaseModel):
    """One factory against its industry benchmark (碳效值 K = intensity / benchmark)."""

    entity_id: str
    industry_code: str | None = Field(description="GB/T 4754-2017 code from the registry")
    intensity: float | None = Field(description="t CO2e per 10⁴ CNY value added")
    benchmark: float | None = Field(description="t CO2e per 10⁴ CNY value added")
    k: float | None = Field(description="intensity / benchmark")
    colour: str | None = Field(description="K ≤ 0.8 dark_green, ≤ 1.0 light_green, ≤ 1.2 yellow")
    grade: int | None = Field(description="碳效码 grade 1-5 from K")
    green_energy_share: float | None = Field(description="on-site PV / all electricity [-]")
    intensity_level: str | None = Field(
        default=None, description="碳效码 level of the intensity: low (≤ 0.6), medium, high (> 2)"
    )
    benchmark_code: str | None = Field(
        default=None, description="the industry-table row used (most specific code found)"
    )
    benchmark_origin: str | None = Field(
        default=None, description="registry (the factory's override), table or given"
    )
    benchmark_status: str | None = Field(
        default=None, description="published, proposed_default or registry_override"
    )
    benchmark_note: str | None = Field(
        default=None, description="the source (published) or the basis (proposed default)"
    )
    reason: str | None = Field(default=None, description="why K is missing, if it is")
    period_start: datetime


class BenchmarksPublic(BaseModel):
    results: list[FactoryBenchmarkPublic]
    poor_performers: list[str] = Field(description="K above the red band, worst first")
    low_green_share: list[str] = Field(description="green-energy share below 10 %, lowest first")


# -- energy-management contracts (EMC) of lines -------------------------------------------
class EmcStatementPublic(BaseModel):
    """One period of an EMC: avoided energy and its value, each party's share (CNY)."""

    period_start: datetime
    period_end: datetime
    n_days: int
    predicted_kwh: float
    metered_kwh: float
    avoided_kwh: float
    uncertainty_kwh: float = Field(description="ASHRAE G14, at the savings' confidence")
    price_cny_per_kwh: float = Field(
        description="tariff weighted by the baseline-predicted hourly load [CNY/kWh]"
    )
    value_cny: float = Field(description="avoided kWh × price, rounded to the fen")
    uncertainty_cny: float
    partner_share: float = Field(description="the partner's share in force [-]")
    partner_share_cny: float
    owner_share_cny: float = Field(description="value − partner's share: they add up exactly")
    significant: bool = Field(description="|value| > its uncertainty")


class EmcToDatePublic(BaseModel):
    """The contract to date: sums of the statements; uncertainty of the whole period."""

    period_start: datetime
    period_end: datetime
    periods: int
    n_days: int
    avoided_kwh: float
    uncertainty_kwh: float
    price_cny_per_kwh: float
    value_cny: float
    uncertainty_cny: float
    partner_share_cny: float
    owner_share_cny: float


class EmcPublic(BaseModel):
    """A line's EMC contract and its savings in money to date."""

    entity_id: str
    contract: dict[str, Any]
    currency: str = "CNY"
    confidence: float
    factor_set: str
    this_month: EmcStatementPublic | None
    to_date: EmcToDatePublic | None
    method: str
    warnings: list[str]


# -- consent: an entity grants a lender its credit report ----------------------------------
class ConsentIn(BaseModel):
    lender: str = Field(min_length=1, max_length=200, description="the lender's name")
    purpose: str = Field(
        min_length=1, max_length=500, description='e.g. "green loan application 2026-117"'
    )
    valid_from: AwareDatetime | None = Field(None, description="default: now")
    valid_until: AwareDatetime = Field(description="end of the grant (exclusive), required")

    @field_validator("lender", "purpose")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ord(ch) < 32 and ch not in "\t\n" for ch in value):
            raise ValueError("control characters are not allowed")
        return value

    @field_validator("valid_from", "valid_until")
    @classmethod
    def _storable(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            utc = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("out of range") from None
        if not 1970 <= utc.year <= 9000:
            raise ValueError("out of range (years 1970-9000)")
        return utc


class ConsentPublic(BaseModel):
    id: int
    entity_id: str
    lender_id: int
    lender: str
    purpose: str
    valid_from: datetime
    valid_until: datetime
    granted_at: datetime
    granted_by_key_id: int
    revoked_at: datetime | None
    revoked_by_key_id: int | None
    status: str = Field(description="active, not_yet_valid, expired or revoked (now)")


class ConsentList(BaseModel):
    items: list[ConsentPublic]
    total: int


class AccessPublic(BaseModel):
    id: int
    at: datetime
    entity_id: str
    lender_id: int | None
    lender: str | None
    key_id: int
    granted: bool
    consent_id: int | None
    path: str
    reason: str = Field(description='why it was refused; "" when granted')


class AccessList(BaseModel):
    items: list[AccessPublic]
    limit: int
    offset: int
    total: int
