"""Byte-identical files for identical inputs: fixed timestamps inside XLSX (zip) files.

An XLSX file is a zip archive; openpyxl stamps every member with the wall-clock time and
writes the creation and modification times into ``docProps/core.xml``. An auditor comparing
the sha256 of two runs would see differences where nothing changed, so the writers pass their
files through :func:`stabilise_xlsx`, which sets every timestamp to :func:`fixed_timestamp`.

Standard library only (``linkage`` imports nothing geospatial; ``gep`` reuses this module).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
from pathlib import Path

__all__ = ["fixed_timestamp", "stabilise_xlsx"]

#: The timestamp used when ``SOURCE_DATE_EPOCH`` is not set: the zip format's epoch.
DEFAULT_TIMESTAMP = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)

_CORE_TIMES = re.compile(
    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", flags=re.DOTALL
)


def fixed_timestamp() -> dt.datetime:
    """The time written into output files: ``SOURCE_DATE_EPOCH`` if set, else 1980-01-01 UTC.

    ``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) is the reproducible-builds convention
    (https://reproducible-builds.org/specs/source-date-epoch/); values before 1980 are raised
    to 1980, the earliest time a zip member can carry.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("SOURCE_DATE_EPOCH", None) and None
    >>> fixed_timestamp().isoformat()
    '1980-01-01T00:00:00+00:00'
    """
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return DEFAULT_TIMESTAMP
    if not raw.isdigit():
        raise ValueError(
            f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds since 1970-01-01 UTC; "
            "unset it or set it to an integer"
        )
    return max(dt.datetime.fromtimestamp(int(raw), tz=dt.UTC), DEFAULT_TIMESTAMP)


def stabilise_xlsx(path: Path) -> Path:
    """Rewrite an XLSX (zip) file in place with fixed member times and document times.

    Member order, names and contents are kept; each member's time is set to
    :func:`fixed_timestamp`, and so are ``dcterms:created`` and ``dcterms:modified`` in
    ``docProps/core.xml``. The file is rewritten through a temporary sibling and
    :func:`os.replace`.

    Parameters
    ----------
    path : pathlib.Path
        The XLSX file.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    when = fixed_timestamp()
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    date_time = when.timetuple()[:6]
    tmp = path.with_name(f".{path.name}.stable")
    try:
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename == "docProps/core.xml":
                    text = _CORE_TIMES.sub(rf"\g<1>{stamp}\g<3>", data.decode("utf-8"))
                    data = text.encode("utf-8")
                member = zipfile.ZipInfo(info.filename, date_time=date_time)
                member.compress_type = zipfile.ZIP_DEFLATED
                member.external_attr = info.external_attr
                dst.writestr(member, data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
