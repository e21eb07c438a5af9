"""Factor sets: named, versioned emission / removal factors loaded from packaged TOML data.

A factor set is a TOML file under ``accounting/factorsets/``::

    [set]
    name = "cn-mee-2023"
    version = "1.0.0"
    includes = ["gwp-ar6"]           # merged first, in order; later ones win
    [sources]
    mee-grid-2023 = "full citation ..."
    [factors]
    "electricity.grid.national.2023" = { value = 0.5306, unit = "kg CO2/kWh",
                                         source = "mee-grid-2023", tag = "C" }
    "electricity.grid" = { same_as = "electricity.grid.national.2023" }

``tag`` is the confidence tag of docs/methodology.md: ``C`` confirmed, ``S`` secondary,
``M`` from memory, ``G`` proposed default. Archived versions may be shipped as
``{name}@{version}.toml`` next to the current ``{name}.toml``.

Code never carries a factor as a bare literal: calculation functions take factors as
parameters, and :mod:`accounting.statements` reads them from a :class:`FactorSet`.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources

from accounting.errors import FactorNotFoundError, FactorSetFormatError, FactorSetNotFoundError

TAGS = ("C", "S", "M", "G")
_PACKAGE = "accounting.factorsets"


@dataclass(frozen=True)
class Factor:
    """One factor value with its unit, source citation and confidence tag."""

    value: float
    unit: str
    source: str
    tag: str
    key: str = ""
    source_id: str = ""

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "value": self.value,
            "unit": self.unit,
            "source": self.source,
            "source_id": self.source_id,
            "tag": self.tag,
        }


@dataclass(frozen=True)
class FactorSet:
    """A resolved factor set (includes merged, aliases resolved)."""

    name: str
    version: str
    description: str
    factors: dict[str, Factor]
    includes: tuple[tuple[str, str], ...] = ()
    overrides: tuple[str, ...] = field(default=())

    def get(self, key: str) -> Factor:
        """Return the :class:`Factor` under ``key`` or raise :class:`FactorNotFoundError`."""
        try:
            return self.factors[key]
        except KeyError:
            raise FactorNotFoundError(
                f"factor set {self.name}@{self.version} has no factor {key!r}"
            ) from None

    def value(self, key: str) -> float:
        """Shortcut for ``get(key).value``."""
        return self.get(key).value

    def has(self, key: str) -> bool:
        return key in self.factors

    def keys(self) -> list[str]:
        return sorted(self.factors)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the resolved factors (first 16 hex digits): proves what was used."""
        blob = json.dumps(
            {k: [f.value, f.unit, f.source_id, f.tag] for k, f in sorted(self.factors.items())},
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def ref(self) -> dict:
        """Reference recorded in every statement: name, version, includes, digest, sources.

        A fresh copy each call (computed once per set)."""
        r = self._ref
        return {
            **r,
            "includes": [dict(i) for i in r["includes"]],
            "overrides": list(r["overrides"]),
            "sources": dict(r["sources"]),
        }

    @cached_property
    def _ref(self) -> dict:
        sources = sorted({(f.source_id, f.source) for f in self.factors.values()})
        return {
            "name": self.name,
            "version": self.version,
            "includes": [{"name": n, "version": v} for n, v in self.includes],
            "overrides": list(self.overrides),
            "digest": self.digest,
            "sources": {sid: text for sid, text in sources},
        }

    def with_overrides(self, values: dict[str, float], *, source: str = "override") -> FactorSet:
        """Copy of the set with some values replaced (e.g. programme-specific thresholds).

        The overridden keys are listed in :attr:`ref` so statements stay reproducible.
        Each overridden factor keeps its unit and gets tag ``G`` and the given source.
        """
        new = dict(self.factors)
        for key, val in values.items():
            old = self.get(key)
            new[key] = Factor(float(val), old.unit, source, "G", key, source)
        return FactorSet(
            self.name,
            self.version,
            self.description,
            new,
            self.includes,
            tuple(sorted(set(self.overrides) | set(values))),
        )


def available_factor_sets() -> list[tuple[str, str]]:
    """List ``(name, version)`` of every packaged factor set."""
    out = []
    for entry in resources.files(_PACKAGE).iterdir():
        if entry.name.endswith(".toml"):
            meta = tomllib.loads(entry.read_text(encoding="utf-8")).get("set", {})
            out.append((meta.get("name", ""), meta.get("version", "")))
    return sorted(out)


def _read_raw(name: str, version: str | None) -> dict:
    root = resources.files(_PACKAGE)
    candidates = [f"{name}@{version}.toml", f"{name}.toml"] if version else [f"{name}.toml"]
    for fname in candidates:
        entry = root / fname
        if entry.is_file():
            try:
                raw = tomllib.loads(entry.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise FactorSetFormatError(f"{fname}: {exc}") from exc
            meta = raw.get("set", {})
            if meta.get("name") != name:
                raise FactorSetFormatError(f"{fname}: [set].name is {meta.get('name')!r}")
            if version is None or meta.get("version") == version:
                return raw
    known = ", ".join(f"{n}@{v}" for n, v in available_factor_sets())
    raise FactorSetNotFoundError(
        f"no factor set {name!r}"
        + (f" version {version!r}" if version else "")
        + f"; known: {known}"
    )


def _resolve(name: str, version: str | None, seen: tuple[str, ...]) -> tuple[dict, list, dict]:
    if name in seen:
        raise FactorSetFormatError(f"include cycle: {' -> '.join((*seen, name))}")
    raw = _read_raw(name, version)
    meta = raw["set"]
    entries: dict[str, dict] = {}
    includes: list[tuple[str, str]] = []
    for inc in meta.get("includes", []):
        inc_entries, inc_includes, _ = _resolve(inc, None, (*seen, name))
        entries.update(inc_entries)
        includes.extend(inc_includes)
    sources = raw.get("sources", {})
    for key, spec in raw.get("factors", {}).items():
        if not isinstance(spec, dict):
            raise FactorSetFormatError(f"{name}: factor {key!r} must be a table")
        if "same_as" in spec:
            entries[key] = {"same_as": spec["same_as"]}
            continue
        missing = {"value", "unit", "source", "tag"} - set(spec)
        if missing:
            raise FactorSetFormatError(f"{name}: factor {key!r} lacks {sorted(missing)}")
        if spec["tag"] not in TAGS:
            raise FactorSetFormatError(f"{name}: factor {key!r} has tag {spec['tag']!r}")
        if spec["source"] not in sources:
            raise FactorSetFormatError(f"{name}: factor {key!r} cites unknown {spec['source']!r}")
        entries[key] = {**spec, "source_text": sources[spec["source"]]}
    includes.append((name, meta.get("version", "")))
    return entries, includes, meta


def load_factor_set(name: str, version: str | None = None) -> FactorSet:
    """Load a packaged factor set by name (and optionally exact version).

    Parameters
    ----------
    name : str
        Set name, e.g. ``"cn-mee-2023"``, ``"ipcc-2006"``, ``"gwp-ar6"``.
    version : str, optional
        Exact version; the current file is used when omitted.

    Raises
    ------
    FactorSetNotFoundError, FactorSetFormatError
    """
    entries, includes, meta = _resolve(name, version, ())
    factors: dict[str, Factor] = {}
    for key in entries:
        target, hops = key, 0
        while "same_as" in entries.get(target, {}):
            target = entries[target]["same_as"]
            hops += 1
            if hops > 10 or target not in entries:
                raise FactorSetFormatError(f"{name}: bad alias chain at {key!r} -> {target!r}")
        s = entries[target]
        factors[key] = Factor(
            float(s["value"]), s["unit"], s["source_text"], s["tag"], target, s["source"]
        )
    return FactorSet(
        name=meta["name"],
        version=meta.get("version", ""),
        description=meta.get("description", ""),
        factors=factors,
        includes=tuple(includes[:-1]),
    )
