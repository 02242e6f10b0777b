"""InVEST compatibility: run our implementation on InVEST 3.20 inputs (args file + tables).

People moving from InVEST bring an args file (a bare ``args`` dict as JSON, or an InVEST
datastack ``.invs.json`` holding ``args``) and InVEST-style biophysical tables.
:func:`run_invest` reads them, checks everything InVEST would reject (and a few things it
silently gets wrong) *before* any work, runs our kernels and writes InVEST-named per-pixel
rasters plus ``summary.json`` with totals in named units.

Deliberate differences from InVEST (each is also written into ``summary.json`` ``notes``):

- **Alignment.** InVEST resamples inputs onto one grid (AWY: ``near`` onto the LULC grid; SDR:
  bilinear/mode onto the DEM grid). We do not resample silently: every raster must share the
  reference raster's CRS and pixel size and lie on its pixel lattice; extents may differ and
  are intersected (InVEST's ``intersection`` mode, including the watersheds' bounding box,
  snapped to the reference grid as pygeoprocessing does). Anything else is an error that says
  how to resample (``gdalwarp -tap -tr ... -r ...``).
- **Nodata.** A raster without a nodata value is accepted (InVEST accepts it too), but values
  outside the physical range (negative precipitation, PAWC > 1 ...) are an error that points
  at a likely undeclared sentinel, instead of producing wrong numbers (natcap/invest#907).
- **Carbon change of exactly −1 t C/ha.** InVEST uses −1 as the nodata of ``c_change`` and
  drops such pixels from its totals; we keep them. ``change_tC`` is the correct sum; the
  InVEST-convention value is reported beside it when the two differ.
- **Water yield volumes.** ``watersheds`` holds InVEST's ``wyield_vol`` (mean yield × polygon
  area); ``watersheds_pixel_sum_m3`` holds the accounting form (Σ pixel volumes).
- **Files.** Per-pixel outputs are tiled (512²) ZSTD GeoTIFFs, as InVEST writes tiled
  GeoTIFFs (it uses LZW): ZSTD level 1 is smaller and several times faster to write. InVEST's
  intermediate rasters (per-pool carbon, Kc, root depth ...) are not written.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from data_catalog.grid import Grid
from gep import fastio
from gep.errors import CRSError, GridMismatchError, InputError, MissingClassError
from gep.kernels import lookup, reductions

Progress = Callable[[str], None] | None

#: Accepted model names → canonical InVEST model id.
MODEL_ALIASES = {
    "carbon": "carbon",
    "natcap.invest.carbon": "carbon",
    "annual_water_yield": "annual_water_yield",
    "awy": "annual_water_yield",
    "natcap.invest.annual_water_yield": "annual_water_yield",
    "sdr": "sdr",
    "natcap.invest.sdr.sdr": "sdr",
    "natcap.invest.sdr": "sdr",
}

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


# ----------------------------------------------------------------------------------------------
# args files


def load_args(args_path: Path) -> tuple[dict[str, Any], str | None]:
    """Read an InVEST args file: a bare args dict, or a datastack with an ``args`` entry.

    Relative paths are resolved against the args file's folder, as InVEST does for datastacks.

    Parameters
    ----------
    args_path : pathlib.Path
        ``*.json`` or ``*.invs.json``.

    Returns
    -------
    args : dict
        The args with relative paths made absolute.
    model_id : str or None
        The model named in a datastack (``model_id`` or ``model_name``), if any.

    Raises
    ------
    InputError
        If the file is missing, not JSON, or not an object.
    """
    args_path = Path(args_path)
    if not args_path.is_file():
        raise InputError(f"args file not found: {args_path}")
    try:
        raw = json.loads(args_path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{args_path} is not valid JSON ({exc}); save the args as JSON") from exc
    if not isinstance(raw, dict):
        raise InputError(f"{args_path}: expected a JSON object of args, found {type(raw).__name__}")
    model_id = None
    if isinstance(raw.get("args"), dict):
        model_id = raw.get("model_id") or raw.get("model_name")
        raw = raw["args"]
    base = args_path.resolve().parent
    args = {key: _resolve_path(key, value, base) for key, value in raw.items()}
    return args, (str(model_id) if model_id else None)


def _resolve_path(key: str, value: Any, base: Path) -> Any:
    if key.endswith("_path") and isinstance(value, str) and value.strip():
        path = Path(value.strip()).expanduser()
        return path if path.is_absolute() else (base / path).resolve()
    return value


# ----------------------------------------------------------------------------------------------
# declarative arg checks (InVEST's validate(), with our messages)


@dataclass(frozen=True)
class Arg:
    """One InVEST arg: kind, when it is required, and its condition.

    ``kind`` is one of ``raster``, ``vector``, ``csv``, ``number``, ``integer``, ``ratio``,
    ``bool``, ``option``. ``required`` is True/False or the name of a bool arg that makes it
    required. ``minimum`` (with ``exclusive``) bounds numbers; ``choices`` lists options.
    """

    key: str
    kind: str
    required: bool | str = True
    minimum: float | None = None
    exclusive: bool = False
    choices: tuple[str, ...] = ()
    about: str = ""


def check_args(specs: tuple[Arg, ...], args: Mapping[str, Any], args_path: Path) -> dict[str, Any]:
    """Coerce and check args like InVEST's ``validate`` and report every problem at once.

    Returns
    -------
    dict
        Coerced values (paths as :class:`~pathlib.Path`, numbers as float, integers as int,
        flags as bool, options lower-case); absent optional args are ``None``.

    Raises
    ------
    InputError
        Listing each problem as ``key: what is wrong (fix)``.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in specs:  # bools first so conditional requirements can be evaluated
        if spec.kind == "bool":
            values[spec.key] = _coerce_bool(spec, args.get(spec.key), problems)
    for spec in specs:
        if spec.kind == "bool":
            continue
        raw = args.get(spec.key)
        required = (
            spec.required if isinstance(spec.required, bool) else bool(values.get(spec.required))
        )
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            values[spec.key] = None
            if required:
                problems.append(f"{spec.key}: is required but has no value ({spec.about}); add it")
            continue
        values[spec.key] = _coerce(spec, raw, problems)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise InputError(f"{args_path}: {len(problems)} problem(s) in the InVEST args:\n{lines}")
    return values


