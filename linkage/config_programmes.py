"""Configuration of the eligibility rule and of the water, horizontal and forest programmes.

Part of :mod:`linkage.config` (re-exported there); kept apart to keep modules small.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from linkage.config_base import Rule, _Model, normalise_declared_weights

__all__ = [
    "AgreementPeriod",
    "AgreementSection",
    "AmountRule",
    "AreaShareRule",
    "BehaviourRule",
    "CoFunder",
    "EcoFlowRule",
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
    "YearOnYearTestRule",
]


class AreaShareRule(Rule):
    """Spatial eligibility: a unit's share inside a declared area (e.g. the mountain area).

    The share is computed on the accounts side (``gep.linkage_inputs``: from a polygon, or from
    DEM elevation and slope thresholds) and handed over in the ``area_shares`` table; linkage
    only reads it. A unit is inside when ``share >= minimum_share``.
    """

    area_id: str = Field(min_length=1)
    area_name: str = ""
    minimum_share: float
    applies_to: list[str] | None = None
    elevation_min_m: float | None = None
    slope_min_deg: float | None = None


class EligibilityRule(Rule):
    """Who may receive a programme: by unit list, by level and by a spatial rule.

    A district listed in ``units`` takes part whole (with all its townships). A unit whose
    level is in ``levels`` takes part whole. A unit tested by ``area`` (every unit, or the
    districts in ``area.applies_to`` and their townships) takes part when its share inside the
    area reaches ``area.minimum_share``; a district of ``area.applies_to`` takes part with its
    eligible townships only (its base factors are theirs, summed).
    """

    article: str = Field(min_length=1)
    description: str = ""
    units: list[str] = Field(default_factory=list)
    levels: list[Literal["district", "township"]] = Field(default_factory=list)
    area: AreaShareRule | None = None


class AmountRule(Rule):
    """A money amount per occurrence; ``None`` means the sourced default."""

    amount_cny: Decimal | None = None


class ImprovementPayRule(Rule):
    """Two-way rule: payment per class better than target (a policy input, no default)."""

    amount_per_class_cny: Decimal
    payer: Literal["downstream", "municipal"]
    require_no_worse_than_inflow: bool


class YearOnYearRule(Rule):
    """Reward per class a section's outflow improved on the same month of last year."""

    amount_per_class_cny: Decimal
    payer: Literal["downstream", "municipal"]


class EcologicalFlowRule(Rule):
    """水流 (2022 rules): payment per section-month whose flow is below its ecological flow."""

    amount_per_month_cny: Decimal


class SewageTaskRule(Rule):
    """水环境 (2022 rules): payment per percentage point of the annual sewage task not done."""

    amount_per_point_cny: Decimal


#: Versioned rule sets of Beijing's two-way water compensation (amounts: ``beijing.yaml``).
WaterRuleSet = Literal["beijing-2014", "beijing-2022"]


class WaterTwoWay(Rule):
    """Two-way water compensation between districts per monitoring section and month.

    ``rule_set`` names the rules the amounts come from: ``beijing-2014`` (北京市水环境区域补偿
    办法（试行）, sourced defaults) or ``beijing-2022`` (北京市水生态区域补偿暂行办法, 京政办发
    〔2022〕31号: every amount must be given). Sections whose downstream party is listed in
    ``outflow_parties`` leave Beijing and settle with the municipal pool.
    """

    rule_set: WaterRuleSet = "beijing-2014"
    deterioration: AmountRule
    no_worse_than_inflow: AmountRule
    worse_than_class_v: AmountRule | None = None
    improvement: ImprovementPayRule | None = None
    year_on_year: YearOnYearRule | None = None
    ecological_flow: EcologicalFlowRule | None = None
    sewage_tasks: SewageTaskRule | None = None
    outflow_parties: list[str] = Field(default_factory=list)
    pollutants: list[str] | None = None
    months: list[int] = Field(default_factory=lambda: list(range(1, 13)))


