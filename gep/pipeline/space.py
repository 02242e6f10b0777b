"""Disk space a run needs, checked before any work: a full disk found after half an hour is not.

``gep run`` writes to two places: the **temporary folder** (``TMPDIR``), where soil retention's
flow routing keeps its whole-grid intermediates (:mod:`gep.routing.scratch`), and the **output
folder**, beside which the outputs are staged until they are published
(:func:`gep.io.atomic.staged_folder`). Both needs are estimated from the grid's size and the
rasters the configuration writes, with figures measured on the sample region at 30 m and 10 m
(``benchmarks/main_job.py``, free space sampled every 10 s) and set a little under them: the
check is meant as a **lower bound**, so that a run it refuses would have failed, while a run it
lets through can still fill a disk that other programs fill too (it then ends with a message,
exit status 3). The scratch is raw arrays, so its figure holds for any data; the rasters'
figure holds for grids about half inside the region, as the sample's (51 % of its cells are
valid): a grid mostly outside its region compresses smaller, and there the output estimate
can exceed what the run writes.

Where both folders share a disk, the larger of the two needs is taken, not their sum: the
scratch peaks while soil retention routes (before most rasters are published) and the rasters
are complete at the end (the terrain's scratch, about half of the peak, is still there). At
10 m both came to 34.8 GiB at the worst moment: 29.4 GiB of scratch and 5.4 GiB of outputs.

Examples
--------
>>> need = space_needed(18090 * 17970, quantities=16, years=2, routed=True)  # 10 m sample
>>> round(need.scratch_bytes / 2**30, 1), round(need.output_bytes / 2**30, 1)
(27.2, 8.7)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gep.errors import InputError

#: Scratch of soil retention's staged flow routing at its peak, bytes a pixel of the grid: the
#: terrain's arrays (directions, slope, accumulation, streams, S̄) kept for the whole run, one
#: year's inputs and outputs, and the delivery arrays of two covers. Measured at 10 m: 29.4 GiB
#: on 325 M pixels, 97 B/px. Set under that.
SCRATCH_BYTES_PER_PIXEL = 90

#: Size of one published float32 raster, bytes a pixel (ZSTD level 1, floating-point predictor,
#: overviews): 0.88 at 30 m (1.42 GiB for 48 rasters on 36 M pixels), 0.66 at 10 m (9.6 GiB
#: for 48 on 325 M). Set under the lower.
OUTPUT_BYTES_PER_PIXEL = 0.6

#: Value rasters written for each quantity raster (one per priced component: 16 quantity and
#: 8 value rasters a year on the sample region).
VALUE_RASTERS_PER_QUANTITY = 0.5


@dataclass(frozen=True)
class SpaceNeeded:
    """Bytes a run is expected to need in the temporary folder and beside the output folder."""

    scratch_bytes: int
    output_bytes: int


def space_needed(pixels: int, *, quantities: int, years: int, routed: bool) -> SpaceNeeded:
    """The disk space a run of ``pixels``-cell rasters needs at least (module notes).

    Parameters
    ----------
    pixels : int
        Cells of the reference grid (rows × columns).
    quantities : int
        Accounted quantities a year (one raster each, plus the value rasters of their priced
        components).
    years : int
        Years accounted.
    routed : bool
        Whether soil retention's flow routing runs. Its terrain arrays are shared between
        years, so its scratch does not grow with them.
    """
    scratch = SCRATCH_BYTES_PER_PIXEL * pixels if routed else 0
    rasters = quantities * years * (1 + VALUE_RASTERS_PER_QUANTITY)
    return SpaceNeeded(int(scratch), int(rasters * OUTPUT_BYTES_PER_PIXEL * pixels))


def check_space(need: SpaceNeeded, out: Path, *, what: str) -> None:
    """Raise :class:`~gep.errors.InputError` if ``TMPDIR`` or ``out``'s disk cannot take ``need``.

    ``what`` names the run in the message (e.g. ``"10 m grid, 325 M pixels"``). Where the
    temporary folder and the output folder are on the same disk, the larger need is taken.
    """
    tmp = Path(tempfile.gettempdir())
    target = _existing(out)
    free_tmp, free_out = _free_bytes(tmp), _free_bytes(target)
    same = _device(tmp) == _device(target)
    problems = []
    if same and max(need.scratch_bytes, need.output_bytes) > free_tmp:
        problems.append(
            f"the temporary folder {tmp} and the output folder {out} share a disk with "
            f"{_gb(free_tmp)} free; the run needs at least {_gb(need.scratch_bytes)} of "
            f"scratch while it routes and {_gb(need.output_bytes)} of outputs at the end"
        )
    elif not same and need.scratch_bytes > free_tmp:
        problems.append(
            f"the temporary folder {tmp} has {_gb(free_tmp)} free; the run needs at least "
            f"{_gb(need.scratch_bytes)} of scratch there for soil retention's flow routing"
        )
    if not same and need.output_bytes > free_out:
        problems.append(
            f"the disk of the output folder {out} has {_gb(free_out)} free; the outputs need "
            f"at least {_gb(need.output_bytes)}"
        )
    if problems:
        raise InputError(
            f"not enough disk space for this run ({what}): {'; '.join(problems)}. Free space, "
            "write the outputs to a larger disk (--out), or point TMPDIR to one "
            "(e.g. TMPDIR=/data/tmp gep run ...)"
        )


def _free_bytes(path: Path) -> int:
    """Bytes free to this user on ``path``'s disk."""
    return shutil.disk_usage(path).free


def _device(path: Path) -> int:
    """The device ``path`` is on (equal for two folders on one disk)."""
    return os.stat(path).st_dev


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (the output folder may not exist yet)."""
    path = Path(path).resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _gb(n: int | float) -> str:
    """Bytes as gibibytes for a message.

    >>> _gb(27.3 * 2**30), _gb(512 * 2**20)
    ('27.3 GiB', '0.5 GiB')
    """
    return f"{n / 2**30:.1f} GiB"