def _coerce_bool(spec: Arg, raw: Any, problems: list[str]) -> bool:
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    problems.append(f"{spec.key}: {raw!r} is not a boolean; use true or false")
    return False


def _coerce(spec: Arg, raw: Any, problems: list[str]) -> Any:
    if spec.kind in ("raster", "vector", "csv"):
        path = Path(raw)
        if not path.is_file():
            problems.append(f"{spec.key}: file not found: {path}; check the path")
        return path
    if spec.kind == "option":
        text = str(raw).strip().lower()
        if text not in spec.choices:
            problems.append(f"{spec.key}: value {raw!r} must be one of {list(spec.choices)}")
        return text
    try:
        number = float(raw)
    except (TypeError, ValueError):
        problems.append(f'{spec.key}: value "{raw}" could not be interpreted as a number')
        return None
    if spec.kind == "integer":
        if not float(number).is_integer():
            problems.append(f'{spec.key}: value "{raw}" does not represent an integer')
        return int(number)
    _check_number(spec, number, problems)
    return number


def _check_number(spec: Arg, number: float, problems: list[str]) -> None:
    if not math.isfinite(number):
        problems.append(f"{spec.key}: value {number} is not a finite number")
    elif spec.kind == "ratio" and not 0.0 <= number <= 1.0:
        problems.append(f"{spec.key}: value {number} is not in the range [0, 1]")
    elif spec.minimum is not None:
        if number < spec.minimum or (spec.exclusive and number == spec.minimum):
            op = ">" if spec.exclusive else ">="
            problems.append(
                f"{spec.key}: value {number} does not meet the condition value {op} {spec.minimum}"
            )


# ----------------------------------------------------------------------------------------------
# rasters: grids, alignment, windows, reading


@dataclass
class RasterLayer:
    """A raster arg to read on the common grid."""

    key: str
    path: Path
    name: str
    categorical: bool = False
    units: str | None = None
    valid_range: tuple[float, float] | None = None


