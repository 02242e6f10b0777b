"""Policy configuration: the YAML file, parsed and type-checked with pydantic.

Every rule carries an ``id`` that shows up in error messages and in the audit trail of each
allocation line. This module checks the *shape* of the file (types, allowed values, unknown
keys); :mod:`linkage.validate` checks the meaning (weights sum as declared, indicators exist,
units are present in every table) before anything is computed.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from linkage.config_base import (
    Rule,
    _Model,
    normalise_declared_weights,
)
from linkage.config_programmes import (
    AgreementPeriod,
    AgreementSection,
    AmountRule,
    AreaShareRule,
    BehaviourRule,
    CoFunder,
    EcoFlowRule,
    EcologicalFlowRule,
    EligibilityRule,
    ForestConfig,
    ForestFactor,
    ForestStandardRule,
    HorizontalAgreement,
    ImprovementPayRule,
    NitrogenRule,
    QualityFloorRule,
    QuantityRule,
    SewageTaskRule,
    WaterRuleSet,
    WaterTwoWay,
    YearOnYearRule,
    YearOnYearTestRule,
)
from linkage.errors import ConfigError, Problem

__all__ = [
    "BASE_FACTORS",
    "INDICATOR_KINDS",
    "LinkConfig",
    "Rule",
    "load_config",
    "problems_from",
    # defined in linkage.config_programmes, re-exported
    "AmountRule",
    "YearOnYearTestRule",
    "EcoFlowRule",
    "CoFunder",
    "BehaviourRule",
    "AgreementSection",
    "AgreementPeriod",
    "AreaShareRule",
    "EcologicalFlowRule",
    "EligibilityRule",
    "ForestConfig",
    "ForestFactor",
    "ForestStandardRule",
    "HorizontalAgreement",
    "ImprovementPayRule",
    "NitrogenRule",
    "QualityFloorRule",
    "QuantityRule",
    "SewageTaskRule",
    "WaterRuleSet",
    "WaterTwoWay",
    "YearOnYearRule",
]

#: Indicator kinds the policy names (Beijing 2022 implementation opinions §(九), §(十九)).
#: ``table``: values come from the indicator table; ``accounts``: computed from the accounts.
INDICATOR_KINDS: dict[str, Literal["table", "accounts"]] = {
    "eco_environment_quality": "table",
    "water_quality": "table",
    "air_quality": "table",
    "green_low_carbon": "table",
    "red_line_area": "table",
    "nature_reserves": "table",
    "biodiversity": "table",
    "pollution_control_task": "table",
    "demonstration_award": "table",
    "eco_damaging_industry": "table",
    "gep_density_constant": "accounts",
    "gep_volume_change": "accounts",
    # GEP volume change with the weather held at the base year's (given by gep run, which
    # computes the weather-neutral accounts; with `gep link`, in the indicator table)
    "gep_condition_change": "table",
}

#: Base factors and the base-factor table column each one reads.
BASE_FACTORS: dict[str, str] = {
    "area_km2": "area_km2",
    "population": "population_persons",
    "ecological_land_km2": "ecological_land_km2",
}


class WeightedRule(Rule):
    """A rule with named weights and their declared sum (weights are stored divided by it)."""

    weights_sum: float
    weights: dict[str, float]
    declared_weights_sum: float | None = None

    _normalise = model_validator(mode="before")(normalise_declared_weights)


class MinMax(_Model):
    """Min–max against fixed reference bounds: ``s = clip((x - lower)/(upper - lower), 0, 1)``."""

    method: Literal["min_max"]
    lower: float
    upper: float


class Target(_Model):
    """Distance to target: ``s = min(x/target, 1)`` (reversed: ``min(target/x, 1)``)."""

    method: Literal["target"]
    target: float


class Rank(_Model):
    """Mid-rank percentile against the base-year values of the stage's units (a fixed sample)."""

    method: Literal["rank"]


class Log(_Model):
    """Min–max of ``ln x`` against fixed bounds ``ln lower``, ``ln upper``."""

    method: Literal["log"]
    lower: float
    upper: float


Normalisation = Annotated[MinMax | Target | Rank | Log, Field(discriminator="method")]


class IndicatorSpec(Rule):
    """One indicator: its kind, direction, measurement unit and normalisation."""

    kind: str
    direction: Literal["higher_is_better", "lower_is_better"]
    value_unit: str
    normalisation: Normalisation


class BaseFactorRule(WeightedRule):
    """Base factor ``F = sum_k f_k x_k / sum_j x_jk`` over area, population, ecological land."""


class LevelRule(WeightedRule):
    """Level score ``L = sum w_i s_i`` and its tilt ``1 + beta (L - reference_score)``."""

    beta: float
    reference_score: float