class QuantityRule(Rule):
    """Horizontal: reward per m3 of inflow above the multi-year mean (多来水、多奖励).

    ``mean_inflow_m3`` is the agreement's baseline, e.g. the mean annual inflow since 2000;
    ``baseline`` says which years it is the mean of (reported on the line).
    """

    mean_inflow_m3: float
    reward_cny_per_m3: Decimal
    baseline: str = ""


class NitrogenRule(Rule):
    """Horizontal: reward per percentage point of total-nitrogen reduction below a baseline."""

    baseline_tn_mg_per_l: float
    reward_cny_per_percent: Decimal
    mean: Literal["flow_weighted", "arithmetic"]


class QualityFloorRule(Rule):
    """Horizontal: deduction for each month the section misses its class (quality floor)."""

    target_class: int
    deduction_cny_per_month: Decimal


class YearOnYearTestRule(Rule):
    """Horizontal (只能更好、不能变差): this year's annual mean of a measure against last year's.

    Worse (higher TN, or a higher mean class) than last year: ``deduction_cny``; otherwise
    ``reward_cny`` (default 0).
    """

    measure: Literal["tn_mg_per_l", "water_class"]
    deduction_cny: Decimal
    reward_cny: Decimal = Decimal(0)


class EcoFlowRule(Rule):
    """Horizontal: deduction per month whose inflow is below the ecological flow volume."""

    min_inflow_m3_per_month: float
    deduction_cny_per_month: Decimal


class AgreementSection(Rule):
    """One monitoring section of an agreement (``section_id`` of the observations)."""

    section_id: str = Field(min_length=1)
    quantity: QuantityRule | None = None
    nitrogen: NitrogenRule | None = None
    quality: QualityFloorRule | None = None
    year_on_year: YearOnYearTestRule | None = None
    ecological_flow: EcoFlowRule | None = None


class BehaviourRule(Rule):
    """Upstream behaviour-control score (上游行为管控): ``amount_cny x score / full_score``."""

    amount_cny: Decimal
    full_score: float = 100.0


class CoFunder(_Model):
    """A party funding a share of the amount due (e.g. Beijing, Hebei, central funds)."""

    party: str = Field(min_length=1)
    share: float


class AgreementPeriod(_Model):
    """The years an agreement runs (inclusive)."""

    first_year: int
    last_year: int


class HorizontalAgreement(Rule):
    """Upstream–downstream agreement (template after Miyun–Chaobai, Guanting–Yongding; §(十)).

    Several ``sections`` (each with its own terms), or the terms at the top level for one
    section; an upstream ``behaviour`` score; ``funders`` sharing the amount due; a ``period``.
    """

    name: str
    upstream_party: str
    downstream_party: str
    sections: list[AgreementSection] = Field(default_factory=list)
    quantity: QuantityRule | None = None
    nitrogen: NitrogenRule | None = None
    quality: QualityFloorRule | None = None
    year_on_year: YearOnYearTestRule | None = None
    ecological_flow: EcoFlowRule | None = None
    behaviour: BehaviourRule | None = None
    funders: list[CoFunder] = Field(default_factory=list)
    period: AgreementPeriod | None = None
    prepayment: AmountRule
    floor_at_zero: bool


ForestFactor = Literal["resource_total", "service_value", "carbon_sink", "development"]


class ForestStandardRule(Rule):
    """Forest standard reviewed on a cycle and indexed by the factors of §(四).

    ``current_cny_per_mu_yr`` (default: the sourced Beijing standard) was set at the review of
    ``review_base_year``; the next review is ``review_interval_years`` later (default: the
    sourced five years). In a review year the standard is the current one times the weighted
    growth of the ``forest_factors`` table since the last review; it does not fall unless
    ``allow_decrease``.
    """

    current_cny_per_mu_yr: Decimal | None = None
    review_base_year: int
    review_interval_years: int | None = None
    allow_decrease: bool = False
    weights_sum: float
    weights: dict[ForestFactor, float]
    declared_weights_sum: float | None = None

    _normalise = model_validator(mode="before")(normalise_declared_weights)


class ForestConfig(Rule):
    """Forest ecological compensation paid per eligible mu."""

    programme: str
    benefit: str = "forest_ecological_benefit"
    standard: ForestStandardRule
