"""The words of the human-facing outputs in English and Chinese, and how amounts are written.

One flat dictionary per language (:data:`STRINGS`), with the same keys in both (a test checks
it): report and bulletin headings, map titles, legends and axis labels, XLSX sheet names and
column headings, names of levels, GEP categories, programmes and per-pixel quantities. A run
chooses its language with ``language: zh | en`` in the run configuration
(:class:`gep.config.RunConfig`).

Amounts shown to people are written in 亿元 (10⁸ CNY) or 万元 (10⁴ CNY) in Chinese
(:func:`format_yuan`, :func:`yuan_unit`) and as exact CNY in English, as the English outputs
always were; CSV and XLSX values stay exact yuan (元) in both languages.

This module imports nothing of ``gep`` (layer 0): any layer may use it.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from data_catalog.sample import SYNTHETIC_NOTE

__all__ = [
    "LANGUAGES",
    "STRINGS",
    "Language",
    "column_label",
    "format_yuan",
    "is_amount_column",
    "level_label",
    "quantity_label",
    "text",
    "unit_label",
    "yuan_unit",
]

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

#: 1 亿元 and 1 万元 in yuan.
YI_CNY = 1e8
WAN_CNY = 1e4

_EN: dict[str, str] = {
    # amounts
    "unit.yi": "10⁸ CNY",
    "unit.wan": "10⁴ CNY",
    "unit.million": "10⁶ CNY",
    "unit.yuan": "CNY",
    "unit.per_year": "{unit} yr⁻¹",
    # notes
    "synthetic_note": SYNTHETIC_NOTE,
    "synthetic_short": "SYNTHETIC INPUTS (sample region): not data about Beijing",
    # levels, categories
    "level.district": "district",
    "level.township": "township",
    "category.provisioning": "provisioning services",
    "category.regulating": "regulating services (GEP-R)",
    "category.cultural": "cultural services",
    # report
    "report.title": "GEP accounts and compensation: {name}",
    "report.summary": "Summary",
    "report.maps": "Maps",
    "report.methods": "Methods and prices",
    "report.parameters": "Parameters and their sources",
    "report.quality": "Data quality",
    "report.no_warning": "No data-quality warning.",
    "report.table.districts": "GEP per district (constant prices, CNY yr⁻¹)",
    "report.table.categories": (
        "GEP by category and GEP-R per {level} (constant prices, CNY yr⁻¹; 供给 provisioning, "
        "调节 regulating = GEP-R, 文化 cultural)"
    ),
    "report.table.components": "GEP by service component, all {level}s (constant prices)",
    "report.table.service_parameters": "Service parameters set in the run configuration",
    "report.component_year": "{year} (CNY yr-1)",
    "report.gep": "GEP",
    "report.gep_partial": "GEP [PARTIAL 部分核算; missing: {missing}]",
    "report.summary_line": (
        "{level}s, {year}: {label} {total} 亿元 ({base} prices); provisioning 供给 "
        "{provisioning}, regulating 调节 (GEP-R) {regulating}, cultural 文化 {cultural} 亿元"
    ),
    "report.services_line": "services: {services}; years: {years}",
    # maps
    "map.gep.title": "GEP per {level}, {year}",
    "map.gep.legend": "GEP, {unit} yr⁻¹ ({base} prices)",
    "map.gep.caption": "GEP per {level}, {year} ({base} prices)",
    "map.category.title": "GEP, {category}, per {level}, {year}",
    "map.category.legend": "{unit} yr⁻¹ ({base} prices)",
    "map.category.caption": "GEP {category} per {level}, {year} ({base} prices)",
    "map.change.title": "GEP change per {level}, {first}→{last}",
    "map.change.legend": "ΔGEP, {unit} yr⁻¹ ({base} prices)",
    "map.change.caption": "GEP change per {level}, {first}→{last}",
    "map.raster.title": "{quantity}, {year}",
    "map.raster.legend": "{units} per pixel",
    "map.raster.caption": "{name} {year} ({units} per pixel)",
    "map.allocation.title": "Compensation allocated per district",
    "map.allocation.legend": "allocation, {unit}",
    "map.allocation.caption": "Compensation allocated per district",
    "map.bar.title": "Compensation per district",
    "map.bar.caption": "Compensation per district (bar)",
    "map.no_data": "no data",
    "map.north": "N",
    "map.scale": "{length} km",
    # XLSX sheets
    "sheet.gep": "gep",
    "sheet.units": "units",
    "sheet.prices": "prices",
    "sheet.notes": "notes",
    # bulletins
    "bulletin.title": "GEP bulletin {year}: {name} ({unit_id})",
    "bulletin.level": "{level}.",
    "bulletin.level_of": "{level} of {parent}.",
    "bulletin.gep_current": "GEP at current prices",
    "bulletin.gep_constant": "GEP at constant prices of {year}",
    "bulletin.scope": "Scope 核算范围",
    "bulletin.partial": "partial 部分 (missing 缺: {missing})",
    "bulletin.complete": "complete 完整",
    "bulletin.category.provisioning": "provisioning services 供给服务",
    "bulletin.category.regulating": "regulating services 调节服务 (GEP-R)",
    "bulletin.category.cultural": "cultural services 文化服务",
    "bulletin.change_constant": "Change since {previous} at constant prices",
    "bulletin.change_current": "Change at current prices {previous}-{year}",
    "bulletin.volume_effect": "  of which volume effect (Σ p0 Δq)",
    "bulletin.price_effect": "  of which price effect (Σ q1 Δp)",
    "bulletin.indices": "Volume index, price index",
    "bulletin.not_applicable": "n/a",
    "bulletin.total_received": "total received",
    "bulletin.item": "item",
    "bulletin.value": "value",
    "bulletin.composition": "Composition {year} (constant prices)",
    "bulletin.service": "service",
    "bulletin.amount": "CNY",
    "bulletin.share": "share",
    "bulletin.drivers": "Main drivers of the change (constant prices)",
    "bulletin.change": "change (CNY)",
    "bulletin.compensation": "Compensation received {year}",
    "bulletin.programme": "programme",
    "bulletin.no_compensation": "No compensation recorded for this unit.",
    "bulletin.stage": "{label} ({stage} stage)",
    "programme.amount_fen": "GEP-linked eco-conservation compensation",
    "programme.water_two_way_net_fen": "two-way water compensation (net)",
    "programme.beijing_mountain_forest": "mountain ecological public-welfare forest",
    "programme.cropland_protection": "cropland protection compensation",
    "programme.key_ecological_function_area_transfer": "key ecological function area transfer",
    "programme.demonstration_awards": "demonstration-designation awards",
    # per-pixel quantities (map titles)
    "quantity.water_conserved": "water conserved",
    "quantity.water_yield": "water yield",
    "quantity.co2_sequestration": "CO₂ sequestration",
    "quantity.co2_sequestration_stock_change": "CO₂ sequestration (carbon stock change)",
    "quantity.soil_retention": "soil retention",
    "quantity.avoided_export": "avoided sediment export",
    "quantity.sediment_export": "sediment export",
    "quantity.oxygen_release": "oxygen release",
    "quantity.transpiration_cooling_energy": "transpiration cooling energy",
    "quantity.water_evaporation_energy": "water evaporation cooling energy",
    "quantity.vegetation_flood_storage": "vegetation flood storage",
    "quantity.sulphur_dioxide_purification_capacity": "sulphur dioxide purification capacity",
    "quantity.nitrogen_oxides_purification_capacity": "nitrogen oxides purification capacity",
    "quantity.dust_purification_capacity": "dust purification capacity",
    "quantity.cod_purification_capacity": "COD purification capacity",
    "quantity.ammonia_nitrogen_purification_capacity": "ammonia nitrogen purification capacity",
    "quantity.total_phosphorus_purification_capacity": "total phosphorus purification capacity",
}

_ZH: dict[str, str] = {
    "unit.yi": "亿元",
    "unit.wan": "万元",
    "unit.million": "百万元",
    "unit.yuan": "元",
    "unit.per_year": "{unit}/年",
    "synthetic_note": (
        "合成输入数据（SYNTHETIC INPUTS）：样例区域的栅格、乡镇街道边界和指标表均为合成数据"
        "（由 data_catalog/sample/make_sample.py 生成），只有区界以及乡镇街道的代码和名称是真实的。"
        "结果仅供演示，不反映北京的实际情况。"
    ),
    "synthetic_short": "合成输入数据（样例区域）：不反映北京的实际情况",
    "level.district": "区",
    "level.township": "乡镇街道",
    "category.provisioning": "供给服务",
    "category.regulating": "调节服务（GEP-R）",
    "category.cultural": "文化服务",
    "report.title": "生态产品总值（GEP）核算与生态保护补偿：{name}",
    "report.summary": "摘要",
    "report.maps": "地图",
    "report.methods": "核算方法与价格",
    "report.parameters": "参数及其来源",
    "report.quality": "数据质量",
    "report.no_warning": "无数据质量警告。",
    "report.table.districts": "各区生态产品总值（{base}年不变价）",
    "report.table.categories": "各{level}生态产品总值分类及调节服务价值 GEP-R（{base}年不变价）",
    "report.table.components": "全部{level}各服务组分的价值（{base}年不变价）",
    "report.table.service_parameters": "运行配置中设定的服务参数",
    "report.component_year": "{year}年（{unit}/年）",
    "report.gep": "生态产品总值",
    "report.gep_partial": "生态产品总值【部分核算，缺：{missing}】",
    "report.summary_line": (
        "{year}年，全部{level}：{label} {total} 亿元（{base}年不变价）；其中供给服务 "
        "{provisioning} 亿元，调节服务（GEP-R）{regulating} 亿元，文化服务 {cultural} 亿元"
    ),
    "report.services_line": "核算服务：{services}；年份：{years}",
    "map.gep.title": "{year}年各{level}生态产品总值（GEP）",
    "map.gep.legend": "GEP，{unit}/年（{base}年价格）",
    "map.gep.caption": "{year}年各{level}生态产品总值（{base}年价格）",
    "map.category.title": "{year}年各{level}{category}价值",
    "map.category.legend": "{unit}/年（{base}年价格）",
    "map.category.caption": "{year}年各{level}{category}价值（{base}年价格）",
    "map.change.title": "{first}—{last}年各{level}生态产品总值变化",
    "map.change.legend": "GEP变化，{unit}/年（{base}年价格）",
    "map.change.caption": "{first}—{last}年各{level}生态产品总值变化（{base}年价格）",
    "map.raster.title": "{year}年{quantity}",
    "map.raster.legend": "{units}（每像元）",
    "map.raster.caption": "{year}年{quantity}（{units}，每像元）",
    "map.allocation.title": "各区生态保护补偿资金分配",
    "map.allocation.legend": "补偿资金，{unit}",
    "map.allocation.caption": "各区生态保护补偿资金分配",
    "map.bar.title": "各区生态保护补偿资金",
    "map.bar.caption": "各区生态保护补偿资金（柱状图）",
    "map.no_data": "无数据",
    "map.north": "北",
    "map.scale": "{length} 千米",
    "sheet.gep": "生态产品总值",
    "sheet.units": "核算单元",
    "sheet.prices": "价格",
    "sheet.notes": "说明",
    "bulletin.title": "{year}年生态产品总值公报：{name}（{unit_id}）",
    "bulletin.level": "{level}。",
    "bulletin.level_of": "{level}，上级单元：{parent}。",
    "bulletin.gep_current": "生态产品总值（当年价）",
    "bulletin.gep_constant": "生态产品总值（{year}年不变价）",
    "bulletin.scope": "核算范围",
    "bulletin.partial": "部分核算（缺：{missing}）",
    "bulletin.complete": "完整",
    "bulletin.category.provisioning": "供给服务",
    "bulletin.category.regulating": "调节服务（GEP-R）",
    "bulletin.category.cultural": "文化服务",
    "bulletin.change_constant": "较{previous}年变化（不变价）",
    "bulletin.change_current": "{previous}—{year}年变化（当年价）",
    "bulletin.volume_effect": "  其中物量效应（Σ p0 Δq）",
    "bulletin.price_effect": "  其中价格效应（Σ q1 Δp）",
    "bulletin.indices": "物量指数，价格指数",
    "bulletin.not_applicable": "不适用",
    "bulletin.total_received": "合计",
    "bulletin.item": "项目",
    "bulletin.value": "数值",
    "bulletin.composition": "{year}年价值构成（不变价）",
    "bulletin.service": "服务",
    "bulletin.amount": "价值",
    "bulletin.share": "占比",
    "bulletin.drivers": "变化的主要来源（不变价）",
    "bulletin.change": "变化",
    "bulletin.compensation": "{year}年获得的生态保护补偿",
    "bulletin.programme": "补偿项目",
    "bulletin.no_compensation": "本单元无补偿记录。",
    "bulletin.stage": "{label}（{stage}层级）",
    "programme.amount_fen": "与GEP挂钩的生态保护补偿",
    "programme.water_two_way_net_fen": "水环境区域双向补偿（净额）",
    "programme.beijing_mountain_forest": "山区生态公益林补偿",
    "programme.cropland_protection": "耕地保护补偿",
    "programme.key_ecological_function_area_transfer": "重点生态功能区转移支付",
    "programme.demonstration_awards": "示范创建奖励",
    "quantity.water_conserved": "水源涵养量",
    "quantity.water_yield": "产水量",
    "quantity.co2_sequestration": "固碳量（CO₂）",
    "quantity.co2_sequestration_stock_change": "固碳量（碳储量变化法，CO₂）",
    "quantity.soil_retention": "土壤保持量",
    "quantity.avoided_export": "减少泥沙输出量",
    "quantity.sediment_export": "泥沙输出量",
    "quantity.oxygen_release": "释氧量",
    "quantity.transpiration_cooling_energy": "植被蒸腾降温耗能",
    "quantity.water_evaporation_energy": "水面蒸发降温耗能",
    "quantity.vegetation_flood_storage": "植被洪水调蓄量",
    "quantity.sulphur_dioxide_purification_capacity": "二氧化硫净化量",
    "quantity.nitrogen_oxides_purification_capacity": "氮氧化物净化量",
    "quantity.dust_purification_capacity": "粉尘净化量",
    "quantity.cod_purification_capacity": "化学需氧量（COD）净化量",
    "quantity.ammonia_nitrogen_purification_capacity": "氨氮净化量",
    "quantity.total_phosphorus_purification_capacity": "总磷净化量",
}

#: Column headings of the XLSX sheets and report tables. English keeps the CSV names (what
#: scripts read); ``{unit}`` marks an amount of money, whose unit the report may scale.
_COLUMNS_ZH: dict[str, str] = {
    "unit_id": "单元代码",
    "unit_name": "单元名称",
    "level": "层级",
    "parent_id": "上级单元代码",
    "year": "年份",
    "service": "服务",
    "component": "组分",
    "category": "类别",
    "quantity": "实物量",
    "quantity_unit": "实物量单位",
    "quantity_name": "实物量名称",
    "value_current_cny": "当年价价值（{unit}）",
    "value_constant_cny": "不变价价值（{unit}）",
    "price_year": "价格年份",
    "price_item": "价格项目",
    "factor": "折算系数",
    "price_current_cny": "当年价单价（元/计价单位）",
    "price_constant_cny": "不变价单价（元/计价单位）",
    "price_unit": "计价单位",
    "price_observed_year": "价格观测年份",
    "price_source": "价格来源",
    "price_confidence": "价格可信度",
    "base_year": "不变价基准年",
    "deflator": "价格指数",
    "valid_fraction": "有效数据比例",
    "area_km2": "面积（平方千米）",
    "gep_current_cny": "生态产品总值，当年价（{unit}）",
    "gep_constant_cny": "生态产品总值，不变价（{unit}）",
    "gep_constant_cny_per_km2": "单位面积生态产品总值，不变价（{unit}/平方千米）",
    "gep_provisioning_constant_cny": "供给服务价值，不变价（{unit}）",
    "gep_regulating_constant_cny": "调节服务价值，不变价（{unit}）",
    "gep_cultural_constant_cny": "文化服务价值，不变价（{unit}）",
    "gep_r_constant_cny": "GEP-R，不变价（{unit}）",
    "gep_scope": "核算范围",
    "gep_missing": "缺项",
    "change_constant_cny": "变化，不变价（{unit}）",
    "change_current_cny": "变化，当年价（{unit}）",
    "change_cny": "变化（{unit}）",
    "volume_effect_cny": "物量效应（{unit}）",
    "allocation_cny": "补偿资金（{unit}）",
    "ecosystem_type": "生态系统类型",
    "parameter": "参数",
    "value": "数值",
    "unit": "单位",
    "confidence": "可信度",
    "source": "来源",
    "note": "说明",
}
#: Amount columns named by year: ``gep_2020_cny``.
_YEAR_AMOUNT = re.compile(r"gep_(\d{4})_cny")

for _column, _label in _COLUMNS_ZH.items():
    _EN[f"column.{_column}"] = _column
    _ZH[f"column.{_column}"] = _label

#: The words of each language; every key is in both.
STRINGS: dict[Language, dict[str, str]] = {"en": _EN, "zh": _ZH}


def text(language: Language, key: str, /, **fields: object) -> str:
    """The string ``key`` in ``language``, its ``{fields}`` filled in.

    Parameters
    ----------
    language : {"en", "zh"}
        Output language.
    key : str
        Key of :data:`STRINGS` (``"report.summary"``, ``"map.gep.title"``, ...).
    **fields
        Values of the string's ``{placeholders}``.

    Examples
    --------
    >>> text("zh", "map.gep.title", level="乡镇街道", year=2020)
    '2020年各乡镇街道生态产品总值（GEP）'
    >>> text("en", "map.gep.title", level="township", year=2020)
    'GEP per township, 2020'
    """
    return STRINGS[language][key].format(**fields)


def format_yuan(amount_cny: float, language: Language) -> str:
    """An amount of money for people: 亿元 or 万元 in Chinese, exact CNY in English.

    Chinese uses 亿元 (10⁸ CNY) when ``|amount| ≥ 1e8`` and 万元 (10⁴ CNY) otherwise, with two
    decimals; English keeps the exact amount to the fen, as the English outputs always did.

    Parameters
    ----------
    amount_cny : float
        Amount in yuan (CNY).
    language : {"en", "zh"}
        Output language.

    Returns
    -------
    str
        The amount with its unit.

    Examples
    --------
    >>> format_yuan(2_100_726_068.31, "zh")
    '21.01 亿元'
    >>> format_yuan(-3_456_789.0, "zh")
    '-345.68 万元'
    >>> format_yuan(2_100_726_068.31, "en")
    '2,100,726,068.31 CNY'
    """
    if language == "en":
        return f"{amount_cny:,.2f} {_EN['unit.yuan']}"
    divisor, unit = yuan_unit(abs(amount_cny), language)
    return f"{amount_cny / divisor:,.2f} {unit}"


def yuan_unit(largest_cny: float, language: Language) -> tuple[float, str]:
    """Divisor and unit for amounts up to ``largest_cny`` (a column, a legend).

    Chinese: 亿元 when ``largest_cny ≥ 1e8``, else 万元; English: 10⁶ CNY (the unit the
    English map legends always used).

    Examples
    --------
    >>> yuan_unit(2.1e9, "zh")
    (100000000.0, '亿元')
    >>> yuan_unit(5e6, "zh")
    (10000.0, '万元')
    >>> yuan_unit(5e6, "en")
    (1000000.0, '10⁶ CNY')
    """
    if language == "en":
        return 1e6, _EN["unit.million"]
    if largest_cny >= YI_CNY:
        return YI_CNY, _ZH["unit.yi"]
    return WAN_CNY, _ZH["unit.wan"]


def level_label(level: str, language: Language) -> str:
    """Name of a level of units (``district`` → 区); an unknown level as it is.

    Examples
    --------
    >>> level_label("township", "zh"), level_label("township", "en"), level_label("村", "zh")
    ('乡镇街道', 'township', '村')
    """
    return STRINGS[language].get(f"level.{level}", level)


def quantity_label(name: str, language: Language) -> str:
    """Name of a per-pixel quantity (``water_conserved`` → 水源涵养量).

    An unknown quantity is shown by its name with spaces for underscores.

    Examples
    --------
    >>> quantity_label("water_conserved", "zh"), quantity_label("new_thing", "zh")
    ('水源涵养量', 'new thing')
    """
    return STRINGS[language].get(f"quantity.{name}", name.replace("_", " "))


def is_amount_column(column: str) -> bool:
    """Whether a table column (by its CSV name) holds amounts of money in yuan.

    Examples
    --------
    >>> is_amount_column("gep_constant_cny"), is_amount_column("price_current_cny")
    (True, False)
    >>> is_amount_column("gep_2020_cny")
    True
    """
    return "{unit}" in _COLUMNS_ZH.get(column, "") or bool(_YEAR_AMOUNT.fullmatch(column))


def column_label(column: str, language: Language, *, unit: str | None = None) -> str:
    """Heading of a table column (CSV name) in ``language``.

    English keeps the CSV name. Chinese names the column and, for amounts, the unit: 元
    unless ``unit`` names another (the report shows 万元 or 亿元). A column gep does not
    know keeps its name.

    Examples
    --------
    >>> column_label("gep_constant_cny", "zh")
    '生态产品总值，不变价（元）'
    >>> column_label("gep_2020_cny", "zh", unit="亿元")
    '2020年生态产品总值（亿元）'
    >>> column_label("gep_constant_cny", "en"), column_label("other", "zh")
    ('gep_constant_cny', 'other')
    """
    if language == "en":
        return column
    unit = unit or _ZH["unit.yuan"]
    year = _YEAR_AMOUNT.fullmatch(column)
    if year:
        return f"{year.group(1)}年生态产品总值（{unit}）"
    return _ZH.get(f"column.{column}", column).format(unit=unit)


_ZH_UNIT_WORDS = {
    "m3": "立方米",
    "m2": "平方米",
    "km2": "平方千米",
    "ha": "公顷",
    "mm": "毫米",
    "t": "吨",
    "kg": "千克",
    "kWh": "千瓦时",
    "MJ": "兆焦",
    "CO2": "CO₂",
}


def unit_label(units: str, language: Language) -> str:
    """A UDUNITS-style unit (``m3 yr-1``) for people.

    Examples
    --------
    >>> unit_label("m3 yr-1", "zh"), unit_label("t yr-1", "zh"), unit_label("m3 yr-1", "en")
    ('立方米/年', '吨/年', 'm3 yr-1')
    """
    if language == "en":
        return units
    words = units.split()
    per_year = "yr-1" in words
    base = "".join(_ZH_UNIT_WORDS.get(w, w) for w in words if w != "yr-1")
    return f"{base}/年" if per_year else base