@dataclass
class Frame:
    """The common grid of a run and the window of each raster on it."""

    grid: Grid
    windows: dict[str, tuple[slice, slice]] = field(default_factory=dict)

    @property
    def pixel_area_m2(self) -> float:
        """Area of one pixel (projected grids have one area)."""
        return float(self.grid.cell_area_m2()[0, 0])


def raster_grid(key: str, path: Path) -> Grid:
    """Grid of a raster arg, requiring a projected CRS with a linear unit.

    Raises
    ------
    InputError, CRSError
        Unreadable file; no CRS; geographic CRS.
    """
    try:
        grid = Grid.from_file(path)
    except CRSError as exc:
        raise CRSError(f"{key}: {exc}") from None
    except Exception as exc:  # rasterio raises several types for unreadable files
        raise InputError(f"{key}: {path} could not be opened as a GDAL raster ({exc})") from exc
    if grid.is_geographic:
        raise CRSError(
            f"{key}: {path} is in a geographic CRS ({grid.crs.name}); InVEST and gep need a "
            "projected CRS in metres. Reproject it, e.g. gdalwarp -t_srs EPSG:32650 (UTM 50N)"
        )
    grid.linear_unit_factor()  # CRSError when the axis unit is not a length
    return grid


def common_frame(
    reference: str,
    grids: Mapping[str, Grid],
    paths: Mapping[str, Path],
    *,
    bbox: tuple[float, float, float, float] | None = None,
    resampling: Mapping[str, str] | None = None,
) -> Frame:
    """Intersect rasters on the reference raster's pixel lattice (pygeoprocessing style).

    The target bounding box is the intersection of every raster's bounds and ``bbox``; its
    lower-left corner is snapped down onto the reference lattice and its size rounded to whole
    pixels (``align_and_resize_raster_stack`` with ``raster_align_index``).

    Raises
    ------
    GridMismatchError
        A raster in another CRS, with another pixel size, or off the reference lattice; the
        message names the resampling InVEST would have applied and how to do it beforehand.
    """
    ref = grids[reference]
    resx, resy = ref.res
    left, bottom, right, top = ref.bounds
    for key, grid in grids.items():
        _check_lattice(key, grid, reference, ref, paths, (resampling or {}).get(key, "near"))
        b = grid.bounds
        left, bottom, right, top = (
            max(left, b[0]),
            max(bottom, b[1]),
            min(right, b[2]),
            min(top, b[3]),
        )
    if bbox is not None:
        left, bottom = max(left, bbox[0]), max(bottom, bbox[1])
        right, top = min(right, bbox[2]), min(top, bbox[3])
    if right <= left or top <= bottom:
        listing = "; ".join(f"{k}: {g.bounds}" for k, g in grids.items())
        raise InputError(
            "the spatial layers do not overlap each other; all bounding boxes must intersect: "
            f"{listing}" + (f"; watersheds: {bbox}" if bbox else "")
        )
    ref_left, ref_bottom, _, ref_top = ref.bounds
    left = ref_left + int((left - ref_left) / resx) * resx
    bottom = ref_bottom + int((bottom - ref_bottom) / resy) * resy
    cols = int((right - left) / resx + 0.5)
    rows = int((top - bottom) / resy + 0.5)
    top = bottom + rows * resy
    transform = ref.transform.__class__(resx, 0.0, left, 0.0, -resy, top)
    frame = Frame(Grid(ref.crs, transform, (rows, cols)))
    for key, grid in grids.items():
        g_left, _, _, g_top = grid.bounds
        c0 = int(round((left - g_left) / resx))
        r0 = int(round((g_top - top) / resy))
        frame.windows[key] = (slice(r0, r0 + rows), slice(c0, c0 + cols))
    return frame


