"""The CJK font comes from the mplfonts package and draws Chinese without missing glyphs."""

from __future__ import annotations

import importlib.util
import io
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from fontTools.ttLib import TTFont  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from gep.fonts import (  # noqa: E402
    CJK_FAMILY,
    CJK_FONT_PACKAGE,
    cjk_font_path,
    css_font_face,
    font_rc,
    subset_woff,
)
from gep.maps import bar_chart  # noqa: E402

CHINESE = "2020年各区生态产品总值（亿元）：密云区 延庆区 汤河口镇"


def test_the_font_file_is_the_packages_not_a_system_font():
    path = cjk_font_path()
    spec = importlib.util.find_spec(CJK_FONT_PACKAGE)
    assert spec is not None and spec.submodule_search_locations
    package = Path(next(iter(spec.submodule_search_locations))).resolve()
    assert path.resolve().is_relative_to(package)
    assert path.stat().st_size > 1_000_000
    assert font_manager.FontProperties(fname=str(path)).get_name() == CJK_FAMILY


@pytest.mark.parametrize("language", ["zh", "en"])
def test_matplotlib_takes_chinese_glyphs_from_the_package_font(language):
    """Whatever else is installed (CI has fonts-wqy-microhei), Chinese comes from Noto."""
    family = font_rc(language)["font.family"]
    found = font_manager.fontManager._find_fonts_by_props(  # the fallback list Agg draws with
        font_manager.FontProperties(family=family)
    )
    paths = [Path(p).resolve() for p in found]
    assert cjk_font_path().resolve() in paths
    assert not any("wqy" in p.name.lower() for p in paths)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_drawing_chinese_warns_of_no_missing_glyph(tmp_path, language):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = bar_chart(
            pd.Series([4.2, 3.9], index=["延庆区", "密云区"]),
            tmp_path / f"bar_{language}.png",
            title=CHINESE,
            ylabel="亿元",
            note="合成输入数据",
            language=language,
        )
    assert path.stat().st_size > 0


def test_without_the_font_the_same_text_would_miss_glyphs(tmp_path):
    """The check above can fail: DejaVu Sans alone has no Chinese glyphs."""
    with plt.rc_context({"font.family": ["DejaVu Sans"]}):
        fig, ax = plt.subplots()
        ax.set_title(CHINESE)
        with pytest.warns(UserWarning, match="missing from font"):
            fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)


def test_html_subset_covers_the_characters_and_is_small_and_reproducible():
    woff = subset_woff("亿元密云区")
    assert woff == subset_woff("亿元密云区")
    font = TTFont(io.BytesIO(woff))
    cmap = font.getBestCmap()
    assert all(ord(c) in cmap for c in "亿元密云区")
    assert ord("镇") not in cmap
    assert len(woff) < 20_000
    assert css_font_face("GEP 2020 only Latin text") == ""
    rule = css_font_face(CHINESE)
    assert rule.startswith("@font-face{") and "data:font/woff;base64," in rule