class ImprovementRule(WeightedRule):
    """Improvement score ``I = sum v_i clip(ds_i / full_credit_change_i, -1, 1)``, tilt ``1 + beta I``."""

    beta: float
    full_credit_change: dict[str, float]


class GepRule(WeightedRule):
    """GEP score ``G = sum g_i s_i`` over the GEP indicators and its tilt ``1 + beta G``."""

    beta: float


class ReverseLinkageRule(Rule):
    """Reverse linkage: weight times ``1 - max_deduction_share (1 - s)`` of a damage indicator."""

    indicator: str
    max_deduction_share: float


class BoundsRule(Rule):
    """Floors and caps relative to last year's allocation."""

    floor_ratio: float | None = None
    cap_ratio: float | None = None


class BudgetRule(Rule):
    """The fund to split, in CNY (at most two decimals: it is settled in fen)."""

    amount_cny: Decimal


class EnvelopeRule(Rule):
    """Share of each district's allocation passed on to its townships."""

    share_of_district_allocation: float


class StageConfig(Rule):
    """Scoring and allocation rules of one stage (districts or townships)."""

    base_factors: BaseFactorRule
    level: LevelRule | None = None
    improvement: ImprovementRule | None = None
    gep: GepRule | None = None
    reverse_linkage: ReverseLinkageRule | None = None
    bounds: BoundsRule | None = None


class DistrictStage(StageConfig):
    """District stage: the budget and, optionally, the districts taking part."""

    budget: BudgetRule
    units: list[str] | None = None
    eligibility: EligibilityRule | None = None


class TownshipStage(StageConfig):
    """Township stage: each district's envelope split across its townships."""

    envelope: EnvelopeRule


class Policy(_Model):
    """Identity of the policy run."""

    id: str
    title: str
    year: int
    base_year: int
    source: str = ""


class Inputs(_Model):
    """Input tables (paths relative to the configuration file)."""

    accounts: Path | None = None
    base_factors: Path | None = None
    indicators: Path | None = None
    previous_allocation: Path | None = None
    water_sections: Path | None = None
    water_monthly: Path | None = None
    water_flow: Path | None = None
    sewage_tasks: Path | None = None
    horizontal_observations: Path | None = None
    horizontal_scores: Path | None = None
    forest_areas: Path | None = None
    forest_factors: Path | None = None
    ledger_claims: Path | None = None
    cropland_areas: Path | None = None
    cropland_base: Path | None = None
    transfer_inputs: Path | None = None
    designations: Path | None = None
    performance_scores: Path | None = None
    area_shares: Path | None = None


class GepIndicatorRule(Rule):
    """What counts towards the GEP indicators: GEP or GEP-R, and which services.

    ``measure: gep`` counts every category (provisioning, regulating, cultural); ``gep_r``
    counts the regulating services only (GEP-R, the part Beijing's compensation is reported
    to use), from the accounts' ``category`` column. ``services`` narrows further (all when
    not given).
    """

    measure: Literal["gep", "gep_r"] = "gep"
    services: list[str] | None = None


class CroplandStandardRule(Rule):
    """Cropland protection standard per mu and year, by year (a policy input, no default)."""

    cny_per_mu_yr: dict[int, Decimal]


class CroplandQualityRule(Rule):
    """Quality factor per unit, from the ``quality_factor`` column of ``cropland_areas``."""

    minimum: float = 0.0
    maximum: float | None = None


class ConstructionLossRule(Rule):
    """Deduction per mu of cropland lost to construction since the previous accounted year."""

    deduction_cny_per_mu: Decimal


class CroplandConfig(Rule):
    """Cropland protection compensation (耕地保护补偿, Beijing 2022 opinions §(六))."""

    programme: str = "cropland_protection"
    benefit: str = "cropland_protection"
    level: Literal["district", "township"]
    standard: CroplandStandardRule
    quality: CroplandQualityRule | None = None
    construction_loss: ConstructionLossRule | None = None


class KeySubsidyRule(Rule):
    """Key subsidy: standard fiscal gap x subsidy coefficient (table column or this value)."""

    coefficient: float | None = None


class ProhibitedZoneRule(Rule):
    """Prohibited-development-zone subsidy by area (and optionally per zone)."""

    cny_per_km2: Decimal
    cny_per_zone: Decimal | None = None


class GradeAmount(_Model):
    """Reward or penalty of one HJ 192 change grade: a share of the subsidy or a fixed amount."""

    share_of_subsidy: float | None = None
    amount_cny: Decimal | None = None


Grade = Literal["slight", "obvious", "significant"]


class EcoIndexRule(Rule):
    """Reward/penalty from the change of the eco-environment index, graded as in HJ 192-2015."""

    indicator: str
    reward: dict[Grade, GradeAmount] = Field(default_factory=dict)
    penalty: dict[Grade, GradeAmount] = Field(default_factory=dict)