def _check_lattice(
    key: str, grid: Grid, ref_key: str, ref: Grid, paths: Mapping[str, Path], method: str
) -> None:
    how = (
        f"InVEST would resample it ('{method}') onto the grid of {ref_key}; do that first, e.g. "
        f"gdalwarp -t_srs '{ref.crs.to_string()}' -tr {ref.res[0]} {ref.res[1]} -tap -r {method} "
        f"{paths[key]} aligned.tif"
    )
    if grid.crs != ref.crs:
        raise GridMismatchError(
            f"{key}: CRS {grid.crs.to_string()} differs from {ref.crs.to_string()} of {ref_key}; {how}"
        )
    if not np.allclose(grid.res, ref.res, rtol=1e-9, atol=0):
        raise GridMismatchError(
            f"{key}: pixel size {grid.res} differs from {ref.res} of {ref_key}; {how}"
        )
    for offset, res in (
        (grid.bounds[0] - ref.bounds[0], ref.res[0]),
        (grid.bounds[3] - ref.bounds[3], ref.res[1]),
    ):
        shift = offset / res
        if abs(shift - round(shift)) > 1e-6:
            raise GridMismatchError(
                f"{key}: pixels are offset by {shift - round(shift):+.4f} pixel from those of {ref_key}; {how}"
            )


@dataclass
class Layer:
    """A raster arg read on the frame: values (NaN for nodata; class codes kept) and nodata."""

    values: np.ndarray
    nodata: int | None = None


def read_layer(layer: RasterLayer, frame: Frame) -> Layer:
    """Read a raster arg on the frame's window and check its values' physical range.

    Continuous layers keep the file's float precision (float32 stays float32, as InVEST
    computes) with NaN for nodata; categorical layers keep their integer codes and nodata.

    Raises
    ------
    InputError
        Values outside ``layer.valid_range`` (usually an undeclared nodata sentinel), or
        fractional class codes.
    """
    band = fastio.read_band(
        layer.path, name=layer.name, window=frame.windows[layer.key], categorical=layer.categorical
    )
    if layer.categorical:
        return Layer(*_integer_codes(layer, band.values, band.nodata))
    if layer.valid_range is not None:
        _check_range(layer, band.values)
    return Layer(band.values)  # nodata is NaN now


def read_layers(
    layers: list[RasterLayer],
    frame: Frame,
    *,
    warm: Callable[[list[np.dtype]], object] | None = None,
) -> list[Layer]:
    """:func:`read_layer` of several rasters at once, two files at a time.

    GDAL decodes with the GIL released, so two files read concurrently use both cores even
    where one file's blocks are too few to keep GDAL's own decoding threads busy.

    Parameters
    ----------
    layers : list of RasterLayer
        Rasters to read.
    frame : Frame
        Common window.
    warm : callable, optional
        Called with the files' data types while they are decoded: the model calls its numba
        kernels on tiny arrays of those types, so that loading them from numba's on-disk cache
        (tens of ms each) overlaps the reads instead of following them. Its errors are
        ignored (the real call reports them).
    """
    if warm is not None:
        dtypes = [raster_dtype(layer.path) for layer in layers]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="gep-read") as pool:
        read = pool.map(lambda layer: read_layer(layer, frame), layers)  # submitted now
        if warm is not None:
            with contextlib.suppress(Exception):
                warm(dtypes)
        return list(read)


def raster_dtype(path: Path) -> np.dtype:
    """Data type of band 1 of a raster (from its header)."""
    import rasterio

    with rasterio.open(path) as src:
        return np.dtype(src.dtypes[0])


def _integer_codes(
    layer: RasterLayer, values: np.ndarray, nodata: float | int | None
) -> tuple[np.ndarray, int | None]:
    """Class codes as integers (a float land-cover raster must hold whole numbers)."""
    if np.issubdtype(values.dtype, np.integer):
        return values, (None if nodata is None else int(nodata))
    valid = np.isfinite(values) if nodata is None else np.isfinite(values) & (values != nodata)
    if np.any(values[valid] != np.round(values[valid])):
        raise InputError(
            f"{layer.key}: {layer.path}: class codes must be whole numbers but the raster holds "
            "fractions; save land cover as an integer raster"
        )
    sentinel = int(nodata) if nodata is not None and np.isfinite(nodata) else -(2**31)
    codes = np.where(valid, values, sentinel).astype(np.int64)
    has_invalid = nodata is not None or not valid.all()
    return codes, (sentinel if has_invalid else None)


