"""`language:` switches the report, bulletins, maps and XLSX headings; amounts stay exact."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from gep.bulletin import FONT_FILE, write_bulletins
from gep.config import RunConfig
from gep.exports import write_accounts_xlsx
from gep.report import ReportContent, render
from tests.programmes.test_bulletin import _accounts


def _config(config: RunConfig, language: str) -> RunConfig:
    return config.model_copy(update={"language": language})


def _xlsx(tmp_path: Path, language: str) -> openpyxl.Workbook:
    accounts = _accounts()
    gep = accounts.groupby(["unit_id", "year"], as_index=False)["value_constant_cny"].sum()
    gep = gep.rename(columns={"value_constant_cny": "gep_constant_cny"})
    prices = pd.DataFrame({"service": ["water"], "price_constant_cny": [3.0]})
    path = write_accounts_xlsx(
        accounts, gep, prices, tmp_path / f"{language}.xlsx", notes=["n"], language=language
    )
    return openpyxl.load_workbook(path, read_only=True)


def _first_rows(sheet) -> tuple[list, list]:
    rows = sheet.iter_rows(max_row=2, values_only=True)
    return list(next(rows)), list(next(rows))


def test_xlsx_sheets_and_headings_follow_the_language_values_do_not(tmp_path):
    en, zh = _xlsx(tmp_path, "en"), _xlsx(tmp_path, "zh")
    assert en.sheetnames == ["district", "township", "gep", "units", "prices", "notes"]
    assert zh.sheetnames == ["区", "乡镇街道", "生态产品总值", "核算单元", "价格", "说明"]
    en_head, en_row = _first_rows(en["district"])
    zh_head, zh_row = _first_rows(zh["区"])
    assert "value_constant_cny" in en_head and "不变价价值（元）" in zh_head
    assert en_row == zh_row  # exact yuan, numbers as numbers
    value = zh_row[zh_head.index("不变价价值（元）")]
    assert value == 300  # 100 m³ x 3 CNY: exact yuan, not 万元
    assert _first_rows(zh["生态产品总值"])[0] == ["单元代码", "年份", "生态产品总值，不变价（元）"]
    en.close()
    zh.close()


def test_bulletins_follow_the_language(tmp_path):
    write_bulletins(_accounts(), None, None, tmp_path / "en", synthetic_note=None)
    write_bulletins(_accounts(), None, None, tmp_path / "zh", synthetic_note=None, language="zh")
    en = (tmp_path / "en" / "district" / "D1.md").read_text(encoding="utf-8")
    zh = (tmp_path / "zh" / "district" / "D1.md").read_text(encoding="utf-8")
    assert en.startswith("# GEP bulletin 2020: 怀柔区 (D1)")
    assert "| GEP at constant prices of 2020 | 840.00 CNY |" in en
    assert zh.startswith("# 2020年生态产品总值公报：怀柔区（D1）")
    assert "| 生态产品总值（2020年不变价） | 0.08 万元 |" in zh  # 840 元
    assert "## 2020年价值构成（不变价）" in zh and "| carbon | 0.05 万元 | 57.1% |" in zh
    assert "GEP bulletin" not in zh and "CNY" not in zh
    html = (tmp_path / "zh" / "township" / "T1.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and f"url(../{FONT_FILE})" in html
    assert (tmp_path / "zh" / FONT_FILE).stat().st_size < 100_000


def _content(language: str) -> ReportContent:
    return ReportContent(
        title="GEP 核算",
        summary_lines=["2020年：生态产品总值 21.01 亿元"],
        tables=[("各区", pd.DataFrame({"unit_name": ["东城区"], "gep_constant_cny": [1.5]}))],
        maps=[],
        methods=pd.DataFrame({"service": ["water"], "price_year": [2010]}),
        parameters=pd.DataFrame({"parameter": ["kc"], "value": [0.65]}),
        language=language,
    )


def test_report_headings_follow_the_language_and_embed_the_font():
    en, zh = render(_content("en")), render(_content("zh"))
    for heading in ("Summary", "Methods and prices", "Parameters and their sources"):
        assert f"<h2>{heading}</h2>" in en and heading not in zh
    for heading in ("摘要", "核算方法与价格", "参数及其来源", "数据质量"):
        assert f"<h2>{heading}</h2>" in zh
    assert "<th class='t'>unit_name</th>" in en and "<th class='t'>单元名称</th>" in zh
    for html in (en, zh):
        fonts = re.findall(r"data:font/woff;base64,([A-Za-z0-9+/=]+)", html)
        assert len(fonts) == 1 and len(fonts[0]) < 50_000


@pytest.fixture(scope="module")
def fast_run():
    from gep.pipeline import run_accounts
    from tests.accounts.conftest import _fast_config

    config = _fast_config()
    cat, acc = run_accounts(config)
    return cat, config, acc


@pytest.mark.parametrize("language", ["zh", "en"])
def test_run_report_and_maps_in_the_language(fast_run, tmp_path, language):
    from gep.outputs import write_maps
    from gep.report import run_report_content
    from gep.run import district_summary

    cat, config, acc = fast_run
    config = _config(config, language)
    maps = write_maps(cat, config, acc, None, tmp_path / "maps", lambda _: None)
    summary = district_summary(acc, None, config.years)
    content = run_report_content(cat, config, acc, summary, maps, warnings=[])
    html = render(content)
    captions = [caption for caption, _ in maps]
    if language == "zh":
        assert "2020年各乡镇街道生态产品总值（2020年价格）" in captions
        assert "2020年水源涵养量（立方米/年，每像元）" in captions
        assert content.title.startswith("生态产品总值（GEP）核算与生态保护补偿")
        line = content.summary_lines[1]
        assert re.fullmatch(
            r"2020年，全部区：生态产品总值(【部分核算，缺：.*】)? [\d,.]+ 亿元（2020年不变价）；.*",
            line,
        )
        assert "各区生态产品总值（2020年不变价）" in html and "（亿元）" in html
        assert "合成输入数据（SYNTHETIC INPUTS）" in html
    else:
        assert "GEP per township, 2020 (2020 prices)" in captions
        assert content.title.startswith("GEP accounts and compensation")
        assert re.match(
            r"districts, 2020: GEP( \[PARTIAL .*\])? [\d,.]+ 亿元 \(2020 prices\)",
            content.summary_lines[1],
        )
        assert "GEP per district (constant prices, CNY yr⁻¹)" in html
    assert len(html.encode("utf-8")) < 1.5e6 + sum(p.stat().st_size * 4 / 3 for _, p in maps)
