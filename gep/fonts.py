"""The CJK font of the outputs: Noto Sans CJK SC from the ``mplfonts`` package.

Maps draw Chinese unit names and, in Chinese runs, Chinese titles and legends; the HTML report
and bulletins must show Chinese in a browser that has no CJK font. Neither may depend on a font
installed on the system, so the font comes with a Python dependency: ``mplfonts`` (PyPI) ships
Noto Sans CJK SC Regular (SIL Open Font License 1.1) as a file inside the package.

* Matplotlib gets the font by file path when a map is drawn (:func:`font_rc`): nothing is
  downloaded and matplotlib's font cache is not rebuilt.
* HTML gets a subset of the font with only the characters the page uses, as WOFF in an
  ``@font-face`` rule restricted to CJK code points (:func:`css_font_face`): a report with a
  few hundred distinct Chinese characters carries tens of kilobytes of font, not 16 MB.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import io
from pathlib import Path

from gep.errors import GEPError
from gep.i18n import Language

__all__ = [
    "CJK_FAMILY",
    "CJK_FONT_FILE",
    "CJK_FONT_PACKAGE",
    "cjk_characters",
    "cjk_font_path",
    "css_font_face",
    "font_rc",
    "subset_woff",
]

CJK_FONT_PACKAGE = "mplfonts"
#: The font file, relative to the package's folder.
CJK_FONT_FILE = "fonts/NotoSansCJKsc-Regular.otf"
#: The family name inside that file.
CJK_FAMILY = "Noto Sans CJK SC"
#: Matplotlib's own font, for Latin text in English outputs.
LATIN_FAMILY = "DejaVu Sans"
#: Family name of the subset embedded in HTML pages.
HTML_FAMILY = "GEP Noto Sans CJK SC"
#: Code points the embedded subset is used for (CJK punctuation, ideographs, full-width forms).
CJK_RANGES = ((0x2E80, 0x9FFF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF))


def cjk_font_path() -> Path:
    """Path of the CJK font file inside the installed ``mplfonts`` package.

    The package is found without importing it (its import pulls in a command-line library).

    Raises
    ------
    GEPError
        If the package or the file is missing, with the command that installs it.
    """
    spec = importlib.util.find_spec(CJK_FONT_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / CJK_FONT_FILE
        if path.is_file():
            return path
    raise GEPError(
        f"the CJK font {CJK_FONT_FILE} of the Python package '{CJK_FONT_PACKAGE}' was not found "
        f"(searched {folders or 'no installed package'}); install gep's dependencies: "
        f"pip install {CJK_FONT_PACKAGE}"
    )


@functools.cache
def _registered() -> str:
    """Add the CJK font to matplotlib's font manager once; return its family name."""
    from matplotlib import font_manager

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    return str(font_manager.FontProperties(fname=str(path)).get_name())


def font_rc(language: Language) -> dict[str, list[str]]:
    """Matplotlib settings (for :func:`matplotlib.pyplot.rc_context`) that draw Chinese.

    The font family is a fallback list: Chinese outputs set everything in Noto Sans CJK SC;
    English outputs keep matplotlib's DejaVu Sans and fall back to Noto for the Chinese unit
    names. ``axes.unicode_minus`` stays on: both fonts have U+2212.

    Examples
    --------
    >>> font_rc("zh")["font.family"]
    ['Noto Sans CJK SC', 'DejaVu Sans']
    """
    cjk = _registered()
    order = [cjk, LATIN_FAMILY] if language == "zh" else [LATIN_FAMILY, cjk]
    return {"font.family": order}


def cjk_characters(text: str) -> str:
    """The distinct CJK characters of ``text``, sorted (what an HTML subset must cover).

    Examples
    --------
    >>> cjk_characters("GEP 21.01 亿元，亿元")
    '亿元，'
    """
    distinct = set(text)  # a report's text runs to megabytes (embedded maps): test each once
    return "".join(sorted(c for c in distinct if any(lo <= ord(c) <= hi for lo, hi in CJK_RANGES)))


def subset_woff(characters: str) -> bytes:
    """The CJK font cut down to ``characters``, as WOFF (zlib-compressed, reproducible).

    The font's timestamps are kept (not set to now), so the same characters give the same
    bytes.
    """
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.recalc_timestamp = False
    font = subset.load_font(str(cjk_font_path()), options)
    try:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=characters)
        subsetter.subset(font)
        buffer = io.BytesIO()
        subset.save_font(font, buffer, options)
    finally:
        font.close()
    return buffer.getvalue()


def css_font_face(text: str) -> str:
    """A CSS ``@font-face`` rule embedding the CJK characters of ``text`` (``""`` if none).

    The rule declares :data:`HTML_FAMILY` with a ``unicode-range`` of CJK code points, so a
    page lists that family first and keeps its system fonts for Latin text.
    """
    characters = cjk_characters(text)
    if not characters:
        return ""
    data = base64.b64encode(subset_woff(characters)).decode("ascii")
    ranges = ",".join(f"U+{lo:X}-{hi:X}" for lo, hi in CJK_RANGES)
    return (
        f"@font-face{{font-family:'{HTML_FAMILY}';src:url(data:font/woff;base64,{data}) "
        f"format('woff');unicode-range:{ranges}}}"
    )