def _check_range(layer: RasterLayer, values: np.ndarray) -> None:
    assert layer.valid_range is not None
    lo, hi = layer.valid_range
    vmin, vmax = reductions.nan_min_max(values)
    if not np.isfinite(vmin):
        raise InputError(f"{layer.key}: {layer.path} has no valid pixel in the analysis area")
    if vmin < lo or vmax > hi:
        bad = vmin if vmin < lo else vmax
        raise InputError(
            f"{layer.key}: {layer.path} holds {bad:g} but {layer.name} ({layer.units}) must be "
            f"within [{lo:g}, {hi:g}]. If {bad:g} marks missing data, declare it as the "
            f"raster's nodata (gdal_edit.py -a_nodata {bad:g} {layer.path}); otherwise fix the data"
        )


def check_codes(classes: Layer, table_codes: np.ndarray, *, table: Path, raster: str) -> None:
    """Raise :class:`MissingClassError` (before any work) for codes absent from the table."""
    missing = lookup.missing_codes(classes.values, table_codes, nodata=classes.nodata)
    if missing.size:
        raise MissingClassError(str(table), raster, [int(c) for c in missing], column="lucode")


def class_values(classes: Layer, codes: np.ndarray, values: np.ndarray, dtype: Any) -> np.ndarray:
    """Per-pixel table values through the numba lookup table (NaN for nodata)."""
    lut, offset = lookup.build_lut(codes, values, dtype=dtype)
    return lookup.apply_lut(classes.values, lut, offset, nodata=classes.nodata)


def write_layer(
    frame: Frame,
    values: np.ndarray,
    path: Path,
    *,
    name: str,
    units: str,
    writer: fastio.BackgroundWriter | None = None,
    predictor: int | None = None,
) -> None:
    """Write one per-pixel output as a tiled ZSTD GeoTIFF on the frame's grid (NaN → nodata).

    With ``writer`` the write is queued on its background thread (``values`` must then stay
    unchanged until the writer is closed). ``predictor=1`` suits rasters of a few distinct
    values (class lookups); the default is the floating-point predictor.
    """
    kwargs: dict[str, Any] = {
        "crs": frame.grid.crs,
        "transform": frame.grid.transform,
        "name": name,
        "units": units,
        "predictor": predictor,
        "cog": False,  # tiled ZSTD GeoTIFFs, as InVEST writes tiled GeoTIFFs
    }
    if writer is None:
        fastio.write_band(path, values, **kwargs)
    else:
        writer.submit(path, values, **kwargs)


# ----------------------------------------------------------------------------------------------
# atomic output folder


def _publish(staging: Path, out_dir: Path) -> None:
    """Move the finished staging folder into place; an older ``out_dir`` is replaced."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_invest(
    model: str, args_path: Path, out_dir: Path, *, progress: Progress = None
) -> dict[str, Any]:
    """Run our implementation of an InVEST model on an InVEST args file.

    Parameters
    ----------
    model : str
        ``carbon``, ``annual_water_yield`` or ``sdr`` (InVEST model ids are accepted too).
    args_path : pathlib.Path
        InVEST args JSON (bare dict) or datastack ``.invs.json``.
    out_dir : pathlib.Path
        Output folder; written to a temporary sibling and moved into place when complete.
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    dict
        The content of ``out_dir/summary.json``: totals in named units, notes on conventions.

    Raises
    ------
    InputError
        Unknown model, bad args, tables or rasters; raised before any computation.
    """
    from gep import invest_models  # the model runners build on the helpers above

    canonical = MODEL_ALIASES.get(model.strip().lower())
    if canonical is None:
        raise InputError(
            f"unknown InVEST model {model!r}; choose one of carbon, annual_water_yield, sdr"
        )
    args, stack_model = load_args(Path(args_path))
    if stack_model is not None and MODEL_ALIASES.get(stack_model.lower(), canonical) != canonical:
        raise InputError(f"{args_path} is a datastack for {stack_model!r}, not for {canonical!r}")
    runner = invest_models.MODELS[canonical]
    values = check_args(runner.args, args, Path(args_path))
    prepared = runner.prepare(values, Path(args_path), progress or (lambda _msg: None))
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    try:
        summary = runner.execute(prepared, staging)
        summary = {"model": canonical, "args_path": str(Path(args_path).resolve()), **summary}
        (staging / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
        _publish(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary
