"""Factor sets: loading, versions, aliases, metadata and the published values they hold."""

import pytest

from accounting.errors import FactorNotFoundError, FactorSetNotFoundError
from accounting.factors import TAGS, available_factor_sets, load_factor_set


@pytest.fixture(scope="module")
def fs():
    return load_factor_set("cn-mee-2023")


def test_every_packaged_set_loads_and_every_factor_is_complete():
    sets = available_factor_sets()
    assert ("cn-mee-2023", "1.0.0") in sets and ("gwp-ar5", "1.0.0") in sets
    for name, version in sets:
        s = load_factor_set(name, version)
        assert s.factors, name
        for key, f in s.factors.items():
            assert f.unit and f.source and f.tag in TAGS, key


@pytest.mark.parametrize(
    ("key", "value"),
    [
        # docs/methodology.md §2: MEE/NBS grid factors [kg CO2/kWh]
        ("electricity.grid.national.2021", 0.5568),
        ("electricity.grid.national.2022", 0.5366),
        ("electricity.grid.national.2023", 0.5306),
        ("electricity.grid.east_china.2022", 0.5617),
        ("electricity.grid.east_china.2023", 0.5500),
        # recommended default: national 2023
        ("electricity.grid", 0.5306),
        # MEE guidelines: purchased heat 0.11 t CO2/GJ
        ("heat.purchased", 0.11),
        # IPCC 2019R Vol.4 Ch.11 Table 11.1/11.3, wet climate
        ("n2o.ef1.synthetic", 0.016),
        ("n2o.ef1.organic", 0.006),
        ("n2o.frac_leach", 0.24),
        ("n2o.ef4", 0.014),
        ("n2o.ef5", 0.011),
        ("urea.carbon", 0.20),
        # 陈舜 et al. 2015 生态学报 35(19): N composite 2.116 t CE/t N
        ("upstream.n", 2.116),
        # AR6 WG1 Table 7.15
        ("gwp.n2o", 273.0),
        ("gwp.ch4.fossil", 29.8),
        # docs/methodology.md §1.3 proposed default thresholds
        ("label.orchard.dark_green", 1.2),
        ("label.orchard.yellow", 0.8),
    ],
)
def test_published_values(fs, key, value):
    assert fs.value(key) == pytest.approx(value, abs=1e-12)


def test_alias_records_target_and_tags(fs):
    f = fs.get("electricity.grid")
    assert f.key == "electricity.grid.national.2023"
    assert f.tag == "C" and f.unit == "kg CO2/kWh"
    assert fs.get("electricity.grid.zhejiang.2022").tag == "S"  # unverified third-party value


def test_variant_sets_override_includes():
    assert load_factor_set("cn-mee-2023-east-china").value("electricity.grid") == 0.5500
    assert load_factor_set("cn-mee-2023-ar5").value("gwp.n2o") == 265.0  # AR5 Table 8.7
    ipcc = load_factor_set("ipcc-2006")
    assert ipcc.value("fuel.diesel.co2_ef") == 74100.0  # IPCC 2006 Vol.2 Table 1.4
    assert ipcc.value("n2o.ef1.synthetic") == 0.016  # inherited


def test_ref_is_recorded_and_digest_changes_with_values(fs):
    ref = fs.ref
    assert ref["name"] == "cn-mee-2023" and ref["version"] == "1.0.0"
    assert {"name": "gwp-ar6", "version": "1.0.0"} in ref["includes"]
    assert "mee-grid-2023" in ref["sources"]
    other = fs.with_overrides({"label.orchard.dark_green": 1.5})
    assert other.value("label.orchard.dark_green") == 1.5
    assert other.ref["overrides"] == ["label.orchard.dark_green"]
    assert other.digest != fs.digest
    assert load_factor_set("cn-mee-2023").digest == fs.digest  # reproducible


def test_named_errors(fs):
    with pytest.raises(FactorSetNotFoundError):
        load_factor_set("no-such-set")
    with pytest.raises(FactorSetNotFoundError):
        load_factor_set("cn-mee-2023", "0.0.1")
    with pytest.raises(FactorNotFoundError):
        fs.get("fuel.unobtainium.ncv")
    with pytest.raises(KeyError):  # also a KeyError for dict-like callers
        fs.get("nope")