class TransferConfig(Rule):
    """Key ecological function area transfer payment (重点生态功能区转移支付, §(八))."""

    programme: str = "key_ecological_function_area_transfer"
    benefit: str = "key_ecological_function_area_transfer"
    level: Literal["district", "township"] = "district"
    key_subsidy: KeySubsidyRule
    prohibited_zones: ProhibitedZoneRule | None = None
    guidance: Rule | None = None
    eco_index: EcoIndexRule | None = None
    budget: BudgetRule | None = None


class DesignationAward(Rule):
    """Award of one demonstration designation: a fixed amount or a weight in the award pool."""

    amount_cny: Decimal | None = None
    weight: float | None = None


class AwardsRule(Rule):
    """Demonstration-designation awards (§(十九)): fixed bonuses and/or a weighted pool."""

    programme: str = "demonstration_awards"
    benefit: str = "demonstration_award"
    level: Literal["district", "township"] = "district"
    pool: BudgetRule | None = None
    designations: dict[str, DesignationAward]


class PerformanceRule(WeightedRule):
    """Performance-evaluation score scaling next year's transfer (§(二十))."""

    score_year: int
    reference_score: float
    floor: float
    cap: float


class EvaluationConfig(Rule):
    """Evaluation-linked allocation: designation awards and performance scaling."""

    awards: AwardsRule | None = None
    performance: PerformanceRule | None = None


class LedgerConfig(Rule):
    """De-duplication ledger (§(七)): one benefit on one area in one year is paid once.

    ``programme_priority``: the first programme claiming a benefit is paid in full. A later
    programme listed in ``top_up`` pays the difference between its own amount and what the
    programmes before it paid (Beijing tops up central payments to its own standard); any
    other later programme is rejected.
    """

    programme_priority: list[str]
    top_up: list[str] = Field(default_factory=list)


class LinkConfig(_Model):
    """A complete linkage configuration."""

    schema_version: Literal[1]
    policy: Policy
    inputs: Inputs = Field(default_factory=Inputs)
    gep_indicators: GepIndicatorRule = GepIndicatorRule(id="gep_indicators")
    indicators: list[IndicatorSpec]
    districts: DistrictStage
    townships: TownshipStage | None = None
    water_two_way: WaterTwoWay | None = None
    horizontal: list[HorizontalAgreement] = Field(default_factory=list)
    forest: ForestConfig | None = None
    cropland: CroplandConfig | None = None
    transfer: TransferConfig | None = None
    evaluation: EvaluationConfig | None = None
    ledger: LedgerConfig | None = None

    def indicator(self, indicator_id: str) -> IndicatorSpec:
        """Return the indicator declared with ``indicator_id``."""
        for spec in self.indicators:
            if spec.id == indicator_id:
                return spec
        raise KeyError(indicator_id)


def _rule_id_at(raw: Any, loc: tuple[int | str, ...]) -> str:
    """Return the id of the innermost rule (a mapping with an ``id``) along ``loc``."""
    rule_id = "config"
    node = raw
    for key in loc:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            rule_id = node["id"]
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    if isinstance(node, dict) and isinstance(node.get("id"), str):
        rule_id = node["id"]
    return rule_id


def problems_from(error: ValidationError, raw: Any) -> list[Problem]:
    """One problem per pydantic error, tagged with the id of the innermost rule."""
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        where = ".".join(str(part) for part in loc) or "config"
        found = item.get("input")
        text = f"{item['msg']}" + (f"; found {found!r}" if not isinstance(found, dict) else "")
        problems.append(
            Problem(_rule_id_at(raw, loc), where, text, "see linkage/examples/policy.yaml")
        )
    return problems


def load_config(path: Path) -> LinkConfig:
    """Read and type-check a policy configuration; resolve input paths against its folder.

    Parameters
    ----------
    path : pathlib.Path
        The YAML file.

    Returns
    -------
    LinkConfig
        The parsed configuration with absolute input paths.

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, or does not have the expected shape; every
        problem is listed with the id of the rule it belongs to.
    """
    if not path.is_file():
        raise ConfigError(
            Problem("config", str(path), "file not found", "give the path of a policy YAML file")
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(Problem("config", str(path), f"not valid YAML: {exc}")) from exc
    if not isinstance(raw, dict):
        raise ConfigError(Problem("config", str(path), "expected a mapping at the top level"))
    try:
        config = LinkConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, raw)) from None
    base = path.resolve().parent
    resolved = {
        name: (base / value if value is not None and not value.is_absolute() else value)
        for name, value in config.inputs.model_dump().items()
    }
    return config.model_copy(update={"inputs": Inputs(**resolved)})
