"""InVEST's SDR in stages: per-pixel steps by bands, flow passes whole or by tiles.

:func:`staged_sdr` computes what :func:`gep.kernels.sdr.sdr_from_arrays` computes, with the
same operations in the same order (so the same numbers, to the bit), but holds far less at
once:

* every input is read once, window by window, and kept in a :class:`~gep.routing.scratch.Scratch`
  folder on disk with the intermediates;
* the pits are filled tile by tile (:func:`gep.routing.fill_pits_tiled`, Barnes 2016);
* the steps that are per pixel (slope, LS, RKLS, W and S, W̄ and S̄, D_up, IC, SDR, E', export)
  run on bands of rows read back from the scratch files;
* the flow passes (directions, accumulations, streams, D_dn, deposition) run through
  :mod:`gep.routing.flow_passes`: on grids up to :data:`~gep.routing.flow_passes.WHOLE_GRID_PIXELS`
  they hold the few compact whole grids each pass reads (directions, order, the pass's
  weights and result: about 21–29 bytes a pixel at the peak instead of about 130); larger
  grids go by tiles (:mod:`gep.routing.tiled_flow`), holding a tile and the tiles' border
  lines, with the same results to the bit.

What depends only on the terrain (filled DEM, slope, directions, order, accumulation,
streams, S̄) is routed once per DEM, valid mask and stream settings and reused by every later
call with the same ones (the years of a run, the weather-neutral re-run): :data:`ROUTED`.
What depends on the land cover too (W̄, D_up, D_dn, IC, SDR) is reused for the same C factors.
Both caches live on disk and are keyed by a digest of the data, not by file names.

References
----------
Sharp R. et al., InVEST User's Guide: SDR (natcap.invest 3.20.2). Barnes R. (2016) Parallel
priority-flood depression filling for trillion cell digital elevation models on desktops or
clusters. Computers & Geosciences 96, 56–68. Borselli L. et al. (2008) Catena 75, 268–277.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gep.kernels import terrain
from gep.kernels.connectivity import (
    connectivity_index,
    cover_weight,
    sediment_delivery_ratio,
    slope_weight,
    upslope_in_place,
)
from gep.kernels.sdr import _check_inputs, _masked, _soil_loss
from gep.routing.flow_passes import FlowPasses, flow_passes
from gep.routing.scratch import Scratch, ScratchArray, remove_stale, row_bands
from gep.routing.tiled_fill import fill_pits_tiled

_F32 = np.float32
log = logging.getLogger(__name__)

#: Pixels of a band of the per-pixel steps (its temporaries: a few tens of MB).
BAND_PIXELS = 1 << 20

#: Window edge of the reads of the inputs (the streamed run's chunks).
READ_WINDOW = 1024

#: Route by tiles of this edge (a multiple of 256); None: whole grids while they are small
#: (:func:`gep.routing.flow_passes.flow_passes`).
ROUTE_TILE: int | None = None

#: Inputs of :func:`staged_sdr`: a window ``(rows, cols)`` → the inputs' values there:
#: ``dem``, ``erosivity``, ``erodibility``, ``usle_c``, ``cover_practice`` (float32 C·P) and
#: ``valid``, optionally ``drainage`` (bool); keys starting ``keep_`` are not used by the SDR
#: but kept as given for the caller (:meth:`StagedSdr.kept`), so nothing is read twice.
ReadWindow = Callable[[tuple[slice, slice]], dict[str, np.ndarray]]

#: Result keys :func:`staged_sdr` can return (t ha-1 yr-1 densities, SDR, routing).
RESULTS = (
    "rkls",
    "usle",
    "avoided_erosion",
    "sed_export",
    "avoided_export",
    "sed_deposition",
    "sdr",
    "slope_percent",
    "flow_accumulation",
    "valid",
)


@dataclass
class Routed:
    """The terrain's part of the SDR, in a scratch folder (reused while its key is current).

    Arrays: ``slope`` (float32, %), ``fdir`` (and ``order`` when routed whole), ``fa``
    (float64, pixels), ``stream`` (uint8), ``s_bar`` (float64), ``valid`` (bool); the flow
    passes over them (:mod:`gep.routing.flow_passes`).
    """

    key: str
    scratch: Scratch
    passes: FlowPasses
    #: C-factor digest → scratch holding that land cover's ``d_up``-free ``sdr`` (float32)
    delivery: dict[str, Scratch] = field(default_factory=dict)


#: Land covers whose connectivity is kept per terrain (least recently used dropped first; each
#: is 4 bytes a pixel on disk).
MAX_COVERS = 8

#: The last terrain routed (at most one: its scratch files are on disk, not in memory).
ROUTED: dict[str, Routed] = {}
_LOCK = threading.Lock()


@dataclass
class StagedSdr:
    """Result of :func:`staged_sdr`: arrays read back by band (``band``) or whole (``load``)."""

    routed: Routed
    delivery: Scratch
    year: Scratch

    def array(self, name: str) -> Any:
        """A result of :data:`RESULTS` as an array sliced by windows (``load()``: whole)."""
        return _Result(self, name)

    def band(self, name: str, rows: slice, cols: slice = slice(None)) -> np.ndarray:
        """A window of a result: stored, or (export, avoided export) computed from stored ones.

        ``sed_export = USLE·SDR`` and ``avoided_export = (RKLS − USLE)·SDR + deposition``, in
        float32 as InVEST's rasters (:func:`gep.kernels.sdr.sdr_model`).
        """
        if name == "sed_export":
            return self.year["usle"][rows, cols] * self.delivery["sdr"][rows, cols]
        if name == "avoided_export":
            ratio = self.delivery["sdr"][rows, cols]
            return self.year["avoided"][rows, cols] * ratio + self.year["deposition"][rows, cols]
        where = {
            "slope_percent": (self.routed.scratch, "slope"),
            "flow_accumulation": (self.routed.scratch, "fa"),
            "valid": (self.routed.scratch, "valid"),
            "sdr": (self.delivery, "sdr"),
            "sed_deposition": (self.year, "deposition"),
            "avoided_erosion": (self.year, "avoided"),
            "usle": (self.year, "usle"),
            "rkls": (self.year, "rkls"),
        }
        scratch, stored = where[name]
        return scratch[stored][rows, cols]

    def kept(self, name: str, rows: slice, cols: slice = slice(None)) -> np.ndarray:
        """A window of an input: ``erosivity``, ``erodibility`` or a ``keep_`` one of ``read``."""
        return self.year[name][rows, cols]


@dataclass
class _Result:
    """One result of a :class:`StagedSdr`, sliced by windows."""

    staged: StagedSdr
    name: str

    @property
    def shape(self) -> tuple[int, int]:
        return self.staged.routed.scratch["valid"].shape

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        return self.staged.band(self.name, *key)

    def load(self) -> np.ndarray:
        """The whole result."""
        return self.staged.band(self.name, slice(None))


def staged_sdr(
    read: ReadWindow,
    shape: tuple[int, int],
    options: dict[str, Any],
    *,
    ic0: float = 0.5,
    has_drainage: bool = False,
    progress: Callable[[str], None] | None = None,
    on_read: Callable[[], None] | None = None,
) -> StagedSdr:
    """:func:`gep.kernels.sdr.sdr_from_arrays` by stages, in bounded memory (module notes).

    Parameters
    ----------
    read : callable
        ``read((rows, cols))`` → the inputs' values in that window (:data:`ReadWindow`);
        called once per window of :data:`READ_WINDOW` pixels.
    shape : (int, int)
        Rows and columns of the grid.
    options : dict
        The keywords of :func:`gep.kernels.sdr.sdr_model` (``flow_dir_algorithm``,
        ``downslope_distance``, ``cell_size_m``, ``threshold_flow_accumulation``, ``k``,
        ``sdr_max``, ``l_max``).
    ic0 : float
        Borselli's IC0.
    has_drainage : bool
        ``read`` returns a ``drainage`` mask (extra stream pixels).
    progress : callable, optional
        Called with the name of each stage.
    on_read : callable, optional
        Called once every window has been read (the caller may free its inputs then).

    Returns
    -------
    StagedSdr
        The results of :data:`RESULTS` in scratch files.
    """
    options = {**options, "flow_dir_algorithm": str(options["flow_dir_algorithm"]).lower()}
    _check_inputs({}, np.zeros((1, 1), dtype=bool), options)
    say = progress or (lambda message: None)
    _remove_stale_once()
    year = Scratch("gep-sdr-year-", tile=READ_WINDOW)
    say("inputs")
    terrain_key, cover_key = _read_inputs(read, shape, year, options, has_drainage)
    if on_read is not None:
        on_read()
    with _LOCK:
        routed = ROUTED.get("last")
        if routed is None or routed.key != terrain_key:
            ROUTED.clear()
            routed = _route(year, options, terrain_key, has_drainage, say)
            ROUTED["last"] = routed
        delivery = routed.delivery.pop(cover_key, None)
        if delivery is None:
            delivery = _deliver(routed, year, options, ic0, say)
        routed.delivery[cover_key] = delivery  # the most recently used last
        while len(routed.delivery) > MAX_COVERS:  # a long-lived process (scenarios): bounded
            routed.delivery.pop(next(iter(routed.delivery)))
    say("export and deposition")
    _export(routed, delivery, year, options)
    for name in ("dem", "usle_c", "drainage", "cover_practice"):  # R and K stay: callers
        year.remove(name)
    return StagedSdr(routed, delivery, year)


#: Prefixes of the scratch folders of the staged SDR.
SCRATCH_PREFIXES = ("gep-sdr-year-", "gep-sdr-terrain-", "gep-sdr-cover-")
_STALE_CHECKED: list[bool] = []


def _remove_stale_once() -> None:
    """Remove scratch folders of killed runs (once per process)."""
    if not _STALE_CHECKED:
        _STALE_CHECKED.append(True)
        for folder in remove_stale(SCRATCH_PREFIXES):
            log.warning("removed %s, scratch files of a run that was killed", folder)


def windows(shape: tuple[int, int], edge: int = READ_WINDOW) -> Iterator[tuple[slice, slice]]:
    """Windows ``(rows, cols)`` of ``edge`` pixels covering a grid of ``shape``, row-major."""
    for rows in row_bands(shape[0], edge):
        for cols in row_bands(shape[1], edge):
            yield rows, cols


def bands(shape: tuple[int, int]) -> list[slice]:
    """Row bands of about :data:`BAND_PIXELS` pixels covering a grid of ``shape``."""
    return row_bands(shape[0], max(BAND_PIXELS // max(shape[1], 1), 1))


def _read_inputs(
    read: ReadWindow,
    shape: tuple[int, int],
    year: Scratch,
    options: dict[str, Any],
    has_drainage: bool,
) -> tuple[str, str]:
    """Read every input once into ``year``'s scratch; the digests of terrain and cover.

    As :func:`gep.kernels.sdr.sdr_from_arrays`: the valid pixels are those of ``valid`` where
    every input but ``drainage`` is finite (InVEST's mutual mask); C is NaN elsewhere (the
    DEM is kept as read and masked by the fill).
    """
    terrain = hashlib.blake2b(digest_size=16)
    cover = hashlib.blake2b(digest_size=16)
    terrain.update(repr((shape, _routing_options(options))).encode())
    arrays: dict[str, ScratchArray] = {}
    for window in windows(shape):
        values = read(window)
        kept = {name: values.pop(name) for name in list(values) if name.startswith("keep_")}
        ok = np.asarray(values.pop("valid"), dtype=bool).copy()
        drainage = values.pop("drainage", None)
        for a in values.values():
            ok &= np.isfinite(a)
        stored = {
            "valid": ok,
            "dem": values["dem"],  # as read: the tiled fill masks it with ``valid``
            "erosivity": values["erosivity"],
            "erodibility": values["erodibility"],
            "cover_practice": np.asarray(values["cover_practice"], dtype=_F32),
            "usle_c": _masked(values["usle_c"], ok, dtype=_F32),
        }
        if has_drainage:
            stored["drainage"] = ok & np.asarray(drainage, dtype=bool)
        stored.update({name: np.asarray(a) for name, a in kept.items()})
        for name, a in stored.items():
            if name not in arrays:
                arrays[name] = year.create(name, shape, a.dtype)
            arrays[name][window] = a
        for name in ("valid", "dem", "drainage"):
            if name in stored:
                terrain.update(name.encode() + np.ascontiguousarray(stored[name]).tobytes())
        cover.update(np.ascontiguousarray(stored["usle_c"]).tobytes())
    return terrain.hexdigest(), terrain.hexdigest() + cover.hexdigest()


def _routing_options(options: dict[str, Any]) -> tuple[Any, ...]:
    return (
        options["flow_dir_algorithm"],
        float(options["threshold_flow_accumulation"]),
        float(options["cell_size_m"]),
    )


def _route(
    year: Scratch,
    options: dict[str, Any],
    key: str,
    has_drainage: bool,
    say: Callable[[str], None],
) -> Routed:
    """Fill, slope, directions, accumulation, streams and S̄ (once per terrain)."""
    cell = float(options["cell_size_m"])
    scratch = Scratch("gep-sdr-terrain-", tile=READ_WINDOW)
    valid = year["valid"]
    shape = valid.shape
    scratch.save("valid", valid.load())
    say("pit filling (tiled)")
    filled = scratch.create("filled", shape, np.float64)
    fill_pits_tiled(year["dem"], valid, out=filled, scratch_dir=scratch.path)
    say("slope")
    slope = scratch.create("slope", shape, _F32)
    for rows in bands(shape):
        lo, hi = max(rows.start - 1, 0), min(rows.stop + 1, shape[0])
        band = terrain.slope_percent(filled[lo:hi], cell, valid[lo:hi])
        slope[rows] = band[rows.start - lo : rows.stop - lo].astype(_F32)
    say("flow directions")
    passes = flow_passes(
        filled, scratch["valid"], options["flow_dir_algorithm"], scratch, tile=ROUTE_TILE
    )
    scratch.remove("filled")
    say("flow accumulation")
    fa = scratch.create("fa", shape, np.float64)
    passes.accumulate(None, fa)
    stream = scratch.create("stream", shape, np.uint8)
    passes.streams(fa, float(options["threshold_flow_accumulation"]), stream)
    if has_drainage:
        drainage = year["drainage"]
        for rows in bands(shape):
            stream[rows] = np.where(drainage[rows], np.uint8(1), stream[rows])
    say("S̄")
    s_accumulated = scratch.create("_accumulated", shape, np.float64)
    passes.accumulate(lambda window: slope_weight(slope[window]), s_accumulated)
    _ratio_to_fa(scratch, s_accumulated, "s_bar")
    return Routed(key, scratch, passes)


def _ratio_to_fa(scratch: Scratch, accumulated: ScratchArray, name: str) -> None:
    """``accumulated / FA`` (S̄) band by band into ``scratch[name]``."""
    fa = scratch["fa"]
    out = scratch.create(name, accumulated.shape, np.float64)
    for rows in bands(accumulated.shape):
        values = accumulated[rows]
        out[rows] = np.divide(values, fa[rows], out=values)
    scratch.remove("_accumulated")


def _deliver(
    routed: Routed,
    year: Scratch,
    options: dict[str, Any],
    ic0: float,
    say: Callable[[str], None],
) -> Scratch:
    """W̄, D_up, D_dn, IC and SDR of one land cover (its C factors) on the routed terrain."""
    cell = float(options["cell_size_m"])
    terrain_ = routed.scratch
    out = Scratch("gep-sdr-cover-", tile=READ_WINDOW)
    usle_c, slope = year["usle_c"], terrain_["slope"]
    shape = usle_c.shape
    say("W̄")
    w_accumulated = out.create("_accumulated", shape, np.float64)
    routed.passes.accumulate(lambda window: cover_weight(usle_c[window]), w_accumulated)
    d_up = out.create("d_up", shape, np.float64)
    fa, s_bar = terrain_["fa"], terrain_["s_bar"]
    for rows in bands(shape):
        fa_band = fa[rows]
        w_bar = np.divide(w_accumulated[rows], fa_band)
        d_up[rows] = upslope_in_place(w_bar, s_bar[rows], fa_band, cell)
    out.remove("_accumulated")
    say("D_dn")
    ws_inverse = out.create("_ws_inverse", shape, _F32)
    for rows in bands(shape):
        ws_inverse[rows] = _F32(1) / (cover_weight(usle_c[rows]) * slope_weight(slope[rows]))
    d_dn = out.create("d_dn", shape, np.float64)
    routed.passes.distance(
        terrain_["stream"],
        ws_inverse,
        d_dn,
        convention="invest" if options["downslope_distance"] == "pixels" else "metres",
        cell_size=cell,
    )
    out.remove("_ws_inverse")
    say("SDR")
    sdr = out.create("sdr", shape, _F32)
    stream = terrain_["stream"]
    for rows in bands(shape):
        ic = connectivity_index(d_up[rows], d_dn[rows])
        sdr[rows] = sediment_delivery_ratio(
            ic,
            stream[rows] == 1,
            k=float(options["k"]),
            ic0=ic0,
            sdr_max=float(options["sdr_max"]),
        )
    out.remove("d_up")
    out.remove("d_dn")
    return out


def _export(routed: Routed, delivery: Scratch, year: Scratch, options: dict[str, Any]) -> None:
    """RKLS, USLE, avoided erosion, E' and deposition of one year (export: :class:`StagedSdr`)."""
    cell = float(options["cell_size_m"])
    terrain_ = routed.scratch
    shape = terrain_["valid"].shape
    sdr = delivery["sdr"]
    usle, avoided = year.create("usle", shape, _F32), year.create("avoided", shape, _F32)
    rkls = year.create("rkls", shape, _F32)
    e_prime = year.create("_e_prime", shape, _F32)
    for rows in bands(shape):
        stream = terrain_["stream"][rows]
        routed_band = {
            "slope_percent": terrain_["slope"][rows],
            "flow_accumulation": terrain_["fa"][rows],
            "valid": terrain_["valid"][rows],
            "stream": stream,
        }
        loss = _soil_loss(
            routed_band,
            year["erosivity"][rows],
            year["erodibility"][rows],
            year["cover_practice"][rows],
            cell,
            float(options["l_max"]),
        )
        e_band = loss["usle"] * (_F32(1) - sdr[rows])
        e_band[stream == 1] = 0
        e_prime[rows] = e_band
        usle[rows] = loss["usle"]
        avoided[rows] = loss["avoided_erosion"]
        rkls[rows] = loss["rkls"]
    routed.passes.deposition(e_prime, sdr, year.create("deposition", shape, _F32))
    year.remove("_e_prime")
