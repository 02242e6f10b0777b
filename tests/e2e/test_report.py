"""The HTML report is self-contained and escapes what it shows."""

from __future__ import annotations

import re

import pandas as pd

from gep.maps import bar_chart
from gep.report import ReportContent, render


def test_report_embeds_images_and_escapes_text(tmp_path):
    png = bar_chart(
        pd.Series([1.0, 2.0], index=["A", "B"]),
        tmp_path / "bar.png",
        title="t",
        ylabel="10⁶ CNY",
        note="SYNTHETIC",
    )
    content = ReportContent(
        title="GEP <test>",
        summary_lines=["a & b"],
        tables=[("GEP", pd.DataFrame({"unit": ["东城区"], "gep_cny": [1234567.891]}))],
        maps=[("bar", png)],
        methods=pd.DataFrame({"service": ["water"], "price_year": [2010]}),
        parameters=pd.DataFrame({"parameter": ["kc"], "value": [0.65]}),
        warnings=["unverified <x>"],
        synthetic_note="SYNTHETIC INPUTS",
    )
    html = render(content)
    assert "GEP &lt;test&gt;" in html and "a &amp; b" in html and "unverified &lt;x&gt;" in html
    assert "1,234,567.89" in html and "东城区" in html
    assert "SYNTHETIC INPUTS" in html
    sources = re.findall(r"src='([^']*)'", html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<th class='t'>unit</th>" in html  # text columns left-aligned
