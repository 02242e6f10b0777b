"""The two languages are complete, amounts are written as documented, configs choose one."""

from __future__ import annotations

import pytest
import yaml

from gep.config import RunConfig, demo_config_path, load_run_config
from gep.errors import InputError
from gep.i18n import LANGUAGES, STRINGS, column_label, format_yuan, is_amount_column, text


def test_every_key_is_in_both_languages_and_filled():
    keys = {language: set(STRINGS[language]) for language in LANGUAGES}
    assert LANGUAGES == ("en", "zh")
    assert keys["en"] == keys["zh"], keys["en"] ^ keys["zh"]
    for language in LANGUAGES:
        assert all(value.strip() for value in STRINGS[language].values()), language


@pytest.mark.parametrize(
    ("amount", "language", "shown"),
    [
        (2_100_726_068.31, "zh", "21.01 亿元"),
        (100_000_000.0, "zh", "1.00 亿元"),
        (99_999_999.0, "zh", "10,000.00 万元"),
        (-2_500_000.0, "zh", "-250.00 万元"),
        (840.0, "zh", "0.08 万元"),
        (2_100_726_068.31, "en", "2,100,726,068.31 CNY"),
    ],
)
def test_format_yuan(amount, language, shown):
    assert format_yuan(amount, language) == shown


def test_xlsx_headings_keep_csv_names_in_english_and_name_the_unit_in_chinese():
    assert column_label("value_constant_cny", "en") == "value_constant_cny"
    assert column_label("value_constant_cny", "zh") == "不变价价值（元）"
    assert is_amount_column("value_constant_cny") and not is_amount_column("price_constant_cny")
    labels = [column_label(key.removeprefix("column."), "zh") for key in STRINGS["zh"]]
    headings = [label for key, label in zip(STRINGS["zh"], labels, strict=True) if "column." in key]
    assert len(headings) == len(set(headings)), "two columns would share a Chinese heading"


def test_titles_differ_between_languages():
    en = text("en", "report.summary")
    zh = text("zh", "report.summary")
    assert (en, zh) == ("Summary", "摘要")


def test_language_defaults_to_english_and_the_demo_is_chinese():
    assert load_run_config(demo_config_path()).language == "zh"
    raw = yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))
    raw.pop("language")
    assert RunConfig.model_validate(raw).language == "en"


def test_another_language_is_refused_naming_the_field(tmp_path):
    raw = yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))
    raw["language"] = "fr"
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match=r"language: Input should be 'en' or 'zh'"):
        load_run_config(path)
